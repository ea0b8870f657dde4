"""Hypothesis strategies for packets, as neutral specs with two builders.

A spec is a list of ``(kind, fields)`` pairs, bottom layer first.  ``to_wirekit`` builds it
with wirekit and ``to_scapy`` with Scapy (the oracle tests import Scapy; this module does
not, so the unit tests stay free of it).  Every field a builder would otherwise default is
given explicitly, so both libraries build the same bytes.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

import wirekit.packet as w

Spec = list[tuple[str, dict[str, Any]]]

u8 = st.integers(0, 0xFF)
u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFFFFFF)
ports = st.integers(1024, 65535)  # above the well-known ports tcpdump decodes by number
macs = st.binary(min_size=6, max_size=6).map(lambda raw: raw.hex(":"))
ipv4s = st.binary(min_size=4, max_size=4).map(lambda raw: ".".join(map(str, raw)))
ipv6s = st.binary(min_size=16, max_size=16).map(
    lambda raw: __import__("socket").inet_ntop(__import__("socket").AF_INET6, raw))
payloads = st.binary(max_size=64)

TCP_OPTION = st.one_of(
    st.tuples(st.just("MSS"), u16),
    st.tuples(st.just("WScale"), st.integers(0, 14)),
    st.just(("SAckOK", b"")),
    st.tuples(st.just("Timestamp"), st.tuples(u32, u32)),
    st.just(("NOP", None)),
    st.tuples(st.just("SAck"), st.lists(u32, min_size=2, max_size=6)
              .filter(lambda edges: len(edges) % 2 == 0).map(tuple)),
    st.tuples(st.sampled_from([99, 150, 220]), st.binary(max_size=6)),
)


@st.composite
def tcp_options(draw: st.DrawFn) -> list[tuple[Any, Any]]:
    options: list[tuple[Any, Any]] = []
    size = 0
    for option in draw(st.lists(TCP_OPTION, max_size=5)):
        length = 1 if option[0] == "NOP" else len(w.TCP(options=[option])._encode_variable())
        if size + length > 36:
            break
        options.append(option)
        size += length
    return options


def tcp_spec() -> st.SearchStrategy[tuple[str, dict[str, Any]]]:
    return st.fixed_dictionaries({
        "sport": ports, "dport": ports, "seq": u32, "ack": u32,
        "flags": st.integers(0, 0xFF), "window": u16, "urgptr": u16,
        "options": tcp_options(),
    }).map(lambda fields: ("TCP", fields))


def udp_spec() -> st.SearchStrategy[tuple[str, dict[str, Any]]]:
    return st.fixed_dictionaries({"sport": ports, "dport": ports}).map(lambda f: ("UDP", f))


def icmp_echo_spec() -> st.SearchStrategy[tuple[str, dict[str, Any]]]:
    return st.fixed_dictionaries({"type": st.sampled_from([0, 8]), "code": st.just(0),
                                  "id": u16, "seq": u16}).map(lambda f: ("ICMP", f))


IPV4_OPTIONS = st.lists(st.sampled_from([
    b"\x94\x04\x00\x00",  # router alert
    b"\x01",  # NOP
    b"\x07\x07\x04\x00\x00\x00\x00",  # record route, one slot
    # Loose and strict source routes: the upper checksum then covers the route's last address.
    b"\x83\x0b\x04\x0a\x00\x00\x01\xc0\x00\x02\x07",
    b"\x89\x07\x04\xc6\x33\x64\x09",
]), max_size=3).map(b"".join)


def ipv4_spec() -> st.SearchStrategy[tuple[str, dict[str, Any]]]:
    return st.fixed_dictionaries({
        "tos": u8, "id": u16, "flags": st.sampled_from([0, 1, 2]), "ttl": u8,
        "src": ipv4s, "dst": ipv4s, "options": IPV4_OPTIONS,
    }).map(lambda fields: ("IPv4", fields))


def ipv6_spec() -> st.SearchStrategy[tuple[str, dict[str, Any]]]:
    return st.fixed_dictionaries({
        "tc": u8, "fl": st.integers(0, 0xFFFFF), "hlim": u8, "src": ipv6s, "dst": ipv6s,
    }).map(lambda fields: ("IPv6", fields))


def ether_spec() -> st.SearchStrategy[tuple[str, dict[str, Any]]]:
    return st.fixed_dictionaries({"dst": macs, "src": macs}).map(lambda f: ("Ether", f))


def vlan_spec() -> st.SearchStrategy[tuple[str, dict[str, Any]]]:
    return st.fixed_dictionaries({"prio": st.integers(0, 7), "dei": st.integers(0, 1),
                                  "vlan": st.integers(0, 4095)}).map(lambda f: ("Dot1Q", f))


# RFC 8200 4.1: hop-by-hop (if any) first, then the others in any order.
EXTENSIONS = st.tuples(st.booleans(), st.lists(st.one_of(
    st.just(("DestOpt", {})),
    st.lists(ipv6s, min_size=1, max_size=2).map(lambda a: ("Routing", {"addresses": a})),
    st.fixed_dictionaries({"id": u32}).map(lambda f: ("Fragment", {**f, "m": 0, "offset": 0})),
), max_size=3)).map(lambda pair: ([("HBH", {})] if pair[0] else []) + pair[1])


@st.composite
def link(draw: st.DrawFn) -> Spec:
    spec: Spec = [draw(ether_spec())]
    tags = draw(st.integers(0, 2))
    if tags == 2:
        spec[0][1]["type"] = 0x88A8
    spec += [draw(vlan_spec()) for _ in range(tags)]
    return spec


@st.composite
def ipv4_packets(draw: st.DrawFn) -> Spec:
    """Ether [/ Dot1Q [/ Dot1Q]] / IPv4 / TCP, UDP or ICMP echo [/ payload]."""
    spec = [*draw(link()), draw(ipv4_spec())]
    spec.append(draw(st.one_of(tcp_spec(), udp_spec(), icmp_echo_spec())))
    return _with_payload(draw, spec)


@st.composite
def ipv6_packets(draw: st.DrawFn) -> Spec:
    """Ether / IPv6 / extension headers / TCP, UDP or ICMPv6 echo [/ payload]."""
    spec = [*draw(link()), draw(ipv6_spec()), *draw(EXTENSIONS)]
    echo = st.fixed_dictionaries({"type": st.sampled_from([128, 129]), "id": u16, "seq": u16})
    spec.append(draw(st.one_of(tcp_spec(), udp_spec(), echo.map(lambda f: ("ICMPv6", f)))))
    return _with_payload(draw, spec)


@st.composite
def icmp_errors(draw: st.DrawFn) -> Spec:
    """Ether / IPv4 / ICMP unreachable or time exceeded / quoted IPv4 / UDP or TCP."""
    kind = draw(st.sampled_from([(3, 0), (3, 1), (3, 3), (3, 4), (11, 0), (11, 1)]))
    quoted = draw(st.one_of(udp_spec(), tcp_spec().map(lambda t: ("TCP", {**t[1], "options": []}))))
    icmp: dict[str, Any] = {"type": kind[0], "code": kind[1]}
    if kind == (3, 4):  # RFC 1191: the next-hop MTU in the low half of the second word
        icmp["nexthopmtu"] = draw(u16)
    return [draw(ether_spec()), draw(ipv4_spec()), ("ICMP", icmp), draw(ipv4_spec()), quoted]


@st.composite
def neighbor_discovery(draw: st.DrawFn) -> Spec:
    """Ether / IPv6 / NS, NA, RS or RA with link-layer address (and prefix, MTU) options."""
    kind = draw(st.sampled_from([133, 134, 135, 136]))
    fields: dict[str, Any] = {"type": kind, "lladdr": draw(macs)}
    if kind in (135, 136):
        fields["tgt"] = draw(ipv6s)
    if kind == 136:
        fields.update(R=draw(st.integers(0, 1)), S=draw(st.integers(0, 1)),
                      O=draw(st.integers(0, 1)))
    if kind == 134:
        fields.update(chlim=draw(u8), M=draw(st.integers(0, 1)), O=draw(st.integers(0, 1)),
                      routerlifetime=draw(u16), reachabletime=draw(u32),
                      retranstimer=draw(u32), prefix=draw(ipv6s),
                      prefixlen=draw(st.integers(0, 128)), mtu=draw(u32))
    return [draw(ether_spec()), draw(ipv6_spec()), ("ND", fields)]


@st.composite
def arp_packets(draw: st.DrawFn) -> Spec:
    fields = {"op": draw(st.sampled_from([1, 2])), "hwsrc": draw(macs), "psrc": draw(ipv4s),
              "hwdst": draw(macs), "pdst": draw(ipv4s)}
    return [draw(ether_spec()), ("ARP", fields)]


def _with_payload(draw: st.DrawFn, spec: Spec) -> Spec:
    data = draw(payloads)
    return [*spec, ("Raw", {"load": data})] if data else spec


any_packet = st.one_of(ipv4_packets(), ipv6_packets(), icmp_errors(), neighbor_discovery(),
                       arp_packets())


# -- builders --------------------------------------------------------------------------------

def values(layer: w.Layer, *names: str) -> tuple[Any, ...]:
    """Field values as a tuple (fields read None when automatic and unset, or cut off)."""
    return tuple(layer.fields()[name] for name in names)


def checked(layer: w.Layer) -> bool | None:
    """The verdict on *layer*'s checksum (``None``: not checkable)."""
    check = layer.verify_checksum()
    if check is None:
        raise AssertionError(f"{layer.name} has no checksum")
    return check.ok


def to_wirekit(spec: Spec) -> w.Packet:
    layers = [_wirekit_layer(kind, dict(fields)) for kind, fields in spec]
    packet = layers[0] / layers[1]
    for layer in layers[2:]:
        packet = packet / layer
    return packet


def _wirekit_layer(kind: str, fields: dict[str, Any]) -> w.Layer:
    if kind == "IPv4" and "options" in fields:
        fields["options"] = bytes(fields["options"])
    if kind == "ND":
        return _wirekit_nd(fields)
    classes: dict[str, type[w.Layer]] = {
        "Ether": w.Ether, "Dot1Q": w.Dot1Q, "IPv4": w.IPv4, "IPv6": w.IPv6, "TCP": w.TCP,
        "UDP": w.UDP, "ICMP": w.ICMP, "ICMPv6": w.ICMPv6, "ARP": w.ARP, "Raw": w.Raw,
        "HBH": w.IPv6ExtHdrHopByHop, "DestOpt": w.IPv6ExtHdrDestOpt,
        "Routing": w.IPv6ExtHdrRouting, "Fragment": w.IPv6ExtHdrFragment,
    }
    return classes[kind](**fields)


def _wirekit_nd(fields: dict[str, Any]) -> w.ICMPv6:
    fields = dict(fields)
    lladdr = fields.pop("lladdr")
    options = [w.NDOption.target_lladdr(lladdr) if fields["type"] == 136
               else w.NDOption.source_lladdr(lladdr)]
    if fields["type"] == 134:
        options = [w.NDOption.prefix_info(fields.pop("prefix"), fields.pop("prefixlen")),
                   w.NDOption.mtu_option(fields.pop("mtu")), *options]
    return w.ICMPv6(options=options, **fields)


def to_scapy(spec: Spec) -> Any:
    layers = [_scapy_layer(kind, dict(fields)) for kind, fields in spec]
    packet = layers[0]
    for layer in layers[1:]:
        packet = packet / layer
    return packet


def _scapy_layer(kind: str, fields: dict[str, Any]) -> Any:
    from scapy.layers import inet6
    from scapy.layers.inet import ICMP, IP, TCP, UDP, IPOption
    from scapy.layers.l2 import ARP, Dot1Q, Ether
    from scapy.packet import Raw

    if kind == "IPv4":
        options = fields.pop("options")
        # One Scapy object per option: Scapy finds a source route only among the top-level
        # options (in4_pseudoheader), not inside the payload of the option before it.
        return IP(options=[IPOption(chunk) for chunk in _option_chunks(options)], **fields)
    if kind == "ICMPv6":
        cls = inet6.ICMPv6EchoRequest if fields.pop("type") == 128 else inet6.ICMPv6EchoReply
        return cls(**fields)
    if kind == "ND":
        return _scapy_nd(fields)
    if kind == "Fragment":
        return inet6.IPv6ExtHdrFragment(**fields)
    classes = {"Ether": Ether, "Dot1Q": Dot1Q, "IPv6": inet6.IPv6, "TCP": TCP, "UDP": UDP,
               "ICMP": ICMP, "ARP": ARP, "Raw": Raw, "HBH": inet6.IPv6ExtHdrHopByHop,
               "DestOpt": inet6.IPv6ExtHdrDestOpt, "Routing": inet6.IPv6ExtHdrRouting}
    return classes[kind](**fields)


def _option_chunks(options: bytes) -> list[bytes]:
    """IPv4 option bytes cut into one piece per option (the strategy makes them well formed)."""
    chunks = []
    position = 0
    while position < len(options):
        size = 1 if options[position] in (0, 1) else options[position + 1]
        chunks.append(options[position:position + size])
        position += size
    return chunks


def _scapy_nd(fields: dict[str, Any]) -> Any:
    from scapy.layers import inet6

    kind = fields.pop("type")
    lladdr = fields.pop("lladdr")
    if kind == 133:
        return inet6.ICMPv6ND_RS() / inet6.ICMPv6NDOptSrcLLAddr(lladdr=lladdr)
    if kind == 135:
        return inet6.ICMPv6ND_NS(tgt=fields["tgt"]) / inet6.ICMPv6NDOptSrcLLAddr(lladdr=lladdr)
    if kind == 136:
        return inet6.ICMPv6ND_NA(**fields) / inet6.ICMPv6NDOptDstLLAddr(lladdr=lladdr)
    prefix = inet6.ICMPv6NDOptPrefixInfo(prefix=fields.pop("prefix"),
                                         prefixlen=fields.pop("prefixlen"))
    mtu = inet6.ICMPv6NDOptMTU(mtu=fields.pop("mtu"))
    return inet6.ICMPv6ND_RA(prf=0, H=0, P=0, **fields) / prefix / mtu / \
        inet6.ICMPv6NDOptSrcLLAddr(lladdr=lladdr)
