"""How bad a thing is: the one ordered scale that log signatures, findings and the
verdict share, kept apart so that results and conclusions can both name it."""

from __future__ import annotations

import enum


class Severity(enum.IntEnum):
    """Ordered so that max() over findings gives the verdict level."""

    OK = 0
    INFO = 1
    WARNING = 2
    CRITICAL = 3

    @property
    def label(self) -> str:
        return self.name.lower()
