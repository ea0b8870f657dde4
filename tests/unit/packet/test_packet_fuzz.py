"""A short version of scripts/fuzz_codec.py: mutated packets never break the codec.

Tolerant mode never raises; strict mode raises only DecodeError.  The long run (a million
inputs, with timing) is ``python scripts/fuzz_codec.py``; see docs/packet.md.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

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
