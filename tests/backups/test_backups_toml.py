"""[[backups]] / [backup_policy] parsing (pure) and the implicit node-dir locations."""

from __future__ import annotations

from typing import Any

import pytest

from blackstart.checks.discovery.backups_toml import (
    BackupConfigError,
    parse_backups,
    parse_policy,
)
from blackstart.checks.discovery.inventory import InventoryError, cluster_from_toml
from blackstart.checks.model import Retention

BASE: dict[str, Any] = {
    "cluster": {"name": "c1"},
    "nodes": [{"name": "m1", "backup_dirs": ["/backup/etcd"]}],
    "members": [{"name": "m1", "node": "m1", "client_url": "http://127.0.77.1:2379",
                 "peer_url": "http://127.0.77.1:2380", "data_dir": "/var/lib/etcd"}],
}


def _parse(*entries: dict[str, Any]) -> Any:
    return parse_backups(list(entries), "x.toml", Retention(), {"m1"})


def test_dir_and_s3_locations_with_their_own_retention() -> None:
    d, s = _parse(
        {"name": "nfs", "kind": "dir", "node": "m1", "path": "/mnt/nfs/etcd/",
         "domain": "site:dc1"},
        {"name": "s3", "kind": "s3", "bucket": "etcd-backups", "prefix": "/lab",
         "endpoint": "http://127.0.77.9:9000", "profile": "backup", "domain": "offsite",
         "retention": {"keep": 3, "hot_days": 1}})
    assert (d.path, d.domain, d.retention) == ("/mnt/nfs/etcd", "site:dc1", Retention())
    assert (s.bucket, s.prefix, s.profile) == ("etcd-backups", "lab/", "backup")
    assert s.retention == Retention(keep=3, hot_days=1, cold_days=30)


@pytest.mark.parametrize(("entry", "words"), [
    ({"name": "s", "kind": "s3", "bucket": "bkt1", "domain": "offsite",
      "aws_secret_access_key": "x"}, "never put secrets"),
    ({"name": "s", "kind": "s3", "bucket": "bkt1", "domain": "the-cloud"}, "node:NAME"),
    ({"name": "s", "kind": "tape", "domain": "offline"}, "not one of dir, s3"),
    ({"name": "d", "kind": "dir", "node": "nope", "path": "/b", "domain": "offline"},
     "not in [[nodes]]"),
    ({"name": "d", "kind": "dir", "node": "m1", "path": "rel", "domain": "offline"},
     "absolute"),
    ({"name": "s", "kind": "s3", "bucket": "B_ad", "domain": "offsite"}, "bucket"),
])
def test_bad_entries_name_the_entry_and_the_problem(entry: dict[str, Any], words: str
                                                    ) -> None:
    with pytest.raises(BackupConfigError) as exc:
        _parse(entry)
    assert "[[backups]] #1" in str(exc.value) and words in str(exc.value)


def test_policy_defaults_and_values() -> None:
    assert parse_policy(None, "x").rpo_seconds == 3600
    p = parse_policy({"rpo_minutes": 30, "drill_max_days": 1}, "x")
    assert (p.rpo_seconds, p.drill_max_age_seconds) == (1800, 86400)


def test_inventory_keeps_node_dirs_as_implicit_locations() -> None:
    data = {**BASE, "backups": [{"name": "s3", "kind": "s3", "bucket": "bkt1",
                                 "domain": "offsite"}]}
    c = cluster_from_toml(data, "x.toml")
    names = [(b.name, b.domain, b.implicit) for b in c.backup_locations()]
    assert names == [("s3", "offsite", False), ("m1:/backup/etcd", "node:m1", True)]
    same = {**BASE, "backups": [{"name": "disk", "kind": "dir", "node": "m1",
                                 "path": "/backup/etcd", "domain": "node:m1"}]}
    assert [b.name for b in cluster_from_toml(same, "x.toml").backup_locations()] == ["disk"]


def test_inventory_error_names_the_file() -> None:
    with pytest.raises(InventoryError, match="x.toml: .*credential"):
        cluster_from_toml({**BASE, "backups": [{"name": "s", "kind": "s3", "bucket": "bkt1",
                                                "domain": "offsite", "secret_key": "x"}]},
                          "x.toml")
