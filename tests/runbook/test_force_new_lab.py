"""Issue 12, the third strategy on the lab: fewer than a quorum intact (a power cut, then
etcd1's and etcd2's WAL corrupt), etcd3 fresher than every backup. `recover --strategy
force-new-cluster` starts etcd3 alone with --force-new-cluster, restarts it without the
flag, adds etcd1 and etcd2 back one at a time (their data dirs moved aside, never
deleted), and keeps every key written before the cut; checked with the Debian etcdctl 3.4.
A dry run changes nothing on disk."""

from __future__ import annotations

import hashlib
import json
import signal
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from rbhelpers import (
    audit_lines,
    cli,
    hashkvs_agreeing,
    healthy_count,
    journals,
    keys,
    need_debian_etcdctl,
    put_keys,
    wait_replicated,
)

pytestmark = pytest.mark.lab

FLAG = "--force-new-cluster"


def _outage(lab: Any) -> None:
    lab.break_fault("power-cut")
    lab.break_fault("corrupt-wal", "etcd1")
    lab.break_fault("corrupt-wal", "etcd2")


def _disk(lab: Any) -> dict[str, str]:
    """Every file under the nodes' etcd data dirs and manifest dirs (and their siblings,
    where an aside copy would go): path -> sha256 of its bytes."""
    out: dict[str, str] = {}
    for n in lab.nodes:
        for top in (n.root / "var/lib", n.root / "etc/kubernetes"):
            for p in sorted(top.rglob("*")):
                if p.is_file() and not p.is_symlink():
                    out[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest()
                elif p.is_dir():
                    out[str(p)] = "dir"
    return out


def _command(manifest: Path) -> list[str]:
    doc = yaml.safe_load(manifest.read_text())
    return [str(a) for a in doc["spec"]["containers"][0]["command"]]


def test_force_new_cluster_dry_run_then_run_keeps_every_key(rb_lab: Any) -> None:
    need_debian_etcdctl()
    lab = rb_lab()
    put_keys(lab, "/test/before-backup/", 20)
    cli(lab, "snapshot", "save", "--json")
    put_keys(lab, "/test/after-backup/", 25)  # only in the members' data from here on
    wait_replicated(lab)  # else the leader's db may hold writes etcd3 never got
    _outage(lab)
    assert healthy_count(lab) == 0

    before = _disk(lab)
    dry = cli(lab, "recover", "--dry-run", "--json")
    shown = json.loads(dry.stdout[dry.stdout.index("{"):])
    plan = shown["plan"]
    # recommended: it keeps etcd3's own data, where the restore rewrites every data dir
    assert plan["info"]["strategy"] == "force-new-cluster", plan["title"]
    # its claimed loss is an estimate from raft entries (an entry is not always a
    # revision); the keys below are the ground truth
    assert "force a new cluster from etcd3 — " in plan["title"]
    kinds = [(s["node"], s["args"].get("kind"), s["args"].get("on")) for s in plan["steps"]]
    assert kinds.index(("etcd3", "force-flag", True)) < kinds.index(("etcd3", "force-flag",
                                                                      False))
    assert _disk(lab) == before, "a dry run changed files on a node"

    t0 = time.monotonic()
    out = cli(lab, "recover", "--strategy", "force-new-cluster", "--yes", timeout=600)
    took = time.monotonic() - t0
    assert "force-new-cluster" in out.stdout
    assert healthy_count(lab) == 3
    hashes = hashkvs_agreeing(lab)
    assert len(hashes) == 3 and len(set(hashes.values())) == 1, hashes
    kept_b, kept_a = keys(lab, "/test/before-backup/"), keys(lab, "/test/after-backup/")
    print(f"\nforce-new-cluster from etcd3: kept {len(kept_b) + len(kept_a)} of 45 keys in "
          f"{took:.1f} s; a restore from the backup would have lost the 25 written after it")
    assert len(kept_b) == 20 and len(kept_a) == 25
    assert f"removed {FLAG}" in out.stdout  # what the step did, as it said while running
    _flag_gone_and_data_kept(lab)
    _audit_is_the_journal(lab)


def _flag_gone_and_data_kept(lab: Any) -> None:
    forced = lab.node("etcd3")
    assert FLAG not in _command(forced.spec.manifest_path)
    kept = list(forced.spec.manifest_path.parent.glob("etcd.yaml.before-force-new-*"))
    assert len(kept) == 1 and FLAG not in _command(kept[0])
    # etcd3's data dir as it was before the forced start, and the lost members' dirs: aside
    assert list(forced.root.glob("var/lib/etcd.before-force-new-*/member/wal"))
    for name in ("etcd1", "etcd2"):
        n = lab.node(name)
        assert list(n.root.glob("var/lib/etcd.replaced-*/member/wal")), name
        assert "--initial-cluster-state=existing" in _command(n.spec.manifest_path)


def _audit_is_the_journal(lab: Any) -> None:
    """The confirmed plan ran step by step (one audit line each, same node and command),
    and it set the flag on etcd3 and later removed it, before any other member joined."""
    j = [x for x in journals(lab) if x["plan"]["action"] == "recover"][-1]
    assert j["state"] == "done" and j["plan"]["info"]["strategy"] == "force-new-cluster"
    steps = j["plan"]["steps"]
    lines = [x for x in audit_lines(lab) if x["plan"] == j["plan"]["id"]]
    assert [x["step"] for x in lines] == [s["id"] for s in steps]
    for x, s in zip(lines, steps, strict=True):
        assert x["node"] == s["node"] and x["status"] in ("ok", "skipped"), (x, s)
    ids = [s["id"] for s in steps]
    on = next(s for s in steps if s["args"].get("kind") == "force-flag" and s["args"]["on"])
    off = next(s for s in steps if s["args"].get("kind") == "force-flag"
               and not s["args"]["on"])
    first_add = next(s for s in steps if s["args"].get("call") == "member-add")
    assert ids.index(on["id"]) < ids.index(off["id"]) < ids.index(first_add["id"])
    said = {x["step"]: x["argv"] for x in lines}
    assert said[on["id"]].startswith("in ") and f"add {FLAG}" in said[on["id"]]
    assert f"remove {FLAG}" in said[off["id"]], said[off["id"]]
    print(f"audit: {len(lines)} steps; flag set at {on['id']}, removed at {off['id']}")


def _wal_sums(path: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted((path / "member" / "wal").glob("*.wal"))}


def _killed_force_new(lab: Any, after: str) -> None:
    put_keys(lab, "/test/before/", 15)
    wait_replicated(lab)
    _outage(lab)
    r = cli(lab, "recover", "--strategy", "force-new-cluster", "--yes",
            hooks=("--kill-after", after), check=False)
    assert r.returncode == -signal.SIGKILL, r.stdout[-3000:] + r.stderr[-2000:]
    j = [x for x in journals(lab) if x["plan"]["action"] == "recover"][-1]
    assert j["state"] == "running"
    last_ok = [s["id"] for s in j["plan"]["steps"] if j["status"].get(s["id"]) == "ok"][-1]
    assert last_ok.endswith(after), last_ok


def test_killed_while_forced_then_resumed_drops_the_flag(rb_lab: Any) -> None:
    """The CLI is SIGKILLed right after etcd3 came up alone with --force-new-cluster (the
    flag still in its manifest); `resume` goes on from there and the flag is gone."""
    need_debian_etcdctl()
    lab = rb_lab()
    _killed_force_new(lab, "wait-alone-etcd3")
    assert FLAG in _command(lab.node("etcd3").spec.manifest_path)
    out = cli(lab, "resume", "--yes", timeout=600)
    assert "resuming" in out.stdout
    assert healthy_count(lab) == 3 and len(set(hashkvs_agreeing(lab).values())) == 1
    assert len(keys(lab, "/test/before/")) == 15
    assert FLAG not in _command(lab.node("etcd3").spec.manifest_path)
    assert journals(lab)[-1]["state"] == "done"


def test_rollback_after_a_member_joined_puts_everything_back(rb_lab: Any) -> None:
    """Killed once etcd1 had joined the forced cluster; `rollback` puts etcd3's data dir
    back as it was before the forced start (its WAL byte for byte), its manifest and
    etcd1's, and etcd1's old data dir; what ran is moved aside, not deleted. Members that
    were down before stay down (etcd1's corrupt WAL would only crash again): the cluster
    is as broken as it was, and the rollback says so."""
    lab = rb_lab()
    n3, n1 = lab.node("etcd3"), lab.node("etcd1")
    manifests = {n.name: n.spec.manifest_path.read_bytes() for n in (n1, n3)}
    put_keys(lab, "/test/before/", 15)
    wait_replicated(lab)
    lab.break_fault("power-cut")
    wal3 = _wal_sums(n3.spec.data_dir)
    lab.break_fault("corrupt-wal", "etcd1")
    lab.break_fault("corrupt-wal", "etcd2")
    wal1 = _wal_sums(n1.spec.data_dir)
    r = cli(lab, "recover", "--strategy", "force-new-cluster", "--yes",
            hooks=("--kill-after", "caught-up-etcd1"), check=False)
    assert r.returncode == -signal.SIGKILL, r.stdout[-3000:] + r.stderr[-2000:]
    out = cli(lab, "rollback", "--yes", timeout=600, check=False)
    j = [x for x in journals(lab) if x["plan"]["action"] == "recover"][-1]
    assert j["state"] == "rollback-degraded", out.stdout[-4000:] + out.stderr[-2000:]
    assert "every undo ran" in j["error"]
    assert healthy_count(lab) == 0  # as before the plan: no member was started by it
    assert _wal_sums(n3.spec.data_dir) == wal3  # the data as it was, not the forced copy
    assert _wal_sums(n1.spec.data_dir) == wal1
    assert {n.name: n.spec.manifest_path.read_bytes() for n in (n1, n3)} == manifests
    assert list(n3.root.glob("var/lib/etcd.rolled-back-*/member/wal"))  # the forced copy
    assert list(n1.root.glob("var/lib/etcd.rolled-back-*/member"))  # etcd1 as it joined


def _cut_wal_before(seg: Path, keep_below: int) -> int:
    """Zero etcd3's WAL from the first entry with index ≥ keep_below (a WAL that lost its
    tail while the db had already applied it: the etcd#22686 shape). Returns the last
    index kept. The segment's original bytes are kept beside it."""
    from blackstart.checks.formats.proto_wire import decode_message, int_field
    from blackstart.checks.formats.wal_records import decode_record
    from blackstart.lab import walfault

    buf = seg.read_bytes()
    (seg.parent / f"{seg.name}.orig").write_bytes(buf)
    last = 0
    for f in walfault.frames(buf):
        rec = decode_record(buf[f.start:f.start + f.length])
        if rec.type != 2:  # entryType
            continue
        index = int_field(decode_message(rec.data, {2: 0, 3: 0}), 3)
        if index >= keep_below:
            with open(seg, "r+b") as fh:
                fh.seek(f.offset)
                fh.write(b"\0" * (len(buf) - f.offset))
            return last
        last = index
    raise AssertionError(f"{seg}: no entry at or past index {keep_below}")


def test_refused_when_the_db_is_ahead_of_the_wal_and_nothing_changes(rb_lab: Any) -> None:
    """etcd3's WAL loses its second half after the power cut, its db does not: its
    consistent index is ahead of its WAL, and --force-new-cluster would brick it
    (etcd#22686). The strategy is listed, blocked with that reason, never recommended;
    naming it is refused; no file on any node changes."""
    lab = rb_lab()
    put_keys(lab, "/test/before/", 30)
    wait_replicated(lab)
    _outage(lab)
    wal = sorted((lab.node("etcd3").spec.data_dir / "member" / "wal").glob("*.wal"))[-1]
    r = cli(lab, "check", "--json", check=False)
    doc = json.loads(r.stdout[r.stdout.index("{"):])
    last = next(w["last_index"] for w in doc["wal"] if w["member"] == "etcd3")
    kept = _cut_wal_before(wal, last // 2)
    r = cli(lab, "check", "--json", check=False)
    doc = json.loads(r.stdout[r.stdout.index("{"):])
    (force,) = [s for s in doc["verdict"]["strategies"] if s["name"] == "force-new-cluster"]
    assert "is ahead of its WAL" in force["blocked"] and "etcd#22686" in force["blocked"]
    assert f"({kept})" in force["blocked"], force["blocked"]
    assert doc["verdict"]["recommended"] != "force-new-cluster"
    before = _disk(lab)
    out = cli(lab, "recover", "--strategy", "force-new-cluster", "--yes", check=False)
    assert out.returncode == 2 and "etcd#22686" in out.stderr, out.stdout + out.stderr
    assert _disk(lab) == before
    print(f"\nrefused: {force['blocked']}")
