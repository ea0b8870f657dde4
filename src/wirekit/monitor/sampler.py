"""Read every interface's counters in one netlink dump (``RTM_GETLINK``, ``NLM_F_DUMP``).

One dump per tick gives all interfaces at the same instant, and shows vanished and new ones
without a second query.  Counters come from ``IFLA_STATS64`` (``struct rtnl_link_stats64``);
``IFLA_STATS`` (32-bit) is the fallback for kernels that lack it.  The dump runs in the network
namespace of the process: ``ip netns exec NS wirekit monitor`` watches namespace NS.

pyroute2 0.9.7 decodes only the first 23 counters of the struct.  Its attribute objects keep
the message's receive buffer (``data``) and their own ``offset`` in it, so :func:`link_stats`
reads the attribute's payload from there: as many counters as the kernel sent, which the
attribute's length tells (``rx_nohandler`` since Linux 4.6, ``rx_otherhost_dropped`` since
5.19).  No second netlink socket and no netlink code of our own.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable, Iterable, Mapping
from types import TracebackType
from typing import Any

from wirekit.errors import WirekitError
from wirekit.monitor.counters import (
    BASE_COUNTERS,
    COUNTER_NAMES,
    IFF_UP,
    Counters,
    InterfaceSample,
    Snapshot,
)

Clock = Callable[[], float]

#: Attribute types from include/uapi/linux/if_link.h.
IFLA_STATS = 7
IFLA_STATS64 = 23
#: struct nlattr: __u16 nla_len (header included), __u16 nla_type; the top two bits of the
#: type are the NLA_F_NESTED / NLA_F_NET_BYTEORDER flags (include/uapi/linux/netlink.h).
_NLA_HEADER = struct.Struct("=HH")
_NLA_TYPE_MASK = 0x3FFF
#: Counter size per attribute: rtnl_link_stats64 has __u64 fields, rtnl_link_stats __u32.
_FIELD_SIZE = {IFLA_STATS64: 8, IFLA_STATS: 4}


def attribute_payload(attribute: Any, nla_type: int) -> bytes | None:
    """The payload bytes of a pyroute2 attribute object, from the message's own buffer.

    ``None`` when the object has no buffer (a plain mapping) or the header found at its
    offset is not an ``nla_type`` attribute: then pyroute2's decoded fields are all there is.
    """
    data, offset = getattr(attribute, "data", None), getattr(attribute, "offset", None)
    if not isinstance(data, bytes | bytearray | memoryview) or not isinstance(offset, int):
        return None
    if offset < 0 or offset + _NLA_HEADER.size > len(data):
        return None
    length, kind = _NLA_HEADER.unpack_from(data, offset)
    if kind & _NLA_TYPE_MASK != nla_type or length < _NLA_HEADER.size or \
            offset + length > len(data):
        return None
    return bytes(data[offset + _NLA_HEADER.size:offset + length])


def decode_stats(payload: bytes, field_size: int) -> tuple[Counters, int]:
    """``struct rtnl_link_stats64`` (``field_size`` 8) or ``rtnl_link_stats`` (4) in host byte
    order -> the counters and how many of :data:`COUNTER_NAMES` the payload held."""
    count = min(len(payload) // field_size, len(COUNTER_NAMES))
    values = struct.unpack_from(f"={count}{'Q' if field_size == 8 else 'I'}", payload)
    return Counters.from_values(values), count


def _from_mapping(stats: Mapping[str, Any]) -> tuple[Counters, int]:
    """pyroute2's decoded fields (or a test's stand-in): the base counters, plus any later
    ones the mapping names, in order."""
    reported = BASE_COUNTERS
    while reported < len(COUNTER_NAMES) and COUNTER_NAMES[reported] in stats:
        reported += 1
    return Counters.from_mapping(stats), reported


def link_stats(message: Any) -> tuple[Counters, int, int] | None:
    """(counters, width in bits, counters reported) of one ``RTM_NEWLINK`` message.

    ``IFLA_STATS64`` first, ``IFLA_STATS`` for kernels before 2.6.35; ``None`` without
    either.  The raw attribute is preferred to pyroute2's decoding, which stops at
    ``tx_compressed``.
    """
    for name, nla_type, width in (("IFLA_STATS64", IFLA_STATS64, 64),
                                  ("IFLA_STATS", IFLA_STATS, 32)):
        attribute = message.get(name)
        if attribute is None:
            continue
        payload = attribute_payload(attribute, nla_type)
        if payload is not None and len(payload) >= BASE_COUNTERS * _FIELD_SIZE[nla_type]:
            counters, reported = decode_stats(payload, _FIELD_SIZE[nla_type])
        else:
            counters, reported = _from_mapping(attribute)
        return counters, width, reported
    return None


def sample_from_message(message: Any) -> InterfaceSample | None:
    """Build an :class:`InterfaceSample` from a pyroute2 ``ifinfmsg``; ``None`` without stats.

    ``message`` only needs ``get(name)`` (attributes, and the header fields ``index`` and
    ``flags``) and ``get_nested``, so tests can pass a small stand-in; a stats attribute
    without a receive buffer (a plain mapping) is read by field name.
    """
    name = message.get("IFLA_IFNAME")
    stats = link_stats(message)
    if name is None or stats is None:
        return None
    counters, width, reported = stats
    return InterfaceSample(
        name=str(name),
        index=int(message.get("index")),
        counters=counters,
        admin_up=bool(int(message.get("flags") or 0) & IFF_UP),
        operstate=str(message.get("IFLA_OPERSTATE") or "UNKNOWN"),
        mtu=message.get("IFLA_MTU"),
        kind=message.get_nested("IFLA_LINKINFO", "IFLA_INFO_KIND"),
        width=width,
        reported=reported,
    )


def samples_from_messages(messages: Iterable[Any]) -> list[InterfaceSample]:
    return [sample for sample in map(sample_from_message, messages) if sample is not None]


class Sampler:
    """A netlink route socket that turns each :meth:`take` into a :class:`Snapshot`.

    ``clock`` (monotonic) and ``wall_clock`` are injectable for tests.  The snapshot's time is
    the midpoint of the dump: the kernel fills each interface's counters while it answers.
    """

    def __init__(self, *, clock: Clock = time.monotonic, wall_clock: Clock = time.time) -> None:
        from pyroute2 import IPRoute

        self._clock = clock
        self._wall_clock = wall_clock
        try:
            self._route = IPRoute()
        except OSError as exc:
            raise WirekitError(f"cannot open a netlink route socket: {exc.strerror}") from exc

    def take(self) -> Snapshot:
        before = self._clock()
        try:
            messages = self._route.get_links()
        except OSError as exc:
            raise WirekitError(f"reading interface counters failed: {exc.strerror}") from exc
        after = self._clock()
        return Snapshot(time=(before + after) / 2, wall=self._wall_clock(),
                        interfaces={sample.name: sample
                                    for sample in samples_from_messages(messages)})

    def close(self) -> None:
        self._route.close()

    def __enter__(self) -> Sampler:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()
