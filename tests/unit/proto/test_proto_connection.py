"""The sans-I/O connection: the seed's exchange, bad input, version 2, timers, splits."""

from __future__ import annotations

import struct

import pytest

from tests.unit.proto.helpers import build
from wirekit.errors import LocalProtocolError, RemoteProtocolError
from wirekit.proto import (
    Accept,
    Acceptance,
    Ack,
    Acknowledge,
    Connection,
    ConnectionClosed,
    Data,
    ErrorCode,
    ErrorMessage,
    Goodbye,
    Heartbeat,
    Hello,
    Offer,
    Role,
    State,
    UnknownMessage,
    decode_frame,
)

SEED_HELLO = build(1, 1, 1, b"Hello from client!")
SESSION = bytes(range(16))


def frames(data: bytes) -> list[tuple[int, int, int, int, bytes]]:
    """(version, type, flags, seq, payload) of every frame in ``data``."""
    out, offset = [], 0
    while offset < len(data):
        result = decode_frame(data, offset)
        assert result is not None
        frame, offset = result
        h = frame.header
        out.append((h.version, h.type, h.flags, h.sequence, frame.payload))
    return out


def v1_server() -> Connection:
    server = Connection(Role.SERVER)
    assert server.receive_data(SEED_HELLO) == [Hello(None, b"Hello from client!", 1)]
    server.send(Accept())
    return server


def v2_pair(resume_from: int = 0) -> tuple[Connection, Connection]:
    client, server = Connection(Role.CLIENT), Connection(Role.SERVER, max_payload=4096)
    (hello,) = server.receive_data(client.send(Hello(Offer(max_payload=65536))))
    assert isinstance(hello, Hello) and hello.offer is not None
    acceptance = Acceptance(max_payload=4096, session_id=SESSION, resume_from=resume_from)
    (accept,) = client.receive_data(server.send(Accept(acceptance)))
    assert accept == Accept(acceptance) and client.version == server.version == 2
    return client, server


def test_seed_exchange_byte_for_byte() -> None:
    server = Connection(Role.SERVER)
    stream = SEED_HELLO + b"".join(build(1, 2, n + 1, f"Data message #{n}".encode())
                                   for n in (1, 2, 3)) + build(1, 6, 5)
    events = server.receive_data(stream)
    assert events == [Hello(None, b"Hello from client!", 1)]  # held until the app accepts
    out = server.send(Accept(), now=100.0)
    events = server.next_events(100.0)
    assert events == [Data(b"Data message #1", 2), Data(b"Data message #2", 3),
                      Data(b"Data message #3", 4), Goodbye(5)]
    out += server.send(Acknowledge(), now=100.0)
    # ACKs carry the server's own counter 1..5, empty payload, v1 checksums, seconds
    assert [(v, t, s, p) for v, t, _, s, p in frames(out)] == [(1, 3, n, b"") for n in range(1, 6)]
    assert out[:24] == build(1, 3, 1, timestamp=100)
    assert server.state is State.CLOSED


def test_whole_bytewise_and_trailing_give_the_same_events() -> None:
    stream = b"".join(build(1, 2, n, f"m{n}".encode()) for n in range(2, 6))
    whole = v1_server().receive_data(stream)
    server = v1_server()
    bytewise = [e for i in range(len(stream)) for e in server.receive_data(stream[i:i + 1])]
    trailing_server = v1_server()
    trailing = trailing_server.receive_data(stream + build(1, 2, 6, b"m6")[:20])
    assert whole == bytewise == trailing and len(whole) == 4
    assert trailing_server.receive_data(build(1, 2, 6, b"m6")[20:]) == [Data(b"m6", 6)]


def test_unknown_type_answered_and_connection_stays_open() -> None:
    server = v1_server()
    assert server.receive_data(build(1, 9, 2)) == [UnknownMessage(9, 2)]
    (reply,) = frames(server.data_to_send())
    assert reply == (1, 4, int(ErrorCode.UNKNOWN_TYPE), 2, b"Unknown message type")
    assert server.state is State.OPEN
    assert server.receive_data(build(1, 3, 3)) == [UnknownMessage(3, 3)]  # ACK from a client


@pytest.mark.parametrize(("frame", "code", "text"), [
    (build(7, 2, 1, b"x"), ErrorCode.BAD_VERSION, "bad version: 7"),
    (struct.pack(">BBHIIIQ", 1, 2, 0, 1, 0xFFFF_FFFF, 0, 0), ErrorCode.TOO_LARGE,
     "payload too large: 4294967295 > 1024"),
    (build(1, 2, 1, b"x", checksum=1), ErrorCode.BAD_CHECKSUM,
     "checksum mismatch: received 0x00000001, calculated 0x6510d4e7"),
])
def test_bad_frames_get_error_then_close(frame: bytes, code: ErrorCode, text: str) -> None:
    server = v1_server()
    server.data_to_send()
    with pytest.raises(RemoteProtocolError) as caught:
        server.receive_data(frame)
    assert caught.value.code == code
    assert str(caught.value).split(",")[0] == text.split(",", maxsplit=1)[0]
    (reply,) = frames(server.data_to_send())
    assert reply[1] == 4 and reply[2] == code and reply[4].decode() == str(caught.value)
    assert server.state is State.CLOSED
    with pytest.raises(LocalProtocolError):
        server.receive_data(b"more")


def test_bad_version_byte_refused_before_the_header_is_complete() -> None:
    server = Connection(Role.SERVER)
    with pytest.raises(RemoteProtocolError) as caught:
        server.receive_data(b"garbage")  # 0x67: no 24-byte header can make this valid
    assert caught.value.code == ErrorCode.BAD_VERSION
    assert frames(server.data_to_send()) == [(1, 4, 2, 1, b"bad version: 103")]
    assert server.state is State.CLOSED


def test_valid_partial_header_still_waits() -> None:
    server = Connection(Role.SERVER)
    for cut in range(1, 24):
        assert Connection(Role.SERVER).receive_data(SEED_HELLO[:cut]) == []
    assert server.receive_data(SEED_HELLO[:1]) == []
    assert server.receive_data(SEED_HELLO[1:]) == [Hello(None, b"Hello from client!", 1)]


def test_bad_version_byte_after_good_frames_and_in_version_2() -> None:
    server = v1_server()
    assert server.receive_data(build(1, 2, 2, b"ok") + b"\x02") == [Data(b"ok", 2)]
    with pytest.raises(RemoteProtocolError) as caught:
        server.next_events()  # the good DATA came first; the bad byte raises now
    assert caught.value.code == ErrorCode.BAD_VERSION
    client, v2_server = v2_pair()
    assert v2_server.receive_data(client.send(Data(b"x"))[:1]) == []  # 2 is right in v2
    with pytest.raises(RemoteProtocolError):
        v2_pair()[1].receive_data(b"\x01")  # a v1 byte is not


def test_bad_version_byte_waits_while_the_server_negotiates() -> None:
    server = Connection(Role.SERVER)
    assert server.receive_data(SEED_HELLO + b"g") == [Hello(None, b"Hello from client!", 1)]
    server.send(Accept())
    with pytest.raises(RemoteProtocolError) as caught:
        server.next_events()
    assert caught.value.code == ErrorCode.BAD_VERSION


def test_hello_required_first() -> None:
    server = Connection(Role.SERVER)
    with pytest.raises(RemoteProtocolError) as caught:
        server.receive_data(build(1, 2, 1, b"x"))
    assert caught.value.code == ErrorCode.HELLO_REQUIRED
    assert str(caught.value) == "HELLO required before DATA"


def test_good_frames_before_a_bad_one_come_first() -> None:
    server = v1_server()
    events = server.receive_data(build(1, 2, 2, b"ok") + build(1, 2, 3, b"bad", checksum=0))
    assert events == [Data(b"ok", 2)] and server.state is State.OPEN
    out = server.send(Acknowledge())
    assert [f[1:4:2] for f in frames(out)] == [(3, 2)]  # the DATA's ACK (counter 2)
    with pytest.raises(RemoteProtocolError):
        server.next_events()
    assert server.closed


def test_heartbeat_reply_in_order_with_acks() -> None:
    server = v1_server()
    server.data_to_send()
    server.receive_data(build(1, 2, 2, b"a") + build(1, 5, 3) + build(1, 2, 4, b"b"))
    assert [f[1:4:2] for f in frames(server.send(Acknowledge()))] == [(3, 2), (5, 3), (3, 4)]


def test_v2_dedup_gap_and_cumulative_ack() -> None:
    client, server = v2_pair()
    data = b"".join(client.send(Data(f"m{n}".encode())) for n in range(1, 4))
    assert server.receive_data(data) == [Data(b"m1", 1), Data(b"m2", 2), Data(b"m3", 3)]
    ack = server.send(Acknowledge())
    assert frames(ack) == [(2, 3, 0, 3, b"")]
    assert client.receive_data(ack) == [Ack(3, 3)]
    duplicate = build(2, 2, 2, b"m2")
    assert server.receive_data(duplicate) == [] and server.duplicates == 1
    with pytest.raises(RemoteProtocolError) as caught:
        server.receive_data(build(2, 2, 9, b"m9"))
    assert str(caught.value) == "sequence gap: expected 4, got 9"


def test_v2_resume_numbering() -> None:
    client, server = v2_pair(resume_from=41)
    with pytest.raises(LocalProtocolError):
        client.send(Data(b"x", 43))
    assert server.receive_data(client.send(Data(b"x", 42))) == [Data(b"x", 42)]


def test_v1_fallback_against_a_seed_server() -> None:
    client = Connection(Role.CLIENT)
    client.send(Hello(Offer()))
    assert client.receive_data(build(1, 3, 1)) == [Accept(None)]
    assert client.version == 1 and client.max_payload == 1024
    client.send(Data(b"a"))
    client.send(Heartbeat())
    events = client.receive_data(build(1, 3, 2) + build(1, 5, 3))
    assert events == [Ack(2, 2), Heartbeat(3)]


def test_token_travels_in_the_offer() -> None:
    server = Connection(Role.SERVER)
    (hello,) = server.receive_data(Connection(Role.CLIENT).send(Hello(Offer(token=b"s3cret"))))
    assert isinstance(hello, Hello) and hello.offer is not None
    assert hello.offer.token == b"s3cret"
    out = server.send(ErrorMessage(int(ErrorCode.AUTH_FAILED), "authentication failed"))
    assert frames(out) == [(1, 4, 9, 1, b"authentication failed")]
    assert server.state is State.CLOSED


def test_malformed_offer() -> None:
    server = Connection(Role.SERVER)
    with pytest.raises(RemoteProtocolError) as caught:
        server.receive_data(build(1, 1, 0, b"\x02\x00", flags=1))
    assert caught.value.code == ErrorCode.BAD_HELLO


def test_idle_timeout_counts_only_complete_frames() -> None:
    server = Connection(Role.SERVER, idle_timeout=5.0, now=0.0)
    server.receive_data(SEED_HELLO[:10], now=4.0)  # half a header is not activity
    assert server.get_timer() == 5.0
    server.handle_timer(4.9)
    with pytest.raises(RemoteProtocolError) as caught:
        server.handle_timer(5.0)
    assert caught.value.code == ErrorCode.IDLE_TIMEOUT
    assert frames(server.data_to_send())[0][4] == b"idle timeout"


def test_client_heartbeat_then_dead_peer() -> None:
    client, _ = v2_pair()
    client.heartbeat = 1.0
    assert client.get_timer() == 1.0
    client.handle_timer(1.0)
    assert frames(client.data_to_send())[0][1] == 5
    with pytest.raises(RemoteProtocolError):
        client.handle_timer(3.0)
    assert client.state is State.CLOSED


def test_eof_event() -> None:
    server = v1_server()
    assert server.receive_data(b"") == [ConnectionClosed()]
    assert server.state is State.CLOSED


def test_payload_over_negotiated_maximum_is_local_error() -> None:
    client, _ = v2_pair()
    with pytest.raises(LocalProtocolError):
        client.send(Data(b"x" * 4097))
