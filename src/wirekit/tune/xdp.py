"""Which interfaces support native XDP and AF_XDP zero-copy, and how wirekit decides.

1. **The kernel's own answer** (Linux >= 6.3): the ``netdev`` generic-netlink family
   (Documentation/netlink/specs/netdev.yaml) reports each device's ``xdp-features``, the
   ``NETDEV_XDP_ACT_*`` bits its driver registered with ``xdp_set_features_flag()``:
   ``basic`` (XDP_PASS/DROP/TX: native XDP), ``redirect``, ``ndo-xmit``, ``xsk-zerocopy``
   (AF_XDP without copies), ``hw-offload``, ``rx-sg``, ``ndo-xmit-sg``.
2. **A driver table** when the family is missing: drivers in the kernel tree that implement
   ``ndo_bpf`` (native XDP) and ``ndo_xsk_wakeup`` (AF_XDP zero-copy).  The report names the
   source, and a driver in neither list is ``unknown``, never guessed.

Every interface can still run XDP in generic (skb) mode and AF_XDP in copy mode when the kernel
has CONFIG_XDP_SOCKETS; "native" and "zero-copy" are what make them fast.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass

#: NETDEV_XDP_ACT_* bits (include/uapi/linux/netdev.h).
XDP_ACT: dict[int, str] = {
    1 << 0: "basic",
    1 << 1: "redirect",
    1 << 2: "ndo-xmit",
    1 << 3: "xsk-zerocopy",
    1 << 4: "hw-offload",
    1 << 5: "rx-sg",
    1 << 6: "ndo-xmit-sg",
}
NETDEV_FAMILY = "netdev"
NETDEV_CMD_DEV_GET = 1

#: driver -> (native XDP, AF_XDP zero-copy), from the kernel tree (drivers/net/...): ndo_bpf
#: gives native XDP, ndo_xsk_wakeup gives zero-copy.  Used only without the netdev family.
DRIVER_TABLE: dict[str, tuple[bool, bool]] = {
    "i40e": (True, True), "ice": (True, True), "ixgbe": (True, True), "igc": (True, True),
    "igb": (True, True), "mlx5_core": (True, True), "stmmaceth": (True, True),
    "gve": (True, True), "virtio_net": (True, True), "nfp": (True, True),
    "tsnep": (True, True), "fsl_dpaa2_eth": (True, True), "idpf": (True, True),
    "rvu_nicpf": (True, True), "ixgbevf": (True, False), "mlx4_en": (True, False),
    "bnxt_en": (True, False), "qede": (True, False), "ena": (True, False),
    "sfc": (True, False), "hv_netvsc": (True, False), "nicvf": (True, False),
    "mvneta": (True, False), "mvpp2": (True, False), "netsec": (True, False),
    "fec": (True, False), "fsl_enetc": (True, False), "fsl_dpaa_eth": (True, False),
    "atlantic": (True, False), "mana": (True, False), "am65-cpsw-nuss": (True, False),
    "cpsw": (True, False), "lan966x-switch": (True, False), "xen_netfront": (True, False),
    "bonding": (True, False), "tun": (True, False), "veth": (True, False),
    "netdevsim": (True, False), "e1000e": (False, False), "e1000": (False, False),
    "r8169": (False, False), "vmxnet3": (True, False), "bridge": (False, False),
    "dummy": (False, False), "ifb": (False, False),
}


@dataclass(frozen=True, slots=True)
class XdpSupport:
    """Native XDP and AF_XDP zero-copy of one interface (None: nobody can tell)."""

    native: bool | None
    zero_copy: bool | None
    flags: tuple[str, ...]
    source: str

    @property
    def afxdp_mode(self) -> str:
        if self.zero_copy:
            return "zero-copy"
        return "copy mode only" if self.zero_copy is False else "copy mode (zero-copy unknown)"


def decode_flags(bits: int) -> tuple[str, ...]:
    """NETDEV_XDP_ACT_* bits -> their names from the netlink spec."""
    return tuple(name for bit, name in XDP_ACT.items() if bits & bit)


def kernel_xdp_features() -> dict[int, int] | None:
    """ifindex -> xdp-features bits for every device, or None without the netdev family."""
    from pyroute2.netlink import NLM_F_DUMP, NLM_F_REQUEST, genlmsg
    from pyroute2.netlink.exceptions import NetlinkError
    from pyroute2.netlink.generic import GenericNetlinkSocket

    class NetdevMessage(genlmsg):  # type: ignore[misc]
        """``netdev`` family dev-get reply (NETDEV_A_DEV_* attributes)."""

        prefix = "NETDEV_A_DEV_"
        nla_map = (("NETDEV_A_DEV_UNSPEC", "none"), ("NETDEV_A_DEV_IFINDEX", "uint32"),
                   ("NETDEV_A_DEV_PAD", "none"), ("NETDEV_A_DEV_XDP_FEATURES", "uint64"),
                   ("NETDEV_A_DEV_XDP_ZC_MAX_SEGS", "uint32"))

    sock = GenericNetlinkSocket()
    try:
        sock.bind(NETDEV_FAMILY, NetdevMessage)
        request = NetdevMessage()
        request["cmd"] = NETDEV_CMD_DEV_GET
        request["version"] = 1
        replies = sock.nlm_request(request, msg_type=sock.prid,
                                   msg_flags=NLM_F_REQUEST | NLM_F_DUMP)
        return {int(reply.get_attr("NETDEV_A_DEV_IFINDEX")):
                int(reply.get_attr("NETDEV_A_DEV_XDP_FEATURES") or 0) for reply in replies}
    except NetlinkError as exc:
        if exc.code in (errno.ENOENT, errno.EOPNOTSUPP):
            return None
        raise
    except Exception:  # pyroute2 raises a bare exception when the family is unknown
        return None
    finally:
        sock.close()


def xdp_support(ifindex: int, driver: str | None,
                kernel: dict[int, int] | None) -> XdpSupport:
    """Decide from the kernel's bits when present, else from the driver table."""
    if kernel is not None and ifindex in kernel:
        flags = decode_flags(kernel[ifindex])
        return XdpSupport("basic" in flags, "xsk-zerocopy" in flags, flags,
                          "kernel (netdev xdp-features)")
    if driver in DRIVER_TABLE:
        native, zero_copy = DRIVER_TABLE[driver]
        return XdpSupport(native, zero_copy, (), "driver table (no netdev netlink family)")
    return XdpSupport(None, None, (), f"unknown driver {driver or '?'}")
