"""`blackstart report` after a whole recovery on a real lab, checked against the audit log
and the journals (issue 16 item 8): CLI actions across separate processes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from rbhelpers import audit_lines, cli, healthy_count, journals, put_keys

pytestmark = pytest.mark.lab


def test_report_tells_the_whole_recovery(rb_lab: Any) -> None:
    lab = rb_lab()
    put_keys(lab, "/test/before/", 10)
    cli(lab, "check", check=False)  # healthy: the revision before the outage is recorded
    saved = json.loads(cli(lab, "snapshot", "save", "--json").stdout)
    put_keys(lab, "/test/after/", 10)  # lost by the restore below
    lab.break_fault("power-cut")
    lab.break_fault("expire-cert", "etcd1", "server")
    assert cli(lab, "check", check=False).returncode == 2  # the outage, as first seen
    cli(lab, "certs", "renew", "--expired", "--yes")
    cli(lab, "restore", "--snapshot", saved["path"], "--yes")
    assert healthy_count(lab) == 3
    for _ in range(10):  # healthy again: the recovery is recorded (an SRE re-runs check too)
        if cli(lab, "check", check=False).returncode < 2:
            break

    pm = json.loads(cli(lab, "report", "--json").stdout)
    assert pm["first_seen"]["level"] == "critical"
    codes = {f["code"] for f in pm["first_seen"]["findings"]}
    assert any("quorum" in c for c in codes), codes
    assert pm["final"]["level"] != "critical"  # backups may still warn (one failure domain)
    assert pm["recovered_at"] > pm["first_seen"]["time"]

    audit = audit_lines(lab)
    by_plan = {j["plan"]["id"]: j for j in journals(lab)}
    in_order = sorted(by_plan, key=lambda p: by_plan[p]["started"])
    assert [a["plan"] for a in pm["actions"]] == in_order
    for a in pm["actions"]:
        lines = [x for x in audit if x["plan"] == a["plan"]]
        assert a["steps_run"] == len(lines) > 0
        assert {x["operator"] for x in lines} == {a["operator"]}
        assert a["state"] == by_plan[a["plan"]]["state"] == "done"
    restore = next(a for a in pm["actions"] if a["action"] == "restore")
    assert restore["revisions_lost"] is not None and restore["revisions_lost"] >= 10
    assert restore["findings_before"], "the findings as they were when the restore began"
    moved = restore["moved_aside"]
    assert len(moved) >= 3 and all(Path(dst).exists() for _node, _src, dst in moved)
    md = cli(lab, "report").stdout
    assert "## Timeline" in md and restore["plan"] in md
