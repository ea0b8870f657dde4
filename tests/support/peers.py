"""The seed's C protocol programs, built from peers/seed_protocol.c, for interop and benchmarks."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SEED_SOURCE = ROOT / "peers" / "seed_protocol.c"
SEED_BINARY = ROOT / "peers" / "seed_protocol"


def build_seed_protocol() -> Path:
    """Compile the seed's protocol program once (checksum bug fixed, see peers/README.md)."""
    if SEED_BINARY.exists() and SEED_BINARY.stat().st_mtime >= SEED_SOURCE.stat().st_mtime:
        return SEED_BINARY
    compiler = shutil.which("gcc") or shutil.which("cc")
    if compiler is None:
        raise RuntimeError("no C compiler to build peers/seed_protocol.c")
    subprocess.run([compiler, "-O2", "-o", str(SEED_BINARY), str(SEED_SOURCE), "-lpthread"],
                   check=True, capture_output=True, timeout=120)
    return SEED_BINARY
