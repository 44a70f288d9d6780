"""The one action registry: every key the cockpit answers to is declared here once.

BINDINGS, the footer, the help screen and the command palette are all generated from
`ACTIONS`, so they cannot drift apart. `dangerous` actions change the cluster: read-only
mode hides and blocks exactly these (see `BlackstartApp.check_action`).
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding


@dataclass(frozen=True)
class ActionSpec:
    name: str  # the App's action_<name> method
    key: str
    description: str  # short: shown in the footer
    help: str  # one sentence: shown in the help screen and the command palette
    dangerous: bool = False
    runbook: str | None = None  # the runbook action it plans, if any


ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("refresh", "r", "Refresh", "Run every probe again now."),
    ActionSpec(
        "snapshot", "s", "Snapshot", "Save a snapshot from a healthy member now.",
        dangerous=True, runbook="snapshot-save",
    ),
    ActionSpec(
        "restore", "R", "Restore",
        "Restore the whole cluster from the selected snapshot (or the recommended one).",
        dangerous=True, runbook="restore",
    ),
    ActionSpec(
        "restart", "x", "Restart",
        "Start or restart exactly what is selected: a member row's etcd, or the members a "
        "finding names.",
        dangerous=True, runbook="restart",
    ),
    ActionSpec(
        "recover", "a", "Recover",
        "Run the recommended recovery strategy (the one that loses least), end to end.",
        dangerous=True, runbook="recover",
    ),
    ActionSpec(
        "renew", "c", "Renew cert",
        "Renew the selected certificate (or the expired one) from the CA key.",
        dangerous=True, runbook="renew-cert",
    ),
    ActionSpec("filter_logs", "slash", "Filter logs", "Filter API server logs by class or text."),
    ActionSpec("export", "e", "Export", "Write the incident report (Markdown) to the state dir."),
    ActionSpec("help", "question_mark", "Help", "Show every key and what it does."),
    ActionSpec("quit", "q", "Quit", "Leave blackstart (nothing running is interrupted)."),
)

KEY_LABELS = {"slash": "/", "question_mark": "?"}


def by_name(name: str) -> ActionSpec:
    for spec in ACTIONS:
        if spec.name == name:
            return spec
    raise KeyError(name)


def key_label(spec: ActionSpec) -> str:
    return KEY_LABELS.get(spec.key, spec.key)


def dangerous_names() -> frozenset[str]:
    return frozenset(s.name for s in ACTIONS if s.dangerous)


def bindings() -> list[Binding]:
    """The App's BINDINGS, one per registered action, each with an id so keys can be remapped."""
    return [
        Binding(s.key, s.name, s.description, id=f"blackstart.{s.name}", key_display=key_label(s))
        for s in ACTIONS
    ]
