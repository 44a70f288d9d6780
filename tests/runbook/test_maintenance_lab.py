"""snapshot save --prune, alarm disarm, defrag and restart on a real lab, via the CLI."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
from rbhelpers import audit_lines, cli

from blackstart.checks.requests import alarm_code, alarm_name

pytestmark = pytest.mark.lab


def _strict_retention(lab: Any, tmp_path: Path) -> str:
    text = re.sub(r"\[retention\]\n(?:\w+ = \d+\n)+",
                  "[retention]\nkeep = 1\nhot_days = 0\ncold_days = 0\n",
                  lab.inventory_path.read_text())
    p = tmp_path / "strict.toml"
    p.write_text(text)
    return str(p)


def test_snapshot_save_prunes_by_moving_aside_and_deletes_only_when_told(
        rb_lab: Any, tmp_path: Path) -> None:
    lab = rb_lab()
    strict = _strict_retention(lab, tmp_path)
    backup = lab.node("etcd2").backup_dir
    before = sorted(p.name for p in backup.glob("*.db"))
    assert len(before) == 2
    saved = json.loads(cli(lab, "snapshot", "save", "--prune", "--json", config=strict).stdout)
    new = Path(saved["path"]).name
    assert sorted(p.name for p in backup.glob("*.db")) == [new]
    pruned = sorted(p.name for p in (backup / "pruned").iterdir())
    assert [n.rsplit(".", 1)[0] for n in pruned] == before  # name.<timestamp>, kept

    r = cli(lab, "snapshot", "save", "--prune", "--delete", config=strict, check=False)
    assert r.returncode == 2 and "--yes" in r.stderr
    assert sorted(p.name for p in backup.glob("*.db")) == [new]  # refused: nothing changed
    # an operator's plain-text file with a snapshot-like name, older than every snapshot:
    # retention would pick it first if prune went by name (issue 13: it deleted notes.db)
    notes = backup / "notes.db"
    notes.write_text("restore drill notes, do not delete\n", encoding="utf-8")
    os.utime(notes, (1_000_000_000, 1_000_000_000))
    out = cli(lab, "snapshot", "save", "--prune", "--delete", "--yes", config=strict).stdout
    left = sorted(p.name for p in backup.glob("*.db") if p.name != "notes.db")
    assert len(left) == 1 and left != [new] and "delete" in out
    assert notes.read_text(encoding="utf-8") == "restore drill notes, do not delete\n"
    assert "notes.db" not in out
    assert len(list((backup / "pruned").iterdir())) == 2  # earlier pruned files untouched


def test_alarm_disarm_defrag_and_restart(rb_lab: Any) -> None:
    lab = rb_lab()
    lab.break_fault("nospace", "etcd3")
    c = lab.client()
    try:
        assert list(c.list_alarms())
    finally:
        c.close()
    _raise_corrupt(lab, "etcd1")
    assert _active(lab) == {"NOSPACE", "CORRUPT"}
    # the members probe reads a CORRUPT alarm (the etcd3 module's protos do not know it)
    out = cli(lab, "check", "--json", check=False).stdout
    report = json.loads(out[out.index("{"):])
    assert "alarm-corrupt" in {f["code"] for f in report["findings"]}
    assert all(m["healthy"] and m["alarms"] == ["CORRUPT", "NOSPACE"]
               for m in report["members"]), report["members"]
    # Disarm("NOSPACE") (what the NOSPACE finding asks for) leaves the CORRUPT alarm alone
    out = cli(lab, "alarm", "disarm", "nospace", "--yes").stdout
    assert "NOSPACE@" in out and "CORRUPT@" not in out
    assert _active(lab) == {"CORRUPT"}
    r = cli(lab, "alarm", "disarm", "SPACE", "--yes", check=False)
    assert r.returncode == 2 and "'SPACE' is not one of" in r.stderr
    out = cli(lab, "alarm", "disarm", "--yes").stdout  # the default: every active alarm
    assert "CORRUPT@" in out
    c = lab.client()
    try:
        assert list(c.list_alarms()) == []
        c.put("/test/after-disarm", "ok")  # writes work again
    finally:
        c.close()

    out = cli(lab, "defrag", "--yes").stdout
    order = re.findall(r"defragment (etcd\d)( \(leader\))?", out.split("\n[")[0])
    assert len(order) == 3 and order[-1][1] == " (leader)" and not order[0][1]

    old = {n.name: lab.running(n.name, "kube-apiserver") for n in lab.nodes}
    cli(lab, "restart", "kube-apiserver", "--node", "etcd2", "--yes")
    new = {n.name: lab.running(n.name, "kube-apiserver") for n in lab.nodes}
    assert new["etcd2"] and new["etcd2"] != old["etcd2"]
    assert new["etcd1"] == old["etcd1"] and new["etcd3"] == old["etcd3"]

    r = cli(lab, "restart", "kube-proxy", "--yes", check=False)
    assert r.returncode == 2 and "no service 'kube-proxy'" in r.stderr
    actions = {a["action"] for a in audit_lines(lab)}
    assert {"disarm-alarm", "defrag", "restart"} <= actions


def _active(lab: Any) -> set[str]:
    from etcd3 import etcdrpc

    c = lab.client()
    try:
        get = etcdrpc.AlarmRequest(action=etcdrpc.AlarmRequest.GET)
        return {alarm_name(a.alarm) for a in c.maintenancestub.Alarm(get, 10).alarms}
    finally:
        c.close()


def _raise_corrupt(lab: Any, member: str) -> None:
    """A CORRUPT alarm through the real Maintenance API (etcd activates any type asked)."""
    from etcd3 import etcdrpc

    c = lab.client()
    try:
        ids = {m.name: m.id for m in c.members}
        req = etcdrpc.AlarmRequest(action=etcdrpc.AlarmRequest.ACTIVATE, memberID=ids[member],
                                   alarm=alarm_code("CORRUPT"))
        c.maintenancestub.Alarm(req, 10)
    finally:
        c.close()
