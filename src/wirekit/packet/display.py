"""Multi-line breakdown, hex dump and JSON form of a packet (all tolerant: never raise)."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from wirekit.packet.layer import Layer
from wirekit.packet.status import ChecksumCheck, LayerStatus

if TYPE_CHECKING:
    from wirekit.packet.packet import Packet

#: Fields whose value is a length in 32-bit words: show the bytes too.
_WORD_LENGTHS = {"ihl", "dataofs"}
_NAME_WIDTH = 15  # "routerlifetime" and a space


def show_text(pkt: Packet) -> str:
    """One block per layer, one line per field, with meanings, checksum verdicts and status."""
    layers = pkt._decode_all()
    lines = [f"Packet: {len(pkt)} bytes, link {_link_name(pkt)}, status {pkt.status}",
             f"Summary: {pkt.summary()}"]
    for layer in layers:
        lines.extend(_layer_block(layer))
    return "\n".join(lines)


def _link_name(pkt: Packet) -> str:
    link = pkt.link
    return link.name if link is not None else pkt._first.name


def _layer_block(layer: Layer) -> list[str]:
    layer._ensure()
    size = layer._hlen if layer._hlen >= 0 else 0
    lines = [f"###[ {layer.name} ]### offset {layer._off}, {size} bytes"]
    check = layer.verify_checksum() if layer.checksum_field else None
    hidden = layer.hidden_fields()
    for field in layer.fields_desc:
        if field.name not in hidden:
            lines.append(f"  {field.name:<{_NAME_WIDTH}}= {_field_text(layer, field, check)}")
    for name, value in layer.views().items():
        lines.append(f"  {name:<{_NAME_WIDTH}}= {value_text(value)}")
    status = layer.status
    if not status.ok:
        lines.append(f"  !! {status.kind} at byte {status.offset}: {status.reason}")
    return lines


def _field_text(layer: Layer, field: Any, check: ChecksumCheck | None) -> str:
    if not field.fixed:
        value = getattr(layer, field.name)
        return str(field.text(value)) if field.name == "load" else value_text(value)
    raw = layer._raw(field)
    text: str = field.text(raw)
    if raw is not None and field.name in _WORD_LENGTHS:
        text += f" ({raw * 4} bytes)"
    if field.name == layer.checksum_field and check is not None:
        text += f" ({_verdict(check)})"
    return text


def value_text(value: Any) -> str:
    """A value as ``show()`` prints it: lists item by item, options by their own ``str``."""
    if isinstance(value, list):
        return "[" + ", ".join(value_text(item) for item in value) + "]"
    if isinstance(value, str):
        return repr(value)
    return str(value)


def _verdict(check: ChecksumCheck) -> str:
    if check.ok is None:
        return f"not checked: {check.note}"
    if check.ok:
        return "correct"
    return f"incorrect, expected 0x{check.expected or 0:04x}" + \
        (f"; {check.note}" if check.note else "")


def hexdump(data: bytes) -> str:
    """Offset, 16 hex bytes (a gap after 8) and the printable ASCII, one line per 16 bytes."""
    lines = []
    for start in range(0, len(data), 16):
        chunk = data[start:start + 16]
        left = " ".join(f"{byte:02x}" for byte in chunk[:8])
        right = " ".join(f"{byte:02x}" for byte in chunk[8:])
        text = "".join(chr(byte) if 32 <= byte < 127 else "." for byte in chunk)
        lines.append(f"{start:04x}  {left:<23}  {right:<23}  {text}")
    return "\n".join(lines)


def to_dict(pkt: Packet) -> dict[str, Any]:
    """A JSON-ready description of the packet and of every layer."""
    return {
        "length": len(pkt),
        "link": _link_name(pkt),
        "summary": pkt.summary(),
        "status": status_dict(pkt.status),
        "layers": [_layer_dict(layer) for layer in pkt._decode_all()],
    }


def status_dict(status: LayerStatus) -> dict[str, Any]:
    return {"kind": status.kind.value, "layer": status.layer or None,
            "offset": status.offset, "reason": status.reason or None}


def _layer_dict(layer: Layer) -> dict[str, Any]:
    layer._ensure()
    fields: dict[str, Any] = {}
    hidden = layer.hidden_fields()
    for field in layer.fields_desc:
        if field.name in hidden:
            continue
        if field.fixed:
            fields[field.name] = field.json(layer._raw(field))
        else:
            fields[field.name] = json_value(getattr(layer, field.name))
    fields.update((name, json_value(value)) for name, value in layer.views().items())
    result: dict[str, Any] = {"name": layer.name, "offset": layer._off,
                              "header_len": max(layer._hlen, 0),
                              "status": status_dict(layer.status), "fields": fields}
    check = layer.verify_checksum() if layer.checksum_field else None
    if check is not None:
        result["checksum"] = {"stored": check.stored, "expected": check.expected,
                              "ok": check.ok, "note": check.note or None}
    return result


def json_value(value: Any) -> Any:
    """Tuples to lists, bytes to hex, option dataclasses to dicts, int subclasses to int."""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, dict):
        return {str(key): json_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_value(item) for item in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {key: json_value(item) for key, item in dataclasses.asdict(value).items()}
        fields.update(json_value(getattr(value, "details", {})))  # decoded contents, if any
        name = getattr(value, "name", None)
        return {"name": name, **fields} if name else fields
    if isinstance(value, bool) or value is None or isinstance(value, str | float):
        return value
    if isinstance(value, int):
        return int(value)
    return str(value)
