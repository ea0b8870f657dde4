"""tcpdump's text for TCP options, MPTCP included (print-tcp.c and print-mptcp.c of 4.99).

tcpdump walks the options with two budgets, the option bytes the data offset announces and the
bytes the capture kept, and prints as it goes.  Its quirks show in the line, so the walk is
reproduced step by step:

- an option is read with the size *tcpdump* expects of its kind (MSS 2 bytes, TS 8, MD5 16),
  not the one its length byte says; the next option starts after what was read, and a length
  that disagrees is reported as ``[len N]`` after the option;
- a length below 2 or past the announced options, or an option tcpdump rejects (a MPTCP
  subtype of the wrong size, an experimental option without its ExID), prints ``[bad opt]``
  and ends the line there, with ``]`` only if an option came before;
- the capture ending inside an option prints `` [|tcp]`` and ends the line; when the end was
  found by a length check past the first option tcpdump adds ``>``.  Once a MPTCP option was
  printed tcpdump names the protocol of a later cut ``mptcp`` (its printer sets the name and
  nothing sets it back).
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

_SYN, _ACK = 0x02, 0x10

#: tcpdump's option names (tcp_option_values); kind 13 (CC.ECHO, RFC 1644) has an empty one.
OPTION_NAMES = {0: "eol", 1: "nop", 2: "mss", 3: "wscale", 4: "sackOK", 5: "sack", 6: "echo",
                7: "echoreply", 8: "TS", 11: "cc", 12: "ccnew", 13: "", 19: "md5", 20: "scps",
                28: "uto", 29: "tcp-ao", 30: "mptcp", 34: "tfo", 254: "exp"}
#: The ExID of TCP Fast Open in an experimental option (RFC 6994 section 3, RFC 7413 section 4.1.1).
TFO_EXID = 0xF989


class OptionsText(NamedTuple):
    """What tcpdump prints after ``options [``; whether the line goes on (``, length N``);
    the protocol name tcpdump gives a cut found later in the segment."""

    text: str
    complete: bool
    protocol: str


class _BadOption(Exception):
    """tcpdump's ``[bad opt]``: it ends the line."""


class _Cut(Exception):
    """The capture ends inside the options.  *checked*: tcpdump noticed it in a length check
    (its ``LENCHECK``), not in a plain read."""

    def __init__(self, checked: bool) -> None:
        super().__init__()
        self.checked = checked


@dataclass
class _Walk:
    """tcpdump's cursor: the captured option bytes, its position, the announced option bytes
    not consumed yet (``hlen``), and the text printed so far."""

    data: bytes
    left: int
    flags: int
    signature: str
    pos: int = 0
    started: bool = False  # an option was printed (tcpdump's separator ``ch`` is set)
    protocol: str = "tcp"
    out: list[str] = field(default_factory=list)

    def read(self, at: int) -> int:
        """One byte at *at* past the position (tcpdump's ``GET_U_1``)."""
        if self.pos + at >= len(self.data):
            raise _Cut(checked=False)
        return self.data[self.pos + at]

    def need(self, size: int) -> bytes:
        """*size* bytes of option data, which must be announced and captured (``LENCHECK``)."""
        if size > self.left:
            raise _BadOption
        if self.pos + size > len(self.data):
            raise _Cut(checked=True)
        return self.data[self.pos:self.pos + size]

    def skip(self, size: int) -> None:
        self.pos += size
        self.left -= size


def tcp_options_text(data: bytes, size: int, flags: int, signature: str) -> OptionsText:
    """tcpdump's text for the option bytes *data* the capture kept of *size* announced ones,
    with the closing ``]``.  *flags* is the TCP flags octet (MPTCP checks it), *signature* the
    words tcpdump puts before an MD5 signature it cannot check."""
    walk = _Walk(data, size, flags, signature)
    try:
        _walk_options(walk)
    except _BadOption:
        walk.out.append("[bad opt]]" if walk.started else "[bad opt]")
        return OptionsText("".join(walk.out), False, walk.protocol)
    except _Cut as cut:
        walk.out.append(f" [|{walk.protocol}]" + (">" if cut.checked and walk.started else ""))
        return OptionsText("".join(walk.out), False, walk.protocol)
    walk.out.append("]")
    return OptionsText("".join(walk.out), True, walk.protocol)


def _walk_options(walk: _Walk) -> None:
    while walk.left > 0:
        if walk.started:
            walk.out.append(",")
        kind = walk.read(0)
        length = 1
        if kind > 1:  # EOL and NOP are one byte; every other option has a length byte
            length = walk.read(1)
            if length < 2 or length > walk.left:
                raise _BadOption
        walk.skip(1 if kind <= 1 else 2)
        walk.out.append(OPTION_NAMES.get(kind, f"unknown-{kind}"))
        used = _PRINTERS.get(kind, _raw)(walk, length)
        walk.skip(used)
        if used + (1 if kind <= 1 else 2) != length:
            walk.out.append(f"[len {length}]")
        walk.started = True
        if kind == 0:
            break


def _number(walk: _Walk, size: int) -> int:
    return int.from_bytes(walk.need(size), "big")


def _nothing(walk: _Walk, length: int) -> int:
    return 0


def _mss(walk: _Walk, length: int) -> int:
    walk.out.append(f" {_number(walk, 2)}")
    return 2


def _wscale(walk: _Walk, length: int) -> int:
    walk.out.append(f" {_number(walk, 1)}")
    return 1


def _sack(walk: _Walk, length: int) -> int:
    """RFC 2018: blocks of two 32-bit edges; a block is printed once both edges are read."""
    size = length - 2
    if size % 8:
        walk.out.append(" invalid sack")
        return size
    walk.out.append(f" {size // 8} ")
    for at in range(0, size, 8):
        walk.need(at + 4)
        block = walk.need(at + 8)[at:]
        start, end = int.from_bytes(block[:4], "big"), int.from_bytes(block[4:], "big")
        walk.out.append(f"{{{start}:{end}}}")
    return size


def _count(walk: _Walk, length: int) -> int:
    """RFC 1072 echo / echo reply and RFC 1644 CC, CC.NEW, CC.ECHO: one 32-bit number."""
    walk.out.append(f" {_number(walk, 4)}")
    return 4


def _timestamp(walk: _Walk, length: int) -> int:
    data = walk.need(8)
    walk.out.append(f" val {int.from_bytes(data[:4], 'big')} ecr {int.from_bytes(data[4:], 'big')}")
    return 8


def _md5(walk: _Walk, length: int) -> int:
    """RFC 2385: a 16-byte signature.  Without the shared secret (tcpdump -M) tcpdump says why
    it cannot check it, then prints it."""
    signature = walk.need(16)
    walk.out.append(f" {walk.signature}can't check - {signature.hex()}")
    return 16


def _scps(walk: _Walk, length: int) -> int:
    data = walk.need(2)
    walk.out.append(f" cap {data[0]:02x} id {data[1]}")
    return 2


def _user_timeout(walk: _Walk, length: int) -> int:
    """RFC 5482 section 3 puts the granularity bit G at the top of the 16 bits; tcpdump reads
    the low bit as G (minutes) and the other 15 bits as the timeout, and so does this line."""
    value = _number(walk, 2)
    walk.out.append(f" 0x{value:x} {(value >> 1) * 60 if value & 1 else value >> 1}")
    return 2


def _tcp_ao(walk: _Walk, length: int) -> int:
    """RFC 5925 section 2.2: KeyID, RNextKeyID, then the MAC; the length is at least 4."""
    size = length - 2
    if size < 2:
        walk.out.append(" (invalid)")
        return size
    walk.out.append(f" keyid {walk.need(1)[0]}")
    walk.out.append(f" rnextkeyid {walk.need(2)[1]}")
    if size > 2:
        walk.out.append(" mac 0x")
        for at in range(2, size):
            walk.out.append(f"{walk.need(at + 1)[at]:02x}")
    return size


def _fast_open(walk: _Walk, cookie: bytes) -> None:
    """RFC 7413 section 4.1.1: no cookie is a cookie request; a cookie has 4 to 16 bytes, an
    even number of them in tcpdump's check."""
    if not cookie:
        walk.out.append(" cookiereq")
    elif len(cookie) % 2 or not 4 <= len(cookie) <= 16:
        walk.out.append(" (invalid)")
    else:
        walk.out.append(f" cookie {cookie.hex()}")


def _tfo(walk: _Walk, length: int) -> int:
    size = length - 2
    cookie = walk.need(size)
    walk.out.append(" ")
    _fast_open(walk, cookie)
    return size


def _experimental(walk: _Walk, length: int) -> int:
    """RFC 6994: an experimental option (kind 254) starts with a 16-bit ExID.  tcpdump decodes
    TCP Fast Open's (0xf989, RFC 7413 section 4.1.1) and prints any other ExID in hex."""
    size = length - 2
    data = walk.need(size)
    if size < 2:
        raise _BadOption
    exid = int.from_bytes(data[:2], "big")
    if exid == TFO_EXID:
        walk.out.append("-tfo")
        _fast_open(walk, data[2:])
    else:
        walk.out.append(f"-{exid:04x}")
    return size


def _mptcp(walk: _Walk, length: int) -> int:
    size = length - 2
    walk.need(size)
    walk.protocol = "mptcp"
    option = walk.data[walk.pos - 2:walk.pos + size]
    if not mptcp_text(option, walk.flags, walk.out):
        raise _BadOption
    return size


def _raw(walk: _Walk, length: int) -> int:
    """An option tcpdump does not decode: its data in hex, as captured."""
    size = length - 2
    if size:
        walk.out.append(" 0x")
    for at in range(size):
        walk.out.append(f"{walk.need(at + 1)[at]:02x}")
    return size


_Printer = Callable[[_Walk, int], int]
_PRINTERS: dict[int, _Printer] = {
    0: _nothing, 1: _nothing, 2: _mss, 3: _wscale, 4: _nothing, 5: _sack, 6: _count, 7: _count,
    8: _timestamp, 11: _count, 12: _count, 13: _count, 19: _md5, 20: _scps, 28: _user_timeout,
    29: _tcp_ao, 30: _mptcp, 34: _tfo, 254: _experimental,
}


# -- MPTCP (RFC 8684 section 3; version 0 was RFC 6824) ------------------------------------------

def mptcp_text(option: bytes, flags: int, out: list[str]) -> bool:
    """tcpdump's words for one MPTCP option (kind, length and data): its length, the subtype
    name and the subtype's fields.  False when tcpdump rejects it (``[bad opt]`` follows)."""
    if len(option) < 3:
        return False
    subtype = min(option[2] >> 4, len(_MPTCP) - 1)
    name, printer = _MPTCP[subtype]
    out.append(f" {len(option)} {name}")
    return printer(option, flags, out)


def _u32(data: bytes, at: int) -> int:
    return int.from_bytes(data[at:at + 4], "big")


def _u64(data: bytes, at: int) -> int:
    return int.from_bytes(data[at:at + 8], "big")


def _mp_capable(option: bytes, flags: int, out: list[str]) -> bool:
    """RFC 8684 3.1: 4 or 12 bytes on a SYN, 20 or 22 on the third ACK (keys, data length)."""
    size = len(option)
    if not (size in (4, 12) and flags & _SYN) and \
            not (size in (20, 22) and flags & (_SYN | _ACK) == _ACK):
        return False
    version = option[2] & 0x0F
    if version > 1:
        out.append(f" Unknown Version ({version})")
        return True
    out.append(f" v{version}" + (" csum" if option[3] & 0x80 else ""))
    if size == 12 or size >= 20:
        keys = f"0x{_u64(option, 4):x}" + (f",0x{_u64(option, 12):x}" if size >= 20 else "")
        out.append(f" {{{keys}}}")
    return True


def _mp_join(option: bytes, flags: int, out: list[str]) -> bool:
    """RFC 8684 3.2: 12 bytes on the SYN, 16 on the SYN/ACK, 24 on the third ACK."""
    size = len(option)
    if not (size == 12 and flags & _SYN) and \
            not (size == 16 and flags & (_SYN | _ACK) == _SYN | _ACK) and \
            not (size == 24 and flags & _ACK):
        return False
    if size != 24:
        out.append((" backup" if option[2] & 1 else "") + f" id {option[3]}")
    if size == 12:
        out.append(f" token 0x{_u32(option, 4):x} nonce 0x{_u32(option, 8):x}")
    elif size == 16:
        out.append(f" hmac 0x{_u64(option, 4):x} nonce 0x{_u32(option, 12):x}")
    else:
        out.append(f" hmac 0x{option[4:24].hex()}")
    return True


def _mp_dss(option: bytes, flags: int, out: list[str]) -> bool:
    """RFC 8684 3.3: flags F, m, M, a, A, then the data ACK (4 or 8 bytes), the mapping (data
    sequence number 4 or 8, subflow sequence number, data-level length) and a checksum."""
    if len(option) < 4 or flags & _SYN:
        return False
    bits, rest = option[3], option[4:]
    if bits & 0x10:
        out.append(" fin")
    if bits & 0x01:
        out.append(" ack ")  # tcpdump prints the word before it checks the size
        size = 8 if bits & 0x02 else 4
        if len(rest) < size:
            return False
        out.append(f"{int.from_bytes(rest[:size], 'big')}")
        rest = rest[size:]
    if bits & 0x04:
        out.append(" seq ")
        size = 8 if bits & 0x08 else 4
        if len(rest) < size:
            return False
        out.append(f"{int.from_bytes(rest[:size], 'big')}")
        rest = rest[size:]
        if len(rest) < 4:
            return False
        out.append(f" subseq {_u32(rest, 0)}")
        if len(rest) < 6:
            return False
        out.append(f" len {int.from_bytes(rest[4:6], 'big')}")
        rest = rest[6:]
        if len(rest) >= 2:  # the checksum is there only when negotiated
            out.append(f" csum 0x{int.from_bytes(rest[:2], 'big'):x}")
            rest = rest[2:]
    return not rest


#: The low nibble of ADD_ADDR: v0 (RFC 6824) carries the IP version, v1 (RFC 8684 3.4.1) the
#: echo flag.
_ADD_ADDR_KINDS = {0x6: "v0-ip6", 0x4: "v0-ip4", 0x1: "v1-echo", 0x0: "v1"}


def _mp_add_addr(option: bytes, flags: int, out: list[str]) -> bool:
    """RFC 8684 3.4.1: an IPv4 (8 bytes) or IPv6 (20) address, a port (+2), an HMAC (+8)."""
    size = len(option)
    if size not in (8, 10, 16, 18, 20, 22, 28, 30):
        return False
    out.append(f" {_ADD_ADDR_KINDS.get(option[2] & 0x0F, '[bad version/echo]')} id {option[3]}")
    family, width = (socket.AF_INET, 4) if size < 20 else (socket.AF_INET6, 16)
    out.append(" " + socket.inet_ntop(family, option[4:4 + width]))
    after = 4 + width
    if (size - after) % 8:  # a port before the HMAC
        out.append(f":{int.from_bytes(option[after:after + 2], 'big')}")
        after += 2
    if size - after == 8:
        out.append(f" hmac 0x{_u64(option, after):x}")
    return True


def _mp_remove_addr(option: bytes, flags: int, out: list[str]) -> bool:
    if len(option) < 4:
        return False
    out.append(" id" + "".join(f" {address_id}" for address_id in option[3:]))
    return True


def _mp_prio(option: bytes, flags: int, out: list[str]) -> bool:
    if len(option) not in (3, 4):
        return False
    out.append(" backup" if option[2] & 1 else " non-backup")
    if len(option) == 4:
        out.append(f" id {option[3]}")
    return True


def _mp_fail(option: bytes, flags: int, out: list[str]) -> bool:
    if len(option) != 12:
        return False
    out.append(f" seq {_u64(option, 4)}")
    return True


def _mp_fast_close(option: bytes, flags: int, out: list[str]) -> bool:
    if len(option) != 12:
        return False
    out.append(f" key 0x{_u64(option, 4):x}")
    return True


def _mp_unknown(option: bytes, flags: int, out: list[str]) -> bool:
    """Subtypes tcpdump 4.99 does not decode (MP_TCPRST 8, MP_EXPERIMENTAL 15): the name."""
    return True


_MPTCP: tuple[tuple[str, Callable[[bytes, int, list[str]], bool]], ...] = (
    ("capable", _mp_capable), ("join", _mp_join), ("dss", _mp_dss),
    ("add-addr", _mp_add_addr), ("rem-addr", _mp_remove_addr), ("prio", _mp_prio),
    ("fail", _mp_fail), ("fast-close", _mp_fast_close), ("unknown", _mp_unknown),
)
