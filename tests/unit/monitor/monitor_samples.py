"""Builders of synthetic samples and snapshots for the monitor's unit tests."""

from __future__ import annotations

from wirekit.monitor import Counters, InterfaceSample, Snapshot


def sample(name: str = "eth0", index: int = 2, *, admin_up: bool = True,
           operstate: str = "UP", **counters: int) -> InterfaceSample:
    """An interface with the given counters (the rest 0)."""
    return InterfaceSample(name=name, index=index, counters=Counters(**counters),
                           admin_up=admin_up, operstate=operstate, mtu=1500, kind="veth")


def snap(time: float, *samples: InterfaceSample) -> Snapshot:
    return Snapshot.of(time, list(samples), wall=1_700_000_000.0 + time)
