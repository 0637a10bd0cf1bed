"""Commands that only read (collect, last) never move a state file aside: that is the cycle's job."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def test_collect_and_last_report_a_bad_file_and_leave_it(argus_env: dict[str, str], run_argus: Any) -> None:
    state = Path(argus_env["ARGUS_STATE_DIR"])
    state.mkdir(mode=0o700)
    (state / "cycle-state.json").write_text('{"status": 5}')
    (state / "last_decision.json").write_text('{"actions": 5}')
    (state / "cycles.jsonl").write_text(json.dumps({"ts": "2026-11-30T00:00:00Z", "status": "ok"}) + "\n")
    for args in (("collect", "--json"), ("last",)):
        proc = run_argus(*args, env=argus_env)
        assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
        assert "left as it is" in proc.stderr
    assert sorted(p.name for p in state.iterdir() if ".corrupt-" in p.name) == []
    cycle = run_argus("cycle", "--decider", "rules", env=argus_env)  # the owner repairs
    assert cycle.returncode == 0, cycle.stderr
    assert any(p.name.startswith("cycle-state.json.corrupt-") for p in state.iterdir())
