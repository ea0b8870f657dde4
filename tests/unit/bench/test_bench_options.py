"""The iperf3 client options -k -N -M -S --dscp --fq-rate --cport -4 -6 -T --extra-data:
parsing (iperf3 3.12's meaning of each value), the parameters JSON, and one-line usage errors.

The expected values were read off the installed iperf3 3.12: its parameters document captured
on loopback, and the TOS its server reported (``test_start.tos``) for each ``--dscp`` value.
"""

from __future__ import annotations

import json
import socket

import pytest

from wirekit.bench import run as bench_run
from wirekit.bench.client import FAMILIES, ClientOptions
from wirekit.bench.params import (
    DSCP_NAMES,
    TestParams,
    parse_count,
    parse_dscp,
    parse_mss,
    parse_port,
    parse_tos,
)
from wirekit.bench.protocol import encode_json
from wirekit.bench.report import document_extras
from wirekit.cli.main import main
from wirekit.errors import RemoteProtocolError, UsageError

# `iperf3 -c 127.0.0.1 -k 7 --dscp 46 -N -M 1200 --fq-rate 100M -T mytitle
#  --extra-data 'hello x' --cport 6100 -l 10K`, its parameters as tcpdump showed them.
IPERF3_OPTION_PARAMS = (
    b'{"tcp":true,"omit":0,"time":0,"num":0,"blockcount":7,"MSS":1200,"nodelay":true,'
    b'"parallel":1,"len":10240,"fqrate":100000000,"pacing_timer":1000,"TOS":184,'
    b'"title":"mytitle","extra_data":"hello x","client_version":"3.12"}')


def test_parameters_are_byte_for_byte_iperf3s() -> None:
    params = TestParams(duration=0, blocks=7, mss=1200, nodelay=True, length=10240,
                        fqrate=100_000_000, tos=184, title="mytitle", extra_data="hello x")
    assert encode_json(params.to_json())[4:] == IPERF3_OPTION_PARAMS


def test_parameters_from_iperf3() -> None:
    params = TestParams.from_json(json.loads(IPERF3_OPTION_PARAMS))
    assert (params.blocks, params.mss, params.nodelay, params.fqrate, params.tos,
            params.title, params.extra_data) == (7, 1200, True, 100_000_000, 184, "mytitle",
                                                 "hello x")
    assert params.byte_budget == 7 * 10240
    assert not params.problems()


def test_unset_options_stay_out_of_the_parameters() -> None:
    doc = TestParams().to_json()
    assert not {"MSS", "nodelay", "fqrate", "TOS", "title", "extra_data"} & set(doc)
    assert doc["blockcount"] == 0


@pytest.mark.parametrize("bad", [{"title": 5}, {"extra_data": ["x"]}, {"fqrate": "fast"},
                                 {"TOS": "high"}, {"MSS": None}])
def test_a_peer_parameter_of_the_wrong_type_is_a_protocol_error(bad: dict[str, object]) -> None:
    with pytest.raises(RemoteProtocolError):
        TestParams.from_json({"tcp": True, **bad})


def test_the_server_finds_a_peers_bad_values() -> None:
    assert TestParams(mss=50).problems() == ["MSS 50 outside 88-32767"]
    assert TestParams(mss=32768).problems()
    assert not TestParams(mss=9217).problems()  # the client's limit, not the kernel's
    assert TestParams(tos=256).problems() == ["TOS 256 outside 0-255"]
    assert TestParams(blocks=-1).problems()
    assert TestParams(fqrate=-8).problems()
    assert TestParams(bytes=10, blocks=10).problems() == [
        "only one test end condition (-t, -n, -k) may be specified"]


def test_blocks_are_a_byte_budget_of_whole_blocks() -> None:
    params = TestParams(duration=0, blocks=3, length=1000, parallel=2)
    assert params.byte_budget == 3000
    budget = bench_run.TestRun(params, is_client=True)._make_budget()
    assert budget is not None
    assert [budget.take(1000) for _ in range(4)] == [1000, 1000, 1000, 0]
    assert bench_run.TestRun(TestParams(), is_client=True)._make_budget() is None
    assert TestParams(udp=True, blocks=10, length=1200).byte_budget == 12000


@pytest.mark.parametrize(("text", "tos"), [
    ("52", 52), ("064", 52), ("0x34", 52), ("0X34", 52), (" 52", 52), ("+52", 52),
    ("0", 0), ("-0", 0), ("255", 255), ("0xff", 255)])
def test_tos_takes_decimal_hex_and_octal(text: str, tos: int) -> None:
    assert parse_tos(text) == tos


@pytest.mark.parametrize("text", ["256", "-1", "0x100", "abc", "", "08", "0x", "52abc", "1.5"])
def test_bad_tos(text: str) -> None:
    with pytest.raises(UsageError, match=r"-S/--tos: bad TOS value"):
        parse_tos(text)


# What iperf3 3.12's server reported as test_start.tos for `iperf3 -c ... --dscp VALUE`.
@pytest.mark.parametrize(("text", "tos"), [
    ("46", 184), ("0x2e", 184), ("056", 184), (" 46", 184), ("+46", 184), ("63", 252),
    ("0", 0), ("-0", 0), ("ef", 184), ("EF", 184), ("AF41", 136), ("cs7", 224),
    ("lowdelay", 16), ("throughput", 8), ("reliability", 4)])
def test_dscp_as_iperf3_maps_it(text: str, tos: int) -> None:
    assert parse_dscp(text) == tos


@pytest.mark.parametrize("text", ["64", "-1", "foo", "lowcost", "le", "va", "46x", "0x"])
def test_bad_dscp(text: str) -> None:
    """iperf3 3.12 refuses these too ("le" and "va" came in 3.14, "lowcost" never)."""
    with pytest.raises(UsageError, match="--dscp: bad DSCP value"):
        parse_dscp(text)


def test_dscp_names_are_rfc_codepoints_shifted_into_the_tos_byte() -> None:
    assert DSCP_NAMES["ef"] == 46 << 2
    for klass in range(1, 5):
        for drop in range(1, 4):
            assert DSCP_NAMES[f"af{klass}{drop}"] == (8 * klass + 2 * drop) << 2
    for klass in range(8):
        assert DSCP_NAMES[f"cs{klass}"] == (8 * klass) << 2


@pytest.mark.parametrize(("text", "mss"), [("1200", 1200), ("88", 88), ("9216", 9216),
                                           ("9K", 9216), ("0", 0)])
def test_mss(text: str, mss: int) -> None:
    assert parse_mss(text) == mss


@pytest.mark.parametrize("text", ["87", "9217", "10000", "-5", "big"])
def test_bad_mss(text: str) -> None:
    with pytest.raises(UsageError, match="-M/--set-mss"):
        parse_mss(text)


def test_counts_and_rates() -> None:
    assert parse_count("1K", "-k") == 1024  # iperf3's unit_atoi: 1024-based
    assert parse_count("100M", "--fq-rate", base=1000) == 100_000_000
    for bad in ("-5", "ten", "1X"):
        with pytest.raises(UsageError, match=r"^-k: expected a non-negative number"):
            parse_count(bad, "-k")


def test_ports() -> None:
    assert parse_port("6100", "--cport") == 6100
    assert parse_port("0100", "--cport") == 100  # atoi: decimal, unlike -S
    for bad in ("0", "65536", "-1", "x", "\u00b2"):  # "²" passed isdigit(): exit 70
        with pytest.raises(UsageError, match="port number must be between 1 and 65535"):
            parse_port(bad, "--cport")


@pytest.mark.parametrize(("argv", "message"), [
    # click's FloatRange lets NaN through (every comparison with it is false)
    (["-t", "nan"], "is not a finite number"),
    (["-O", "nan"], "is not a finite number"),
    (["--connect-timeout", "nan"], "is not a finite number"),  # was exit 70
    # past iperf3's int64 / SO_MAX_PACING_RATE's 64 bits: struct.error, exit 70
    (["--fq-rate", "99999999999999999999999G"], "must be at most 9223372036854775807"),
    (["-k", "99999999999999999999999G"], "must be at most 9223372036854775807"),
    # past SO_SNDBUF's C int: TypeError, exit 70
    (["-w", "3G"], "socket buffer size too large (maximum = 536870912 bytes)"),
])
def test_client_values_no_socket_takes_are_usage_errors(
        capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    assert main(["bench", "client", "127.0.0.1", "-p", "1", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and "internal error" not in err


def test_a_peer_cannot_ask_for_nan_seconds_or_a_huge_pacing_rate() -> None:
    assert TestParams(duration=float("nan")).problems() == ["time and omit must be finite "
                                                            "numbers"]
    assert TestParams(fqrate=2**64).problems() == [
        "bytes, blocks, bandwidth and fq-rate must be at most 9223372036854775807"]


def test_title_and_extra_data_are_top_level_json_keys() -> None:
    assert document_extras(TestParams(title="t", extra_data="x")) == {"title": "t",
                                                                      "extra_data": "x"}
    assert document_extras(TestParams()) == {}


def test_client_options_default_to_any_family_and_ephemeral_ports() -> None:
    options = ClientOptions("127.0.0.1")
    assert (options.family, options.cport) == (0, 0)
    assert FAMILIES == {0: socket.AF_UNSPEC, 4: socket.AF_INET, 6: socket.AF_INET6}


# --- the command line: every bad value is one line on stderr and exit code 2 ------------------

BAD_COMMAND_LINES = [
    (["-k", "10", "-t", "1"], "only one test end condition (-t, -n, -k) may be specified"),
    (["-k", "10", "-n", "1M"], "only one test end condition (-t, -n, -k) may be specified"),
    (["-t", "1", "-n", "1M"], "only one test end condition (-t, -n, -k) may be specified"),
    (["-k", "-5"], "-k/--blockcount: expected a non-negative number"),
    (["-M", "10000"], "-M/--set-mss: 10000 is outside 88-9216 bytes"),
    (["-M", "50"], "-M/--set-mss: 50 is outside 88-9216 bytes"),
    (["-M", "-1"], "-M/--set-mss: expected a non-negative number"),
    (["-S", "256"], "-S/--tos: bad TOS value '256'"),
    (["-S", "-3"], "-S/--tos: bad TOS value '-3'"),
    (["--dscp", "bogus"], "--dscp: bad DSCP value 'bogus'"),
    (["--dscp", "64"], "--dscp: bad DSCP value '64'"),
    (["-S", "0x20", "--dscp", "EF"], "choose one of -S/--tos and --dscp"),
    (["--fq-rate", "-1"], "--fq-rate: expected a non-negative number"),
    (["--cport", "0"], "--cport: port number must be between 1 and 65535"),
    (["--cport", "65535", "-P", "2"], "--cport 65535 with 2 streams needs ports up to 65536"),
    (["--cport", "65534", "-P", "2", "--bidir"], "needs ports up to 65537"),
    (["-4", "-6"], "choose one of -4 and -6"),
]


@pytest.mark.parametrize(("args", "message"), BAD_COMMAND_LINES,
                         ids=[" ".join(case[0]) for case in BAD_COMMAND_LINES])
def test_bad_values_are_one_line_usage_errors(args: list[str], message: str,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    # Port 1 on loopback: were the values accepted, the client would fail to connect (9).
    code = main(["bench", "client", "127.0.0.1", "-p", "1", *args])
    out, err = capsys.readouterr()
    assert code == 2, (out, err)
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("wirekit: error: "), err
    assert message in err


def test_a_udp_receiver_counts_a_lost_datagram_once_passed() -> None:
    """-u -R -k 10: nine datagrams arrived, the sequence numbers reached 10 (one was lost on
    the way): the budget is done.  Counting received bytes alone, the test would never end."""
    params = TestParams(udp=True, duration=0, blocks=10, length=100, reverse=True)
    run = bench_run.TestRun(params, is_client=True)
    left, right = socket.socketpair()
    try:
        stream = run.add_stream(left, sender=False)
        stream.bytes = 900
        stream.udp_stats.highest = 9
        assert not run.budget_done()
        stream.udp_stats.highest = 10
        assert run.budget_done()
    finally:
        run.close()
        right.close()
