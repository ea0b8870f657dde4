"""tcpdump's one-line text of a DNS message (print-domain.c of 4.99, without -v).

The text is read from the captured bytes, as tcpdump does, so that a cut or malformed message
prints what tcpdump prints: every read is checked against the capture and the first one past it
ends the line with `` [|domain]``.  Names follow compression pointers (RFC 1035 section 4.1.4)
only backwards, so a walk always ends; a forward or looping pointer prints ``<BAD PTR>``.
"""

from __future__ import annotations

import socket

#: RFC 1035 section 4.1.1: the header is 12 octets.
HEADER = 12
#: RFC 1035 section 3.1: a name is at most 255 octets (tcpdump's MAXCDNAME).
MAX_NAME = 255
T_A, T_NS, T_CNAME, T_SOA, T_PTR, T_MX, T_TXT, T_AAAA = 1, 2, 5, 6, 12, 15, 16, 28
T_SRV, T_A6, T_DNAME, T_OPT, T_UNSPECA, T_URI = 33, 38, 39, 41, 104, 256
C_IN = 1
#: The well-known port of DNS over UDP and TCP (RFC 1035 section 4.2).
DNS_PORT = 53

#: tcpdump's names of RR types (ns_type2str); others print as ``Type<N>``.
TYPE_NAMES = {
    1: "A", 2: "NS", 3: "MD", 4: "MF", 5: "CNAME", 6: "SOA", 7: "MB", 8: "MG", 9: "MR",
    10: "NULL", 11: "WKS", 12: "PTR", 13: "HINFO", 14: "MINFO", 15: "MX", 16: "TXT", 17: "RP",
    18: "AFSDB", 19: "X25", 20: "ISDN", 21: "RT", 22: "NSAP", 23: "NSAP_PTR", 24: "SIG",
    25: "KEY", 26: "PX", 27: "GPOS", 28: "AAAA", 29: "LOC", 30: "NXT", 31: "EID",
    32: "NIMLOC", 33: "SRV", 34: "ATMA", 35: "NAPTR", 36: "KX", 37: "CERT", 38: "A6",
    39: "DNAME", 40: "SINK", 41: "OPT", 42: "APL", 43: "DS", 44: "SSHFP", 45: "IPSECKEY",
    46: "RRSIG", 47: "NSEC", 48: "DNSKEY", 99: "SPF", 100: "UINFO", 101: "UID", 102: "GID",
    103: "UNSPEC", 104: "UNSPECA", 249: "TKEY", 250: "TSIG", 251: "IXFR", 252: "AXFR",
    253: "MAILB", 254: "MAILA", 255: "ANY", 256: "URI",
}
#: tcpdump's class names (ns_class2str); others print as ``(Class <N>)``.
CLASS_NAMES = {1: "IN", 3: "CHAOS", 4: "HS", 255: "ANY"}
#: The opcode words (ns_ops), with their leading space; RFC 1035 4.1.1, RFC 1996, RFC 2136.
OPCODES = ("", " inv_q", " stat", " op3", " notify", " update", " op6", " op7", " op8",
           " updateA", " updateD", " updateDA", " updateM", " updateMA", " zoneInit",
           " zoneRef")
#: The response codes tcpdump names (RFC 1035 4.1.1, RFC 2136, RFC 6891 6.1.3, RFC 7873); the
#: others print as `` Resp<N>``, except 17 and 21, which tcpdump prints without the space.
RCODES = {0: "", 1: " FormErr", 2: " ServFail", 3: " NXDomain", 4: " NotImp", 5: " Refused",
          6: " YXDomain", 7: " YXRRSet", 8: " NXRRSet", 9: " NotAuth", 10: " NotZone",
          15: " NoChange", 16: " BadVers", 17: "Resp17", 21: "Resp21", 23: " BadCookie"}
#: EDNS option names (edns_opt2str), RFC 6891 section 6.1.2 and its successors.
EDNS_OPTIONS = {1: "LLQ", 2: "UL", 3: "NSID", 5: "DAU", 6: "DHU", 7: "N3U", 8: "ECS",
                9: "EXPIRE", 10: "COOKIE", 11: "KEEPALIVE", 12: "PADDING", 13: "CHAIN",
                14: "KEY-TAG", 16: "CLIENT-TAG", 17: "SERVER-TAG"}


class _Cut(Exception):
    """A read past the captured bytes: tcpdump ends the line with `` [|domain]``."""


def _char(byte: int) -> str:
    """One byte as tcpdump's fn_print_char writes it (M- for high bits, ^ for controls)."""
    text = ""
    if byte > 0x7F:
        text, byte = "M-", byte & 0x7F
    if byte < 0x20 or byte == 0x7F:
        return text + "^" + chr(byte ^ 0x40)
    return text + chr(byte)


class _Message:
    """The captured bytes of one message and the text written so far."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.end = len(data)
        self.out: list[str] = []

    def u8(self, at: int) -> int:
        if not 0 <= at < self.end:
            raise _Cut
        return self.data[at]

    def u16(self, at: int) -> int:
        if not at >= 0 or at + 2 > self.end:
            raise _Cut
        return int.from_bytes(self.data[at:at + 2], "big")

    def has(self, at: int, size: int) -> bool:
        return at >= 0 and at + size <= self.end

    def write(self, text: str) -> None:
        self.out.append(text)

    def printn(self, at: int, count: int) -> bool:
        """nd_printn: up to *count* bytes as text; False when the capture ended first."""
        stop = min(at + count, self.end)
        self.write("".join(_char(byte) for byte in self.data[at:stop]))
        return stop == at + count

    # -- names (RFC 1035 sections 3.1 and 4.1.4) ----------------------------------------------
    def skip_name(self, at: int) -> int | None:
        """ns_nskip: where the field after the name at *at* starts, without printing."""
        if at >= self.end:
            return None
        length = self.data[at]
        while length:
            kind = length & 0xC0
            if kind == 0xC0:
                return at + 2  # a pointer ends the name (RFC 1035 section 4.1.4)
            if kind == 0x80:
                return None
            if kind == 0x40:  # an extended label type (RFC 6891 section 5)
                if length != 0x41 or at + 1 >= self.end:
                    return None
                at += 2 + ((self.data[at + 1] or 256) + 7) // 8
            else:
                at += length + 1
            if at >= self.end:
                return None
            length = self.data[at]
        return at + 1

    def label_length(self, at: int) -> int | None:
        """labellen: the size of the label at *at* (a bit label's size with its count)."""
        if at >= self.end:
            return None
        first = self.data[at]
        if first & 0xC0 == 0x80:  # reserved (RFC 1035 section 4.1.4)
            self.write("<BAD LABEL TYPE>")
            return None
        if first & 0xC0 == 0x40:
            if first != 0x41:
                self.write(f"<ELT {first & 0x3F}>")
                return None
            if at + 1 >= self.end:
                return None
            return ((self.data[at + 1] or 256) + 7) // 8 + 1
        return first

    def name(self, at: int) -> int | None:
        """fqdn_print: the name at *at* with a dot after each label; where the field after
        the name starts, or None (after what was printed) when tcpdump gives up."""
        length = self.label_length(at)
        if length is None:
            return None
        limit, label = at, self.data[at]
        at += 1
        compressed = False
        after = -1 if label & 0xC0 == 0xC0 else at + length  # -1: none yet (tcpdump's NULL)
        if label == 0:
            self.write(".")
            return after if after >= 0 else None
        chars = 0
        while label and at < self.end:
            if label & 0xC0 == 0xC0:  # a pointer (RFC 1035 section 4.1.4)
                if not compressed:
                    after, compressed = at + 1, True
                target = ((label << 8) | self.u8(at)) & 0x3FFF
                if target >= limit:  # only backwards: every walk ends, loops included
                    self.write("<BAD PTR>")
                    return None
                limit = at = target
                length = self.label_length(at)
                if length is None:
                    return None
                label = self.data[at]
                at += 1
                continue
            if label & 0xC0 == 0x40:
                if not self.bit_label(at):
                    return None
            else:
                chars = self.label_text(at, length, chars)
                if chars < 0:
                    return None
            at += length
            if chars <= MAX_NAME:
                self.write(".")
            chars += 1
            length = self.label_length(at)
            if length is None:
                return None
            label = self.data[at]
            at += 1
            if not compressed:
                after += length + 1
        if chars > MAX_NAME:
            self.write("<DOMAIN NAME TOO LONG>")
        return after if after >= 0 else None

    def label_text(self, at: int, length: int, chars: int) -> int:
        """One label's characters, cut where the name passes 255; -1 at the capture's end."""
        if chars + length <= MAX_NAME:
            if not self.printn(at, length):
                return -1
        elif chars < MAX_NAME and not self.printn(at, MAX_NAME - chars):
            return -1
        return chars + length

    def bit_label(self, at: int) -> bool:
        """blabel_print: an RFC 2673 bit-string label ``\\[x<hex>/<bits>]``."""
        if at >= self.end:
            return False
        bits = self.data[at] or 256
        whole, rest = divmod(bits, 8)
        text = "".join(f"{byte:02x}" for byte in self.data[at + 1:at + 1 + whole])
        if not self.has(at + 1, whole + (rest > 0)):
            self.write("\\[x" + text)
            raise _Cut  # tcpdump prints the bytes it has, then its cut mark
        if rest:
            last = self.data[at + 1 + whole]
            if rest > 4:
                text += f"{last & (0xFF << (8 - rest)) & 0xFF:02x}"
            else:
                text += f"{(last >> 4) & (0x0F << (4 - rest)) & 0x0F:x}"
        self.write(f"\\[x{text}/{bits}]")
        return True

    # -- questions and resource records (RFC 1035 sections 4.1.2 and 4.1.3) ----------------
    def question(self, at: int) -> int | None:
        """ns_qprint: `` TYPE? name.`` (the class too when it is not IN)."""
        after = self.skip_name(at)
        if after is None or not self.has(after, 4):
            return None
        kind, klass = self.u16(after), self.u16(after + 2)
        self.write(" " + TYPE_NAMES.get(kind, f"Type{kind}"))
        if klass != C_IN:
            self.write(" " + CLASS_NAMES.get(klass, f"(Class {klass})"))
        self.write("? ")
        end = self.name(at)
        return None if end is None else end + 4

    def record(self, at: int) -> int | None:
        """ns_rprint without -v: the type, a non-IN class and, for some types, the data."""
        after = self.skip_name(at)
        if after is None or not self.has(after, 10):
            return self.end  # tcpdump stops the section here without a cut mark
        kind, klass = self.u16(after), self.u16(after + 2)
        if klass != C_IN and kind != T_OPT:
            self.write(" " + CLASS_NAMES.get(klass, f"(Class {klass})"))
        flags = self.u16(after + 6)
        size = self.u16(after + 8)
        at = after + 10
        self.write(" " + TYPE_NAMES.get(kind, f"Type{kind}"))
        if at + size > self.end:
            return None
        printer = _RDATA.get(kind)
        if printer is not None and not printer(self, at, size, klass, flags):
            return None
        return at + size

    def rdata_a(self, at: int, size: int, klass: int, flags: int) -> bool:
        if not self.has(at, 4):
            return False
        self.write(" " + socket.inet_ntop(socket.AF_INET, self.data[at:at + 4]))
        return True

    def rdata_aaaa(self, at: int, size: int, klass: int, flags: int) -> bool:
        if not self.has(at, 16):
            return False
        self.write(" " + socket.inet_ntop(socket.AF_INET6, self.data[at:at + 16]))
        return True

    def rdata_name(self, at: int, size: int, klass: int, flags: int) -> bool:
        self.write(" ")
        return self.name(at) is not None

    def rdata_mx(self, at: int, size: int, klass: int, flags: int) -> bool:
        """RFC 1035 section 3.3.9: the exchange, then the preference."""
        self.write(" ")
        if not self.has(at, 2) or self.name(at + 2) is None:
            return False
        self.write(f" {self.u16(at)}")
        return True

    def rdata_srv(self, at: int, size: int, klass: int, flags: int) -> bool:
        """RFC 2782: ``target:port priority weight``."""
        self.write(" ")
        if not self.has(at, 6) or self.name(at + 6) is None:
            return False
        self.write(f":{self.u16(at + 4)} {self.u16(at)} {self.u16(at + 2)}")
        return True

    def rdata_txt(self, at: int, size: int, klass: int, flags: int) -> bool:
        """RFC 1035 section 3.3.14: each character-string in quotes."""
        stop = at + size
        while at < stop:
            self.write(' "')
            if at >= self.end:
                return False
            count = self.data[at]
            if not self.printn(at + 1, count):
                return False
            at += 1 + count
            self.write('"')
        return True

    def rdata_a6(self, at: int, size: int, klass: int, flags: int) -> bool:
        """RFC 2874: prefix length, address suffix, prefix name."""
        bits = self.u8(at)
        skip = (bits & ~7) // 8
        if bits > 128:
            self.write(f" {bits}(bad plen)")
            return True
        if bits < 128:
            if not self.has(at + 1, 16 - skip):
                raise _Cut
            address = bytes(skip) + self.data[at + 1:at + 17 - skip]
            self.write(f" {bits} {socket.inet_ntop(socket.AF_INET6, address)}")
        if bits > 0:
            self.write(" ")
            return self.name(at + 17 - skip) is not None
        return True

    def rdata_uri(self, at: int, size: int, klass: int, flags: int) -> bool:
        """RFC 7553: priority, weight, target."""
        if not self.has(at, size):
            return False
        self.write(f" {self.u16(at)} {self.u16(at + 2)} ")
        return self.printn(at + 4, (size - 4) % (1 << 32))

    def rdata_unspeca(self, at: int, size: int, klass: int, flags: int) -> bool:
        """One long string, straight after the type's name."""
        return self.has(at, size) and self.printn(at, size)

    def rdata_opt(self, at: int, size: int, klass: int, flags: int) -> bool:
        """RFC 6891 section 6.1.3: the payload size in the class, DO in the TTL."""
        self.write(f" UDPsize={klass}")
        if flags & 0x8000:
            self.write(" DO")
        stop = at + size
        if at < stop:
            self.write(" [")
            while at < stop:
                next_at = self.edns_option(at)
                if next_at is None:
                    return False
                at = next_at
                if at < stop:
                    self.write(",")
            self.write("]")
        return True

    def edns_option(self, at: int) -> int | None:
        """eopt_print: an option's name and its data (RFC 6891 section 6.1.2)."""
        if not self.has(at, 2):
            return None
        code = self.u16(at)
        self.write(EDNS_OPTIONS.get(code, f"Opt{code}"))
        if not self.has(at + 2, 2):
            return None
        size = self.u16(at + 2)
        at += 4
        if not self.has(at, size):
            return None
        if size:
            self.write(" " + _option_text(code, self.data[at:at + size]))
        return at + size


def _option_text(code: int, data: bytes) -> str:
    size = len(data)
    if code == 8:
        return _ecs_text(data)
    if code == 10:
        if size < 8 or 8 < size < 16 or size > 40:
            return " (invalid)"
        return data[:8].hex() + (" " + data[8:].hex() if size > 8 else "")
    if code == 11:
        return " (invalid)" if size != 2 else f"{int.from_bytes(data, 'big') / 10.0:.1f} sec"
    if code == 9:
        return " (invalid)" if size != 4 else f"{int.from_bytes(data, 'big')} sec"
    if code == 12:
        return f"({size})"
    if code == 14:
        if size % 2:
            return " (invalid)"
        return " ".join(str(int.from_bytes(data[i:i + 2], "big")) for i in range(0, size, 2))
    return data.hex()


def _ecs_text(data: bytes) -> str:
    """EDNS Client Subnet (RFC 7871 section 6): ``address/source/scope``."""
    if len(data) < 4:
        return " (invalid)"
    family, source, scope = int.from_bytes(data[:2], "big"), data[2], data[3]
    bits = {1: 32, 2: 128}.get(family)
    if bits is None or len(data) - 4 > bits // 8 or source > bits or scope > bits \
            or (source + 7) // 8 != len(data) - 4:
        return " (invalid)"
    address = data[4:].ljust(bits // 8, b"\0")
    af = socket.AF_INET if family == 1 else socket.AF_INET6
    return f"{socket.inet_ntop(af, address)}/{source}/{scope}"


_RDATA = {T_A: _Message.rdata_a, T_AAAA: _Message.rdata_aaaa, T_NS: _Message.rdata_name,
          T_CNAME: _Message.rdata_name, T_PTR: _Message.rdata_name,
          T_DNAME: _Message.rdata_name, T_MX: _Message.rdata_mx, T_TXT: _Message.rdata_txt,
          T_SRV: _Message.rdata_srv, T_A6: _Message.rdata_a6, T_URI: _Message.rdata_uri,
          T_UNSPECA: _Message.rdata_unspeca, T_OPT: _Message.rdata_opt}


# -- the message ------------------------------------------------------------------------------

def dns_text(data: bytes, length: int, over_tcp: bool = False) -> str:
    """domain_print: the text tcpdump writes after ``sport > dport: `` for a DNS message.

    *data*: the captured bytes from the message on (the TCP length prefix included when
    *over_tcp*); *length*: the message's length on the wire (RFC 1035 section 4.2).
    """
    prefix = ""
    if over_tcp:  # RFC 1035 section 4.2.2: a two-byte length comes first
        if length < 2:
            return f" [DNS over TCP: length {length} < 2] (invalid)"
        if len(data) < 2:
            return " [|domain]"
        length -= 2
        stated = int.from_bytes(data[:2], "big")
        if stated != length:
            return f" [prefix length({stated}) != length({length})] (invalid)"
        data, prefix = data[2:], " "
    if length < HEADER:
        return f"{prefix}domain [length {length} < {HEADER}] (invalid)"
    message = _Message(data)
    try:
        _message(message, length)
    except _Cut:
        message.write(" [|domain]")
    return prefix + "".join(message.out)


def _message(msg: _Message, length: int) -> None:
    if not msg.has(0, HEADER):
        raise _Cut
    ident, flags = msg.u16(0), msg.u16(2)
    counts = [msg.u16(at) for at in (4, 6, 8, 10)]
    if flags & 0x8000:
        done = _response(msg, ident, flags, counts)
    else:
        done = _query(msg, ident, flags, counts)
    if not done:
        raise _Cut
    msg.write(f" ({length})")


def _extended_rcode(msg: _Message, counts: list[int]) -> int | None:
    """The high bits of the response code from an OPT record among the additional records
    (RFC 6891 section 6.1.3), found by skipping the sections the way tcpdump does."""
    at: int | None = HEADER
    end = msg.end
    for _ in range(counts[0]):
        at = msg.skip_name(at) if at is not None else None
        if at is None or at + 4 >= end:
            return None
        at += 4
    for _ in range(counts[1] + counts[2]):
        at = msg.skip_name(at) if at is not None else None
        if at is None or at + 10 > end:
            return None
        at += 10 + msg.u16(at + 8)
        if at >= end:
            return None
    for _ in range(counts[3]):
        at = msg.skip_name(at) if at is not None else None
        if at is None or at + 2 > end:
            return None
        kind = msg.u16(at)
        if at + 5 > end:
            return None
        if kind == T_OPT:
            return msg.u8(at + 4) << 4
        if at + 10 > end:
            return None
        at += 10 + msg.u16(at + 8)
        if at >= end:
            return None
    return None


def _response(msg: _Message, ident: int, flags: int, counts: list[int]) -> bool:
    rcode = (flags & 0xF) | (_extended_rcode(msg, counts) or 0)
    words = RCODES.get(rcode, f" Resp{rcode}")
    msg.write(f"{ident}{OPCODES[(flags >> 11) & 0xF]}{words}"
              + ("*" if flags & 0x0400 else "") + ("" if flags & 0x0080 else "-")
              + ("|" if flags & 0x0200 else "") + ("$" if flags & 0x0020 else ""))
    qdcount, ancount = counts[0], counts[1]
    if qdcount != 1:
        msg.write(f" [{qdcount}q]")
    at: int | None = HEADER
    for index in range(qdcount):  # skipped, with a comma between (the -vv text's)
        if index:
            msg.write(",")
        at = msg.skip_name(at) if at is not None else None
        if at is None:
            return False
        at += 4
    msg.write(f" {ancount}/{counts[2]}/{counts[3]}")
    first = True
    while ancount and at is not None and (first or at < msg.end):
        if not first:
            msg.write(",")
        at = msg.record(at)
        if at is None:
            return False
        ancount -= 1
        first = False
    return ancount == 0


def _query(msg: _Message, ident: int, flags: int, counts: list[int]) -> bool:
    qdcount, ancount, nscount, arcount = counts
    opcode = (flags >> 11) & 0xF
    msg.write(f"{ident}{OPCODES[opcode]}" + ("+" if flags & 0x0100 else "")
              + ("%" if flags & 0x0010 else ""))
    if flags & 0x6CF:
        msg.write(f" [b2&3=0x{flags:x}]")
    if opcode == 1:  # an inverse query (RFC 1035 section 6.4, obsoleted by RFC 3425)
        if qdcount:
            msg.write(f" [{qdcount}q]")
        if ancount != 1:
            msg.write(f" [{ancount}a]")
    else:
        if ancount:
            msg.write(f" [{ancount}a]")
        if qdcount != 1:
            msg.write(f" [{qdcount}q]")
    if nscount:
        msg.write(f" [{nscount}n]")
    if arcount:
        msg.write(f" [{arcount}au]")
    at: int | None = HEADER
    first = True
    while qdcount and at is not None and (first or at < msg.end):
        at = msg.question(at)
        if at is None:
            return False
        qdcount -= 1
        first = False
    return qdcount == 0
