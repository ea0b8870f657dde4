"""Link facts for the summary: what ``ethtool``, ``ethtool -g`` and ``ethtool -k`` would show.

The seed's ``analyze_network_performance`` ran the ethtool program and grepped its output; here
the facts come from :mod:`wirekit.link.ethtool` (ethtool netlink or ``SIOCETHTOOL``).  Every
part is optional: ``lo`` has no link mode, a veth has no rings, and an interface may vanish
between the dump that listed it and the query.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from wirekit.errors import InterfaceError
from wirekit.link import ethtool

#: The offloads the summary reports, grouped as the issue and ``ethtool -k`` group them.
#: Checksums: rx-checksumming and the tx-checksumming sub-features.
#: Segmentation: TSO (IPv4, IPv6), GSO, UDP GSO, and the receive-side GRO and LRO.
#: Receive hashing: RSS hash delivered to the stack (``receive-hashing``).
OFFLOAD_GROUPS: dict[str, tuple[str, ...]] = {
    "checksum": ("rx-checksum", "tx-checksum-ipv4", "tx-checksum-ipv6",
                 "tx-checksum-ip-generic", "tx-checksum-sctp"),
    "segmentation": ("tx-tcp-segmentation", "tx-tcp6-segmentation", "tx-generic-segmentation",
                     "tx-udp-segmentation", "rx-gro", "rx-lro"),
    "receive-hash": ("rx-hashing",),
}


@dataclass(frozen=True, slots=True)
class Offload:
    """One offload feature: on or off, and ``fixed`` when the driver does not let it change."""

    name: str
    group: str
    enabled: bool
    fixed: bool


@dataclass(frozen=True, slots=True)
class LinkFacts:
    """Driver, link mode, rings and offloads of one interface; ``None`` where not reported."""

    driver: str | None = None
    speed_mbps: int | None = None
    duplex: str | None = None
    autoneg: bool | None = None
    rings: ethtool.Rings | None = None
    offloads: tuple[Offload, ...] = ()

    def offload_group(self, group: str) -> tuple[Offload, ...]:
        return tuple(offload for offload in self.offloads if offload.group == group)

    def as_dict(self) -> dict[str, Any]:
        rings = None if self.rings is None else {
            "rx": self.rings.rx, "tx": self.rings.tx,
            "rx_max": self.rings.rx_max, "tx_max": self.rings.tx_max}
        return {
            "driver": self.driver, "speed_mbps": self.speed_mbps, "duplex": self.duplex,
            "autoneg": self.autoneg, "rings": rings,
            "offloads": {offload.name: {"group": offload.group, "enabled": offload.enabled,
                                        "fixed": offload.fixed} for offload in self.offloads},
        }


def select_offloads(features: Mapping[str, ethtool.Feature]) -> tuple[Offload, ...]:
    """The features of :data:`OFFLOAD_GROUPS` that the kernel reported, in that order."""
    return tuple(
        Offload(name=name, group=group, enabled=features[name].enabled,
                fixed=not features[name].changeable)
        for group, names in OFFLOAD_GROUPS.items()
        for name in names
        if name in features
    )


def read_link_facts(ifname: str) -> LinkFacts | None:
    """Query everything for ``ifname``; ``None`` if it vanished in the meantime."""
    try:
        info = ethtool.driver_info(ifname)
        mode = ethtool.link_mode(ifname)
        rings = ethtool.rings(ifname)
        features = ethtool.features(ifname)
    except InterfaceError:
        return None
    return LinkFacts(
        driver=info.driver if info else None,
        speed_mbps=mode.speed_mbps if mode else None,
        duplex=mode.duplex if mode else None,
        autoneg=mode.autoneg if mode else None,
        rings=rings,
        offloads=select_offloads(features or {}),
    )
