"""What a static pod is to the lab's kubelet (lab.kubelet), pure: its spec read from a
manifest (the mirror pod's name, a UID that hashes the manifest, the command), one row of
`crictl ps -a` per container run, the CrashLoopBackOff schedule, and where its CRI logs go.
Apart from the kubelet's loop so these are tested without starting a process.
"""

from __future__ import annotations

import hashlib
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path

import yaml

BACKOFF_START = 10.0
BACKOFF_MAX = 300.0
BACKOFF_RESET = 600.0  # a container up this long starts over without back-off
GRACE = 10.0


@dataclass(frozen=True)
class PodSpec:
    namespace: str
    name: str  # metadata.name + "-" + node, as the kubelet names mirror pods
    uid: str
    container: str
    command: list[str]
    image: str
    manifest: str
    grace: float = GRACE


class ManifestProblem(Exception):
    pass


def static_uid(node: str, text: str) -> str:
    """The pod UID: a hash of the manifest and the node (changes when the manifest does)."""
    return hashlib.md5(f"{node}\n{text}".encode(), usedforsecurity=False).hexdigest()


def pod_from_manifest(text: str, path: str, node: str) -> PodSpec:
    """The static pod a manifest describes (pure)."""
    try:
        doc = yaml.safe_load(text)
        meta, spec = doc["metadata"], doc["spec"]
        c = spec["containers"][0]
        cmd = list(c.get("command") or []) + list(c.get("args") or [])
    except (yaml.YAMLError, KeyError, IndexError, TypeError) as exc:
        raise ManifestProblem(f"{path}: not a pod manifest ({exc})") from exc
    if not cmd or not all(isinstance(a, str) for a in cmd):
        raise ManifestProblem(f"{path}: spec.containers[0].command is empty or not strings")
    grace = spec.get("terminationGracePeriodSeconds", GRACE)
    return PodSpec(namespace=str(meta.get("namespace", "default")),
                   name=f"{meta['name']}-{node}", uid=static_uid(node, text),
                   container=str(c["name"]), command=[str(a) for a in cmd],
                   image=str(c.get("image", "")), manifest=path,
                   grace=float(grace) if isinstance(grace, int | float) else GRACE)


def backoff_delay(exits_since_reset: int) -> float:
    """Seconds to wait before restarting after the k-th exit (k from 1) since a reset."""
    if exits_since_reset <= 1:
        return 0.0
    return float(min(BACKOFF_START * 2.0 ** (exits_since_reset - 2), BACKOFF_MAX))


def pod_dir(logs: Path, pod: PodSpec) -> Path:
    return logs / f"{pod.namespace}_{pod.name}_{pod.uid}"


def next_attempt(container_dir: Path) -> int:
    """The restart count to use: one past the highest N.log already there."""
    ns = [int(p.stem) for p in container_dir.glob("*.log") if p.stem.isdigit()]
    return max(ns) + 1 if ns else 0


@dataclass
class Attempt:
    """One container run (a row of `crictl ps -a`)."""

    id: str
    attempt: int
    created: float
    state: str = "Running"  # Running | Exited
    pid: int | None = None  # pid inside the node
    exit_code: int | None = None
    finished: float | None = None
    log: str = ""


@dataclass
class Pod:
    spec: PodSpec
    history: list[Attempt] = field(default_factory=list)
    proc: subprocess.Popen[bytes] | None = None
    exits: int = 0  # since the last back-off reset
    next_start: float = 0.0  # monotonic
    stopping_since: float | None = None
    pumps: list[threading.Thread] = field(default_factory=list)

    @property
    def current(self) -> Attempt | None:
        return self.history[-1] if self.history else None
