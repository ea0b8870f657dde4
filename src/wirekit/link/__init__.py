"""The kernel boundary: capabilities, interfaces (netlink, ethtool), packet sockets, batched I/O.

Only this package (and the I/O adapters above it) talks to the kernel; the codec, the pcap
readers and the protocol core never do.  See docs/link.md for the design.

The names below are loaded on first use (PEP 562): ``import wirekit.link.caps`` from another
package must not pay for libpcap, the codec and pyroute2.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wirekit.link.afpacket import PacketStatistics
    from wirekit.link.bpf import FilterProgram, attach_filter, compile_filter, libpcap_version
    from wirekit.link.caps import has_capability, require_capability
    from wirekit.link.interfaces import (
        Interface,
        InterfaceAddress,
        InterfaceStats,
        get_interface,
        interface_index,
        list_interfaces,
    )
    from wirekit.link.neighbour import Route, resolve_mac, route_to
    from wirekit.link.ping import Pinger, PingPlan, PingStatistics, run_ping
    from wirekit.link.privileges import drop_privileges
    from wirekit.link.probe import PortResult, SynProber, parse_ports, plan_target
    from wirekit.link.replay import Pacing, ReplayStats, Schedule, load_capture
    from wirekit.link.ring import RingConfig, RxRing
    from wirekit.link.sender import FrameSender, FrameVector

#: public name -> the module that defines it
_WHERE = {
    "PacketStatistics": "afpacket",
    "FilterProgram": "bpf", "attach_filter": "bpf", "compile_filter": "bpf",
    "libpcap_version": "bpf",
    "has_capability": "caps", "require_capability": "caps",
    "Interface": "interfaces", "InterfaceAddress": "interfaces",
    "InterfaceStats": "interfaces", "get_interface": "interfaces",
    "interface_index": "interfaces", "list_interfaces": "interfaces",
    "Route": "neighbour", "resolve_mac": "neighbour", "route_to": "neighbour",
    "Pinger": "ping", "PingPlan": "ping", "PingStatistics": "ping", "run_ping": "ping",
    "drop_privileges": "privileges",
    "PortResult": "probe", "SynProber": "probe", "parse_ports": "probe",
    "plan_target": "probe",
    "Pacing": "replay", "ReplayStats": "replay", "Schedule": "replay",
    "load_capture": "replay",
    "RingConfig": "ring", "RxRing": "ring",
    "FrameSender": "sender", "FrameVector": "sender",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'wirekit.link' has no attribute {name!r}")
    return getattr(importlib.import_module(f"wirekit.link.{module}"), name)


__all__ = [
    "FilterProgram",
    "FrameSender",
    "FrameVector",
    "Interface",
    "InterfaceAddress",
    "InterfaceStats",
    "Pacing",
    "PacketStatistics",
    "PingPlan",
    "PingStatistics",
    "Pinger",
    "PortResult",
    "ReplayStats",
    "RingConfig",
    "Route",
    "RxRing",
    "Schedule",
    "SynProber",
    "attach_filter",
    "compile_filter",
    "drop_privileges",
    "get_interface",
    "has_capability",
    "interface_index",
    "libpcap_version",
    "list_interfaces",
    "load_capture",
    "parse_ports",
    "plan_target",
    "require_capability",
    "resolve_mac",
    "route_to",
    "run_ping",
]
