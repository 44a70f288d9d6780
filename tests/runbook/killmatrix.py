"""What the kill-at-every-boundary matrices share (helpers, not fixtures): which boundaries
a run covers, the pytest timeout that fits them, and the truth checks on journal + audit.

BLACKSTART_KILL_MATRIX=1 (`make kill-matrix`) covers every boundary; =A-B only boundaries
A..B (to split the long matrix across runs). Without it the same tests run a
deterministic sample (the first, the middle and the last boundary of the plan), so the
normal suite, CI included, still catches a regression: they are never skipped for being
long."""

from __future__ import annotations

import json
import os
import signal
from typing import Any

import pytest
from rbhelpers import audit_lines, cli, journals

FULL = bool(os.environ.get("BLACKSTART_KILL_MATRIX"))
SPAN = os.environ.get("BLACKSTART_KILL_MATRIX", "")
TRIAL_BOUND = 240  # generous seconds per trial on a loaded 2-core box; the whole test's cap


def coverage() -> str:
    """How much of the matrix this run covers, for the printed figures."""
    return ("slice " + SPAN) if FULL and "-" in SPAN else ("all" if FULL else "sampled")


def boundaries(n: int) -> list[int]:
    """1-based boundaries to kill at, of a plan with `n` boundaries (its steps minus the
    last, after which the plan is done)."""
    if FULL or n <= 3:
        lo, sep, hi = SPAN.partition("-")
        if FULL and sep and lo.isdigit() and hi.isdigit():
            return list(range(max(1, int(lo)), min(n, int(hi)) + 1))
        return list(range(1, n + 1))
    return sorted({1, (n + 1) // 2, n})


def timeout_mark(max_boundaries: int) -> pytest.MarkDecorator:
    """The suite's 300 s per test is far below a full matrix (about a restore per boundary):
    the cap scales with the trials this run makes."""
    trials = max_boundaries if FULL else 3
    return pytest.mark.timeout(TRIAL_BOUND * (trials + 1))


def plan_steps(lab: Any, *args: str) -> list[str]:
    """The step ids of `blackstart ARGS --dry-run --json`."""
    out = cli(lab, *args, "--dry-run", "--json").stdout
    return [s["id"] for s in json.loads(out[out.index("{"):])["plan"]["steps"]]


def run_killed(lab: Any, k: int, action: str, *args: str) -> dict[str, Any]:
    """`blackstart ARGS` SIGKILLed once its k-th step is journaled done; its journal."""
    r = cli(lab, *args, hooks=("--kill-after", str(k)), check=False, timeout=900)
    assert r.returncode == -signal.SIGKILL, (k, r.stdout[-2000:], r.stderr[-2000:])
    j = [j for j in journals(lab) if j["plan"]["action"] == action][-1]
    step_id = j["plan"]["steps"][k - 1]["id"]  # the k-th step of this very plan
    assert j["state"] == "running" and j["status"][step_id] in ("ok", "skipped"), j["status"]
    return j


def truthful(lab: Any, plan_id: str, killed_after: str | None) -> dict[str, Any]:
    """The plan's journal, after checking the audit log agrees with it: every step the
    journal calls done has its forward audit line (and no other), the step killed after
    among them, and every undo logged with its own argv."""
    j = next(j for j in journals(lab) if j["plan"]["id"] == plan_id)
    lines = [a for a in audit_lines(lab) if a["plan"] == plan_id]
    journaled_ok = [s["id"] for s in j["plan"]["steps"]
                    if j["status"].get(s["id"]) in ("ok", "skipped")]
    forward = [a["step"] for a in lines if ":" not in a["step"] and a["status"] in
               ("ok", "skipped")]
    assert sorted(forward) == sorted(journaled_ok), (forward, journaled_ok)
    if killed_after:
        assert killed_after in forward
    for a in lines:
        if a["step"].startswith("undo:") and a["op"] == "run":
            step = next(s for s in j["plan"]["steps"] if s["id"] == a["step"][5:])
            assert a["argv"] == step["undo_argv"]  # the undo's own argv, never the forward one
    return j
