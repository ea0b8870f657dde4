"""Human and JSON descriptions of frames, for ``wirekit proto decode`` (tolerant decoding).

Unlike the connection, this never stops at a bad checksum: it reports it and goes on, and at
a frame it cannot delimit (bad version, impossible length) it reports the offset and stops.
"""

from __future__ import annotations

from typing import Any

from wirekit.proto.codes import ErrorCode
from wirekit.proto.frame import FLAG_NEGOTIATE, FrameError, MessageType, decode_frame
from wirekit.proto.hello import Acceptance, Offer


def describe_frames(data: bytes, *, version: int | None = None) -> list[dict[str, Any]]:
    """One dict per frame in ``data``: header fields, checksum status, payload, a summary."""
    frames: list[dict[str, Any]] = []
    offset = 0
    while offset < len(data):
        try:
            decoded = decode_frame(data, offset, version=version, verify=False)
        except FrameError as exc:
            frames.append({"offset": offset, "error": str(exc), "summary": f"@{offset}: {exc}"})
            break
        if decoded is None:
            frames.append({"offset": offset, "error": "truncated frame",
                           "summary": f"@{offset}: truncated frame "
                                      f"({len(data) - offset} bytes left)"})
            break
        frame, end = decoded
        frames.append(_describe(frame, offset))
        offset = end
    return frames


def _describe(frame: Any, offset: int) -> dict[str, Any]:
    header = frame.header
    info: dict[str, Any] = {
        "offset": offset, "version": header.version, "type": frame.type_name,
        "flags": header.flags, "sequence": header.sequence, "length": header.length,
        "checksum": f"0x{header.checksum:08x}", "checksum_ok": frame.checksum_valid,
        "timestamp": header.timestamp, "payload": frame.payload,
    }
    info.update(_details(header.type, header.flags, frame.payload))
    extra = "" if info["checksum_ok"] else " BAD CHECKSUM"
    text = info.get("detail", "")
    info["summary"] = (f"@{offset}: v{header.version} {frame.type_name} seq={header.sequence} "
                       f"len={header.length} flags=0x{header.flags:04x}{extra}"
                       f"{' ' + text if text else ''}")
    return info


def _details(mtype: int, flags: int, payload: bytes) -> dict[str, Any]:
    try:
        if mtype == MessageType.HELLO and flags & FLAG_NEGOTIATE:
            offer = Offer.decode(payload)
            return {"detail": f"offer v{offer.highest_version} max_payload={offer.max_payload} "
                              f"session={offer.session_id.hex()} token={len(offer.token)}B"}
        if mtype == MessageType.ACK and flags & FLAG_NEGOTIATE:
            acc = Acceptance.decode(payload)
            return {"detail": f"accept v{acc.version} max_payload={acc.max_payload} "
                              f"session={acc.session_id.hex()} resume_from={acc.resume_from}"}
    except FrameError as exc:
        return {"detail": str(exc)}
    if mtype == MessageType.ERROR:
        return {"detail": f"code={flags} ({_code_name(flags)}) "
                          f"\"{payload.decode(errors='replace')}\""}
    return {"detail": repr(payload[:64])} if payload else {}


def _code_name(code: int) -> str:
    try:
        return ErrorCode(code).name
    except ValueError:
        return "?"
