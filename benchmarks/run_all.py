"""Run every ``benchmarks/bench_*.py`` and write the results table (``make bench``).

Each benchmark module has ``run() -> list[Comparison]``.  One failing benchmark is reported and
does not stop the others.
"""

from __future__ import annotations

import argparse
import importlib
import platform
import sys
import time
import traceback
from pathlib import Path

from benchlib import TABLE_HEADER, Comparison

HERE = Path(__file__).resolve().parent


def discover(selected: list[str]) -> list[str]:
    names = sorted(path.stem for path in HERE.glob("bench_*.py"))
    return [name for name in names if not selected or any(s in name for s in selected)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--output", type=Path, default=HERE / "results.md")
    parser.add_argument("only", nargs="*", help="substrings of benchmark names to run")
    args = parser.parse_args()
    results: list[Comparison] = []
    failures: list[str] = []
    for name in discover(args.only):
        print(f"== {name}", flush=True)
        try:
            found = importlib.import_module(name).run()
        except Exception:
            traceback.print_exc()
            failures.append(name)
            continue
        for comparison in found:
            print(f"   {comparison.name}: {comparison.ratio:.2f}x {comparison.peer_name}",
                  flush=True)
        results.extend(found)
    lines = [
        "# wirekit benchmark results",
        "",
        f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {platform.node()} "
        f"({platform.machine()}, Python {platform.python_version()}). "
        "Each row runs wirekit and its peer in the same run on the same input.",
        "",
        TABLE_HEADER,
        *(comparison.row() for comparison in results),
        "",
    ]
    if failures:
        lines += [f"Benchmarks that failed to run: {', '.join(failures)}", ""]
    args.output.write_text("\n".join(lines))
    print(f"wrote {args.output}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
