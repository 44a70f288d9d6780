"""A high-contrast theme for screen-sharing on an incident call (pure black, bright colours)."""

from __future__ import annotations

from textual.theme import Theme

HIGH_CONTRAST = Theme(
    name="blackstart-high-contrast",
    primary="#FFFF00",
    secondary="#00FFFF",
    accent="#FF00FF",
    foreground="#FFFFFF",
    background="#000000",
    surface="#000000",
    panel="#1A1A1A",
    success="#00FF00",
    warning="#FFD700",
    error="#FF4040",
    dark=True,
)

THEMES = (HIGH_CONTRAST,)
DEFAULT_THEME = "textual-dark"
