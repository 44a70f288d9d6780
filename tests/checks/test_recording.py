"""checks.recording: probe results and the cluster model to JSON and back (pure)."""

from __future__ import annotations

import json
import typing
from pathlib import Path

import pytest

from blackstart.checks import recording as rec_mod
from blackstart.checks.conclusions import Report
from blackstart.checks.model import (
    CertSpec,
    Cluster,
    LogSource,
    Member,
    Node,
    Retention,
    Service,
    SSHTarget,
    TLSFiles,
)
from blackstart.checks.probe_results import (
    CertInfo,
    ClockInfo,
    LogLine,
    MemberState,
    MetricsInfo,
    NodeAccess,
    ProcessInfo,
    Recovery,
    RestoreSource,
    SnapshotInfo,
    WalState,
)
from blackstart.checks.probes import registry
from blackstart.checks.recording import (
    Recording,
    RecordingError,
    cluster_from_json,
    cluster_to_json,
    recording_from_json,
    recording_to_json,
    results_from_json,
    results_to_json,
)
from blackstart.checks.severity import Severity

RECORDED = Path(__file__).resolve().parents[1] / "data" / "recorded"

TLS = TLSFiles("/p/s.crt", "/p/s.key", "/p/ca.crt")
CLUSTER = Cluster(
    "c", (Node("n1"), Node("n2", SSHTarget("127.0.77.2", 2222, key_file="/k"),
                           backup_dirs=("/b",), has_access=False)),
    (Member("etcd1", "n1", "https://127.0.77.1:2379", "https://127.0.77.1:2380", "/d",
            metrics_url="http://127.0.77.1:2381", server=TLS, peer=TLS, unit="etcd"),),
    client=TLS, certificates=(CertSpec("n1", "etcd-server", "/p/s.crt", member="etcd1"),),
    logs=(LogSource("n1", "journald", unit="kubelet"),),
    services=(Service("n1", "etcd", "command", start=("a", "b"), member="etcd1"),),
    retention=Retention(3, 1, 2), source="/x/blackstart.toml")

RESULTS = {
    "members": [MemberState("etcd1", "https://e:2379", True, member_id="a1", leader=True,
                            raft_term=3, revision=9, alarms=["NOSPACE"])],
    "certificates": [CertInfo("/p/s.crt", "n1", "etcd-server", not_after=1.5, days_left=-2.0,
                              sans=["127.0.77.1"], problems=["expired"],
                              explain={"expired": "renew it"})],
    "snapshots": [SnapshotInfo("/b/s.db", "n1", valid=True, revision=7, sha256_ok=None)],
    "datadirs": [WalState("etcd1", "n1", "/d/member/wal", "torn-tail", last_index=4)],
    "logs": [LogLine("n1", "kube-apiserver", None, "x509: expired", "tls-expired",
                     Severity.CRITICAL)],
    "processes": [ProcessInfo("n1", "etcd", 12, True, ["etcd", "--name"], 2.0, ["2379"])],
    "clocks": [ClockInfo("n1", 10.0, skew=0.25)],
    "metrics": [MetricsInfo("etcd1", wal_fsync_p99=0.01, has_leader=True)],
    "access": [NodeAccess("n2", "ssh root@127.0.77.2:2222", False, "auth", "denied")],
    "member_dbs": [SnapshotInfo("/d/member/snap/db", "n1", kind="member-db", pending=True)],
}


def test_results_round_trip_through_json_text() -> None:
    text = json.dumps(results_to_json(RESULTS))
    back = results_from_json(json.loads(text))
    assert back == RESULTS
    assert back["logs"][0].severity is Severity.CRITICAL  # an enum again, not a string


def test_cluster_round_trip_keeps_tuples_and_nested_records() -> None:
    back = cluster_from_json(json.loads(json.dumps(cluster_to_json(CLUSTER))))
    assert back == CLUSTER
    assert isinstance(back.nodes, tuple) and back.nodes[1].ssh == CLUSTER.nodes[1].ssh
    assert hash(back) == hash(CLUSTER)  # frozen all the way down, as the inventory makes it


def test_a_recording_round_trips() -> None:
    rec = Recording("s", "how", 12.5, CLUSTER, RESULTS, {"clocks": "boom"})
    assert recording_from_json(json.loads(json.dumps(recording_to_json(rec)))) == rec


def test_every_probe_result_type_can_be_recorded() -> None:
    hints = typing.get_type_hints(Report)
    for spec in registry.SPECS:  # each probe fills a list[<result type>] field
        (item,) = typing.get_args(hints[spec.field])
        assert rec_mod.RESULT_TYPES[item.__name__] is item, spec


def test_every_result_type_is_covered_here() -> None:
    seen = {type(i).__name__ for items in RESULTS.values() for i in items}
    assert seen == set(rec_mod.RESULT_TYPES) - {
        "RestoreSource", "BackupLocationState", "DrillRecord", "Recovery"}
    src = RestoreSource("backup", "n1", "/b/s.db", True, 7, recommended=True)
    assert results_from_json(results_to_json({"x": [src]})) == {"x": [src]}
    rec = Recovery("restore", 1.5, "restore-1", "Restore lab")
    assert results_from_json(results_to_json({"recoveries": [rec]})) == {"recoveries": [rec]}


@pytest.mark.parametrize("doc, where", [
    ({"members": [{"type": "Finding"}]}, "$.members[0]: 'Finding' is not a probe result type"),
    ({"members": [{"type": "MemberState", "name": "e", "endpoint": "u", "healthy": "yes"}]},
     "$.members[0].healthy: expected bool"),
    ({"members": [{"type": "MemberState", "name": "e", "endpoint": "u", "color": 1}]},
     "MemberState has no field 'color'"),
    ({"members": [{"type": "MemberState", "name": "e"}]}, "endpoint"),
    ({"logs": [{"type": "LogLine", "node": "n", "source": "s", "ts": None, "text": "t",
                "severity": "LOUD"}]}, "$.logs[0].severity: 'LOUD' is not a Severity"),
])
def test_bad_input_says_where(doc: dict[str, object], where: str) -> None:
    with pytest.raises(RecordingError, match=where.replace("[", r"\[").replace("$", r"\$")):
        results_from_json(doc)


def test_the_recorded_lab_files_decode_and_round_trip() -> None:
    for path in sorted(RECORDED.glob("*.json")):
        if path.name.endswith(".restore-plan.json"):
            continue
        rec = recording_from_json(json.loads(path.read_text(encoding="utf-8")))
        assert rec.results["members"] and rec.cluster.members, path
        again = recording_from_json(json.loads(json.dumps(recording_to_json(rec))))
        assert again == rec, path
