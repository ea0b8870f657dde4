"""Bad input to send, capture, ping and probe: a usage error naming it, never exit 70."""

from __future__ import annotations

import math
import os

import pytest

from wirekit.capture import workers
from wirekit.capture.engine import StopFlag
from wirekit.capture.source import CaptureOptions
from wirekit.cli import main as cli_main
from wirekit.errors import UsageError
from wirekit.link.craft import LinkPath, icmp_frame, network_layer, udp_frame
from wirekit.link.interfaces import get_interface
from wirekit.link.probe import MAX_RATE, check_timing, pacing_gap


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = cli_main.main(list(argv))
    return code, capsys.readouterr().err


@pytest.mark.parametrize(("argv", "name"), [
    (("send", "tcp", "1.2.3.4", "bad", "1", "2", "lo"), "DST"),
    (("send", "tcp", "bad", "1.2.3.4", "1", "2", "lo"), "SRC"),
    (("send", "udp", "1.2.3.4", "1.2.3.256", "1", "2", "lo"), "DST"),
    (("send", "icmp", "fe80::1::2", "::1", "lo"), "SRC"),
])
def test_send_names_a_bad_address_while_parsing(capsys: pytest.CaptureFixture[str],
                                                argv: tuple[str, ...], name: str) -> None:
    code, err = _run(capsys, *argv)
    assert code == 2
    assert f"Invalid value for '{name}'" in err
    assert "is not an IPv4 or IPv6 address" in err
    assert "internal error" not in err


def _lo_path() -> LinkPath:
    lo = get_interface("lo", with_ethtool=False)
    mac = lo.mac or "00:00:00:00:00:00"
    return LinkPath(lo, mac, mac, None)


def test_craft_turns_a_bad_address_into_a_usage_error() -> None:
    with pytest.raises(UsageError, match="destination address 'bad'"):
        network_layer("127.0.0.1", "bad")
    with pytest.raises(UsageError, match="source address 'nope'"):
        icmp_frame(_lo_path(), "nope", "::1")
    with pytest.raises(UsageError, match=r"destination address '1\.2\.3'"):
        udp_frame(_lo_path(), "127.0.0.1", "1.2.3", 1, 2)


def test_capture_buffer_beyond_4_gib_is_refused_by_the_parser(
        capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _run(capsys, "capture", "lo", "-c", "1", "-B", "99999999999", "icmp")
    assert code == 2
    assert "'-B'" in err and "internal error" not in err


def test_capture_snaplen_zero_is_the_maximum(capsys: pytest.CaptureFixture[str]) -> None:
    code = cli_main.main(["capture", "lo", "-s", "0", "-d", "icmp"])
    out = capsys.readouterr().out
    assert code == 0
    assert "ret      #262144" in out


def test_capture_help_documents_snaplen_zero(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main.main(["capture", "--help"]) == 0
    assert "0 means 262144" in " ".join(capsys.readouterr().out.split())


def test_fanout_budget_is_made_with_the_sockets(monkeypatch: pytest.MonkeyPatch) -> None:
    # Made at construction, before --drop-privileges, never in run() afterwards.
    monkeypatch.setattr(workers, "resolve_device", lambda name: None)
    monkeypatch.setattr(workers, "LiveSource", lambda *args, **kwargs: object())
    fanout = workers.FanoutCapture(CaptureOptions(interface="lo", count=5, workers=2))
    assert fanout.budget.claim(10) == 5

    def no_more_budgets(count: int | None) -> workers.SharedBudget:
        raise AssertionError("a budget made after the sockets")

    def no_pipes() -> tuple[int, int]:
        raise RuntimeError("reached the first worker")

    monkeypatch.setattr(workers, "SharedBudget", no_more_budgets)
    monkeypatch.setattr(os, "pipe", no_pipes)  # stop before any fork
    with pytest.raises(RuntimeError, match="reached the first worker"):
        fanout.run(lambda index: [], StopFlag())


@pytest.mark.parametrize("rate", [-5.0, -0.0001, 0.01, math.nan, math.inf, MAX_RATE * 2])
def test_probe_rate_outside_the_meaningful_range(rate: float) -> None:
    with pytest.raises(UsageError, match="--rate"):
        pacing_gap(rate)


def test_probe_rate_zero_is_no_limit_and_others_a_gap() -> None:
    assert pacing_gap(0.0) == 0.0
    assert pacing_gap(4.0) == 0.25


@pytest.mark.parametrize("timeout", [0.0, -1.0, math.nan, math.inf])
def test_probe_timeout_must_let_the_probe_end(timeout: float) -> None:
    with pytest.raises(UsageError, match="--timeout"):
        check_timing(timeout, 2)


@pytest.mark.parametrize("rate", ["-5", "nan", "0.001"])
def test_probe_cli_refuses_a_bad_rate(capsys: pytest.CaptureFixture[str], rate: str) -> None:
    code, err = _run(capsys, "probe", "127.0.0.1", "22", "--rate", rate)
    assert code == 2
    assert "--rate" in err and "internal error" not in err


# -- input str.isdigit() or UTF-8 could not take (each was exit 70) ----------------------------

def test_a_superscript_digit_is_no_user_id() -> None:
    """str.isdigit() takes "²" and int() refuses it: -Z was a ValueError."""
    from wirekit.link.privileges import drop_privileges

    for user in ("\u00b2", "99999999999999999999999", "x\udcff"):
        with pytest.raises(UsageError, match="no such user"):
            drop_privileges(user)


def test_a_name_that_is_not_utf8_is_no_interface() -> None:
    """Command-line bytes that are not UTF-8 arrive as surrogates, which netlink cannot
    encode: capture, replay and send were a UnicodeEncodeError."""
    from wirekit.errors import InterfaceError

    with pytest.raises(InterfaceError, match="no such interface"):
        get_interface("x\udcff", with_ethtool=False)


def test_a_filter_that_is_not_utf8_is_libpcaps_syntax_error(
        capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _run(capsys, "capture", "lo", "-d", "\udcff")
    assert code == 6 and "syntax error" in err and "internal error" not in err


def test_a_host_name_the_idna_codec_refuses_is_a_network_error() -> None:
    """A label over 63 characters: getaddrinfo raised UnicodeError, not gaierror."""
    from wirekit.errors import NetworkError
    from wirekit.link.ping import resolve_host

    for host in ("a" * 300, "x\udcff"):
        with pytest.raises(NetworkError, match="Name or service not known"):
            resolve_host(host)
