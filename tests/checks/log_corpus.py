"""The real-line corpus (tests/data/logs/corpus.toml) and how the classifier scores on it.

Shared by tests/checks/test_log_corpus.py (the bar: accuracy >= 95 %, no benign line
flagged above INFO) and bench/log_classes.py (the full report and the speed).
"""

from __future__ import annotations

import tomllib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from blackstart.checks.formats.loglines import classify
from blackstart.checks.severity import Severity

CORPUS = Path(__file__).resolve().parents[1] / "data" / "logs" / "corpus.toml"
HELDOUT = CORPUS.with_name("heldout.toml")  # gathered after the table: scored, never tuned
NONE = "none"


@dataclass(frozen=True)
class Row:
    text: str
    source: str
    url: str
    component: str
    version: str
    fmt: str
    cls: str
    severity: str
    benign: bool


def load(path: Path = CORPUS) -> list[Row]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return [Row(ln["text"], src["ref"], src["url"], src["component"], src["version"],
                ln["format"], ln["class"], ln["severity"], bool(ln.get("benign", False)))
            for src in data["source"] for ln in src["lines"]]


def predict(text: str) -> tuple[str, Severity]:
    """(class id or "none", severity) the classifier gives a line."""
    sig = classify(text)
    return (NONE, Severity.OK) if sig is None else (sig.id, sig.severity)


@dataclass(frozen=True)
class Score:
    total: int
    correct: int
    pairs: Counter[tuple[str, str]]  # (expected, predicted) -> count
    benign_flagged: list[tuple[Row, str]]  # benign lines predicted above INFO

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0

    def precision_recall(self, cls: str) -> tuple[float, float, int]:
        tp = self.pairs[(cls, cls)]
        predicted = sum(n for (_, p), n in self.pairs.items() if p == cls)
        support = sum(n for (e, _), n in self.pairs.items() if e == cls)
        return (tp / predicted if predicted else 0.0, tp / support if support else 0.0,
                support)

    def mistakes(self) -> list[tuple[str, str, int]]:
        return sorted(((e, p, n) for (e, p), n in self.pairs.items() if e != p),
                      key=lambda t: -t[2])


def score(rows: list[Row]) -> Score:
    pairs: Counter[tuple[str, str]] = Counter()
    flagged: list[tuple[Row, str]] = []
    for row in rows:
        cls, sev = predict(row.text)
        pairs[(row.cls, cls)] += 1
        if row.benign and sev > Severity.INFO:
            flagged.append((row, cls))
    correct = sum(n for (e, p), n in pairs.items() if e == p)
    return Score(len(rows), correct, pairs, flagged)
