"""The lab's one error: something the operator can act on; the message names the node or
file. Its own module so cluster, faults and sshd all raise it without importing each other."""

from __future__ import annotations

from blackstart.checks.errors import BlackstartError


class LabError(BlackstartError):
    """Something the operator can act on; the message names the node or file."""
