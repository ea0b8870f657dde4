"""Read every interface's counters in one netlink dump (``RTM_GETLINK``, ``NLM_F_DUMP``).

One dump per tick gives all interfaces at the same instant, and shows vanished and new ones
without a second query.  Counters come from ``IFLA_STATS64`` (``struct rtnl_link_stats64``);
``IFLA_STATS`` (32-bit) is the fallback for kernels that lack it.  The dump runs in the network
namespace of the process: ``ip netns exec NS wirekit monitor`` watches namespace NS.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any

from wirekit.errors import WirekitError
from wirekit.monitor.counters import IFF_UP, Counters, InterfaceSample, Snapshot

Clock = Callable[[], float]


def sample_from_message(message: Any) -> InterfaceSample | None:
    """Build an :class:`InterfaceSample` from a pyroute2 ``ifinfmsg``; ``None`` without stats.

    ``message`` only needs ``get(name)`` (attributes, and the header fields ``index`` and
    ``flags``) and ``get_nested``, so tests can pass a small stand-in.
    """
    name = message.get("IFLA_IFNAME")
    stats, width = message.get("IFLA_STATS64"), 64
    if stats is None:
        stats, width = message.get("IFLA_STATS"), 32
    if name is None or stats is None:
        return None
    return InterfaceSample(
        name=str(name),
        index=int(message.get("index")),
        counters=Counters.from_mapping(stats),
        admin_up=bool(int(message.get("flags") or 0) & IFF_UP),
        operstate=str(message.get("IFLA_OPERSTATE") or "UNKNOWN"),
        mtu=message.get("IFLA_MTU"),
        kind=message.get_nested("IFLA_LINKINFO", "IFLA_INFO_KIND"),
        width=width,
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
