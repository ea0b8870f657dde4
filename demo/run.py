"""``make demo``: wirekit's main job, end to end.

The demo is a sequence of steps, ``demo/step_*.py`` in name order; each has ``run(workdir)``
and prints what it does and what it got.  Output files go to ``demo/out/``.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    workdir = HERE / "out"
    workdir.mkdir(exist_ok=True)
    sys.path.insert(0, str(HERE))
    steps = sorted(path.stem for path in HERE.glob("step_*.py"))
    for name in steps:
        module = importlib.import_module(name)
        title = (module.__doc__ or name).strip().splitlines()[0]
        print(f"\n=== {title}", flush=True)
        module.run(workdir)
    print(f"\ndemo finished: {len(steps)} steps, files in {workdir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
