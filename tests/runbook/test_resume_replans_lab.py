"""Issue 13, must-have 4: `resume` re-plans from the inventory as it is now; it never
replays the argv the interrupted plan was built with.

A restore is SIGKILLed just before it starts etcd2 again. The operator then changes the
inventory the plan depends on: etcd2's start command becomes a wrapper that leaves a mark
and runs the old command. `resume` must say it re-planned that step, run the new argv
(the mark is there, the audit line has that argv) and end 3/3 healthy; replaying the
journal's stale argv would leave no mark."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest
from killmatrix import run_killed, truthful
from rbhelpers import audit_lines, cli, healthy_count, put_keys

from blackstart.lab import toml_out

pytestmark = [pytest.mark.lab, pytest.mark.timeout(600)]

FORCE = ("--force", "resume test: quorum holds on purpose")
MEMBER = "etcd2"


def _start_argv(doc: dict[str, Any]) -> list[str]:
    return next(list(s["start"]) for s in doc["services"]
                if s["node"] == MEMBER and s["name"] == "etcd")


def _plan(lab: Any, *args: str) -> list[dict[str, Any]]:
    out = cli(lab, *args, "--dry-run", "--json").stdout
    return list(json.loads(out[out.index("{"):])["plan"]["steps"])


def test_resume_runs_the_start_command_the_inventory_has_now(rb_lab: Any,
                                                            tmp_path: Path) -> None:
    lab = rb_lab()
    put_keys(lab, "/r/before/", 3)
    snap = json.loads(cli(lab, "snapshot", "save", "--json").stdout)["path"]
    args = ("restore", "--snapshot", snap, "--yes", *FORCE)
    full = _plan(lab, *args[:3], *FORCE)
    steps = [s["id"] for s in full]
    k = next((i for i, s in enumerate(full) if s["node"] == MEMBER and s["op"] == "run"
              and s["id"].endswith("start-etcd")), None)  # 0-based: the start, pending
    assert k, [(s["id"], s["node"], s["op"]) for s in full]
    j = run_killed(lab, k, "restore", *args)  # killed once steps[k-1] is done
    start_id = steps[k]
    assert j["status"].get(start_id) in (None, "pending"), j["status"]

    text = Path(lab.inventory_path).read_text()
    old = _start_argv(tomllib.loads(text))
    mark = tmp_path / "replanned-start"
    new = ["sh", "-c", 'echo ran >> "$0"; exec "$@"', str(mark), *old]
    assert text.count(f"start = {toml_out.value(old)}") == 1
    edited = tmp_path / "blackstart.toml"  # the operator's hand-edited inventory
    edited.write_text(text.replace(f"start = {toml_out.value(old)}",
                                   f"start = {toml_out.value(new)}"))
    assert _start_argv(tomllib.loads(edited.read_text())) == new

    out = cli(lab, "resume", "--yes", config=str(edited)).stdout
    assert f"re-planned: {start_id} on {MEMBER}" in out, out[-3000:]
    assert mark.read_text().splitlines() == ["ran"]  # the new argv ran, once
    ran = [a for a in audit_lines(lab) if a["plan"] == j["plan"]["id"]
           and a["step"] == start_id]
    assert [a["argv"] for a in ran] == [new], ran
    assert healthy_count(lab) == 3
    assert truthful(lab, j["plan"]["id"], steps[k - 1])["state"] == "done"
    print(f"\nkilled after {steps[k - 1]}; resume re-planned {start_id}: {new[:4]}…")
