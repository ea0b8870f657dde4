"""tcpdump's -C / -G / -W rotation rules, with a fake clock and fake files."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from wirekit.capture.rotation import RotatingFile, Rotation, parse_file_size
from wirekit.errors import UsageError


class FakeFile:
    """Counts what would be in the file: a 24-byte header and 16 + len bytes per frame."""

    def __init__(self, path: Path, log: list[tuple[str, int]]) -> None:
        self.path = path
        self.position = 24
        self.frames = 0
        self.closed = False
        self.log = log

    def write(self, data: memoryview, timestamp_ns: int, orig_len: int) -> None:
        assert not self.closed
        self.position += 16 + len(data)
        self.frames += 1

    def close(self) -> None:
        self.closed = True
        self.log.append((self.path.name, self.frames))


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def _sink(rotation: Rotation, template: str = "cap.pcap", clock: Clock | None = None,
          ) -> tuple[RotatingFile, list[tuple[str, int]], list[str]]:
    log: list[tuple[str, int]] = []
    stops: list[str] = []
    sink = RotatingFile(Path(template), rotation, lambda path: FakeFile(path, log),
                        limit_reached=lambda: stops.append("stop"), clock=clock or Clock())
    return sink, log, stops


FRAME = memoryview(bytes(84))  # 100 bytes in the file with its record header


@pytest.mark.parametrize(("text", "size"), [("1", 1_000_000), ("25", 25_000_000),
                                            ("512k", 524_288), ("64M", 64 << 20),
                                            ("1g", 1 << 30)])
def test_file_sizes_as_tcpdump_reads_them(text: str, size: int) -> None:
    assert parse_file_size(text) == size


@pytest.mark.parametrize("text", ["0", "-3", "1.5", "10x", "k", "", "\u00b2", "\u00b2k"])
def test_bad_file_sizes_are_usage_errors(text: str) -> None:
    with pytest.raises(UsageError, match="invalid file size"):
        parse_file_size(text)


def test_size_rotation_numbers_files_after_the_first() -> None:
    sink, log, _ = _sink(Rotation(size=250))
    for _ in range(7):
        sink.write(FRAME, 0, 84)
    sink.close()
    # 24 + 3 x 100 = 324 > 250 before the fourth frame: three frames per file
    assert log == [("cap.pcap", 3), ("cap.pcap1", 3), ("cap.pcap2", 1)]


def test_a_file_count_makes_a_padded_ring() -> None:
    sink, log, _ = _sink(Rotation(size=150, files=11))
    for _ in range(26):  # two frames per file
        sink.write(FRAME, 0, 84)
    sink.close()
    names = [name for name, _ in log]
    assert names[:3] == ["cap.pcap00", "cap.pcap01", "cap.pcap02"]
    assert names[10:] == ["cap.pcap10", "cap.pcap00", "cap.pcap01"]  # wrapped: oldest reused
    assert sink.paths[0] == Path("cap.pcap00") and len(sink.paths) == 11


def test_time_rotation_renames_through_strftime() -> None:
    clock = Clock()
    sink, log, stops = _sink(Rotation(seconds=10), "dump-%H%M%S.pcap", clock)
    sink.write(FRAME, 0, 84)
    clock.now += 9.9
    sink.write(FRAME, 0, 84)
    clock.now += 0.1  # an interval ends only when a frame comes after it
    sink.write(FRAME, 0, 84)
    sink.close()
    first = time.strftime("dump-%H%M%S.pcap", time.localtime(1_700_000_000))
    second = time.strftime("dump-%H%M%S.pcap", time.localtime(1_700_000_010))
    assert log == [(first, 2), (second, 1)] and not stops


def test_time_rotation_with_a_file_count_ends_the_capture() -> None:
    clock = Clock()
    sink, log, stops = _sink(Rotation(seconds=1, files=2), "t%S.pcap", clock)
    for _ in range(3):
        sink.write(FRAME, 0, 84)
        clock.now += 1
    sink.write(FRAME, 0, 84)
    sink.close()
    assert [frames for _, frames in log] == [1, 1]
    assert stops == ["stop"] and sink.discarded == 2


def test_time_and_size_restart_the_numbers_each_interval() -> None:
    clock = Clock()
    sink, log, stops = _sink(Rotation(size=150, seconds=5, files=3), "x%M", clock)
    for _ in range(3):
        sink.write(FRAME, 0, 84)
    clock.now += 60
    sink.write(FRAME, 0, 84)
    sink.close()
    minute = time.strftime("x%M", time.localtime(1_700_000_000))
    later = time.strftime("x%M", time.localtime(1_700_000_060))
    assert log == [(f"{minute}0", 2), (f"{minute}1", 1), (f"{later}0", 1)]
    assert not stops  # with -C, -W only shapes the names


def test_file_count_alone_is_refused() -> None:
    with pytest.raises(UsageError, match="-W limits"):
        Rotation(files=3)
