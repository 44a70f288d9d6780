"""Findings: what diagnosis concluded, worst first, each with its next step and key."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from blackstart.checks.conclusions import Finding
from blackstart.tui.panels.base import Panel, same_text

# the key that runs a finding's request, by request name
ACTION_KEYS = {"restore": "R", "start": "x", "restart": "x", "replace-member": "x",
               "renew-cert": "c", "snapshot-save": "s", "recover": "a"}


class FindingsPanel(Panel):
    """An option list rather than a table: findings are sentences and need to wrap."""

    def __init__(self, read_only: bool = False) -> None:
        super().__init__("Findings", "Waiting for the first probe results…", id="findings")
        self._read_only = read_only  # observers get no key hints: those keys do nothing
        self._by_key: dict[str, Finding] = {}
        self._shown: list[tuple[str, Text]] = []

    def compose(self) -> ComposeResult:
        yield self.status_widget()
        yield OptionList(id="findings-list")

    def show(self, findings: list[Finding]) -> None:
        ordered = sorted(findings, key=lambda f: -int(f.severity))
        self._by_key = {f"{f.code}:{f.subject}": f for f in ordered}
        shown = [(k, self._prompt(f)) for k, f in self._by_key.items()]
        self.set_status("" if findings else "No findings.")
        if _same(shown, self._shown):
            return  # unchanged: keep the list (and its highlight) as it is
        self._shown = shown
        self._replace(shown)

    def _replace(self, shown: list[tuple[str, Text]]) -> None:
        box = self.query_one(OptionList)
        keep = self._highlighted_key()
        box.clear_options()
        box.add_options([Option(prompt, id=key) for key, prompt in shown])
        if keep in self._by_key:
            box.highlighted = box.get_option_index(keep)
        else:
            box.scroll_home(animate=False)

    def on_descendant_focus(self) -> None:
        """Focused with nothing highlighted: the first finding, so Enter and `y` act."""
        box = self.query_one(OptionList)
        if box.highlighted is None and box.option_count:
            box.highlighted = 0

    def _prompt(self, f: Finding) -> Text:
        text = Text()
        text.append(f"{f.severity.label.upper():8} ", style=self.sev_style(f.severity))
        text.append(f.subject, style="bold")
        text.append(f": {f.seen}")
        if f.remedy or f.action:
            key = ACTION_KEYS.get(f.action.name, "") if f.action and not self._read_only else ""
            text.append("\n\u00a0\u00a0→ ", style=self.dim_style())
            text.append(f"[{key}] " if key else "", style="bold")
            text.append(f.remedy)
        return text

    def _highlighted_key(self) -> str | None:
        box = self.query_one(OptionList)
        if box.highlighted is None or box.option_count == 0:
            return None
        return box.get_option_at_index(box.highlighted).id

    def selected_finding(self) -> Finding | None:
        key = self._highlighted_key()
        return self._by_key.get(key) if key else None


def _same(a: list[tuple[str, Text]], b: list[tuple[str, Text]]) -> bool:
    return len(a) == len(b) and all(
        ka == kb and same_text(ta, tb) for (ka, ta), (kb, tb) in zip(a, b, strict=True))
