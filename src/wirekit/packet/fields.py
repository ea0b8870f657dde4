"""Header fields: how a value sits in the wire header and how it reads and writes in Python.

A layer class declares its fixed header as a sequence of fields in wire order::

    class UDP(Layer):
        sport = UInt16(53)
        dport = UInt16(53)
        len = UInt16(AUTO)
        chksum = UInt16(AUTO, hex=True)

For the type checker each field is a descriptor (``UDP().sport`` is an ``int``).  At class creation
:class:`~wirekit.packet.layer.Layer` compiles the fields into one ``struct.Struct`` and replaces
each descriptor with a plain ``property`` whose getter reads from the unpacked header tuple — a
C-level property call is the cheapest attribute read CPython offers.

Storage: a *parsed* layer keeps the header tuple ``_h`` (wire values: ints, ``bytes`` for
addresses); a *built* layer keeps a dict ``_f`` of explicitly set wire values.  ``to_raw`` turns
a user value into the wire value once, when it is set; ``to_user`` turns it back when read.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from functools import partial
from operator import methodcaller
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Self, TypeVar, overload

from wirekit.packet.speedups import Getter
from wirekit.packet.status import FieldValueError

if TYPE_CHECKING:
    from wirekit.packet.layer import Layer

#: Default of an automatic field: computed at build time unless set explicitly.
AUTO: None = None

GetT = TypeVar("GetT")
SetT = TypeVar("SetT")


class Field(Generic[GetT, SetT]):
    """Base of every field: a descriptor for the type checker, a recipe for the layer compiler."""

    fmt: str = ""  # struct code of a fixed-header field; "" for variable fields
    bits: int = 0  # width of a bit field inside a shared struct item
    fixed: ClassVar[bool] = True

    def __init__(self, default: Any = None, *, names: dict[int, str] | None = None,
                 hex: bool = False, auto: bool | None = None) -> None:
        self.name = ""
        self.default = default
        self.auto = default is None if auto is None else auto
        self.names = names or {}
        self.hex = hex
        # Filled in by the layer compiler:
        self.index = -1  # position in the unpacked header tuple
        self.offset = 0  # byte offset of the struct item inside the header
        self.size = 0  # byte size of the struct item
        self.shift = 0
        self.mask = 0
        self.raw_default: Any = None
        #: integer fields: values below this go in without a call to ``to_raw``; 0 elsewhere.
        self.limit = 0
        #: string -> wire value, for fields whose strings repeat (addresses, flag letters).
        self.memo: dict[str, Any] | None = None

    def convert(self, value: Any) -> Any:
        """``to_raw(value)``, remembering the result of a string in ``memo``."""
        return self.remember(value) if type(value) is str else self.to_raw(value)

    def remember(self, text: str) -> Any:
        """``to_raw(text)``, remembered in ``memo`` (bounded: cleared when it grows large)."""
        raw = self.to_raw(text)
        if self.memo is not None:
            if len(self.memo) >= _CACHE_LIMIT:
                self.memo.clear()
            self.memo[text] = raw
        return raw

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, owner: type) -> Self: ...
    @overload
    def __get__(self, obj: Layer, owner: type) -> GetT: ...
    def __get__(self, obj: Layer | None, owner: type) -> Self | GetT:
        if obj is None:
            return self
        raise AttributeError(self.name)  # replaced by a property when the class is compiled

    def __set__(self, obj: Layer, value: SetT | None) -> None:
        raise AttributeError(self.name)  # replaced by a property when the class is compiled

    # -- conversions -------------------------------------------------------------------------
    def to_raw(self, value: Any) -> Any:
        """Validate a user value and return its wire value."""
        return value

    def to_user(self, raw: Any) -> Any:
        """The value a user reads for the wire value *raw* (``None`` stays ``None``)."""
        return raw

    def user_function(self) -> Callable[[Any], Any] | None:
        """A (preferably C-level) function from a non-None wire value to the user value, or
        ``None`` when the wire value is the user value.  Getters call it directly."""
        if type(self).to_user is Field.to_user:
            return None
        return self.to_user

    def text(self, raw: Any) -> str:
        """The value as ``show()`` prints it, with its meaning where one is known."""
        if raw is None:
            return "None"
        if isinstance(raw, int) and not isinstance(raw, bool):
            shown = f"0x{raw:0{max(2, self.size * 2)}x}" if self.hex else str(raw)
            name = self.names.get(raw)
            return f"{shown} ({name})" if name else shown
        return str(self.to_user(raw))

    def json(self, raw: Any) -> Any:
        """A JSON-ready form of the wire value."""
        value = self.to_user(raw)
        if isinstance(value, bytes | bytearray | memoryview):
            return bytes(value).hex()
        if isinstance(value, int) and not isinstance(value, bool) and type(value) is not int:
            return int(value)
        return value

    # -- property factory --------------------------------------------------------------------
    def make_getter(self) -> Callable[[Layer], Any]:
        index, name, default = self.index, self.name, self.raw_default
        convert = self.user_function()
        if self.bits:
            shift, mask = self.shift, self.mask
            function = convert or int

            def get_bits(layer: Layer) -> Any:
                header = layer._h
                if header is None:
                    value = layer._f.get(name, default)
                    return None if value is None else function(value)
                value = header[index]
                return None if value is None else function((value >> shift) & mask)

            return get_bits
        if convert is None:
            def get_plain(layer: Layer) -> Any:
                header = layer._h
                if header is None:
                    return layer._f.get(name, default)
                return header[index]

            return get_plain

        def get_converted(layer: Layer) -> Any:
            header = layer._h
            value = layer._f.get(name, default) if header is None else header[index]
            return None if value is None else convert(value)

        return get_converted

    def fast_getter(self) -> Callable[[Layer], Any]:
        """``make_getter()``, done in C when the speedups are built and the field reads the
        common way (the Python getter stays the fallback for built layers)."""
        getter = self.make_getter()
        if Getter is None or type(self).make_getter is not Field.make_getter:
            return getter
        convert = self.user_function()
        if self.bits:
            return Getter(self.index, getter, convert or int, True, self.shift, self.mask)
        return Getter(self.index, getter, convert)

    def make_property(self) -> property:
        field = self

        def set_value(layer: Layer, value: Any) -> None:
            layer._set_field(field, None if value is None else field.to_raw(value))

        def delete_value(layer: Layer) -> None:
            layer._set_field(field, None)

        return property(self.fast_getter(), set_value, delete_value, doc=type(self).__doc__)


class _UInt(Field[int, int]):
    """An unsigned big-endian integer."""

    width = 0

    def __init__(self, default: Any = None, **kwargs: Any) -> None:
        super().__init__(default, **kwargs)
        self.limit = 1 << self.width

    def to_raw(self, value: Any) -> int:
        if type(value) is int and 0 <= value < self.limit:
            return value
        limit = self.limit
        if isinstance(value, bool) or not isinstance(value, int):
            try:
                value = int(value)
            except (TypeError, ValueError):
                raise FieldValueError(f"{self.name} must be an integer, not {value!r}") from None
        if not 0 <= value < limit:
            raise FieldValueError(f"{self.name}={value} does not fit in "
                                  f"{self.bits or self.width} bits")
        return int(value)


class UInt8(_UInt):
    """An 8-bit unsigned integer."""

    fmt, width = "B", 8


class UInt16(_UInt):
    """A 16-bit unsigned integer, network byte order."""

    fmt, width = "H", 16


class UInt32(_UInt):
    """A 32-bit unsigned integer, network byte order."""

    fmt, width = "I", 32


class UInt24(Field[int, int]):
    """A 24-bit unsigned integer, network byte order (an IEEE OUI).  ``struct`` has no 3-byte
    code, so the header keeps the 3 bytes and the property converts them."""

    fmt = "3s"

    def to_raw(self, value: Any) -> bytes:
        if isinstance(value, bytes | bytearray) and len(value) == 3:
            return bytes(value)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 1 << 24:
            raise FieldValueError(f"{self.name} must be an integer below 2**24, not {value!r}")
        return value.to_bytes(3, "big")

    def to_user(self, raw: Any) -> Any:
        return None if raw is None else int.from_bytes(raw, "big")

    def user_function(self) -> Callable[[Any], Any] | None:
        return partial(int.from_bytes, byteorder="big")

    def text(self, raw: Any) -> str:
        if raw is None:
            return "None"
        value = int.from_bytes(raw, "big")
        shown = f"0x{value:06x}" if self.hex else str(value)
        name = self.names.get(value)
        return f"{shown} ({name})" if name else shown


class Bits(_UInt):
    """A bit range; consecutive ``Bits`` share one 8-, 16- or 32-bit struct item, MSB first."""

    def __init__(self, bits: int, default: int | None = 0, **kwargs: Any) -> None:
        super().__init__(default, **kwargs)
        self.bits = bits
        self.limit = 1 << bits


FlagT = TypeVar("FlagT", bound=int)


class FlagBits(Bits, Generic[FlagT]):
    """A flag set inside a bit range; reads as an ``int`` subclass that prints its letters."""

    @overload
    def __get__(self, obj: None, owner: type) -> Self: ...
    @overload
    def __get__(self, obj: Layer, owner: type) -> FlagT: ...
    def __get__(self, obj: Layer | None, owner: type) -> Self | FlagT:
        if obj is None:
            return self
        raise AttributeError(self.name)

    def __set__(self, obj: Layer, value: int | str | None) -> None:
        raise AttributeError(self.name)

    def __init__(self, bits: int, default: int | None, flag_type: type[FlagT],
                 **kwargs: Any) -> None:
        super().__init__(bits, default, **kwargs)
        self.flag_type = flag_type
        self._parsed: dict[str, int] = {}
        self.memo = {}

    def to_raw(self, value: Any) -> int:
        if isinstance(value, str):
            cached = self._parsed.get(value)
            if cached is not None:
                return cached
            parse = getattr(self.flag_type, "parse", None)
            if parse is None:
                raise FieldValueError(f"{self.name} does not accept {value!r}")
            number = super().to_raw(parse(value))
            if len(self._parsed) < 512:
                self._parsed[value] = number
            return number
        return super().to_raw(value)

    def to_user(self, raw: Any) -> Any:
        return None if raw is None else self.flag_type(raw)

    def user_function(self) -> Callable[[Any], Any] | None:
        return self.flag_type

    def text(self, raw: Any) -> str:
        if raw is None:
            return "None"
        return f"0x{raw:0{(self.bits + 3) // 4}x} [{self.flag_type(raw)}]"


class MACField(Field[str, "str | bytes"]):
    """A 6-byte IEEE 802 MAC address, read as ``"aa:bb:cc:dd:ee:ff"``."""

    fmt = "6s"

    def __init__(self, default: Any = None, **kwargs: Any) -> None:
        super().__init__(default, **kwargs)
        self.memo = {}

    def to_raw(self, value: Any) -> bytes:
        return mac_to_bytes(value, self.name)

    def to_user(self, raw: Any) -> Any:
        return None if raw is None else raw.hex(":")

    def user_function(self) -> Callable[[Any], Any] | None:
        return methodcaller("hex", ":")


class IPv4Field(Field[str, "str | bytes | int | ipaddress.IPv4Address"]):
    """An IPv4 address, read as a dotted-quad string."""

    fmt = "4s"

    def __init__(self, default: Any = None, **kwargs: Any) -> None:
        super().__init__(default, **kwargs)
        self.memo = {}

    def to_raw(self, value: Any) -> bytes:
        return ipv4_to_bytes(value, self.name)

    def to_user(self, raw: Any) -> Any:
        return None if raw is None else socket.inet_ntoa(raw)

    def user_function(self) -> Callable[[Any], Any] | None:
        return socket.inet_ntoa

    def make_getter(self) -> Callable[[Layer], Any]:
        index, name, default, octet = self.index, self.name, self.raw_default, OCTETS

        def get_address(layer: Layer) -> Any:
            header = layer._h
            raw = layer._f.get(name, default) if header is None else header[index]
            if raw is None:
                return None
            # Twice as fast as inet_ntoa (which formats with sprintf), and no cache to thrash.
            return ".".join((octet[raw[0]], octet[raw[1]], octet[raw[2]], octet[raw[3]]))

        return get_address

    def fast_getter(self) -> Callable[[Layer], Any]:
        getter = self.make_getter()
        return getter if Getter is None else Getter(self.index, getter, "ipv4")


class IPv6Field(Field[str, "str | bytes | int | ipaddress.IPv6Address"]):
    """An IPv6 address, read in RFC 5952 text form."""

    fmt = "16s"

    def __init__(self, default: Any = None, **kwargs: Any) -> None:
        super().__init__(default, **kwargs)
        self.memo = {}

    def to_raw(self, value: Any) -> bytes:
        return ipv6_to_bytes(value, self.name)

    def to_user(self, raw: Any) -> Any:
        return None if raw is None else socket.inet_ntop(socket.AF_INET6, raw)

    def user_function(self) -> Callable[[Any], Any] | None:
        return partial(socket.inet_ntop, socket.AF_INET6)


class FixedBytes(Field[bytes, bytes]):
    """A fixed-size byte string."""

    def __init__(self, size: int, default: bytes | None = None, **kwargs: Any) -> None:
        super().__init__(b"\0" * size if default is None else default, auto=False, **kwargs)
        self.length = size
        self.fmt = f"{size}s"

    def to_raw(self, value: Any) -> bytes:
        data = bytes(value)
        if len(data) > self.length:
            raise FieldValueError(f"{self.name} holds at most {self.length} bytes")
        return data.ljust(self.length, b"\0")

    def text(self, raw: Any) -> str:
        return "None" if raw is None else bytes(raw).hex()


class VarField(Field[GetT, SetT]):
    """A variable-length part (options, payload): the layer class decodes and encodes it."""

    fixed: ClassVar[bool] = False

    def __init__(self, default: Any = None) -> None:
        super().__init__(default, auto=False)

    def make_getter(self) -> Callable[[Layer], Any]:
        name, default = self.name, self.default

        def get_variable(layer: Layer) -> Any:
            if layer._h is None:
                value = layer._f.get(name)
                return _fresh(default) if value is None else value
            return layer._decode_variable(name)

        return get_variable

    def make_property(self) -> property:
        field = self

        def set_value(layer: Layer, value: Any) -> None:
            layer._set_variable(field.name, None if value is None else field.to_raw(value))

        def delete_value(layer: Layer) -> None:
            layer._set_variable(field.name, None)

        return property(self.make_getter(), set_value, delete_value, doc=type(self).__doc__)


def _fresh(default: Any) -> Any:
    """A fresh copy of a mutable default (so ``TCP().options.append(...)`` cannot leak)."""
    return list(default) if isinstance(default, list) else default


# -- address conversions -------------------------------------------------------------------
# Address strings repeat (a template's addresses, a flow's endpoints), so each conversion keeps a
# bounded cache: building a packet from strings then costs one dict lookup per address.
_CACHE_LIMIT = 4096
_MAC_CACHE: dict[str, bytes] = {}
_IPV4_CACHE: dict[str, bytes] = {}
_IPV6_CACHE: dict[str, bytes] = {}


#: "0" .. "255": an IPv4 address is four lookups and a join.
OCTETS = tuple(str(number) for number in range(256))


def ipv4_text(raw: bytes) -> str:
    """4 address bytes as a dotted quad (``socket.inet_ntoa``, faster)."""
    return ".".join((OCTETS[raw[0]], OCTETS[raw[1]], OCTETS[raw[2]], OCTETS[raw[3]]))


def _remember_text(cache: dict[bytes, str], data: bytes, text: str) -> str:
    if len(cache) >= _CACHE_LIMIT:
        cache.clear()
    cache[data] = text
    return text


def _remember(cache: dict[str, bytes], text: str, data: bytes) -> bytes:
    if len(cache) >= _CACHE_LIMIT:
        cache.clear()
    cache[text] = data
    return data


def mac_to_bytes(value: Any, name: str = "address") -> bytes:
    """``"aa:bb:cc:dd:ee:ff"`` (or ``-`` separated, or bare hex, or 6 bytes) to 6 bytes."""
    if type(value) is str:
        cached = _MAC_CACHE.get(value)
        if cached is not None:
            return cached
    if isinstance(value, bytes | bytearray | memoryview):
        data = bytes(value)
    elif isinstance(value, str):
        text = value.replace(":", "").replace("-", "").replace(".", "")
        try:
            data = bytes.fromhex(text)
        except ValueError:
            data = b""
    else:
        raise FieldValueError(f"{name} must be a MAC address string, not {value!r}")
    if len(data) != 6:
        raise FieldValueError(f"{name}: {value!r} is not a MAC address")
    return _remember(_MAC_CACHE, value, data) if isinstance(value, str) else data


def ipv4_to_bytes(value: Any, name: str = "address") -> bytes:
    """A dotted quad, 4 bytes, an int or an ``IPv4Address`` to 4 bytes."""
    if isinstance(value, str):
        cached = _IPV4_CACHE.get(value)
        if cached is not None:
            return cached
        try:
            return _remember(_IPV4_CACHE, value, socket.inet_pton(socket.AF_INET, value))
        except OSError:
            raise FieldValueError(f"{name}: {value!r} is not an IPv4 address") from None
    return _packed(value, 4, ipaddress.IPv4Address, name)


def ipv6_to_bytes(value: Any, name: str = "address") -> bytes:
    """An IPv6 address string, 16 bytes, an int or an ``IPv6Address`` to 16 bytes."""
    if isinstance(value, str):
        cached = _IPV6_CACHE.get(value)
        if cached is not None:
            return cached
        try:
            return _remember(_IPV6_CACHE, value, socket.inet_pton(socket.AF_INET6, value))
        except OSError:
            raise FieldValueError(f"{name}: {value!r} is not an IPv6 address") from None
    return _packed(value, 16, ipaddress.IPv6Address, name)


def _packed(value: Any, size: int, kind: type[Any], name: str) -> bytes:
    if isinstance(value, bytes | bytearray | memoryview) and len(value) == size:
        return bytes(value)
    if isinstance(value, kind):
        return bytes(value.packed)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 1 << (8 * size):
        return value.to_bytes(size, "big")
    raise FieldValueError(f"{name}: {value!r} is not an IPv{4 if size == 4 else 6} address")


def ip_to_text(raw: bytes) -> str:
    """4 or 16 address bytes to text."""
    if len(raw) == 4:
        return socket.inet_ntoa(raw)
    return socket.inet_ntop(socket.AF_INET6, raw)
