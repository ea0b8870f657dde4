"""How fast can a lazy, object-per-layer decoder be in Python?  A minimal model, timed against dpkt.

Not a benchmark of wirekit: a yardstick for the "decode through layer objects" row of
``bench_codec``.  It runs the same extraction on the same capture (``bench_codec.capture``)
with the least code the design allows: one packet object, three slotted layer objects with an
unpacked header tuple each, properties for the fields, no validation, no registry, and only
IPv4 over Ethernet.  Three variants:

- ``cycle``: layers refer to their packet and the packet lists its layers, as in wirekit;
- ``no_cycle``: the same, with the cycle broken by hand after each packet (an upper bound);
- ``weak``: the packet holds weak references to its layers (no cycle, a weakref per layer).

Run: ``.venv/bin/python benchmarks/model_layer_cost.py``.  Prints each variant's ratio to dpkt
and wirekit's; thread CPU time, interleaved rounds, best round.
"""

from __future__ import annotations

import struct
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from weakref import ref

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_codec import capture, dpkt_decode, wirekit_layers

_new = object.__new__
ETHER = struct.Struct("!6s6sH")
IPV4 = struct.Struct("!BBHHHBBH4s4s")
TCP = struct.Struct("!HHIIBBHHH")
UDP = struct.Struct("!HHHH")
OCTETS = [str(value) for value in range(256)]


class Packet:
    __slots__ = ("buf", "layers")
    buf: bytes
    layers: list[Any]


class Layer:
    __slots__ = ("__weakref__", "end", "h", "idx", "off", "pkt")
    pkt: Packet
    idx: int
    off: int
    end: int
    h: tuple[Any, ...]


def _text(raw: bytes) -> str:
    return ".".join((OCTETS[raw[0]], OCTETS[raw[1]], OCTETS[raw[2]], OCTETS[raw[3]]))


class Ether(Layer):
    __slots__ = ()


class Transport(Layer):
    __slots__ = ()

    @property
    def sport(self) -> int:
        return int(self.h[0])

    @property
    def dport(self) -> int:
        return int(self.h[1])


class IPv4(Layer):
    __slots__ = ()

    @property
    def src(self) -> str:
        return _text(self.h[8])

    @property
    def dst(self) -> str:
        return _text(self.h[9])

    @property
    def proto(self) -> int:
        return int(self.h[6])

    @property
    def len(self) -> int:
        return int(self.h[2])

    def upper(self, weak: bool) -> Transport:
        pkt, header = self.pkt, self.h
        layer = _new(Transport)
        layer.pkt, layer.idx = pkt, 2
        layer.off, layer.end = self.off + 20, self.off + header[2]
        layer.h = (TCP if header[6] == 6 else UDP).unpack_from(pkt.buf, layer.off)
        pkt.layers.append(ref(layer) if weak else layer)
        return layer


def _packet(frame: bytes) -> Packet:
    pkt = _new(Packet)
    pkt.buf, pkt.layers = frame, []
    return pkt


def _ipv4(pkt: Packet, weak: bool) -> IPv4:
    buf = pkt.buf
    ether = _new(Ether)
    ether.pkt, ether.idx, ether.off, ether.end = pkt, 0, 0, len(buf)
    ether.h = ETHER.unpack_from(buf, 0)
    ip = _new(IPv4)
    ip.pkt, ip.idx, ip.off, ip.end = pkt, 1, 14, len(buf)
    ip.h = IPV4.unpack_from(buf, 14)
    if weak:
        pkt.layers += (ref(ether), ref(ip))
    else:
        pkt.layers += (ether, ip)
    return ip


def _model(frames: list[bytes], weak: bool, unlink: bool) -> list[tuple[Any, ...]]:
    out = []
    for frame in frames:
        pkt = _packet(frame)
        ip = _ipv4(pkt, weak)
        l4 = ip.upper(weak)
        out.append((ip.src, ip.dst, ip.proto, l4.sport, l4.dport, ip.len))
        if unlink:
            pkt.layers = []
    return out


def main() -> None:
    frames = capture(3000)
    jobs: dict[str, Callable[[], object]] = {
        "dpkt": lambda: dpkt_decode(frames),
        "wirekit layer objects": lambda: wirekit_layers(frames),
        "model, cycle": lambda: _model(frames, weak=False, unlink=False),
        "model, cycle broken by hand": lambda: _model(frames, weak=False, unlink=True),
        "model, weak packet->layer": lambda: _model(frames, weak=True, unlink=False),
    }
    reference = dpkt_decode(frames)
    assert all(job() == reference for job in jobs.values())
    best = dict.fromkeys(jobs, float("inf"))
    for _ in range(40):
        for name, job in jobs.items():
            started = time.thread_time()
            job()
            best[name] = min(best[name], time.thread_time() - started)
    for name, seconds in best.items():
        print(f"{name:30s} {seconds / len(frames) * 1e6:6.2f} us/packet  "
              f"{best['dpkt'] / seconds:4.2f}x dpkt")


if __name__ == "__main__":
    main()
