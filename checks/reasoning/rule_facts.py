"""What several diagnosis rules need, computed once per diagnosis (`DiagnosisFacts`:
the report, the clock, quorum, lost members, restore sources, member facts and the ranked
strategies with the recommended one), the severity shorthands the rules write, and the
recommended strategy's restore request (`top_restore`), which quorum, data, source and
verdict all name.
"""

from __future__ import annotations

from dataclasses import dataclass

from blackstart.checks.conclusions import Quorum, Report, Strategy
from blackstart.checks.probe_results import RestoreSource
from blackstart.checks.reasoning.facts import MemberFact
from blackstart.checks.requests import Restore
from blackstart.checks.severity import Severity

C, W, INFO, OK = Severity.CRITICAL, Severity.WARNING, Severity.INFO, Severity.OK


@dataclass(frozen=True)
class DiagnosisFacts:
    """What several rules need: computed once per diagnosis."""

    report: Report
    now: float
    quorum: Quorum
    lost: dict[str, str]  # member -> why it is lost (its data cannot come back by restart)
    sources: list[RestoreSource]
    members: dict[str, MemberFact]
    strategies: list[Strategy]
    top: Strategy | None  # the recommended strategy, if any


def top_restore(f: DiagnosisFacts) -> Restore | None:
    """The restore request of the recommended strategy, when a restore is recommended."""
    for r in f.top.requests if f.top else ():
        if isinstance(r, Restore):
            return r
    return None
