"""Scapy as an independent oracle, with hypothesis generating packets across the layers.

- Scapy builds, wirekit parses: equal field values, layer by layer.
- wirekit builds, Scapy parses: equal field values, and Scapy's recomputed lengths and
  checksums (its own fields deleted, the packet rebuilt) equal the bytes wirekit wrote.
- Both build the same bytes from the same description.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings

from tests.unit.packet.packet_specs import Spec, any_packet, to_scapy, to_wirekit
from wirekit.packet import Layer, Padding, parse

ORACLE = settings(max_examples=60, deadline=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

#: wirekit layer name -> the fields to compare (same names in Scapy unless mapped).
FIELDS: dict[str, tuple[str, ...]] = {
    "Ether": ("dst", "src", "type"),
    "Dot1Q": ("prio", "dei", "vlan", "type"),
    "ARP": ("hwtype", "ptype", "hwlen", "plen", "op", "hwsrc", "psrc", "hwdst", "pdst"),
    "IPv4": ("version", "ihl", "tos", "len", "id", "flags", "frag", "ttl", "proto", "chksum",
             "src", "dst"),
    "IPv6": ("version", "tc", "fl", "plen", "nh", "hlim", "src", "dst"),
    "IPv6ExtHdrHopByHop": ("nh", "len"),
    "IPv6ExtHdrDestOpt": ("nh", "len"),
    "IPv6ExtHdrRouting": ("nh", "len", "type", "segleft", "addresses"),
    "IPv6ExtHdrFragment": ("nh", "offset", "m", "id"),
    "TCP": ("sport", "dport", "seq", "ack", "dataofs", "reserved", "flags", "window", "chksum",
            "urgptr", "options"),
    "UDP": ("sport", "dport", "len", "chksum"),
    "ICMP": ("type", "code", "chksum"),
    "ICMPv6": ("type", "code", "cksum"),
    "Raw": ("load",),
}
#: Scapy layers wirekit folds into the layer before (ND options live in ICMPv6.options).
FOLDED = ("ICMPv6NDOpt", "Padding")


def _scapy_layers(packet: Any) -> list[Any]:
    layers = []
    layer = packet
    while layer is not None and layer.__class__.__name__ != "NoPayload":
        if not layer.__class__.__name__.startswith(FOLDED):
            layers.append(layer)
        layer = layer.payload if layer.payload.__class__.__name__ != "NoPayload" else None
    return layers


def _normal(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return [_normal(item) for item in value]
    if isinstance(value, bytes):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return int(value)
    return value.lower() if isinstance(value, str) else value


def _scapy_value(layer: Any, name: str) -> Any:
    value = getattr(layer, name)
    if name == "flags":
        return int(value)
    if name == "options":
        return [(key, value if not isinstance(value, tuple) else list(value))
                for key, value in value]
    return value


def _wirekit_value(layer: Layer, name: str) -> Any:
    value = getattr(layer, name)
    if name == "options":
        return [(key, value if not isinstance(value, tuple) else list(value))
                for key, value in value]
    return value


def assert_same_fields(ours: list[Layer], theirs: list[Any]) -> None:
    ours = [layer for layer in ours if not isinstance(layer, Padding)]
    if theirs and theirs[-1].__class__.__name__.startswith("ICMPv6Echo") and \
            ours[-1].name == "Raw":  # Scapy keeps echo data inside the ICMPv6 layer
        assert ours[-1].load == theirs[-1].data  # type: ignore[attr-defined]
        ours = ours[:-1]
    assert len(ours) == len(theirs), ([layer.name for layer in ours],
                                      [layer.__class__.__name__ for layer in theirs])
    for mine, other in zip(ours, theirs, strict=True):
        names = FIELDS.get(mine.name, ())
        if mine.name == "ICMPv6" and not other.__class__.__name__.startswith("ICMPv6Echo"):
            names = ("type", "code", "cksum")
        for name in names:
            assert _normal(_wirekit_value(mine, name)) == _normal(_scapy_value(other, name)), \
                (mine.name, name)
        if mine.name == "ICMPv6" and hasattr(other, "tgt"):
            assert mine.tgt == other.tgt  # type: ignore[attr-defined]
        if mine.name == "ICMPv6":
            _same_nd_meaning(mine, other)
        if mine.name == "ICMP" and other.type in (0, 8):
            assert (mine.id, mine.seq) == (other.id, other.seq)  # type: ignore[attr-defined]
        if mine.name == "ICMP" and (other.type, other.code) == (3, 4):
            assert mine.nexthopmtu == other.nexthopmtu  # type: ignore[attr-defined]


#: Per ND message type, the fields of the second word and body Scapy names the same way.
ND_FIELDS = {134: ("chlim", "M", "O", "H", "prf", "routerlifetime", "reachabletime",
                   "retranstimer"),
             136: ("R", "S", "O")}


def _same_nd_meaning(mine: Layer, other: Any) -> None:
    """RA and NA fields, and every ND option's contents (Scapy keeps each option as a layer
    of its own, which ``_scapy_layers`` folds away)."""
    for name in ND_FIELDS.get(int(other.type), ()):
        assert getattr(mine, name) == getattr(other, name), name
    theirs = []
    layer = other.payload
    while layer.__class__.__name__.startswith("ICMPv6NDOpt"):
        theirs.append(layer)
        layer = layer.payload
    ours = getattr(mine, "options", None) or []
    assert len(ours) == len(theirs), (ours, theirs)
    for option, scapy_option in zip(ours, theirs, strict=True):
        assert option.type == scapy_option.type
        for key, value in option.details.items():
            if hasattr(scapy_option, key):
                assert _normal(value) == _normal(getattr(scapy_option, key)), key


@ORACLE
@given(any_packet)
def test_scapy_builds_wirekit_parses(spec: Spec) -> None:
    from scapy.layers.l2 import Ether

    wire = bytes(to_scapy(spec))
    ours = parse(wire)
    assert bytes(ours) == wire and ours.status.ok, ours.status
    assert_same_fields(ours.layers, _scapy_layers(Ether(wire)))


@ORACLE
@given(any_packet)
def test_wirekit_builds_scapy_parses_and_recomputes_the_same(spec: Spec) -> None:
    from scapy.layers.l2 import Ether

    wire = bytes(to_wirekit(spec))
    theirs = Ether(wire)
    assert_same_fields(parse(wire).layers, _scapy_layers(theirs))
    recomputed = Ether(wire)
    for layer in _scapy_layers(recomputed):
        for name in ("chksum", "cksum", "len", "plen", "ihl", "dataofs", "hwlen", "plen"):
            if name in layer.fields and name in [f.name for f in layer.fields_desc]:
                setattr(layer, name, None)  # Scapy computes it again when building
    assert bytes(recomputed) == wire


@ORACLE
@given(any_packet)
def test_both_build_the_same_bytes(spec: Spec) -> None:
    assert bytes(to_wirekit(spec)) == bytes(to_scapy(spec))


def test_a_segment_routing_header_builds_as_scapy_does() -> None:
    """RFC 8754 4.1: Segments Left and Last Entry are n - 1 at the source."""
    from scapy.layers.inet import UDP as ScapyUDP
    from scapy.layers.inet6 import IPv6 as ScapyIPv6
    from scapy.layers.inet6 import IPv6ExtHdrSegmentRouting

    from wirekit.packet import UDP, IPv6, IPv6ExtHdrRouting

    segments = ["2001:db8::9", "2001:db8::8", "2001:db8::7"]
    ours = bytes(IPv6(src="2001:db8::1", dst="2001:db8::7")
                 / IPv6ExtHdrRouting(type=4, addresses=segments) / UDP(sport=1, dport=2))
    theirs = bytes(ScapyIPv6(src="2001:db8::1", dst="2001:db8::7")
                   / IPv6ExtHdrSegmentRouting(addresses=segments) / ScapyUDP(sport=1, dport=2))
    assert ours == theirs
    routing = parse(ours, IPv6)[IPv6ExtHdrRouting]
    assert routing.segleft == 2 and (routing.reserved or 0) >> 24 == 2


def test_llc_and_snap_build_and_parse_as_scapy_does() -> None:
    """Scapy builds an 802.3 frame with its Dot3 class; wirekit with Ether, whose automatic
    type over an LLC is the 802.3 length.  The bytes are the same, and each side reads the
    other's fields back (Dot3 ``len`` is Ether ``type``)."""
    from scapy.layers.inet import IP as ScapyIP
    from scapy.layers.inet import UDP as ScapyUDP
    from scapy.layers.l2 import LLC as ScapyLLC
    from scapy.layers.l2 import SNAP as ScapySNAP
    from scapy.layers.l2 import Dot3
    from scapy.layers.l2 import Ether as ScapyEther

    from wirekit.packet import LLC, SNAP, UDP, Ether, IPv4

    src, dst = "02:00:00:00:00:01", "02:00:00:00:00:02"
    ours = bytes(Ether(src=src, dst=dst) / LLC() / SNAP() / IPv4(src="10.0.0.1", dst="10.0.0.2")
                 / UDP(sport=1, dport=2) / b"x")
    theirs = bytes(Dot3(src=src, dst=dst) / ScapyLLC() / ScapySNAP()
                   / ScapyIP(src="10.0.0.1", dst="10.0.0.2") / ScapyUDP(sport=1, dport=2) / b"x")
    assert ours == theirs
    scapy_view = ScapyEther(ours)
    pkt = parse(ours)
    assert pkt[Ether].type == scapy_view[Dot3].len
    for name in ("dsap", "ssap", "ctrl"):
        assert getattr(pkt[LLC], name) == getattr(scapy_view[ScapyLLC], name), name
    assert (pkt[SNAP].OUI, pkt[SNAP].code) == (scapy_view[ScapySNAP].OUI,
                                               scapy_view[ScapySNAP].code)


def test_scapys_stp_frame_parses_to_llc_and_a_raw_bpdu() -> None:
    from scapy.layers.l2 import LLC as ScapyLLC
    from scapy.layers.l2 import STP, Dot3

    from wirekit.packet import LLC, Ether, Raw, Status

    wire = bytes(Dot3(src="02:00:00:00:00:01", dst="01:80:c2:00:00:00") / ScapyLLC() / STP())
    pkt = parse(wire)
    assert [layer.name for layer in pkt.layers] == ["Ether", "LLC", "Raw"]
    assert (pkt[Ether].type, pkt[LLC].dsap, pkt[LLC].ssap, pkt[LLC].ctrl) == (38, 0x42, 0x42, 3)
    assert len(pkt[Raw].load) == 35 and pkt[Raw].status.kind is Status.UNSUPPORTED
    assert bytes(pkt) == wire


def test_tcp_options_scapy_names_read_and_build_alike() -> None:
    """MD5 (RFC 2385), UTO (RFC 5482) and TFO (RFC 7413, Scapy's two 32-bit numbers)."""
    from scapy.layers.inet import TCP as ScapyTCP

    from wirekit.packet import TCP

    options = [("MD5", bytes(range(16))), ("UTO", 300), ("TFO", (1, 2)), ("NOP", None)]
    ours, theirs = bytes(TCP(options=options)), bytes(ScapyTCP(options=options))
    assert ours == theirs
    assert parse(theirs, TCP)[TCP].options == ScapyTCP(ours).options
