"""The hostile-decisions property of tests/test_act_property.py on 10,000 generated decisions.

Usage: python bench/bench_hostile_decisions.py [--examples 10000]

The default test run tries 100 decisions; this runs the same property (tests/helpers_hostile.py:
the same strategies, bystanders and checks) with as many as asked, against real processes, a
private tmux server and a systemctl stand-in under a temp dir, and prints how many decisions ran,
how many failures Hypothesis found and the wall time. Exits 1 on a failure, after printing the
falsifying decision Hypothesis shrank it to. Not collected by pytest (testpaths is tests/).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

from argus_cli.config import load

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from helpers_hostile import Progress, bystanders, check_hostile_decisions, guarded_env

_OWN_PREFIXES = ("ARGUS_", "ANTHROPIC_", "TELEGRAM_")


def isolated_env(tmp: Path) -> dict[str, str]:
    """The process environment with no Argus settings leaking in, as tests/conftest.py's argus_env
    builds it: state, host root and a bin dir for stand-ins under ``tmp``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_OWN_PREFIXES)}
    (tmp / "empty.env").write_text("")
    (tmp / "bin").mkdir()
    (tmp / "host").mkdir()
    env.update({"ARGUS_ENV_FILE": str(tmp / "empty.env"), "ARGUS_STATE_DIR": str(tmp / "state"),
                "ARGUS_HOST_ROOT": str(tmp / "host"), "ARGUS_BEADS_WORKDIR": str(tmp),
                "PATH": f"{tmp / 'bin'}{os.pathsep}{env.get('PATH', '')}", "NO_COLOR": "1"})
    return env


def _failures(error: BaseException) -> int:
    """Hypothesis reports each distinct bug it found; several come as one exception group."""
    return len(error.exceptions) if isinstance(error, BaseExceptionGroup) else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=10_000, help="max_examples for Hypothesis")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="argus-bench-hostile-") as tmp_dir:
        tmp = Path(tmp_dir) / "run"
        tmp.mkdir()
        env = guarded_env(isolated_env(tmp), tmp)
        os.environ.clear()  # the actions read PATH (the systemctl stand-in) and HOME from here
        os.environ.update(env)
        os.chdir(tmp)  # the property checks that no action created ./x
        started = time.perf_counter()
        progress, failures = Progress(), 0
        with bystanders(Path(tmp_dir)) as world:
            try:
                check_hostile_decisions(world, load(env), tmp, args.examples, progress)
            except Exception as error:  # noqa: BLE001 - Hypothesis's falsifying example: show it, count it
                traceback.print_exc()
                failures = _failures(error)
        wall = time.perf_counter() - started
    print(f"hostile decisions: {progress.decisions} decisions run (max_examples={args.examples}), "
          f"{failures} failures, wall {wall:.1f} s")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
