"""The incident report as Markdown (pure), written by the app from a worker thread."""

from __future__ import annotations

import time
from dataclasses import dataclass

from blackstart.checks.model import Report


@dataclass(frozen=True)
class TakenAction:
    at: float
    action: str
    target: str
    outcome: str


def _when(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(t))


def render_markdown(report: Report, actions: list[TakenAction], now: float) -> str:
    v = report.verdict
    out = [f"# Incident report: cluster {report.cluster}", "",
           f"Written {_when(now)}; last probe results {_when(report.taken_at)}.", "",
           "## Verdict", "", f"**{v.level.label.upper()}**: {v.summary}", ""]
    out += [f"{i}. {s}" for i, s in enumerate(v.next_steps, 1)] + ["", "## Findings", ""]
    for f in sorted(report.findings, key=lambda f: -int(f.severity)):
        out.append(f"- **{f.severity.label}** `{f.code}` {f.subject}: {f.seen}")
        out += [f"  - evidence: {e}" for e in f.evidence]
        if f.remedy:
            out.append(f"  - next: {f.remedy}")
    if not report.findings:
        out.append("None.")
    out += ["", "## Members", ""]
    out += [f"- {m.name} {m.endpoint}: " + ("healthy" if m.healthy else
            f"{m.error_class or 'unhealthy'} {m.error or ''}".strip()) for m in report.members]
    out += ["", "## Actions taken", ""]
    out += [f"- {_when(a.at)} {a.action} ({a.target}): {a.outcome}" for a in actions] or ["None."]
    return "\n".join(out) + "\n"
