"""The codec's C helpers (``wirekit.packet._speedups``) against the Python code they replace.

The Python walk and getters stay the reference: on the fuzz corpus and thousands of mutations
of it, the C walk must leave every layer in the same state (same class, offsets, lengths,
status, even which lazy slots are set), and every field must read the same through both
getters.  Under ``CI=true`` the helpers must be built: the decode benchmark's goal needs them.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import wirekit.packet as w
from wirekit.packet import packet as packet_module
from wirekit.packet import speedups

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "fuzz_codec.py"
SLOTS = ("_idx", "_off", "_end", "_h", "_hlen", "_quoted", "_status")
MISSING = object()

needs_speedups = pytest.mark.skipif(not speedups.active(),
                                    reason=f"C speedups off: {speedups.disabled_because}")


@pytest.fixture(scope="module")
def inputs() -> list[tuple[bytes, Any]]:
    """The fuzz corpus and 4000 deterministic mutations of it."""
    spec = importlib.util.spec_from_file_location("fuzz_codec_speedups", SCRIPT)
    assert spec is not None and spec.loader is not None
    fuzz = importlib.util.module_from_spec(spec)
    sys.modules["fuzz_codec_speedups"] = fuzz
    spec.loader.exec_module(fuzz)
    mutator = fuzz.Mutator(seed=31)
    mutated = [mutator.next()[:2] for _ in range(4000)]
    return list(mutator.items) + mutated


def _state(layer: w.Layer) -> tuple[Any, ...]:
    return (type(layer), *(getattr(layer, slot, MISSING) for slot in SLOTS))


def _walk(data: bytes, link: Any, grow: Callable[[w.Packet], Any]) -> w.Packet:
    pkt = w.parse(data, link)
    while not pkt._complete:
        grow(pkt)
    return pkt


def _field_values(layer: w.Layer) -> Iterator[tuple[str, Any, Any]]:
    """(name, value through the class's getter, value through the Python getter)."""
    for field in type(layer).fields_desc:
        if not field.fixed:
            continue
        fast = getattr(layer, field.name)
        slow = field.make_getter()(layer)
        yield field.name, fast, slow


def test_ci_builds_the_speedups() -> None:
    if os.environ.get("CI") == "true" and not os.environ.get("WIREKIT_PURE"):
        assert speedups.active(), f"the C speedups must be built in CI: {speedups.disabled_because}"
    else:
        pytest.skip("only CI insists on the compiled helpers")


@needs_speedups
def test_the_c_walk_leaves_every_layer_as_the_python_walk(
        inputs: list[tuple[bytes, Any]]) -> None:
    for data, link in inputs:
        python = _walk(data, link, packet_module._grow_python)
        fast = _walk(data, link, speedups.grow)
        assert [_state(layer) for layer in fast._layers] == \
            [_state(layer) for layer in python._layers], (data.hex(), link)
        assert fast.summary() == python.summary()


@needs_speedups
def test_lookups_and_payload_agree_from_any_starting_point(
        inputs: list[tuple[bytes, Any]]) -> None:
    classes = [w.Ether, w.Dot1Q, w.IPv4, w.IPv6, w.TCP, w.UDP, w.ICMP, w.Raw, w.Padding, w.ARP]
    python_payload: Callable[[w.Layer], w.Layer | None] = \
        packet_module._payload_python.fget  # type: ignore[attr-defined]
    for number, (data, link) in enumerate(inputs):
        wanted = classes[number % len(classes)]
        python, fast = w.parse(data, link), w.parse(data, link)
        found_python = packet_module._first_of_python(python, wanted)
        found_fast = speedups.find(fast, wanted)
        assert (found_python is None) == (found_fast is None)
        assert [_state(layer) for layer in fast._layers] == \
            [_state(layer) for layer in python._layers]
        if found_python is None:
            continue
        step_python: w.Layer | None = found_python
        step_fast: Any = found_fast
        while step_python is not None:
            step_python = python_payload(step_python)
            step_fast = speedups.payload(step_fast)
            assert (step_fast is None) == (step_python is None)
            if step_python is not None:
                assert _state(step_fast) == _state(step_python)


@needs_speedups
def test_fields_read_the_same_through_the_c_getters(inputs: list[tuple[bytes, Any]]) -> None:
    checked = 0
    for data, link in inputs[::3]:
        for layer in w.parse(data, link).layers:
            for name, fast, slow in _field_values(layer):
                assert fast == slow and type(fast) is type(slow), (name, data.hex())
                checked += 1
    assert checked > 20000


def test_built_layers_read_through_the_python_fallback() -> None:
    ip = w.IPv4(src="10.1.2.3", ttl=9, flags="DF")
    proto: int | None = ip.proto  # AUTO: set when the packet is built
    assert (ip.src, ip.ttl, ip.dst, proto) == ("10.1.2.3", 9, "127.0.0.1", None)
    assert ip.payload is None and int(ip.flags) == 2
    pkt = w.Ether() / ip / w.UDP(dport=53)
    assert pkt[w.IPv4].payload is pkt[w.UDP] and pkt[w.UDP].payload is None


def test_a_cut_header_keeps_its_none_fields() -> None:
    frame = bytes(w.Ether() / w.IPv4(src="10.0.0.1") / w.TCP(sport=7, dport=9))
    pkt = w.parse(frame[:14 + 20 + 3])
    tcp = pkt[w.TCP]
    dport: int | None = tcp.dport
    assert tcp.sport == 7 and dport is None and tcp.status.kind is w.Status.TRUNCATED


def test_edits_are_seen_by_the_c_getters() -> None:
    pkt = w.parse(bytes(w.Ether() / w.IPv4(src="10.0.0.1", ttl=5) / w.UDP(sport=1)))
    ip = pkt[w.IPv4]
    ip.ttl, ip.src = 77, "192.0.2.250"
    assert (ip.ttl, ip.src, pkt[w.UDP].sport) == (77, "192.0.2.250", 1)
    assert w.parse(bytes(pkt))[w.IPv4].src == "192.0.2.250"


@needs_speedups
def test_ipv4_text_equals_inet_ntoa() -> None:
    for value in [*range(256), 0x7F000001, 0xC0A80A01, 0xFFFFFFFF, 0x01020304, 0x0A640009]:
        raw = value.to_bytes(4, "big") if value > 255 else bytes([value, 255 - value, 9, 100])
        assert speedups.ipv4_text(raw) == socket.inet_ntoa(raw)
    with pytest.raises(ValueError):
        speedups.ipv4_text(b"abc")


@needs_speedups
def test_the_c_functions_refuse_what_they_cannot_walk() -> None:
    with pytest.raises(TypeError):
        speedups.find(object(), w.IPv4)
    with pytest.raises(TypeError):
        speedups.payload(object())
    getter: Any = speedups.Getter
    with pytest.raises(TypeError):
        getter(0, len)(1, 2)


def test_wirekit_pure_turns_the_helpers_off() -> None:
    code = ("from wirekit.packet import speedups, parse, IPv4;"
            "p = parse(bytes.fromhex('02000000000202000000000108004500001c0001000040117cce'"
            "'0a0000010a00000200350035000800')); print(speedups.active(), p[IPv4].src)")
    env = {**os.environ, "WIREKIT_PURE": "1"}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                            text=True, check=True, timeout=60)
    assert result.stdout.split() == ["False", "10.0.0.1"]


def test_without_the_extension_the_codec_runs_in_python() -> None:
    code = ("import sys; sys.modules['wirekit.packet._speedups'] = None\n"
            "from wirekit.packet import speedups, parse, Ether, IPv4, UDP\n"
            "p = parse(bytes(Ether() / IPv4(src='10.0.0.7') / UDP(dport=53)))\n"
            "print(speedups.active(), p[IPv4].src, p[UDP].dport)\n"
            "print(speedups.disabled_because)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, timeout=60)
    first, reason = result.stdout.splitlines()
    assert first.split() == ["False", "10.0.0.7", "53"]
    assert reason.startswith("not built") and "wirekit.packet._speedups" in reason


def _module_file(module: ModuleType) -> str:
    return str(getattr(module, "__file__", ""))


@needs_speedups
def test_the_helpers_come_from_the_compiled_module() -> None:
    from wirekit.packet import _speedups

    assert _module_file(_speedups).endswith(".so")
