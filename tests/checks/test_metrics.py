"""blackstart.checks.probes.metrics: the pure summary of a /metrics page, and a real etcd's page."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from blackstart.checks.model import Cluster, Member, Node
from blackstart.checks.probes.context import ProbeContext
from blackstart.checks.probes.metrics import (
    DB_QUOTA_CRITICAL_RATIO,
    DEFAULT_QUOTA,
    WAL_FSYNC_P99_CRITICAL,
    WAL_FSYNC_P99_GOOD,
    probe_metrics,
    quantile,
    summarize_metrics,
)


def histogram(name: str, buckets: list[tuple[str, int]], labels: str = "") -> str:
    lines = [f"# HELP {name} help", f"# TYPE {name} histogram"]
    sep = "," if labels else ""
    lines += [f'{name}_bucket{{{labels}{sep}le="{le}"}} {c}' for le, c in buckets]
    total = buckets[-1][1]
    lines += [f"{name}_sum{{{labels}}} 0.5" if labels else f"{name}_sum 0.5",
              f"{name}_count{{{labels}}} {total}" if labels else f"{name}_count {total}"]
    return "\n".join(lines) + "\n"


PAGE = (
    histogram("etcd_disk_wal_fsync_duration_seconds",
              [("0.001", 10), ("0.002", 50), ("0.004", 90), ("0.008", 100), ("+Inf", 100)])
    + histogram("etcd_disk_backend_commit_duration_seconds",
                [("0.001", 0), ("0.5", 0), ("1", 98), ("2", 100), ("+Inf", 100)])
    + histogram("etcd_network_peer_round_trip_time_seconds",
                [("0.1", 50), ("0.2", 100), ("+Inf", 100)], 'To="a"')
    + histogram("etcd_network_peer_round_trip_time_seconds",
                [("0.1", 50), ("0.2", 100), ("+Inf", 100)], 'To="b"')
    + """\
# HELP etcd_server_has_leader Whether or not a leader exists.
# TYPE etcd_server_has_leader gauge
etcd_server_has_leader 0
# HELP etcd_server_leader_changes_seen_total The number of leader changes seen.
# TYPE etcd_server_leader_changes_seen_total counter
etcd_server_leader_changes_seen_total 7
# HELP etcd_mvcc_db_total_size_in_bytes Total size of the underlying database.
# TYPE etcd_mvcc_db_total_size_in_bytes gauge
etcd_mvcc_db_total_size_in_bytes 2.0905e+09
# TYPE etcd_mvcc_db_total_size_in_use_in_bytes gauge
etcd_mvcc_db_total_size_in_use_in_bytes 1.2e+09
# TYPE etcd_server_quota_backend_bytes gauge
etcd_server_quota_backend_bytes 2.147483648e+09
# TYPE etcd_server_proposals_failed_total counter
etcd_server_proposals_failed_total 12
# TYPE etcd_debugging_mvcc_keys_total gauge
etcd_debugging_mvcc_keys_total{label="with \\"escapes\\" and [brackets]"} 3
"""
)


def test_summary_of_a_page() -> None:
    info = summarize_metrics(PAGE, "m1")
    assert info.error is None
    assert info.wal_fsync_p99 == pytest.approx(0.0076)  # 0.004 + 0.004 * 9/10
    assert info.backend_commit_p99 == pytest.approx(1.5)  # 99th of 100 lands in (1, 2]
    assert info.peer_rtt_p99 == pytest.approx(0.198)  # summed over the two peers
    assert info.has_leader is False
    assert info.leader_changes == 7
    assert info.db_size == 2.0905e9 and info.db_size_in_use == 1.2e9
    assert info.quota == DEFAULT_QUOTA
    assert info.proposals_failed == 12
    assert info.db_size / info.quota > DB_QUOTA_CRITICAL_RATIO
    assert info.backend_commit_p99 > WAL_FSYNC_P99_CRITICAL > WAL_FSYNC_P99_GOOD


def test_empty_page_gives_unknowns() -> None:
    info = summarize_metrics("", "m1")
    assert info.error is None
    assert (info.wal_fsync_p99, info.has_leader, info.db_size) == (None, None, None)


def test_garbage_page_is_an_error_naming_the_member() -> None:
    info = summarize_metrics("<html>502 Bad Gateway</html>\n{{{", "m2")
    assert info.error is not None and info.error.startswith("member m2:")


def test_quantile_edge_cases() -> None:
    assert quantile(0.99, []) is None
    assert quantile(0.99, [(0.1, 0), (math.inf, 0)]) is None
    assert quantile(0.99, [(0.1, 1), (math.inf, 100)]) == 0.1  # only +Inf holds it
    assert quantile(0.5, [(1.0, 10), (2.0, 10), (math.inf, 10)]) == pytest.approx(0.5)


@given(st.lists(st.integers(0, 1000), min_size=1, max_size=12))
def test_quantile_stays_within_bucket_bounds(increments: list[int]) -> None:
    bounds = [0.001 * 2**i for i in range(len(increments))]
    cum, buckets = 0, []
    for b, inc in zip(bounds, increments, strict=True):
        cum += inc
        buckets.append((b, float(cum)))
    buckets.append((math.inf, float(cum)))
    q = quantile(0.99, buckets)
    if cum == 0:
        assert q is None
    else:
        assert q is not None and 0 <= q <= bounds[-1]


async def test_unreachable_metrics_is_an_error_not_an_exception() -> None:
    # 127.0.8.200:9 has nothing listening: refused at once.
    m = Member("m1", "local", "https://127.0.8.200:9", "", "", metrics_url="http://127.0.8.200:9")
    ctx = ProbeContext(Cluster("t", (Node("local"),), (m,)), deadline=2)
    [info] = await probe_metrics(ctx)
    assert info.error is not None
    assert "member m1" in info.error and "127.0.8.200:9/metrics" in info.error


@pytest.mark.lab
async def test_metrics_from_a_real_etcd(healthy_lab) -> None:
    from blackstart.checks.discovery.inventory import load_inventory

    cluster = load_inventory(config=str(healthy_lab.inventory_path))
    infos = await probe_metrics(ProbeContext(cluster, deadline=5))
    assert [i.member for i in infos] == ["etcd1", "etcd2", "etcd3"]
    for info in infos:
        assert info.error is None, info.error
        assert info.has_leader is True
        assert info.quota == DEFAULT_QUOTA
        assert info.db_size and info.db_size > 0
        assert info.leader_changes is not None and info.leader_changes >= 1
        assert info.wal_fsync_p99 is not None and 0 < info.wal_fsync_p99 < 10
        assert info.backend_commit_p99 is not None and info.backend_commit_p99 > 0


@pytest.mark.lab
async def test_metrics_over_the_client_url_with_tls(healthy_lab) -> None:
    """No metrics URL known: etcd also serves /metrics on its client port, behind TLS with
    client-cert auth; our client certificate gets us in."""
    import dataclasses

    from blackstart.checks.discovery.inventory import load_inventory

    cluster = load_inventory(config=str(healthy_lab.inventory_path))
    members = tuple(dataclasses.replace(m, metrics_url=None) for m in cluster.members)
    cluster = dataclasses.replace(cluster, members=members)
    infos = await probe_metrics(ProbeContext(cluster, deadline=5))
    assert all(i.error is None and i.has_leader for i in infos), [i.error for i in infos]
    # and without a client certificate the member says no, and the error names it
    bare = dataclasses.replace(cluster, client=None)
    [first, *_] = await probe_metrics(ProbeContext(bare, deadline=5))
    assert first.error is not None and first.error.startswith("member etcd1: https://")
