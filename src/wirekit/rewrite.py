"""Rewriting captured frames, tcprewrite-style: MAC addresses, IP address maps, TTL, MTU, checksums.

Sans-I/O: :class:`Rewrite` edits one decoded :class:`~wirekit.packet.Packet` at a time; the
``wirekit rewrite`` command and ``wirekit replay``'s edit options feed it capture records.
The option names and their meaning are tcprewrite's (tcpreplay 4.4):

- ``--enet-smac`` / ``--enet-dmac``: the Ethernet source / destination of every frame.
- ``--srcipmap`` / ``--dstipmap`` ``FROM:TO[,FROM:TO...]`` ("pseudo-NAT"): an address inside
  network FROM moves to network TO, keeping its host bits (those outside TO's prefix); IPv6
  networks are written in brackets, ``[2001:db8::/32]:[fd00::/32]``.  The first matching pair
  wins; only the outermost IP header is rewritten, as by tcprewrite.
- ``--ttl N|+N|-N``: set, raise or lower the IPv4 TTL / IPv6 hop limit, kept within 1..255.
- ``--mtu N --mtu-trunc``: cut frames whose IP packet is longer than N bytes to N, and set the
  IP length to match (the transport header keeps its length, as tcprewrite leaves it).
- ``--fixcsum``: recompute the IPv4, TCP, UDP, ICMP and ICMPv6 checksums.

One deliberate difference: an edit updates the checksums it touches incrementally (RFC 1624),
so a checksum that was wrong in the capture stays wrong by the same amount; tcprewrite 4.4.3
recomputes every checksum of every packet, even with no option.  Replaying a capture of bad
checksums is often the point of the capture; ``--fixcsum`` gives tcprewrite's result.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from wirekit.errors import UsageError
from wirekit.packet import ICMP, TCP, UDP, Ether, ICMPv6, IPv4, IPv6, Packet, parse
from wirekit.packet.layer import Layer

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

#: Layers whose checksum --fixcsum recomputes (tcprewrite: IPv4, TCP, UDP, ICMP, ICMPv6).
CHECKSUMMED = (IPv4, TCP, UDP, ICMP, ICMPv6)
#: Headers of the IP packet before which an MTU cut is measured (tcprewrite counts L3 bytes).
IPV6_HEADER = 40


@dataclass(frozen=True, slots=True)
class AddressMap:
    """One ``FROM:TO`` pair of a pseudo-NAT map."""

    source: Network
    target: Network

    def apply(self, address: Address) -> Address | None:
        """The mapped address, or None when ``address`` is not inside ``source``."""
        if address.version != self.source.version or address not in self.source:
            return None
        target = self.target
        host_bits = int(address) & int(target.hostmask)
        mapped = int(target.network_address) | host_bits
        return ipaddress.ip_address(mapped) if address.version == 4 \
            else ipaddress.IPv6Address(mapped)


def _network(text: str) -> Network:
    inner = text[1:-1] if text.startswith("[") and text.endswith("]") else text
    try:
        return ipaddress.ip_network(inner, strict=False)
    except ValueError:
        raise UsageError(f"{text!r} is not a network (10.0.0.0/8, [2001:db8::/32])") from None


def _split_pair(text: str) -> tuple[str, str]:
    """``FROM:TO``; IPv6 sides are bracketed, so the separator is the colon between them."""
    if text.startswith("["):
        end = text.find("]:")
        if end < 0:
            raise UsageError(f"{text!r} is not FROM:TO ([2001:db8::/32]:[fd00::/32])")
        return text[:end + 1], text[end + 2:]
    source, colon, target = text.partition(":")
    if not colon:
        raise UsageError(f"{text!r} is not FROM:TO (10.0.0.0/8:172.16.0.0/12)")
    return source, target


def parse_address_maps(text: str) -> tuple[AddressMap, ...]:
    """``FROM:TO[,FROM:TO...]`` as tcprewrite's ``--srcipmap`` / ``--dstipmap`` take it."""
    maps = []
    for pair in filter(None, (part.strip() for part in text.split(","))):
        source_text, target_text = _split_pair(pair)
        source, target = _network(source_text), _network(target_text)
        if source.version != target.version:
            raise UsageError(f"{pair!r} maps IPv{source.version} to IPv{target.version}")
        maps.append(AddressMap(source, target))
    if not maps:
        raise UsageError("an address map needs at least one FROM:TO pair")
    return tuple(maps)


@dataclass(frozen=True, slots=True)
class TtlEdit:
    """``--ttl``: ``N`` sets, ``+N`` raises and ``-N`` lowers, within 1..255 (tcprewrite)."""

    mode: str  # "set", "add" or "sub"
    value: int

    def apply(self, ttl: int) -> int:
        if self.mode == "set":
            return self.value
        changed = ttl + self.value if self.mode == "add" else ttl - self.value
        return min(255, max(1, changed))


def parse_ttl(text: str) -> TtlEdit:
    stripped = text.strip()
    mode = {"+": "add", "-": "sub"}.get(stripped[:1], "set")
    digits = stripped[1:] if mode != "set" else stripped
    if not (digits.isascii() and digits.isdigit()) \
            or not (1 if mode == "set" else 0) <= int(digits) <= 255:
        raise UsageError(f"invalid --ttl {text!r}: N (1-255), +N or -N")
    return TtlEdit(mode, int(digits))


def _mac(text: str | None) -> str | None:
    if text is None:
        return None
    parts = text.replace("-", ":").split(":")
    if len(parts) != 6 or not all(len(p) == 2 and all(c in "0123456789abcdefABCDEF" for c in p)
                                  for p in parts):
        raise UsageError(f"{text!r} is not a MAC address (02:00:00:00:00:01)")
    return ":".join(parts).lower()


@dataclass(frozen=True, slots=True)
class Rewrite:
    """Every edit asked for; :meth:`apply` makes them on one packet."""

    src_mac: str | None = None
    dst_mac: str | None = None
    src_maps: tuple[AddressMap, ...] = ()
    dst_maps: tuple[AddressMap, ...] = ()
    ttl: TtlEdit | None = None
    mtu: int = 1500
    mtu_trunc: bool = False
    fix_checksums: bool = False

    @classmethod
    def from_options(cls, *, enet_smac: str | None = None, enet_dmac: str | None = None,
                     srcipmap: str | None = None, dstipmap: str | None = None,
                     ttl: str | None = None, mtu: int = 1500, mtu_trunc: bool = False,
                     fixcsum: bool = False) -> Rewrite:
        """From the command-line strings (each one checked; a bad one is a UsageError)."""
        if not 68 <= mtu <= 65535:  # RFC 791: every host takes 68-byte datagrams
            raise UsageError(f"--mtu must be between 68 and 65535, not {mtu}")
        return cls(src_mac=_mac(enet_smac), dst_mac=_mac(enet_dmac),
                   src_maps=parse_address_maps(srcipmap) if srcipmap else (),
                   dst_maps=parse_address_maps(dstipmap) if dstipmap else (),
                   ttl=parse_ttl(ttl) if ttl else None, mtu=mtu, mtu_trunc=mtu_trunc,
                   fix_checksums=fixcsum)

    @property
    def active(self) -> bool:
        return bool(self.src_mac or self.dst_mac or self.src_maps or self.dst_maps or self.ttl
                    or self.mtu_trunc or self.fix_checksums)

    def apply(self, pkt: Packet) -> Packet:
        """Make the edits on ``pkt`` (in place); a cut frame comes back as a new packet."""
        ether = pkt.getlayer(Ether)
        if ether is not None:
            if self.src_mac:
                ether.src = self.src_mac
            if self.dst_mac:
                ether.dst = self.dst_mac
        ip = _outer_ip(pkt)
        if ip is None:
            return pkt
        self._edit_ip(ip)
        if self.mtu_trunc and _ip_length(ip) > self.mtu:
            pkt = self._cut(pkt, ip)
            ip = _outer_ip(pkt)
        if self.fix_checksums and ip is not None:
            _recompute_checksums(pkt, ip)
        return pkt

    def _edit_ip(self, ip: Layer) -> None:
        fields: Any = ip
        for maps, name in ((self.src_maps, "src"), (self.dst_maps, "dst")):
            if maps:
                mapped = _mapped(maps, ipaddress.ip_address(getattr(fields, name)))
                if mapped is not None:
                    setattr(fields, name, str(mapped))
        if self.ttl is not None:
            name = "ttl" if isinstance(ip, IPv4) else "hlim"
            setattr(fields, name, self.ttl.apply(getattr(fields, name)))

    def _cut(self, pkt: Packet, ip: Layer) -> Packet:
        """The frame up to ``mtu`` bytes of IP packet, with the IP length saying so."""
        data = bytes(pkt)[:(ip.offset or 0) + self.mtu]
        cut = parse(data, pkt.link or Ether)
        layer: Any = _outer_ip(cut)
        if isinstance(layer, IPv4):
            layer.len = self.mtu  # its header checksum follows incrementally
        elif layer is not None:
            layer.plen = self.mtu - IPV6_HEADER
        if layer is not None:
            # Bytes are gone, so no incremental update: the transport checksum is computed
            # again over what is left, with the pseudo-header length of what is left (what
            # tcprewrite does; the transport length field keeps the original length).
            _recompute_checksums(cut, layer, transport_only=True)
        return cut


def _mapped(maps: tuple[AddressMap, ...], address: Address) -> Address | None:
    for pair in maps:
        mapped = pair.apply(address)
        if mapped is not None:
            return mapped
    return None


def _outer_ip(pkt: Packet) -> Layer | None:
    for layer in pkt:
        if isinstance(layer, IPv4 | IPv6) and not layer.quoted:
            return layer
    return None


def _ip_length(ip: Layer) -> int:
    """The IP packet's length on the wire, from its header."""
    fields: Any = ip
    if isinstance(ip, IPv4):
        return int(fields.len)
    return int(fields.plen) + IPV6_HEADER


def _recompute_checksums(pkt: Packet, ip: Layer, *, transport_only: bool = False) -> None:
    """--fixcsum: the IP header checksum first, then the transport's over the new header.

    A UDP checksum of 0 over IPv4 means "none" (RFC 768) and stays 0, as with tcprewrite.
    """
    start = ip.offset or 0
    for layer in pkt:
        if layer.quoted or (layer.offset or 0) < start or not isinstance(layer, CHECKSUMMED):
            continue
        if transport_only and isinstance(layer, IPv4):
            continue
        fields: Any = layer
        if isinstance(layer, UDP) and isinstance(ip, IPv4) and fields.chksum == 0:
            continue
        setattr(fields, layer.checksum_field, None)
