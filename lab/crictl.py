"""`lab crictl NODE ps -a`: the table `crictl ps -a` prints, rendered from the lab kubelet's
state file (pure), with each container's exit code. Read host side, by lab.kubeadm.
"""

from __future__ import annotations

from typing import Any


def _ago(seconds: float) -> str:
    s = max(0, int(seconds))
    for unit, size in (("hours", 3600), ("minutes", 60)):
        if s >= size:
            return f"{s // size} {unit} ago"
    return f"{s} seconds ago"


def render_ps(state: dict[str, Any], now: float) -> str:
    """`crictl ps -a` of a node from the kubelet's state, plus each container's exit code."""
    head = ("CONTAINER", "IMAGE", "CREATED", "STATE", "NAME", "ATTEMPT", "POD ID", "POD",
            "EXIT CODE")
    rows = [head]
    for pod in state.get("pods", []):
        for c in reversed(pod.get("containers", [])):
            code = "" if c.get("exit_code") is None else str(c["exit_code"])
            rows.append((c["id"][:13], pod.get("image", "") or "-", _ago(now - c["created"]),
                         c["state"], pod["container"], str(c["attempt"]), pod["uid"][:13],
                         pod["name"], code))
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    return "\n".join("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip()
                     for r in rows) + "\n"
