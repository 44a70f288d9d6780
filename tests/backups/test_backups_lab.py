"""The must-show on a real lab with a moto S3 location, through the real CLI: cron-like
`snapshot save --upload s3 --prune` keeps each location's retention; `drill` passes and
then fails on a deliberately corrupted object; the outage is recovered from the S3 copy
with no local copy left."""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from s3helpers import S3Server

sys.path.insert(0, str(Path(__file__).parent.parent / "runbook"))  # rbhelpers

from rbhelpers import cli, healthy_count, keys, need_debian_etcdctl, put_keys  # noqa: E402

pytestmark = pytest.mark.lab

S3_TOML = """
[[backups]]
name = "s3"
kind = "s3"
endpoint = "{endpoint}"
bucket = "etcd-backups"
prefix = "lab/"
region = "us-east-1"
domain = "offsite"
retention = {{ keep = 2, hot_days = 0, cold_days = 0 }}
"""


def _objects(s3: S3Server) -> list[str]:
    got = s3.client().list_objects_v2(Bucket="etcd-backups", Prefix="lab/")
    return sorted(o["Key"] for o in got.get("Contents", []))


def _local_snapshots(lab: Any, state: Path) -> list[Path]:
    found = list((state / "snapshots").glob("*.db"))
    for n in lab.nodes:
        found += list(n.backup_dir.glob("*.db"))
    return found


def test_s3_save_prune_drill_and_recover(lab_factory: Callable[..., Lab], s3: S3Server,
                                         tmp_path: Path) -> None:
    need_debian_etcdctl()
    lab = lab_factory()
    s3.client().create_bucket(Bucket="etcd-backups")
    config = tmp_path / "s3.toml"
    config.write_text(lab.inventory_path.read_text() + S3_TOML.format(endpoint=s3.endpoint))
    put_keys(lab, "/test/before/", 20)

    names = []
    for _ in range(4):  # what cron's */30 does, four times over
        out = json.loads(cli(lab, "snapshot", "save", "--upload", "s3", "--prune", "--json",
                             config=str(config)).stdout)
        assert out["uploads"] == [f"s3:{Path(out['path']).name}"]
        names.append(Path(out["path"]).name)
    objs = _objects(s3)
    live = [k for k in objs if not k.startswith("lab/pruned/")]
    assert live == sorted(f"lab/{n}" for n in names[-2:])  # keep = 2
    assert len([k for k in objs if k.startswith("lab/pruned/")]) == 2  # moved, not deleted

    listing = cli(lab, "backups", "list", config=str(config)).stdout
    assert f"verified   {names[-1]}" in listing, listing

    ok = cli(lab, "drill", "--location", "s3", config=str(config))
    assert ok.stdout.startswith(f"PASS s3: {names[-1]}"), ok.stdout
    cl = s3.client()
    key = f"lab/{names[-1]}"
    meta = cl.head_object(Bucket="etcd-backups", Key=key)["Metadata"]
    body = bytearray(cl.get_object(Bucket="etcd-backups", Key=key)["Body"].read())
    body[len(body) // 3] ^= 0xA5
    cl.put_object(Bucket="etcd-backups", Key=key, Body=bytes(body), Metadata=meta)
    bad = cli(lab, "drill", "--location", "s3", config=str(config), check=False)
    assert bad.returncode == 1 and bad.stdout.startswith("FAIL s3"), bad.stdout
    check = json.loads(cli(lab, "check", "--json", "--deadline", "20", config=str(config),
                           check=False).stdout)
    codes = {f["code"] for f in check["findings"]}
    assert {"drill-failed", "backup-copy-broken"} <= codes, [
        (f["code"], f["seen"]) for f in check["findings"]]

    fresh = json.loads(cli(lab, "snapshot", "save", "--upload", "s3", "--json",
                           config=str(config)).stdout)
    name = Path(fresh["path"]).name
    put_keys(lab, "/test/after/", 5)
    state = Path(fresh["path"]).parent.parent
    aside = tmp_path / "local-copies-moved-away"
    aside.mkdir()
    for p in _local_snapshots(lab, state):
        shutil.move(str(p), aside / f"{p.parent.parent.name}-{p.name}")
    assert _local_snapshots(lab, state) == []
    lab.break_fault("power-cut")
    lab.break_fault("corrupt-wal", "etcd2")
    assert healthy_count(lab) == 0

    out = cli(lab, "restore", "--snapshot", f"s3:{name}", "--yes", config=str(config))
    assert "download the snapshot from s3" in out.stdout
    assert healthy_count(lab) == 3
    assert len(keys(lab, "/test/before/")) == 20 and keys(lab, "/test/after/") == []


Lab = Any


def test_restore_kit_beside_every_copy(lab_factory: Callable[..., Lab], s3: S3Server,
                                       tmp_path: Path) -> None:
    import tarfile

    import pyrage

    lab = lab_factory()
    s3.client().create_bucket(Bucket="etcd-backups")
    config = tmp_path / "s3.toml"
    config.write_text(lab.inventory_path.read_text() + S3_TOML.format(endpoint=s3.endpoint))
    refused = cli(lab, "snapshot", "save", "--kit", config=str(config), check=False)
    assert refused.returncode == 2 and "--kit-no-keys" in refused.stderr

    ident = pyrage.x25519.Identity.generate()
    out = json.loads(cli(lab, "snapshot", "save", "--kit", "--kit-recipient",
                         str(ident.to_public()), "--json", config=str(config)).stdout)
    kit = Path(out["path"] + ".kit.tar.gz")
    assert oct(kit.stat().st_mode & 0o777) == "0o600"
    with tarfile.open(kit) as tar:
        names = tar.getnames()
        index = json.loads(tar.extractfile("kit.json").read())  # type: ignore[union-attr]
        key = tar.extractfile(next(n for n in names if n.endswith("server.key.age")))
        plain = pyrage.decrypt(key.read(), [ident])  # type: ignore[union-attr]
    assert b"PRIVATE KEY" in plain
    assert not any(n.endswith(".key") for n in names)  # never a key in the clear
    assert {"manifests", "pki", "pki-keys", "versions"} <= set(index["parts"])
    assert any(n.startswith("manifests/") and n.endswith("etcd.yaml") for n in names)
    assert f"s3:{kit.name}" in out["uploads"]
    for n in lab.nodes:
        assert (n.backup_dir / kit.name).read_bytes() == kit.read_bytes()
    listing = json.loads(cli(lab, "backups", "list", "--json", config=str(config)).stdout)
    kits = {(loc["name"], c["name"]): c["kit"] for loc in listing for c in loc["copies"]}
    name = Path(out["path"]).name
    assert {"manifests", "pki", "pki-keys", "versions"} <= set(kits[("s3", name)]), kits
    node_dir = f"{lab.nodes[0].name}:{lab.nodes[0].backup_dir}"
    assert kits[(node_dir, name)] == kits[("s3", name)]
