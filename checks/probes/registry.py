"""Every probe, once: its name, its function, the Report field it fills, how often it is
polled and which panel shows it. The engine, the report assembly and the TUI all read this
table; nothing else names probes.

A probe's module is imported when the probe first runs, not when this table loads: the
cockpit paints before grpc and cryptography are imported, and a probe whose module is
broken becomes a "probe unavailable" error of that probe instead of taking blackstart down.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from blackstart.checks.errors import BlackstartError
from blackstart.checks.probes.context import ProbeContext
from blackstart.checks.probes.workers import BACKUPS, MEMBERS

ProbeFn = Callable[[ProbeContext], Awaitable[list[Any]]]

# The panels a probe can feed (the TUI's panel ids); "findings" for the ones without a
# panel of their own, whose results only reach the operator through diagnosis.
PANELS = ("members", "certificates", "snapshots", "logs", "findings")


class ProbeUnavailable(BlackstartError):
    """The probe's module is not installed (yet) or does not define the function."""


def lazy(module: str, func: str) -> ProbeFn:
    """`module.func`, imported on its first call."""

    async def probe(ctx: ProbeContext) -> list[Any]:
        try:
            fn = getattr(importlib.import_module(module), func)
        except (ImportError, AttributeError) as exc:
            raise ProbeUnavailable(f"{module}.{func} is unavailable ({exc})") from exc
        return list(await fn(ctx))

    probe.__name__ = func
    probe.__qualname__ = func
    return probe


@dataclass(frozen=True)
class ProbeSpec:
    name: str
    run: ProbeFn
    field: str  # the Report field its results fill
    panel: str = "findings"  # one of PANELS: where its results and its errors show
    # Polled every `cadence` refresh intervals. Probes that read whole files (WAL
    # segments, member databases, backups) run less often: on a master node already in
    # trouble blackstart must not be the thing burning a core. `r` still runs them all.
    cadence: float = 1.0
    # The parser-worker lanes (checks.probes.workers) it submits to: a process that runs
    # only this probe (the cockpit's probe children) forks those workers first.
    lanes: tuple[str, ...] = ()


def _spec(name: str, module: str, func: str, field: str, **kw: Any) -> ProbeSpec:
    return ProbeSpec(name, lazy(f"blackstart.checks.probes.{module}", func), field, **kw)


SLOW = 6.0

# Order is the order results are shown.
SPECS: tuple[ProbeSpec, ...] = (
    _spec("members", "members", "probe_members", "members", panel="members"),
    _spec("access", "access", "probe_access", "access"),
    _spec("certificates", "certificates", "probe_certs", "certificates",
          panel="certificates"),
    _spec("snapshots", "snapshots", "probe_snapshots", "snapshots", panel="snapshots",
          cadence=SLOW, lanes=(BACKUPS,)),
    _spec("datadirs", "datadirs", "probe_datadirs", "wal", cadence=SLOW, lanes=(MEMBERS,)),
    _spec("member_dbs", "datadirs", "probe_member_dbs", "member_dbs", panel="snapshots",
          cadence=SLOW, lanes=(MEMBERS,)),
    _spec("logs", "logs", "probe_logs", "logs", panel="logs"),
    _spec("processes", "processes", "probe_processes", "processes"),
    _spec("clocks", "clocks", "probe_clocks", "clocks"),
    _spec("metrics", "metrics", "probe_metrics", "metrics"),
    _spec("backups", "backups", "probe_backups", "backups", lanes=(BACKUPS,)),
    _spec("drills", "backups", "probe_drills", "drills"),
    _spec("recoveries", "recoveries", "probe_recoveries", "recoveries"),
)

BY_NAME: dict[str, ProbeSpec] = {s.name: s for s in SPECS}


def spec_named(name: str) -> ProbeSpec:
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"no probe named {name!r} (probes: {', '.join(BY_NAME)})") from None


def panel_of(name: str) -> str:
    """The panel a probe feeds; "findings" for a name the table does not know."""
    spec = BY_NAME.get(name)
    return spec.panel if spec is not None else "findings"


def cadence_of(name: str) -> float:
    spec = BY_NAME.get(name)
    return spec.cadence if spec is not None else 1.0
