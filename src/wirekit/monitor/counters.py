"""Interface counters as the kernel reports them, and one dump of all interfaces.

These are plain values: the sampler builds them from netlink messages, tests build them by hand,
and the rate calculator compares two of them.  Nothing here touches the kernel.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any


@dataclass(frozen=True, slots=True)
class Counters:
    """The counters of ``struct rtnl_link_stats64`` (include/uapi/linux/if_link.h)::

        struct rtnl_link_stats64 {
            __u64 rx_packets;  __u64 tx_packets;  __u64 rx_bytes;  __u64 tx_bytes;
            __u64 rx_errors;   __u64 tx_errors;   __u64 rx_dropped; __u64 tx_dropped;
            __u64 multicast;   __u64 collisions;
            /* detailed rx_errors: */
            __u64 rx_length_errors; __u64 rx_over_errors; __u64 rx_crc_errors;
            __u64 rx_frame_errors;  __u64 rx_fifo_errors; __u64 rx_missed_errors;
            /* detailed tx_errors */
            __u64 tx_aborted_errors; __u64 tx_carrier_errors; __u64 tx_fifo_errors;
            __u64 tx_heartbeat_errors; __u64 tx_window_errors;
            /* for cslip etc */
            __u64 rx_compressed; __u64 tx_compressed;
            __u64 rx_nohandler;          /* Linux 4.6 */
            __u64 rx_otherhost_dropped;  /* Linux 5.19 */
        };

    The struct only ever grows at its end, so a kernel sends a prefix of it: 23, 24 or 25
    counters (:attr:`InterfaceSample.reported` says how many).  Counters the kernel did not
    send are 0 here and ``None`` in JSON.  pyroute2 0.9.7 decodes only the first 23; the
    sampler reads the attribute's bytes itself (:func:`wirekit.monitor.sampler.link_stats`).

    ``rx_nohandler`` counts frames the stack dropped because the device may not deliver them
    to the generic protocol handlers: the uapi comment's example is the backup link of a
    bond (its rx_handler returns ``RX_HANDLER_EXACT`` and nothing is bound to that device,
    net/core/dev.c ``__netif_receive_skb_core``).  A frame with an EtherType nobody handles
    on an ordinary device is counted in ``rx_dropped`` instead.  ``rx_otherhost_dropped``
    counts IP packets dropped because their destination MAC address was not the device's
    (``PACKET_OTHERHOST``, in ``ip_rcv_core()`` and ``ip6_rcv_core()``).

    The same type holds deltas (what changed over one interval) and totals.  Byte counters
    count frames without the FCS; on virtual devices with GSO a "packet" is one super-packet.
    """

    rx_packets: int = 0
    tx_packets: int = 0
    rx_bytes: int = 0
    tx_bytes: int = 0
    rx_errors: int = 0
    tx_errors: int = 0
    rx_dropped: int = 0
    tx_dropped: int = 0
    multicast: int = 0
    collisions: int = 0
    rx_length_errors: int = 0
    rx_over_errors: int = 0
    rx_crc_errors: int = 0
    rx_frame_errors: int = 0
    rx_fifo_errors: int = 0
    rx_missed_errors: int = 0
    tx_aborted_errors: int = 0
    tx_carrier_errors: int = 0
    tx_fifo_errors: int = 0
    tx_heartbeat_errors: int = 0
    tx_window_errors: int = 0
    rx_compressed: int = 0
    tx_compressed: int = 0
    rx_nohandler: int = 0
    rx_otherhost_dropped: int = 0

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> Counters:
        """Build from a mapping with (a subset of) the field names; missing ones are 0."""
        return cls(**{name: int(values.get(name) or 0) for name in COUNTER_NAMES})

    @classmethod
    def from_values(cls, values: Sequence[int]) -> Counters:
        """The first ``len(values)`` counters in the kernel's order (a prefix of the struct,
        as an older kernel sends it); the rest are 0, and values beyond the known counters (a
        newer kernel's additions) are ignored."""
        return cls(*values[:len(COUNTER_NAMES)])

    def as_dict(self) -> dict[str, int]:
        """Field name -> value, in the kernel's order."""
        return {name: getattr(self, name) for name in COUNTER_NAMES}

    def reported_dict(self, reported: int) -> dict[str, int | None]:
        """Like :meth:`as_dict`, with ``None`` for counters past the first ``reported`` (the
        ones this kernel does not send): the JSON form."""
        return {name: getattr(self, name) if index < reported else None
                for index, name in enumerate(COUNTER_NAMES)}

    def values(self) -> tuple[int, ...]:
        """The values in the kernel's order (the order of :data:`COUNTER_NAMES`)."""
        return tuple(getattr(self, name) for name in COUNTER_NAMES)

    def __add__(self, other: Counters) -> Counters:
        return Counters(*(a + b for a, b in zip(self.values(), other.values(), strict=True)))


COUNTER_NAMES: tuple[str, ...] = tuple(field.name for field in fields(Counters))
ZERO = Counters()
#: Counters every kernel with ``IFLA_STATS64`` sends (up to ``tx_compressed``); pyroute2 0.9.7
#: decodes exactly these.
BASE_COUNTERS = 23

#: ``IFF_UP`` from linux/if.h: the interface is administratively up.
IFF_UP = 0x1


@dataclass(frozen=True, slots=True)
class InterfaceSample:
    """One interface in one dump: identity, state and counters.

    ``width`` is 64 when the counters came from ``IFLA_STATS64`` and 32 when only the legacy
    ``IFLA_STATS`` was present (kernels before 2.6.35).  ``reported`` is how many counters of
    :data:`COUNTER_NAMES` the kernel sent (23, 24 from Linux 4.6, 25 from 5.19): the size of
    the attribute, not the kernel version, decides.
    """

    name: str
    index: int
    counters: Counters
    admin_up: bool = True
    operstate: str = "UNKNOWN"
    mtu: int | None = None
    kind: str | None = None
    width: int = 64
    reported: int = len(COUNTER_NAMES)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Every interface at one instant: ``time`` is monotonic seconds, ``wall`` epoch seconds."""

    time: float
    wall: float
    interfaces: Mapping[str, InterfaceSample]

    @classmethod
    def of(cls, time: float, samples: list[InterfaceSample], wall: float | None = None
           ) -> Snapshot:
        """Build from a list of samples; ``wall`` defaults to ``time`` (handy in tests)."""
        return cls(time=time, wall=time if wall is None else wall,
                   interfaces={sample.name: sample for sample in samples})
