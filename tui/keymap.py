"""The one action registry: every key the cockpit answers to is declared here once.

BINDINGS, the footer, the help screen and the command palette are all generated from
`ACTIONS` (the app's keys) and `SCREEN_ACTIONS` (each dialog's own keys), so they cannot
drift apart. `dangerous` actions change the cluster: read-only mode hides and blocks
exactly these (see `BlackstartApp.check_action`) and answers their key with a toast.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding


@dataclass(frozen=True)
class ActionSpec:
    name: str  # the action_<name> method of the App (or of the screen, for screen actions)
    key: str  # Textual key names; several comma-separated keys for one action
    description: str  # short: shown in the footer
    help: str  # one sentence: shown in the help screen and the command palette
    dangerous: bool = False
    runbook: str | None = None  # the runbook action it plans, if any
    show: bool = True  # in the footer (every action is in the help screen)


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
    ActionSpec("details", "enter", "Details",
               "Open everything known about the focused row (member, certificate, "
               "snapshot, finding), uncut.", show=False),
    ActionSpec("copy", "y", "Copy",
               "Copy the focused row's command, path or finding (OSC 52, and "
               "<state dir>/copied.txt)."),
    ActionSpec("logs", "l", "Logs",
               "Open the Logs view: one tab per component and node, follow, search, level."),
    ActionSpec("filter_logs", "slash", "Filter logs", "Filter API server logs by class or text."),
    ActionSpec("export", "e", "Export",
               "Write the post-mortem (Markdown) to the state dir; read-only: show it."),
    ActionSpec("help", "question_mark", "Help", "Show every key of this screen and what it does."),
    ActionSpec("quit", "q", "Quit", "Leave blackstart (nothing running is interrupted)."),
)

# Dialogs see only their own bindings (Textual stops a modal's binding chain at the
# screen), so each lists help itself; it runs the app's action.
HELP = ActionSpec("help", "question_mark", "Help", "Show every key of this screen.")

# Each dialog's own keys, by screen id; the help screen lists these for that screen.
SCREEN_ACTIONS: dict[str, tuple[ActionSpec, ...]] = {
    "confirm": (
        HELP,
        ActionSpec("cancel", "escape", "Cancel", "Close the dialog; nothing runs."),
    ),
    "progress": (
        HELP,
        ActionSpec("close", "escape", "Close",
                   "Close once the plan finished (a running plan cannot be closed)."),
    ),
    "detail": (
        HELP,
        ActionSpec("close", "escape,q", "Close", "Back to the main screen."),
        ActionSpec("copy", "y", "Copy", "Copy what this detail names (shown at the bottom)."),
    ),
    "help": (
        ActionSpec("close", "escape,q,question_mark", "Close", "Back to where you were."),
    ),
    "logs-view": (
        HELP,
        ActionSpec("close", "escape", "Close", "Back to the main screen."),
        ActionSpec("search", "slash", "Search", "Search the lines of this tab (Esc clears)."),
        ActionSpec("level", "v", "Level",
                   "Cycle the lowest level shown: all, info, warning, error."),
        ActionSpec("follow", "f", "Follow", "Follow the end of the log on/off."),
        ActionSpec("wrap", "w", "Wrap", "Wrap long lines on/off (off: cut at the edge)."),
        ActionSpec("timestamps", "t", "Times", "Show each line's time on/off."),
        ActionSpec("new_since", "n", "New since",
                   "Message templates first seen since the outage began, with counts."),
    ),
}

KEY_LABELS = {"slash": "/", "question_mark": "?", "escape": "esc"}


def by_name(name: str) -> ActionSpec:
    for spec in ACTIONS:
        if spec.name == name:
            return spec
    raise KeyError(name)


def key_label(spec: ActionSpec) -> str:
    return ",".join(KEY_LABELS.get(k, k) for k in spec.key.split(","))


def dangerous_names() -> frozenset[str]:
    return frozenset(s.name for s in ACTIONS if s.dangerous)


def bindings() -> list[Binding]:
    """The App's BINDINGS, one per registered action, each with an id so keys can be
    remapped; plus, for every dangerous key, a hidden `refuse` binding that answers the key
    when read-only mode blocks the action (so a key never goes nowhere)."""
    out = [Binding(s.key, s.name, s.description, show=s.show, id=f"blackstart.{s.name}",
                   key_display=key_label(s)) for s in ACTIONS]
    out += [Binding(s.key, f"refuse('{s.name}')", s.description, show=False,
                    id=f"blackstart.refuse.{s.name}") for s in ACTIONS if s.dangerous]
    return out


def screen_bindings(screen: str) -> list[Binding]:
    return [Binding(s.key, "app.help" if s is HELP else s.name, s.description, show=s.show,
                    id=f"{screen}.{s.name}", key_display=key_label(s))
            for s in SCREEN_ACTIONS[screen]]


def help_rows(screen: str | None, read_only: bool) -> list[tuple[str, str, str]]:
    """(key, what it does, mark) for the help screen: the screen's own keys, then the
    app's (only on the main screen: dialogs block them). mark: "dangerous", "read-only:
    disabled" or ""."""
    specs = list(SCREEN_ACTIONS.get(screen or "", ()))
    if screen in (None, "main"):
        specs += list(ACTIONS)
    return [(key_label(s), s.help, _mark(s, read_only)) for s in specs]


def _mark(spec: ActionSpec, read_only: bool) -> str:
    if not spec.dangerous:
        return ""
    return "read-only: disabled" if read_only else "dangerous: changes the cluster"
