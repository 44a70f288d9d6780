"""etcd's /metrics: disk latency, leadership, database size against the quota.

`summarize_metrics(text)` is pure (the Prometheus text format, parsed by
prometheus_client's parser); `probe_metrics(ctx)` fetches each member's page with urllib in
a thread. Thresholds follow ETCD_FACTS §5 (etcd FAQ and the v3.5 alert rules) and are
constants here for the diagnosis to use.
"""

from __future__ import annotations

import asyncio
import math
import ssl
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass

from blackstart.checks.model import Member, TLSFiles
from blackstart.checks.probe_results import MetricsInfo
from blackstart.checks.probes.context import ProbeContext

# ETCD_FACTS §5
WAL_FSYNC_P99_GOOD = 0.010  # s (FAQ)
WAL_FSYNC_P99_WARN = 0.5  # s (alert rules: warning)
WAL_FSYNC_P99_CRITICAL = 1.0  # s (alert rules: critical)
BACKEND_COMMIT_P99_GOOD = 0.025  # s (FAQ)
BACKEND_COMMIT_P99_WARN = 0.25  # s
LEADER_CHANGES_WARN = 4  # increase within 15 min
PROPOSALS_FAILED_RATE_WARN = 5.0  # per 15 min
DB_QUOTA_CRITICAL_RATIO = 0.95
DEFAULT_QUOTA = 2 * 1024**3  # etcd's default --quota-backend-bytes
PEER_RTT_P99_WARN = 0.15  # s
MAX_BYTES = 8 * 1024 * 1024  # a /metrics page is ~100-300 KB; refuse to read a flood

_HISTOGRAMS = {
    "etcd_disk_wal_fsync_duration_seconds": "wal_fsync_p99",
    "etcd_disk_backend_commit_duration_seconds": "backend_commit_p99",
    "etcd_network_peer_round_trip_time_seconds": "peer_rtt_p99",
}
_GAUGES = {
    "etcd_server_has_leader": "has_leader",
    "etcd_server_leader_changes_seen_total": "leader_changes",
    "etcd_mvcc_db_total_size_in_bytes": "db_size",
    "etcd_mvcc_db_total_size_in_use_in_bytes": "db_size_in_use",
    "etcd_server_quota_backend_bytes": "quota",
    "etcd_server_proposals_failed_total": "proposals_failed",
}


def summarize_metrics(text: str, member: str = "") -> MetricsInfo:
    """The numbers blackstart cares about from one /metrics page; pure."""
    from prometheus_client.parser import text_string_to_metric_families

    info = MetricsInfo(member=member)
    buckets: dict[str, dict[float, float]] = {}
    try:
        for family in text_string_to_metric_families(text):
            for s in family.samples:
                _take(info, buckets, s.name, s.labels, s.value)
    except ValueError as exc:
        info.error = f"member {member}: /metrics is not the Prometheus text format ({exc})"
        return info
    for name, field in _HISTOGRAMS.items():
        setattr(info, field, quantile(0.99, buckets.get(name, {}).items()))
    return info


def _take(info: MetricsInfo, buckets: dict[str, dict[float, float]], name: str,
          labels: dict[str, str], value: float) -> None:
    if name.endswith("_bucket") and name[:-7] in _HISTOGRAMS:
        le = float(labels.get("le", "nan"))
        per = buckets.setdefault(name[:-7], {})
        per[le] = per.get(le, 0.0) + value  # summed over peers (the RTT has a To label)
    elif name in _GAUGES:
        field = _GAUGES[name]
        if field == "has_leader":
            info.has_leader = value >= 1
        else:
            setattr(info, field, value)


def quantile(q: float, buckets: Iterable[tuple[float, float]]) -> float | None:
    """Prometheus' histogram_quantile over cumulative (le, count) buckets: linear
    interpolation inside the bucket; None with no observations."""
    ordered = sorted((le, c) for le, c in buckets if not math.isnan(le))
    if not ordered or ordered[-1][1] <= 0:
        return None
    total = ordered[-1][1]
    rank = q * total
    prev_le, prev_c = 0.0, 0.0
    for le, count in ordered:
        if count >= rank:
            if math.isinf(le):
                return prev_le  # beyond the last finite bucket: its bound is all we know
            if count == prev_c:
                return le
            return prev_le + (le - prev_le) * (rank - prev_c) / (count - prev_c)
        prev_le, prev_c = le, count
    return prev_le


# --------------------------------------------------------------------------- the probe


@dataclass(frozen=True)
class _Fetch:
    url: str
    context: ssl.SSLContext | None


async def probe_metrics(ctx: ProbeContext) -> list[MetricsInfo]:
    """One MetricsInfo per member, all at once, each bounded by ctx.deadline."""
    return list(await asyncio.gather(*(_member(ctx, m) for m in ctx.cluster.members)))


async def _member(ctx: ProbeContext, member: Member) -> MetricsInfo:
    try:
        fetch = metrics_target(member, ctx.cluster.client)
        body = await asyncio.wait_for(asyncio.to_thread(_get, fetch, ctx.deadline),
                                      ctx.deadline + 1)
    except TimeoutError:
        return MetricsInfo(member=member.name, error=f"member {member.name}: "
                           f"/metrics: no answer within {ctx.deadline:g}s")
    except (OSError, ValueError, ssl.SSLError) as exc:
        return MetricsInfo(member=member.name,
                           error=f"member {member.name}: {_url_of(member)}: {_reason(exc)}")
    return summarize_metrics(body, member.name)


def metrics_target(member: Member, client: TLSFiles | None) -> _Fetch:
    """kubeadm serves plain-http metrics on 127.0.0.1:2381; without a metrics URL etcd
    also serves /metrics on its client URL, which needs our client certificate."""
    url = _url_of(member)
    if not url.startswith("https://"):
        return _Fetch(url, None)
    sslctx = ssl.create_default_context(cafile=client.ca if client and client.ca else None)
    if client and client.cert:
        sslctx.load_cert_chain(client.cert, client.key or None)
    return _Fetch(url, sslctx)


def _url_of(member: Member) -> str:
    return f"{(member.metrics_url or member.client_url).rstrip('/')}/metrics"


def _get(fetch: _Fetch, timeout: float) -> str:
    # No proxies: the metrics endpoint is a member, never something behind http_proxy.
    handlers: list[urllib.request.BaseHandler] = [urllib.request.ProxyHandler({})]
    if fetch.context is not None:
        handlers.append(urllib.request.HTTPSHandler(context=fetch.context))
    opener = urllib.request.build_opener(*handlers)
    with opener.open(fetch.url, timeout=timeout) as resp:
        data: bytes = resp.read(MAX_BYTES)
    return data.decode("utf-8", "replace")


def _reason(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)
    return str(reason or exc)
