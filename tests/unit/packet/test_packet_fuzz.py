"""A short version of scripts/fuzz_codec.py: mutated packets never break the codec.

Tolerant mode never raises; strict mode raises only DecodeError.  The long run (a million
inputs, with timing) is ``python scripts/fuzz_codec.py``; see docs/packet.md.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "fuzz_codec.py"


@pytest.fixture(scope="module")
def fuzz() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fuzz_codec", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["fuzz_codec"] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("seed", [101, 202])
def test_mutated_packets_never_break_the_codec(fuzz: ModuleType, seed: int) -> None:
    report = fuzz.run(2500, seed)
    assert report.failures == [], report.failures[0]
    assert report.inputs == 2500
    assert report.strict["decode-error"] > 0 and report.strict["ok"] > 0
    assert set(report.kinds) >= {"truncate", "flip", "lie", "splice", "garbage"}


def test_the_corpus_covers_every_layer(fuzz: ModuleType) -> None:
    import wirekit.packet as w

    seen = {type(layer) for data, link in fuzz.corpus() for layer in w.parse(data, link).layers}
    wanted = {w.Ether, w.Dot1Q, w.ARP, w.IPv4, w.IPv6, w.ICMP, w.ICMPv6, w.TCP, w.UDP, w.Raw,
              w.SLL, w.SLL2, w.Loopback, w.LoopbackBE, w.IPv6ExtHdrHopByHop,
              w.IPv6ExtHdrRouting, w.IPv6ExtHdrFragment, w.IPv6ExtHdrDestOpt}
    assert wanted <= seen


def _newer_corpus() -> list[tuple[bytes, Any]]:
    """IEEE 802.3 / LLC / SNAP frames and TCP options with the summary printers added with
    them (MD5, TFO, TCP-AO, user timeout, MPTCP, experimental)."""
    import wirekit.packet as w

    def ip() -> w.IPv4:
        return w.IPv4(src="10.0.0.1", dst="10.0.0.2")

    keys = bytes(range(1, 17))
    options: list[list[Any]] = [
        [("MD5", bytes(16)), ("UTO", 300)], [(30, b"\x01\x81" + keys + b"\x00\x10")],
        [(30, b"\x20\x1d\x00\x00\x00\x07" + keys[:8] + b"\x00\x00\x00\x09\x00\x10\xab\xcd")],
        [(30, b"\x30\x07\x0a\x00\x00\x09" + keys[:8]), (254, b"\xf9\x89" + keys[:8])],
        [("AO", b"\x01\x02" + bytes(12)), (34, b"")],
    ]
    frames = [
        w.Ether() / w.LLC() / w.SNAP() / ip() / w.UDP() / b"data",
        w.Ether() / w.LLC(dsap=0x42, ssap=0x42) / bytes(35),
        w.Ether() / w.LLC(dsap=0x12, ssap=0x34, ctrl=0x0200) / b"hello",
        w.Ether() / w.LLC(ctrl=0xAF) / b"\x81\x01\x02",
        w.Ether() / w.Dot1Q(vlan=3) / w.LLC() / w.SNAP() / w.ARP(),
        w.Ether() / w.LLC() / w.SNAP(OUI=0x0C, code=0x2000) / b"cdp",
        w.Ether() / w.LLC() / ip() / w.UDP(),
    ] + [w.Ether() / ip() / w.TCP(flags=flags, options=option) / b"data"
         for option in options for flags in ("S", "A", "SA")]
    return [(bytes(frame) + bytes(8), w.LinkType.ETHERNET) for frame in frames]


def test_mutated_llc_frames_and_tcp_options_never_break_the_codec(fuzz: ModuleType) -> None:
    """The script's mutations over the newer layers, lying about the 802.3 length, the LLC
    control field, the SNAP OUI and the first option's length too."""
    corpus = _newer_corpus()
    mutator = fuzz.Mutator(303, items=corpus)
    mutator.lengths = [[(12, 2), (16, 1), (17, 1), (55, 1), *fuzz.length_fields(data, link)]
                       for data, link in corpus]
    results: dict[str, int] = {}
    for _ in range(3000):
        data, link, _kind = mutator.next()
        fuzz.exercise(data, link)  # raises on any failure
        verdict = fuzz.exercise_strict(data, link)
        results[verdict] = results.get(verdict, 0) + 1
    assert results.get("ok", 0) > 0 and results.get("decode-error", 0) > 0
