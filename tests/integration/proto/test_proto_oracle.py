"""Oracle: the seed's own C functions build and validate frames; wirekit must agree byte for byte.

A small harness compiles peers/seed_protocol.c with its ``main`` renamed and calls
``create_message`` (frames it builds) and ``validate_message`` (frames we build).
"""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.env import require_tool
from tests.support.peers import SEED_SOURCE
from wirekit.proto.frame import decode_frame, encode_frame

HARNESS = r"""
#define main seed_main
#include "SEED"
#undef main
/* argv: "create" type seq hexpayload  -> frame bytes on stdout
         "validate"                    -> frames on stdin, one "0"/"-1" line each */
static int unhex(const char *s, char *out) {
    int n = 0;
    for (; s[0] && s[1]; s += 2) { unsigned v; sscanf(s, "%2x", &v); out[n++] = (char)v; }
    return n;
}
int main(int argc, char **argv) {
    protocol_message_t m;
    if (argc > 1 && strcmp(argv[1], "create") == 0) {
        char payload[MAX_PAYLOAD_SIZE];
        int n = argc > 4 ? unhex(argv[4], payload) : 0;
        int len = create_message(&m, atoi(argv[2]), strtoul(argv[3], 0, 10), payload, n);
        fwrite(&m, 1, len, stdout);
        return 0;
    }
    while (fread(&m.header, 1, sizeof(m.header), stdin) == sizeof(m.header)) {
        uint32_t n = ntohl(m.header.payload_length);
        if (n > MAX_PAYLOAD_SIZE || fread(m.payload, 1, n, stdin) != n) { puts("-1"); return 0; }
        int r = validate_message(&m, sizeof(m.header) + n);
        printf("%d\n", r);
    }
    return 0;
}
"""


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Path:
    compiler = shutil.which("gcc") or require_tool("gcc")
    directory = tmp_path_factory.mktemp("oracle")
    source = directory / "harness.c"
    source.write_text(HARNESS.replace("SEED", str(SEED_SOURCE)))
    binary = directory / "harness"
    subprocess.run([compiler, "-O1", "-w", "-o", str(binary), str(source), "-lpthread"],
                   check=True, capture_output=True, timeout=120)
    return binary


def _c_create(harness: Path, mtype: int, seq: int, payload: bytes) -> bytes:
    return subprocess.run([str(harness), "create", str(mtype), str(seq), payload.hex()],
                          capture_output=True, check=True, timeout=10).stdout


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 6), st.integers(0, 0xFFFF_FFFF), st.binary(max_size=1024))
def test_c_create_message_equals_encode_frame(harness: Path, mtype: int, seq: int,
                                              payload: bytes) -> None:
    theirs = _c_create(harness, mtype, seq, payload)
    (timestamp,) = struct.unpack_from(">Q", theirs, 16)  # time(NULL) when the C code ran
    assert theirs == encode_frame(1, mtype, seq, payload, timestamp=timestamp)
    result = decode_frame(theirs, version=1)
    assert result is not None and result[0].payload == payload


def test_c_validate_message_accepts_ours_and_rejects_bad(harness: Path) -> None:
    good = [encode_frame(1, t, n, bytes(range(n % 256)) * 3, timestamp=1_700_000_000 + n)
            for n, t in enumerate((1, 2, 3, 4, 5, 6, 2, 2))]
    bad_sum = bytearray(good[1])
    bad_sum[15] ^= 1
    done = subprocess.run([str(harness), "validate"], input=b"".join(good) + bytes(bad_sum),
                          capture_output=True, check=True, timeout=10)
    lines = [line for line in done.stdout.decode().splitlines() if line in ("0", "-1")]
    assert lines == ["0"] * len(good) + ["-1"]
    assert "Checksum mismatch" in done.stdout.decode()
