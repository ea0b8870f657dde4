"""Compiling a layer class: its declared fields become one ``struct.Struct``, a property per
field, and two generated functions (``__init__`` and ``_pack``).

Code generation as ``dataclasses`` does it: a per-field Python loop in ``__init__`` or in the
packer costs several times more on every packet built (see docs/packet.md, Performance).
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Any

from wirekit.packet.fields import Field

if TYPE_CHECKING:
    from wirekit.packet.layer import Layer


def compile_header(cls: type[Layer], declared: list[Field[Any, Any]],
                   layer_properties: frozenset[str]) -> None:
    """Turn the declared fields of *cls* into one struct, header indices and properties."""
    items: list[tuple[Field[Any, Any], ...]] = []
    spans: list[tuple[int, int]] = []
    fmt = cls.byte_order
    offset = 0
    pending: list[Field[Any, Any]] = []

    def close_bits() -> None:
        nonlocal fmt, offset
        if not pending:
            return
        total = sum(field.bits for field in pending)
        codes = {8: "B", 16: "H", 32: "I"}
        if total not in codes:
            raise TypeError(f"{cls.__name__}: bit fields {[f.name for f in pending]} "
                            f"make {total} bits, not 8, 16 or 32")
        used = 0
        for field in pending:
            used += field.bits
            field.index, field.offset, field.size = len(items), offset, total // 8
            field.shift, field.mask = total - used, (1 << field.bits) - 1
        items.append(tuple(pending))
        spans.append((offset, total // 8))
        fmt += codes[total]
        offset += total // 8
        pending.clear()

    for field in declared:
        if not field.fixed:
            continue
        if field.bits:
            pending.append(field)
            continue
        close_bits()
        size = struct.calcsize("!" + field.fmt)
        field.index, field.offset, field.size = len(items), offset, size
        items.append((field,))
        spans.append((offset, size))
        fmt += field.fmt
        offset += size
    close_bits()
    for field in declared:
        field.raw_default = None if field.default is None or not field.fixed \
            else field.to_raw(field.default)
        setattr(cls, field.name, field.make_property())
    cls.fields_desc = tuple(declared)
    _compile_packer(cls, items, declared, fmt)
    _compile_init(cls, declared, layer_properties)
    cls._struct = struct.Struct(fmt)
    cls._items = tuple(items)
    cls._spans = tuple(spans)
    cls._fixed = tuple(field for field in declared if field.fixed)
    cls._variable = tuple(field for field in declared if not field.fixed)
    cls._by_name = {field.name: field for field in declared}
    nxt = cls._by_name.get(cls.next_field)
    cls._next_index = nxt.index if nxt is not None and not nxt.bits else -1
    check = cls._by_name.get(cls.checksum_field)
    cls._checksum_offset = check.offset if check is not None else -1


def _compile_packer(cls: type[Layer], items: list[tuple[Field[Any, Any], ...]],
                    declared: list[Field[Any, Any]], fmt: str) -> None:
    """Generate ``cls._pack``: two C-level dict merges (defaults, then automatic values, then
    explicit ones), and one ``struct.pack`` call whose arguments are plain subscripts (bit
    groups shifted and or-ed inline).

    Generated code, as ``dataclasses`` generates ``__init__``: a per-field Python loop costs
    several times more on every packet built.
    """
    arguments = []
    for item in items:
        if len(item) == 1 and not item[0].bits:
            arguments.append(f"v[{item[0].name!r}]")
        else:
            arguments.append("(" + " | ".join(f"((v[{f.name!r}] & {f.mask}) << {f.shift})"
                                              for f in item) + ")")
    source = (f"def _pack(self, auto):\n"
              f"    v = _defaults | auto\n"
              f"    v.update(self._f)\n"
              f"    return _struct_pack({', '.join(arguments)})\n")
    defaults = {field.name: 0 if field.raw_default is None else field.raw_default
                for field in declared if field.fixed}
    scope: dict[str, Any] = {"_defaults": defaults, "_struct_pack": struct.Struct(fmt).pack}
    exec(compile(source, f"<{cls.__name__}._pack>", "exec"), scope)
    cls._pack = scope["_pack"]  # type: ignore[method-assign]
    cls._defaults = defaults
    cls._list_fields = tuple(field.name for field in declared if not field.fixed)


def _compile_init(cls: type[Layer], declared: list[Field[Any, Any]],
                  layer_properties: frozenset[str]) -> None:
    """Generate ``cls.__init__`` with one keyword-only parameter per field.

    Python binds keyword arguments in C; a ``**fields`` loop with a dict lookup per name costs
    a few times more per layer built.  Unknown names raise ``TypeError`` as usual.  Settable
    properties that are not wire fields (ICMP's ``gw``...) are parameters too.
    """
    names = [field.name for field in declared]
    derived = sorted({name for klass in cls.__mro__ for name, value in vars(klass).items()
                      if isinstance(value, property) and value.fset is not None
                      and not name.startswith("_") and name not in names
                      and name not in layer_properties})
    lines = [f"def __init__(self, *, {', '.join(f'{name}=None' for name in names + derived)}):",
             "    self._pkt = None", "    self._idx = 0", "    self._h = None",
             "    values = {}", "    self._f = values"]
    scope: dict[str, Any] = {"_type": type}
    for position, field in enumerate(declared):
        name = field.name
        # Per-field helpers bound as globals of the generated function: one lookup each.
        scope[f"_m{position}"] = field.memo
        scope[f"_c{position}"] = field.convert if field.memo is not None else field.to_raw
        lines.append(f"    if {name} is not None:")
        test = "if"
        if field.limit:  # an int that fits goes in as it is
            lines += [f"        if _type({name}) is int and 0 <= {name} < {field.limit}:",
                      f"            values[{name!r}] = {name}"]
            test = "elif"
        if field.memo is not None:  # a string seen before: its wire value is remembered
            lines += [f"        {test} _type({name}) is str and "
                      f"(raw := _m{position}.get({name})) is not None:",
                      f"            values[{name!r}] = raw"]
            test = "elif"
        if test == "if":
            lines.append(f"        values[{name!r}] = _c{position}({name})")
        else:
            lines += ["        else:", f"            values[{name!r}] = _c{position}({name})"]
    for name in derived:
        lines += [f"    if {name} is not None:", f"        self.{name} = {name}"]
    exec(compile("\n".join(lines) + "\n", f"<{cls.__name__}.__init__>", "exec"), scope)
    init = scope["__init__"]
    init.__qualname__ = f"{cls.__name__}.__init__"
    init.__doc__ = f"{cls.__name__}(**fields): keyword arguments named as the fields."
    cls.__init__ = init  # type: ignore[method-assign]
