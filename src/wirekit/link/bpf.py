"""tcpdump-syntax filters: compiled by libpcap (through ctypes), run in the kernel or offline.

libpcap is the only program that knows tcpdump's filter language exactly, so wirekit does not
reimplement it.  :func:`compile_filter` opens a "dead" pcap handle of the right link type
(pcap_open_dead(3PCAP)), compiles (pcap_compile(3PCAP)) and copies the classic BPF instructions
out before freeing libpcap's copy.  The result is attached to an AF_PACKET socket with
``SO_ATTACH_FILTER`` (socket(7), filter.txt in the kernel docs) or run over a capture file's
records with pcap_offline_filter(3PCAP).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import socket
import struct
import threading
from dataclasses import dataclass
from typing import ClassVar

from wirekit.errors import CaptureError, FilterError
from wirekit.packet.linktype import LinkType

#: pcap_compile's netmask when the interface's is unknown (only "ip broadcast" needs it).
PCAP_NETMASK_UNKNOWN = 0xFFFFFFFF
#: The snapshot length tcpdump uses by default (MAXIMUM_SNAPLEN in libpcap).
DEFAULT_SNAPLEN = 262144
SO_ATTACH_FILTER = 26
SO_DETACH_FILTER = 27
#: BPF_MAXINSNS from linux/bpf_common.h: the kernel refuses longer classic programs.
BPF_MAXINSNS = 4096


class _BpfInsn(ctypes.Structure):
    """``struct bpf_insn`` (pcap/bpf.h) — the same layout as the kernel's ``struct sock_filter``."""

    _fields_: ClassVar = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte),
                          ("jf", ctypes.c_ubyte), ("k", ctypes.c_uint32)]


class _BpfProgram(ctypes.Structure):
    """``struct bpf_program``: instruction count and pointer."""

    _fields_: ClassVar = [("bf_len", ctypes.c_uint), ("bf_insns", ctypes.POINTER(_BpfInsn))]


class _TimeVal(ctypes.Structure):
    _fields_: ClassVar = [("tv_sec", ctypes.c_long), ("tv_usec", ctypes.c_long)]


class _PcapPktHdr(ctypes.Structure):
    """``struct pcap_pkthdr``: timestamp, captured length, length on the wire."""

    _fields_: ClassVar = [("ts", _TimeVal), ("caplen", ctypes.c_uint32), ("len", ctypes.c_uint32)]


class _LibPcap:
    """The few libpcap entry points wirekit uses, with their C signatures."""

    def __init__(self) -> None:
        name = ctypes.util.find_library("pcap") or "libpcap.so.0.8"
        try:
            lib = ctypes.CDLL(name)
        except OSError as exc:
            raise CaptureError(f"libpcap is not installed ({name}: {exc}); "
                               "install the libpcap0.8 package") from exc
        lib.pcap_open_dead.argtypes = [ctypes.c_int, ctypes.c_int]
        lib.pcap_open_dead.restype = ctypes.c_void_p
        lib.pcap_compile.argtypes = [ctypes.c_void_p, ctypes.POINTER(_BpfProgram),
                                     ctypes.c_char_p, ctypes.c_int, ctypes.c_uint32]
        lib.pcap_compile.restype = ctypes.c_int
        lib.pcap_geterr.argtypes = [ctypes.c_void_p]
        lib.pcap_geterr.restype = ctypes.c_char_p
        lib.pcap_freecode.argtypes = [ctypes.POINTER(_BpfProgram)]
        lib.pcap_freecode.restype = None
        lib.pcap_close.argtypes = [ctypes.c_void_p]
        lib.pcap_close.restype = None
        lib.pcap_offline_filter.argtypes = [ctypes.POINTER(_BpfProgram),
                                            ctypes.POINTER(_PcapPktHdr), ctypes.c_void_p]
        lib.pcap_offline_filter.restype = ctypes.c_int
        lib.bpf_image.argtypes = [ctypes.POINTER(_BpfInsn), ctypes.c_int]
        lib.bpf_image.restype = ctypes.c_char_p
        lib.pcap_lib_version.argtypes = []
        lib.pcap_lib_version.restype = ctypes.c_char_p
        self.lib = lib
        # pcap_compile was not thread-safe before libpcap 1.8; one lock costs nothing here.
        self.lock = threading.Lock()


_LIBPCAP: _LibPcap | None = None


def _libpcap() -> _LibPcap:
    global _LIBPCAP
    if _LIBPCAP is None:
        _LIBPCAP = _LibPcap()
    return _LIBPCAP


def libpcap_version() -> str:
    """libpcap's own version string, e.g. ``libpcap version 1.10.3 (with TPACKET_V3)``."""
    return str(_libpcap().lib.pcap_lib_version().decode())


@dataclass(frozen=True, slots=True)
class Instruction:
    """One classic BPF instruction (``struct sock_filter``)."""

    code: int
    jt: int
    jf: int
    k: int


class FilterProgram:
    """A compiled filter: its instructions, and the means to run them.

    The instructions live in one ctypes array owned by this object, so running the filter
    offline or attaching it builds nothing per call.
    """

    __slots__ = ("_header", "_insns", "_program", "expression", "instructions", "link", "snaplen")

    def __init__(self, expression: str, link: LinkType | int, snaplen: int,
                 instructions: tuple[Instruction, ...]) -> None:
        self.expression = expression
        self.link = link
        self.snaplen = snaplen
        self.instructions = instructions
        self._insns = (_BpfInsn * len(instructions))(
            *(_BpfInsn(i.code, i.jt, i.jf, i.k) for i in instructions))
        self._program = _BpfProgram(len(instructions), self._insns)
        self._header = _PcapPktHdr()

    def __len__(self) -> int:
        return len(self.instructions)

    def __repr__(self) -> str:
        name = self.link.name if isinstance(self.link, LinkType) else str(self.link)
        return (f"FilterProgram({self.expression!r}, link={name}, "
                f"{len(self.instructions)} instructions)")

    def matches(self, data: bytes | bytearray | memoryview, orig_len: int | None = None) -> bool:
        """Whether the filter accepts this frame (pcap_offline_filter(3PCAP)).

        ``data`` is the captured bytes, ``orig_len`` the length on the wire (defaults to
        ``len(data)``); the BPF program sees both, as the kernel would.
        """
        length = len(data)
        self._header.caplen = length
        self._header.len = length if orig_len is None else orig_len
        if isinstance(data, bytes):
            pointer: object = data
        else:
            try:
                pointer = ctypes.addressof((ctypes.c_char * length).from_buffer(data))
            except (TypeError, ValueError):  # read-only buffer: copy it once
                pointer = bytes(data)
        result: int = _libpcap().lib.pcap_offline_filter(ctypes.byref(self._program),
                                                    ctypes.byref(self._header), pointer)
        return result != 0

    def sock_fprog(self) -> bytes:
        """``struct sock_fprog`` for SO_ATTACH_FILTER: length, padding, pointer to our array.

        The pointer is only valid while this object lives; the kernel copies the program
        during setsockopt, so that is long enough.
        """
        return struct.pack("HxxxxxxP", len(self.instructions), ctypes.addressof(self._insns))

    def dump(self) -> str:
        """The program as ``tcpdump -d`` prints it (libpcap's bpf_image)."""
        lib = _libpcap().lib
        return "\n".join(lib.bpf_image(ctypes.byref(self._insns[n]), n).decode()
                         for n in range(len(self.instructions)))


def compile_filter(expression: str, link: LinkType | int = LinkType.ETHERNET, *,
                   snaplen: int = DEFAULT_SNAPLEN, optimize: bool = True,
                   netmask: int = PCAP_NETMASK_UNKNOWN) -> FilterProgram:
    """Compile a tcpdump-syntax ``expression`` for frames of type ``link``.

    An empty expression accepts everything (the program is ``ret #snaplen``).  A syntax or
    semantic error raises :class:`FilterError` carrying libpcap's own message.
    """
    pcap = _libpcap()
    dlt = link.dlt() if isinstance(link, LinkType) else int(link)
    with pcap.lock:
        handle = pcap.lib.pcap_open_dead(dlt, snaplen)
        if not handle:
            raise FilterError(f"libpcap cannot open a handle for link type {link}")
        try:
            return _compile_on(pcap, handle, expression, link=link, snaplen=snaplen,
                               optimize=optimize, netmask=netmask)
        finally:
            pcap.lib.pcap_close(handle)


def _compile_on(pcap: _LibPcap, handle: int, expression: str, *, link: LinkType | int,
                snaplen: int,
                optimize: bool, netmask: int) -> FilterProgram:
    program = _BpfProgram()
    # surrogateescape: command-line bytes that are not UTF-8 reach libpcap as they came
    text = expression.encode("utf-8", "surrogateescape")
    status = pcap.lib.pcap_compile(handle, ctypes.byref(program), text, int(optimize), netmask)
    if status != 0:
        message = pcap.lib.pcap_geterr(handle).decode(errors="replace")
        raise FilterError(f"invalid filter {expression!r}: {message}")
    try:
        instructions = tuple(
            Instruction(program.bf_insns[n].code, program.bf_insns[n].jt,
                        program.bf_insns[n].jf, program.bf_insns[n].k)
            for n in range(program.bf_len))
    finally:
        pcap.lib.pcap_freecode(ctypes.byref(program))
    return FilterProgram(expression, link, snaplen, instructions)


class OfflineFilter:
    """One expression for a capture file, compiled once per link type the file uses.

    A pcapng file may mix interfaces of different link types, and the same words compile to
    different offsets for each; tcpdump compiles for the file's first link type, and so does
    :meth:`prepare`, so a bad expression fails before the first packet is printed.
    """

    def __init__(self, expression: str, *, snaplen: int = DEFAULT_SNAPLEN) -> None:
        self.expression = expression
        self.snaplen = snaplen
        self._programs: dict[int, FilterProgram] = {}

    def prepare(self, link: LinkType | int | None) -> None:
        """Compile now for ``link`` (the file's first link type), raising FilterError."""
        if link is not None:
            self._program(link)

    def _program(self, link: LinkType | int) -> FilterProgram:
        program = self._programs.get(int(link))
        if program is None:
            program = compile_filter(self.expression, link, snaplen=self.snaplen)
            self._programs[int(link)] = program
        return program

    def matches(self, data: bytes | bytearray | memoryview, orig_len: int,
                link: LinkType | int) -> bool:
        return self._program(link).matches(data, orig_len)


#: Classic BPF opcode fields (linux/bpf_common.h).
BPF_LD, BPF_LDX = 0x00, 0x01
BPF_ABS, BPF_IND, BPF_MSH = 0x20, 0x40, 0xA0
#: Where the kernel's ancillary loads live (linux/filter.h): SKF_AD_OFF is -0x1000.
SKF_AD_OFF = 0xFFFFF000
SKF_AD_PROTOCOL, SKF_AD_PKTTYPE, SKF_AD_IFINDEX, SKF_AD_HATYPE = 0, 4, 8, 28
SLL2_HEADER_LEN = 20
#: SLL2 header fields the kernel can answer from the skb (offset -> ancillary load).
_SLL2_FIELDS = {0: SKF_AD_PROTOCOL, 4: SKF_AD_IFINDEX, 8: SKF_AD_HATYPE, 10: SKF_AD_PKTTYPE}


def for_cooked_socket(program: FilterProgram) -> FilterProgram | None:
    """The program rewritten for a SOCK_DGRAM socket, or None if only user space can run it.

    A program compiled for LINUX_SLL2 expects the 20-byte cooked header in front of the
    packet, but on a SOCK_DGRAM packet socket the kernel runs the filter on the bare network
    header, and the cooked header does not exist yet.  So every load past the header moves 20
    bytes down, and loads of header fields the kernel knows become ancillary loads (protocol,
    ifindex, hardware type, packet type), as libpcap's ``fix_offset`` does.  Any other load
    inside the header (the link-layer address) cannot be answered in the kernel.
    """
    if program.link is not LinkType.LINUX_SLL2:
        raise ValueError("only LINUX_SLL2 programs are rewritten for cooked sockets")
    rewritten = []
    for insn in program.instructions:
        cls, mode = insn.code & 0x07, insn.code & 0xE0
        if cls not in (BPF_LD, BPF_LDX) or mode not in (BPF_ABS, BPF_IND, BPF_MSH) \
                or insn.k >= SKF_AD_OFF:
            rewritten.append(insn)
            continue
        if insn.k >= SLL2_HEADER_LEN:
            rewritten.append(Instruction(insn.code, insn.jt, insn.jf, insn.k - SLL2_HEADER_LEN))
        elif mode == BPF_ABS and insn.k in _SLL2_FIELDS:
            rewritten.append(Instruction(insn.code, insn.jt, insn.jf,
                                         SKF_AD_OFF + _SLL2_FIELDS[insn.k]))
        else:
            return None
    return FilterProgram(program.expression, program.link, program.snaplen, tuple(rewritten))


def attach_filter(sock: socket.socket, program: FilterProgram) -> None:
    """Attach ``program`` to ``sock`` in the kernel (SO_ATTACH_FILTER)."""
    if len(program) > BPF_MAXINSNS:
        raise FilterError(f"filter {program.expression!r} compiles to {len(program)} "
                          f"instructions; the kernel accepts at most {BPF_MAXINSNS}")
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, program.sock_fprog())
    except OSError as exc:
        raise FilterError(f"the kernel refused filter {program.expression!r}: "
                          f"{exc.strerror}") from exc


def detach_filter(sock: socket.socket) -> None:
    """Remove the socket's filter (SO_DETACH_FILTER)."""
    sock.setsockopt(socket.SOL_SOCKET, SO_DETACH_FILTER, 0)
