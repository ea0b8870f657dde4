"""Foundation pieces of wirekit.link that need no privileges: capabilities, batched UDP I/O."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from wirekit.errors import InterfaceError, PrivilegeError
from wirekit.link import caps, ethtool
from wirekit.link.mmsg import MessageBatch


def test_effective_capabilities_parses_status(tmp_path: Path) -> None:
    status = tmp_path / "status"
    status.write_text("Name:\tx\nCapEff:\t0000000000003000\n")
    mask = caps.effective_capabilities(status)
    assert mask >> caps.CAPABILITIES["CAP_NET_RAW"] & 1
    assert mask >> caps.CAPABILITIES["CAP_NET_ADMIN"] & 1
    assert not mask >> caps.CAPABILITIES["CAP_SYS_ADMIN"] & 1


def test_require_capability_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(caps, "effective_capabilities", lambda: 0)
    with pytest.raises(PrivilegeError) as info:
        caps.require_capability("CAP_NET_RAW", "open a packet socket")
    assert info.value.capability == "CAP_NET_RAW"
    assert "CAP_NET_RAW" in str(info.value)


def test_message_batch_round_trip_over_udp() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rx, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
        rx.bind(("127.0.0.1", 0))
        tx.connect(rx.getsockname())
        out = MessageBatch(8, 64)
        for i in range(8):
            out.fill(i, bytes([i]) * (i + 1))
        assert out.send(tx) == 8
        inbound = MessageBatch(16, 2048)
        got = inbound.receive(rx, count=8, timeout=2.0)
        assert got == 8
        for i in range(got):
            assert bytes(inbound.slot(i)[:inbound.received_length(i)]) == bytes([i]) * (i + 1)


def test_message_batch_would_block_returns_zero() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rx:
        rx.bind(("127.0.0.1", 0))
        rx.setblocking(False)
        assert MessageBatch(4, 64).receive(rx) == 0


def test_message_batch_rejects_oversized_length() -> None:
    with pytest.raises(ValueError, match="does not fit"):
        MessageBatch(1, 8).set_length(0, 9)


def test_ethtool_missing_interface_is_interface_error() -> None:
    with pytest.raises(InterfaceError):
        ethtool.rings("wk-no-such-if0")
    with pytest.raises(InterfaceError):
        ethtool.driver_info("wk-no-such-if0")


def test_ethtool_loopback_has_features_but_no_rings() -> None:
    assert ethtool.rings("lo") is None
    found = ethtool.features("lo")
    assert found is not None
    assert "tx-scatter-gather" in found
