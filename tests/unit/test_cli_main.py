"""The CLI skeleton: version, help, and the error-to-exit-code mapping."""

from __future__ import annotations

import click
import pytest

from wirekit import __version__
from wirekit.cli import main as cli_main
from wirekit.errors import (
    ERROR_CLASSES,
    EXIT_INTERNAL,
    InterfaceError,
    PrivilegeError,
    WirekitError,
)


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main.main(["--version"]) == 0
    assert __version__ in capsys.readouterr().out


def test_help_lists_every_group(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main.main(["--help"]) == 0
    out = capsys.readouterr().out
    for name, (_, _, summary) in cli_main.COMMANDS.items():
        assert name in out
        assert summary.split()[0] in out


def test_unknown_command_is_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main.main(["no-such-command"]) == 2
    assert "No such command" in capsys.readouterr().err


def test_exit_codes_are_distinct() -> None:
    codes = [cls.exit_code for cls in ERROR_CLASSES]
    assert len(codes) == len(set(codes))


def _raising_command(exc: BaseException) -> click.Command:
    @click.command()
    def boom() -> None:
        raise exc

    return boom


@pytest.mark.parametrize(
    ("exc", "code", "text"),
    [
        (InterfaceError("no such interface: eth9"), 7, "no such interface: eth9"),
        (PrivilegeError("x needs CAP_NET_RAW", capability="CAP_NET_RAW"), 77, "CAP_NET_RAW"),
        (WirekitError("plain"), 1, "plain"),
        (RuntimeError("bug"), EXIT_INTERNAL, "internal error"),
        (KeyboardInterrupt(), 130, "interrupted"),
    ],
)
def test_errors_become_one_line_and_code(monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str],
                                         exc: BaseException, code: int, text: str) -> None:
    monkeypatch.setattr(cli_main.LazyGroup, "get_command",
                        lambda self, ctx, name: _raising_command(exc))
    monkeypatch.setattr(cli_main.LazyGroup, "list_commands", lambda self, ctx: ["boom"])
    monkeypatch.delenv("WIREKIT_DEBUG", raising=False)
    assert cli_main.main(["boom"]) == code
    err = capsys.readouterr().err
    assert text in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_broken_pipe_ends_quietly_with_zero(monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(cli_main.LazyGroup, "get_command",
                        lambda self, ctx, name: _raising_command(BrokenPipeError()))
    monkeypatch.setattr(cli_main.LazyGroup, "list_commands", lambda self, ctx: ["boom"])
    monkeypatch.setattr(cli_main, "_silence_stdout", lambda: None)
    assert cli_main.main(["boom"]) == 0
    assert capsys.readouterr().err == ""
