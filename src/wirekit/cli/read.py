"""``wirekit read``: decode a pcap or pcapng file, one tcpdump-style line per packet.

Packet lines are plain text written straight to stdout, not through rich: they are data meant
for pipes and grep (like tcpdump's), they can be millions, and rich would read the ``[S]`` of
``Flags [S]`` as markup.  ``--json`` streams one JSON object whose ``packets`` list is written
packet by packet, so a large capture does not have to fit in memory.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import Any, TextIO

import click

from wirekit.cli.options import link_level_option, time_style_option
from wirekit.errors import CaptureFileError
from wirekit.link.bpf import DEFAULT_SNAPLEN, OfflineFilter
from wirekit.pcap import Reader, Record, TimeStyle, format_time
from wirekit.pcap.record import link_name

EXAMPLES = """
\b
Examples:
  wirekit read capture.pcap                 one line per packet
  wirekit read -c 10 -v capture.pcapng      the first 10 packets, every layer
  wirekit read --hex -tt capture.pcap       epoch timestamps and a hex dump
  wirekit read --json capture.pcap | jq '.packets[].summary'
  tcpdump -i lo -w - | wirekit read -       read a live capture from a pipe
  wirekit read capture.pcap tcp port 443    only what the tcpdump filter selects
  wirekit read -e capture.pcap vlan         MAC addresses and VLAN tags too
"""


@click.command(
    "read", epilog=EXAMPLES,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.argument("file", metavar="FILE")
@click.argument("filter_words", nargs=-1, metavar="[FILTER]...")
@click.option("-c", "--count", type=click.IntRange(min=1), default=None,
              help="Stop after this many packets (tcpdump -c).")
@click.option("-v", "--verbose", is_flag=True, help="Show every layer of every packet.")
@click.option("--hex", "hexdump", is_flag=True, help="Add a hex dump of each packet.")
@click.option("--json", "as_json", is_flag=True,
              help="Print one JSON object: file metadata and a 'packets' list.")
@time_style_option
@click.option("--nano", is_flag=True, help="Print nanoseconds instead of microseconds.")
@link_level_option
def read(file: str, filter_words: tuple[str, ...], *, count: int | None, verbose: bool,
         hexdump: bool, as_json: bool, time_style: int, nano: bool, link_level: bool) -> None:
    """Decode the packets of a pcap or pcapng FILE ("-" reads standard input).

    The format is detected (pcap or pcapng, either byte order, micro- or nanosecond
    timestamps, gzip-compressed too).  A truncated last packet is reported as a warning.
    A FILTER in tcpdump syntax keeps only the packets it selects; libpcap compiles it and
    runs it on each record (pcap_offline_filter), so it selects exactly what tcpdump -r does.
    """
    style = TimeStyle(min(time_style, TimeStyle.SINCE_FIRST))
    with Reader(file) as reader:
        if reader.link is None:
            # pcapng (section 4.2): a packet block refers to an interface block before it;
            # a file without one holds no packet a reader can place (tcpdump refuses it too).
            raise CaptureFileError(f"{reader.name}: the capture file has no interface "
                                   "description blocks")
        selection = _filter_for(reader, " ".join(filter_words))
        records = _first(_selected(reader, selection), count)
        if as_json:
            _print_json(reader, records, hexdump=hexdump, verbose=verbose)
        else:
            _announce(reader)
            _print_lines(records, style=style, digits=9 if nano else 6, verbose=verbose,
                         hexdump=hexdump, link_level=link_level)
        if reader.truncation is not None:
            click.echo(f"wirekit: warning: {reader.name}: {reader.truncation}", err=True)


def _filter_for(reader: Reader, expression: str) -> OfflineFilter | None:
    """The filter compiled for the file's link type now: a bad one fails before any output."""
    if not expression:
        return None
    selection = OfflineFilter(expression, snaplen=max(reader.snaplen or 0, DEFAULT_SNAPLEN))
    selection.prepare(reader.link)
    return selection


def _selected(reader: Reader, selection: OfflineFilter | None) -> Iterator[Record]:
    """The records a tcpdump-syntax filter selects (all of them without one)."""
    if selection is None:
        yield from reader
        return
    for record in reader:
        if selection.matches(record.data, record.orig_len, record.link):
            yield record


def _first(reader: Iterator[Record], count: int | None) -> Iterator[Record]:
    for number, record in enumerate(reader, 1):
        yield record
        if count is not None and number >= count:
            return


def _announce(reader: Reader) -> None:
    """tcpdump's first line, on stderr so that stdout stays packets only."""
    link = "unknown" if reader.link is None else link_name(reader.link)
    click.echo(f"reading from file {reader.name}, {reader.format.value}, link-type {link}, "
               f"snapshot length {reader.snaplen}", err=True)


# -- human output ------------------------------------------------------------------------------

def _print_lines(records: Iterator[Record], *, style: TimeStyle, digits: int, verbose: bool,
                 hexdump: bool, link_level: bool = False) -> None:
    out = sys.stdout
    first_ns: int | None = None
    previous_ns: int | None = None
    for record in records:
        stamp = record.timestamp_ns
        first_ns = stamp if first_ns is None else first_ns
        when = format_time(stamp, style, digits=digits, previous_ns=previous_ns,
                           first_ns=first_ns)
        previous_ns = stamp
        packet = record.packet
        line = packet.summary(link_level=link_level)
        if when and record.caplen:  # tcpdump prints an empty record's line without a time
            out.write(f"{when} {line}\n")
        else:
            out.write(f"{line}\n")
        if verbose:
            _write_details(out, record, packet.show_text())
        if hexdump:
            _write_indented(out, packet.hexdump())
    out.flush()


def _write_details(out: TextIO, record: Record, breakdown: str) -> None:
    interface = record.interface
    name = f" ({interface.name})" if interface.name else ""
    facts = [f"interface {interface.index}{name}", f"caplen {record.caplen}",
             f"orig_len {record.orig_len}"]
    if record.direction:
        facts.append(f"direction {record.direction}")
    out.write(f"    {', '.join(facts)}\n")
    for comment in record.comments:
        out.write(f"    comment: {comment}\n")
    _write_indented(out, breakdown)


def _write_indented(out: TextIO, text: str) -> None:
    for line in text.rstrip("\n").splitlines():
        out.write(f"    {line}\n")


# -- JSON output -------------------------------------------------------------------------------

def _default(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    return str(value)


def _dumps(document: Any) -> str:
    return json.dumps(document, default=_default, ensure_ascii=False)


def _packet_document(number: int, record: Record, *, hexdump: bool,
                     verbose: bool) -> dict[str, Any]:
    packet = record.packet
    document: dict[str, Any] = {"number": number, **record.to_dict(),
                                "summary": packet.summary(), "packet": packet.to_dict()}
    if verbose:
        document["show"] = packet.show_text()
    if hexdump:
        document["hex"] = bytes(record.data).hex()
    return document


def _print_json(reader: Reader, records: Iterator[Record], *, hexdump: bool,
                verbose: bool) -> None:
    """Stream ``{"file": ..., "packets": [...], ...metadata}``; on damage, close the object
    with an ``error`` member before the error is reported."""
    out = sys.stdout
    out.write(f'{{"file": {_dumps(reader.name)}, "packets": [')
    number = 0
    error: CaptureFileError | None = None
    try:
        for number, record in enumerate(records, 1):
            out.write(",\n  " if number > 1 else "\n  ")
            out.write(_dumps(_packet_document(number, record, hexdump=hexdump,
                                              verbose=verbose)))
    except CaptureFileError as exc:
        error = exc
    tail = {key: value for key, value in reader.describe().items() if key != "file"}
    tail = {"count": number, **tail, "error": None if error is None else str(error)}
    out.write("\n], " + _dumps(tail)[1:] + "\n")
    out.flush()
    if error is not None:
        raise error
