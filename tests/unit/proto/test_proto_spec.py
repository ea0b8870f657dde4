"""docs/protocol.md is the specification: its tables must be the code's tables."""

from __future__ import annotations

from pathlib import Path

from tests.unit.proto.helpers import parse_markdown_table
from wirekit.proto.codes import CODES, ErrorCode
from wirekit.proto.state import TRANSITIONS, Input, Role, State, table_markdown

SPEC = (Path(__file__).resolve().parents[3] / "docs" / "protocol.md").read_text()


def test_error_table_matches_codes() -> None:
    rows = parse_markdown_table(SPEC, "<!-- errors:begin -->", "<!-- errors:end -->")
    assert len(rows) == len(CODES)
    for code_text, name, text, closes in rows:
        code = ErrorCode(int(code_text))
        assert code.name == name
        assert {"yes": True, "no": False}[closes] == CODES[code].closes, name
        if code is not ErrorCode.UNSPECIFIED:
            assert text.strip("`") == CODES[code].text, name


def test_transition_table_matches_spec() -> None:
    rows = parse_markdown_table(SPEC, "<!-- transitions:begin -->", "<!-- transitions:end -->")
    spec = {(Role(role), State(state), Input(event)): State(target)
            for role, state, event, target in rows}
    assert spec == TRANSITIONS
    assert table_markdown() in SPEC


def test_seed_error_text_and_server_full_text() -> None:
    assert CODES[ErrorCode.UNKNOWN_TYPE].text == "Unknown message type"  # the seed's bytes
    assert CODES[ErrorCode.SERVER_FULL].text == "server full"
    assert not CODES[ErrorCode.UNKNOWN_TYPE].closes


def test_every_state_but_closed_can_end() -> None:
    for role in Role:
        for state in State:
            if state in (State.CLOSED,) or (role is Role.CLIENT and state is State.IDLE):
                continue
            assert TRANSITIONS.get((role, state, Input.RECV_EOF)) is State.CLOSED, (role, state)
