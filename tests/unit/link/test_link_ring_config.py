"""Ring geometry: defaults, -B / --block-size, and the tpacket_req3 handed to the kernel."""

from __future__ import annotations

import struct

import pytest

from wirekit.errors import UsageError
from wirekit.link.ring import KIB, MAX_BLOCK_KIB, MAX_BUFFER_KIB, MIB, RingConfig


def test_defaults_are_64_mib_of_2_mib_blocks() -> None:
    config = RingConfig()
    assert (config.block_size, config.block_count) == (2 * MIB, 32)
    assert config.total_size == 64 * MIB


def test_buffer_kib_sets_the_total() -> None:
    config = RingConfig.from_kib(8192, 1024)
    assert (config.block_size, config.block_count) == (MIB, 8)
    assert RingConfig.from_kib(None, None) == RingConfig()


def test_tiny_buffers_still_get_two_blocks() -> None:
    assert RingConfig.from_kib(4, 64).block_count == 2


@pytest.mark.parametrize("block_kib", [3, 100, 1])
def test_block_size_must_be_a_power_of_two_pages(block_kib: int) -> None:
    with pytest.raises(UsageError, match="power of two"):
        RingConfig.from_kib(None, block_kib)


def test_request_is_a_tpacket_req3() -> None:
    config = RingConfig(block_size=64 * KIB, block_count=4, frame_size=2048, retire_timeout_ms=7)
    fields = struct.unpack("7I", config.request())
    assert fields == (64 * KIB, 4, 2048, 32 * 4, 7, 0, 0)


def test_buffer_beyond_4_gib_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="-B must be"):
        RingConfig.from_kib(99999999999, None)
    with pytest.raises(UsageError, match="-B must be"):
        RingConfig.from_kib(MAX_BUFFER_KIB + 1, None)
    with pytest.raises(UsageError, match="--block-size must be"):
        RingConfig.from_kib(None, MAX_BLOCK_KIB * 2)


def test_the_largest_ring_still_packs_into_a_tpacket_req3() -> None:
    for block_kib in (None, MAX_BLOCK_KIB):
        config = RingConfig.from_kib(MAX_BUFFER_KIB, block_kib)
        assert config.total_size < 4 * 1024 * MIB
        assert len(config.request()) == 28


@pytest.mark.parametrize("fields", [{"block_count": 2**31}, {"block_count": 0},
                                    {"block_size": 3000}, {"frame_size": 0},
                                    {"retire_timeout_ms": -1}])
def test_config_fields_are_checked_not_packed_blindly(fields: dict[str, int]) -> None:
    with pytest.raises(UsageError):
        RingConfig(**fields)
