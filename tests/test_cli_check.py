"""`blackstart check` end to end: the real console script against a real lab."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

BLACKSTART = str(Path(sys.executable).with_name("blackstart"))


def check(*args: str, timeout: float = 60, cwd: Path | None = None,
          env: dict[str, str] | None = None) -> tuple[int, str, str, float]:
    start = time.monotonic()
    res = subprocess.run([BLACKSTART, "check", *args], capture_output=True, text=True,
                         timeout=timeout, check=False, cwd=cwd, env=env)
    return res.returncode, res.stdout, res.stderr, time.monotonic() - start


def check_json(config: Path) -> tuple[int, dict[str, Any], float]:
    code, out, err, took = check("--config", str(config), "--json")
    assert out.strip(), f"no JSON on stdout (exit {code}): {err}"
    return code, json.loads(out), took


def _by_code(doc: dict[str, Any], code: str) -> list[dict[str, Any]]:
    return [f for f in doc["findings"] if f["code"] == code]


# --------------------------------------------------------------------------- no lab


def test_missing_config_exits_3_naming_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "blackstart.toml"
    code, out, err, _ = check("--config", str(missing))
    assert code == 3
    assert str(missing) in err and "Traceback" not in err + out


def test_broken_toml_exits_3_naming_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "blackstart.toml"
    bad.write_text("[cluster\nname = 'x'\n")
    code, out, err, _ = check("--config", str(bad), "--json")
    assert code == 3
    assert str(bad) in err and "Traceback" not in err + out


def _dead_endpoint_doc(doc: dict[str, Any]) -> None:
    assert doc["verdict"]["level"] == "critical"
    assert doc["verdict"]["summary"].startswith("Quorum lost: 0/1 members healthy")
    assert doc["members"][0]["error_class"] == "refused"


def test_endpoints_flag_builds_an_inventory(tmp_path: Path) -> None:
    # Port 1 on loopback: nothing listens, so the member is refused, fast.
    code, out, err, took = check("--endpoints", "https://127.0.0.1:1", "--json", cwd=tmp_path)
    assert code == 2, err
    _dead_endpoint_doc(json.loads(out))
    assert took < 15


def test_etcdctl_endpoints_env_builds_an_inventory(tmp_path: Path) -> None:
    env = {**os.environ, "ETCDCTL_ENDPOINTS": "https://127.0.0.1:1"}
    code, out, err, _ = check("--json", cwd=tmp_path, env=env)
    assert code == 2, err
    _dead_endpoint_doc(json.loads(out))


# --------------------------------------------------------------------------- real lab


@pytest.mark.lab
def test_healthy_lab_is_ok(healthy_lab: Any) -> None:
    code, doc, _ = check_json(healthy_lab.inventory_path)
    assert doc["verdict"]["level"] == "ok", doc["verdict"]
    assert code == 0
    assert doc["verdict"]["summary"].startswith("Healthy: 3/3 members healthy")
    assert [m["healthy"] for m in doc["members"]] == [True, True, True]
    assert {s["kind"] for s in doc["restore_sources"]} == {"backup", "member-db"}
    assert sum(s["recommended"] for s in doc["restore_sources"]) == 1
    snap = doc["snapshots"][0]
    keys = {"path", "node", "valid", "revision", "total_keys", "size", "mtime", "error"}
    assert keys <= set(snap)


@pytest.mark.lab
def test_readable_report_puts_the_verdict_first(healthy_lab: Any) -> None:
    code, out, _, _ = check("-c", str(healthy_lab.inventory_path))
    assert code == 0
    lines = out.splitlines()
    assert lines[2].startswith("OK: Healthy: 3/3 members healthy")
    for section in ("Next steps", "Members", "Certificates", "Backup snapshots",
                    "Restore sources (best first)", "Write-ahead logs"):
        assert section in lines


@pytest.mark.lab
def test_expired_cert_and_power_cut_is_critical_within_15s(
        lab_factory: Callable[..., Any]) -> None:
    lab = lab_factory()
    lab.break_fault("expire-cert", member="etcd1")
    lab.break_fault("power-cut")
    code, doc, took = check_json(lab.inventory_path)
    assert code == 2 and took < 15, (code, took)
    verdict = doc["verdict"]
    assert verdict["level"] == "critical"
    assert "quorum" in verdict["summary"].lower()
    expired = _by_code(doc, "cert-expired")
    assert any(f["subject"].endswith("etcd1/etc/kubernetes/pki/etcd/server.crt")
               and "expired" in f["seen"] and "etcd1" in f["seen"] for f in expired), expired


@pytest.mark.lab
def test_seed_outage(lab_factory: Callable[..., Any]) -> None:
    """Power cut + etcd1's server cert expired + etcd2's WAL corrupt (the seed's outage)."""
    lab = lab_factory()
    lab.break_fault("expire-cert", member="etcd1")
    lab.break_fault("power-cut")
    lab.break_fault("corrupt-wal", member="etcd2")
    code, doc, _ = check_json(lab.inventory_path)
    assert code == 2
    assert doc["verdict"]["summary"].startswith("Quorum lost: 0/3 members healthy, quorum needs 2")
    assert any("server.crt" in f["subject"] and "etcd1" in f["seen"]
               for f in _by_code(doc, "cert-expired"))
    wal = {f["subject"]: f["code"] for f in doc["findings"] if f["code"].startswith("wal-")}
    assert set(wal) == {"etcd1", "etcd2", "etcd3"}, wal
    assert wal["etcd2"] == "wal-corrupt"
    assert {w["member"]: w["state"] for w in doc["wal"]}["etcd2"] == "corrupt"
    top = [s for s in doc["restore_sources"] if s["recommended"]]
    assert len(top) == 1 and top[0]["valid"]
    # issue 12: the loss-free way is recommended; restores are listed with their loss only
    assert _by_code(doc, "restore-source") == []
    assert doc["verdict"]["recommended"] == "replace"
    ways = {s["name"]: s for s in doc["verdict"]["strategies"]}
    assert ways["replace"]["loss_revisions"] == 0 and "restore-backup" in ways
    assert [r["action"] for r in ways["replace"]["requests"]] == [
        "renew-cert", "start", "replace-member"]
    steps = doc["verdict"]["next_steps"]
    assert steps[-1].startswith("Verify")
    assert any("Renew" in s and "server.crt" in s for s in steps)
    assert any(s.startswith("Start etcd on etcd1, etcd3") for s in steps)
    assert not any(top[0]["path"] in s for s in steps)
