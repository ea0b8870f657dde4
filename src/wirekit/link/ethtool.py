"""Read ethtool facts about an interface without running the ethtool program.

Driver information comes from the ``SIOCETHTOOL``/``ETHTOOL_GDRVINFO`` ioctl; link mode, rings,
channels, coalescing and features come through pyroute2's ``Ethtool`` (ethtool netlink where the
kernel has it, the ioctl otherwise).  Every getter returns ``None`` when the driver does not
support the query (a veth has no rings, ``lo`` no link mode) and raises
:class:`~wirekit.errors.InterfaceError` when the interface does not exist.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import socket
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from wirekit.errors import InterfaceError

SIOCETHTOOL = 0x8946
ETHTOOL_GDRVINFO = 0x00000003
#: ``struct ethtool_drvinfo`` from linux/ethtool.h: cmd, driver[32], version[32],
#: fw_version[32], bus_info[32], erom_version[32], reserved2[12], five u32 counts.
_DRVINFO = struct.Struct("=I32s32s32s32s32s12s5I")
IFNAMSIZ = 16

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class DriverInfo:
    """What ``ethtool -i`` prints."""

    driver: str
    version: str
    firmware: str
    bus_info: str


@dataclass(frozen=True, slots=True)
class LinkMode:
    """Speed in Mbit/s and duplex, when the driver knows them."""

    speed_mbps: int | None
    duplex: str | None
    autoneg: bool


@dataclass(frozen=True, slots=True)
class Rings:
    """Current and maximum descriptor ring sizes (``ethtool -g``)."""

    rx: int | None
    tx: int | None
    rx_max: int | None
    tx_max: int | None


@dataclass(frozen=True, slots=True)
class Channels:
    """Queue counts (``ethtool -l``): current and maximum."""

    rx: int
    tx: int
    combined: int
    other: int
    rx_max: int
    tx_max: int
    combined_max: int


@dataclass(frozen=True, slots=True)
class Feature:
    """One offload feature (``ethtool -k``): whether it is on and whether it can change."""

    name: str
    enabled: bool
    changeable: bool


def _c_string(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode(errors="replace")


def driver_info(ifname: str) -> DriverInfo | None:
    """The interface's driver, as ``ETHTOOL_GDRVINFO`` reports it (``ethtool -i``)."""
    request = bytearray(_DRVINFO.size)
    struct.pack_into("=I", request, 0, ETHTOOL_GDRVINFO)
    # The ioctl takes a struct ifreq whose union holds a pointer to our request buffer.
    pinned = (ctypes.c_char * len(request)).from_buffer(request)
    ifreq = struct.pack(f"{IFNAMSIZ}sP", ifname.encode()[:IFNAMSIZ - 1], ctypes.addressof(pinned))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            fcntl.ioctl(sock.fileno(), SIOCETHTOOL, ifreq)
        except OSError as exc:
            if exc.errno == errno.ENODEV:
                raise InterfaceError(f"no such interface: {ifname}") from exc
            return None
    fields = _DRVINFO.unpack_from(request)
    return DriverInfo(driver=_c_string(fields[1]), version=_c_string(fields[2]),
                      firmware=_c_string(fields[3]), bus_info=_c_string(fields[4]))


@contextlib.contextmanager
def _ethtool() -> Iterator[Any]:
    from pyroute2.ethtool import Ethtool

    tool = Ethtool()
    try:
        yield tool
    finally:
        tool.close()


def _query(ifname: str, getter: Callable[[Any], T]) -> T | None:
    """Run one pyroute2 query; unsupported -> None, missing interface -> InterfaceError."""
    from pyroute2.ethtool.ioctl import EthtoolError, NoSuchDevice

    try:
        with _ethtool() as tool:
            return getter(tool)
    except NoSuchDevice as exc:
        raise InterfaceError(f"no such interface: {ifname}") from exc
    except OSError as exc:
        if exc.errno == errno.ENODEV:
            raise InterfaceError(f"no such interface: {ifname}") from exc
        return None
    except (EthtoolError, KeyError, ValueError, AttributeError):
        return None


def link_mode(ifname: str) -> LinkMode | None:
    """Speed, duplex and autonegotiation (``ethtool IFACE``)."""
    mode = _query(ifname, lambda tool: tool.get_link_mode(ifname))
    if mode is None:
        return None
    duplex = mode.duplex if mode.duplex not in (None, "Unknown") else None
    speed = mode.speed if isinstance(mode.speed, int) and 0 < mode.speed < 0xFFFFFFFF else None
    return LinkMode(speed_mbps=speed, duplex=duplex, autoneg=bool(mode.autoneg))


def rings(ifname: str) -> Rings | None:
    """RX/TX ring sizes and their maxima (``ethtool -g``)."""
    found = _query(ifname, lambda tool: tool.get_rings(ifname))
    if found is None:
        return None
    return Rings(rx=found.rx, tx=found.tx, rx_max=found.rx_max, tx_max=found.tx_max)


def channels(ifname: str) -> Channels | None:
    """Queue counts (``ethtool -l``)."""
    found = _query(ifname, lambda tool: tool.get_channels(ifname))
    if found is None:
        return None
    return Channels(rx=found.rx_count, tx=found.tx_count, combined=found.combined_count,
                    other=found.other_count, rx_max=found.max_rx, tx_max=found.max_tx,
                    combined_max=found.max_combined)


def coalesce(ifname: str) -> dict[str, int] | None:
    """Interrupt coalescing parameters (``ethtool -c``), without the ioctl's ``cmd`` word."""
    found = _query(ifname, lambda tool: tool.get_coalesce(ifname))
    if found is None:
        return None
    return {str(key): int(value) for key, value in dict(found).items() if key != "cmd"}


def features(ifname: str) -> dict[str, Feature] | None:
    """Offload features by their ethtool long names (``tx-checksum-ipv4``, ``rx-gro``, ...)."""
    found = _query(ifname, lambda tool: tool.get_features(ifname))
    if found is None:
        return None
    result: dict[str, Feature] = {}
    for name, feature in found.features.items():
        if name:
            result[name] = Feature(name=name, enabled=bool(feature.enable),
                                   changeable=bool(feature.available))
    return result
