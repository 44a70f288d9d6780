"""Past-tense messages: what happened, posted to the app, handled on the main thread."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.message import Message

from blackstart.checks.conclusions import Report


@dataclass
class ProbeFinished(Message):
    name: str
    results: list[Any]
    elapsed: float


@dataclass
class ProbeFailed(Message):
    name: str
    error: str


@dataclass
class ReportUpdated(Message):
    """The panels were re-rendered from this report (tests wait on it)."""

    report: Report
    pending: int


@dataclass
class StepEventReceived(Message):
    """A runbook executor event (runbook.executor.StepEvent), posted from its worker thread."""

    event: Any


@dataclass
class PlanFinished(Message):
    result: Any
    error: str | None = None
