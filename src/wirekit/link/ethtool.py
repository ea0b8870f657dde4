"""Read and change ethtool settings of an interface without running the ethtool program.

Driver information comes from the ``SIOCETHTOOL``/``ETHTOOL_GDRVINFO`` ioctl; link mode, rings,
channels, coalescing and features come through pyroute2's ``Ethtool`` (ethtool netlink where the
kernel has it, the ioctl otherwise).  Every getter returns ``None`` when the driver does not
support the query (a veth has no rings, ``lo`` no link mode) and raises
:class:`~wirekit.errors.InterfaceError` when the interface does not exist.

The setters (``set_rings``, ``set_channels``, ``set_coalesce``, ``set_features``; the
``ethtool -G/-L/-C/-K`` requests) raise :class:`EthtoolRequestError` carrying the kernel's errno
when the driver refuses (EOPNOTSUPP on a veth's rings, EINVAL above the maximum, EPERM without
CAP_NET_ADMIN).  A driver may accept a request and adjust it, so callers read the value back.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import os
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


class EthtoolRequestError(InterfaceError):
    """The kernel refused an ethtool change; ``errno`` is its reason (EOPNOTSUPP, EINVAL, EPERM)."""

    def __init__(self, message: str, *, errno_code: int) -> None:
        super().__init__(message)
        self.errno = errno_code


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


#: ``ethtool -C`` option names -> ``struct ethtool_coalesce`` fields (linux/ethtool.h).
COALESCE_FIELDS: dict[str, str] = {
    "rx-usecs": "rx_coalesce_usecs",
    "rx-frames": "rx_max_coalesced_frames",
    "rx-usecs-irq": "rx_coalesce_usecs_irq",
    "rx-frames-irq": "rx_max_coalesced_frames_irq",
    "tx-usecs": "tx_coalesce_usecs",
    "tx-frames": "tx_max_coalesced_frames",
    "tx-usecs-irq": "tx_coalesce_usecs_irq",
    "tx-frames-irq": "tx_max_coalesced_frames_irq",
    "stats-block-usecs": "stats_block_coalesce_usecs",
    "adaptive-rx": "use_adaptive_rx_coalesce",
    "adaptive-tx": "use_adaptive_tx_coalesce",
    "pkt-rate-low": "pkt_rate_low",
    "pkt-rate-high": "pkt_rate_high",
    "sample-interval": "rate_sample_interval",
}


def _change(ifname: str, what: str, action: Callable[[Any], object]) -> None:
    """Run one pyroute2 change request, translating every failure to its errno."""
    from pyroute2.ethtool.ioctl import NoSuchDevice, NotSupportedError
    from pyroute2.netlink.exceptions import NetlinkError

    try:
        with _ethtool() as tool:
            action(tool)
    except NoSuchDevice as exc:
        raise InterfaceError(f"no such interface: {ifname}") from exc
    except NotSupportedError as exc:
        raise EthtoolRequestError(f"{what} on {ifname}: not supported by the driver",
                                  errno_code=errno.EOPNOTSUPP) from exc
    except NetlinkError as exc:
        raise _request_error(ifname, what, int(exc.code)) from exc
    except OSError as exc:
        if exc.errno == errno.ENODEV:
            raise InterfaceError(f"no such interface: {ifname}") from exc
        raise _request_error(ifname, what, exc.errno or errno.EIO) from exc


def _request_error(ifname: str, what: str, code: int) -> EthtoolRequestError:
    return EthtoolRequestError(f"{what} on {ifname}: {os.strerror(code)}", errno_code=code)


def set_rings(ifname: str, *, rx: int | None = None, tx: int | None = None) -> None:
    """Change RX/TX descriptor ring sizes (``ethtool -G IFACE rx N tx N``)."""
    sizes = {name: value for name, value in (("rx", rx), ("tx", tx)) if value is not None}
    if sizes:
        _change(ifname, "set ring sizes", lambda tool: tool.set_rings(ifname, **sizes))


def set_channels(ifname: str, *, rx: int | None = None, tx: int | None = None,
                 combined: int | None = None, other: int | None = None) -> None:
    """Change queue counts (``ethtool -L IFACE combined N``); unset counts stay as they are."""
    counts = {f"{name}_count": value for name, value in
              (("rx", rx), ("tx", tx), ("combined", combined), ("other", other))
              if value is not None}
    if counts:
        _change(ifname, "set channels", lambda tool: tool.set_channels(ifname, counts))


def set_coalesce(ifname: str, values: dict[str, int]) -> None:
    """Change interrupt coalescing (``ethtool -C``); keys are ``ethtool -C`` option names
    (``rx-usecs``) or ``struct ethtool_coalesce`` field names (``rx_coalesce_usecs``)."""
    fields: dict[str, int] = {}
    for name, value in values.items():
        field = COALESCE_FIELDS.get(name, name)
        if field not in COALESCE_FIELDS.values():
            raise EthtoolRequestError(f"unknown coalescing parameter {name!r}",
                                      errno_code=errno.EINVAL)
        fields[field] = int(value)
    if fields:
        _change(ifname, "set coalescing", lambda tool: tool.set_coalesce(ifname, fields))


def set_features(ifname: str, wanted: dict[str, bool]) -> None:
    """Turn offload features on or off by their long names (``ethtool -K IFACE rx-gro off``).

    The driver may refuse some of them (fixed features) or switch dependent ones too (turning
    TX checksumming off takes TSO with it), so read them back with :func:`features`.
    """
    def change(tool: Any) -> None:
        found = tool.get_features(ifname)
        for name, enable in wanted.items():
            if name not in found.features:
                raise EthtoolRequestError(f"{ifname} has no feature named {name!r}",
                                          errno_code=errno.EOPNOTSUPP)
            found.features[name].enable = bool(enable)
        tool.set_features(ifname, found)

    if wanted:
        _change(ifname, "set features", change)
