"""The seed's outage, as `blackstart demo`, the recorder and the end-to-end tests break a
lab: a power cut, the first member's server cert expired, the second's WAL corrupt."""

from __future__ import annotations

import contextlib
from typing import Any

from blackstart.lab.errors import LabError

# Members by position: etcd1/etcd2 on the flat lab, master01/master02 on kubeadm's.
SEED_OUTAGE: tuple[tuple[str, int | None], ...] = (
    ("power-cut", None), ("expire-cert", 0), ("corrupt-wal", 1))


def break_seed_outage(lab: Any) -> list[str]:
    """Inject the seed outage into `lab`; what each fault said."""
    names = [n.name for n in lab.nodes]
    return [lab.break_fault(fault, None if i is None else names[i], "server")
            for fault, i in SEED_OUTAGE]


def power_back(lab: Any, timeout: float = 20.0) -> None:
    """The power comes back (kubelets start their pods); quorum does not."""
    with contextlib.suppress(LabError):
        lab.up(timeout=timeout)
