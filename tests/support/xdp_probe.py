"""An independent XDP oracle for tests: load a 2-instruction XDP program and attach it natively.

``XDP_FLAGS_DRV_MODE`` asks for the driver's own XDP hook; the kernel refuses it (EOPNOTSUPP)
when the driver has none, where generic (skb) mode would still be accepted.  ``ip -d link``
then shows ``xdp`` (native) on the interface, ``xdpgeneric`` for generic mode.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import struct
from collections.abc import Iterator

SYS_BPF = 321                  # x86_64 (arch/x86/entry/syscalls/syscall_64.tbl)
BPF_PROG_LOAD = 5
BPF_PROG_TYPE_XDP = 6
XDP_PASS = 2
XDP_FLAGS_DRV_MODE = 1 << 2
#: r0 = XDP_PASS; exit   (struct bpf_insn: code, dst:4|src:4, off, imm)
PROGRAM = struct.pack("<BBhi", 0xB7, 0, 0, XDP_PASS) + struct.pack("<BBhi", 0x95, 0, 0, 0)


def load_xdp_pass() -> int:
    """A file descriptor of a loaded XDP program that passes every packet."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    instructions = ctypes.create_string_buffer(PROGRAM, len(PROGRAM))
    license_text = ctypes.create_string_buffer(b"GPL")
    attr = bytearray(128)  # union bpf_attr, BPF_PROG_LOAD part; the rest stays zero
    struct.pack_into("=IIQQ", attr, 0, BPF_PROG_TYPE_XDP, len(PROGRAM) // 8,
                     ctypes.addressof(instructions), ctypes.addressof(license_text))
    buffer = (ctypes.c_char * len(attr)).from_buffer(attr)
    fd = int(libc.syscall(SYS_BPF, BPF_PROG_LOAD, buffer, len(attr)))
    if fd < 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code), "BPF_PROG_LOAD")
    return fd


@contextlib.contextmanager
def native_xdp(ifname: str, netns: str | None = None) -> Iterator[None]:
    """Attach the program in driver (native) mode for the duration of the block."""
    from pyroute2 import IPRoute

    fd = load_xdp_pass()
    try:
        with IPRoute(netns=netns) as ipr:
            index = ipr.link_lookup(ifname=ifname)[0]
            ipr.link("set", index=index, xdp={"attrs": [("IFLA_XDP_FD", fd),
                                                         ("IFLA_XDP_FLAGS", XDP_FLAGS_DRV_MODE)]})
            try:
                yield
            finally:
                ipr.link("set", index=index, xdp={"attrs": [
                    ("IFLA_XDP_FD", -1), ("IFLA_XDP_FLAGS", XDP_FLAGS_DRV_MODE)]})
    finally:
        os.close(fd)
