"""`make demo` end to end: every demo step runs and shows what it claims."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.env import require_root

ROOT = Path(__file__).resolve().parents[2]


def test_demo_runs_every_step() -> None:
    require_root()
    done = subprocess.run([sys.executable, str(ROOT / "demo" / "run.py")], capture_output=True,
                          text=True, timeout=240, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout
    assert "wrote 7 packets" in out
    assert "ICMP6, neighbor solicitation, who has fd00::2" in out
    assert "-> GOODBYE  <- ACK" in out
    assert "3 packets transmitted, 3 received, 0% packet loss" in out
    assert "1 open, 1 closed, 0 filtered" in out
    assert " 0 packets dropped by kernel" in out or "\n0 packets dropped by kernel" in out
    assert "namespaces and processes removed" in out
    assert "demo finished: 3 steps" in out
