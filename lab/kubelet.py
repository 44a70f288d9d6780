"""A kubelet for static pods, as much of one as a lab master needs.

Runs inside a node (`python -m blackstart.lab.kubelet --node master01`). Every POLL seconds it reads
/etc/kubernetes/manifests/*.yaml and makes the running pods match:

- a new manifest starts a pod from `spec.containers[0].command` (+ `args`);
- a removed manifest stops its pod (SIGTERM, SIGKILL after the grace period);
- a changed manifest is a new pod (the static pod UID hashes the manifest, as the
  kubelet's does): the old one is stopped first, then the new one starts;
- a container that exits is restarted with CrashLoopBackOff: the first exit is not in
  back-off (the kubelet has no back-off entry yet), later ones wait 10 s doubling to
  5 min; a container that ran 10 min before exiting starts over without back-off.

Output goes to /var/log/pods/<ns>_<pod>_<uid>/<container>/<restartCount>.log in the CRI
format, a new N per restart, with the /var/log/containers symlink. After a reboot (power
back) restart counts continue from the log files, like a runtime that kept its dead
containers. State for `lab crictl NODE ps -a` (lab.crictl) is written to STATE (JSON) on
each change. What a static pod is, and the back-off schedule, are lab.static_pods'.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import signal
import subprocess
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import IO, Any

from blackstart.lab.crilog import CriWriter
from blackstart.lab.klog import klog_line
from blackstart.lab.static_pods import (
    BACKOFF_RESET,
    Attempt,
    ManifestProblem,
    Pod,
    PodSpec,
    backoff_delay,
    next_attempt,
    pod_dir,
    pod_from_manifest,
)

POLL = 0.5
MAX_HISTORY = 5  # exited containers kept per pod, like the runtime's garbage collector


def _pump(src: IO[bytes], writer: CriWriter, stream: str, lock: threading.Lock) -> None:
    for raw in iter(src.readline, b""):
        with lock:
            writer.write(raw.decode("utf-8", "replace"), stream)
    src.close()


class Kubelet:
    def __init__(self, node: str, manifests: Path, logs: Path, state: Path,
                 log: CriWriter | None = None) -> None:
        self.node, self.manifests, self.logs, self.state = node, manifests, logs, state
        self.pods: dict[str, Pod] = {}  # by manifest path
        self.stopping: list[Pod] = []
        self.log = log
        self._dirty = True

    def say(self, level: str, msg: str) -> None:
        if self.log is not None:
            self.log.write(klog_line(level, msg, "kubelet.go:2400"))

    # ---------------------------------------------------------------- desired state

    def desired(self) -> dict[str, PodSpec]:
        out: dict[str, PodSpec] = {}
        for path in sorted(self.manifests.glob("*.yaml")) + sorted(self.manifests.glob("*.yml")):
            try:
                out[str(path)] = pod_from_manifest(path.read_text(), str(path), self.node)
            except (OSError, ManifestProblem) as exc:
                self.say("E", f'"Could not process manifest file" err="{exc}" path="{path}"')
        return out

    def sync(self) -> None:
        want = self.desired()
        for path, pod in list(self.pods.items()):
            if path not in want or want[path].uid != pod.spec.uid:
                why = "removed" if path not in want else "changed"
                self.say("I", f'"Static pod manifest {why}, killing pod" pod="{pod.spec.namespace}'
                              f'/{pod.spec.name}"')
                self._begin_stop(pod)
                del self.pods[path]
        busy = {(p.spec.namespace, p.spec.name) for p in self.stopping}
        for path, spec in want.items():
            if path not in self.pods and (spec.namespace, spec.name) not in busy:
                self.pods[path] = Pod(spec)
                self._dirty = True
        now = time.monotonic()
        for pod in self.pods.values():
            self._tend(pod, now)
        self._reap_stopping(now)
        if self._dirty:
            self.write_state()

    # ---------------------------------------------------------------- containers

    def _tend(self, pod: Pod, now: float) -> None:
        if pod.proc is not None:
            code = pod.proc.poll()
            if code is None:
                return
            self._exited(pod, code)
        if now >= pod.next_start:
            self._start(pod)

    def _exited(self, pod: Pod, code: int) -> None:
        cur = pod.current
        assert cur is not None and pod.proc is not None
        for t in pod.pumps:
            t.join(2.0)  # its last words reach the log before the next attempt's file
        cur.state, cur.exit_code, cur.finished = "Exited", _exit_code(code), time.time()
        ran = cur.finished - cur.created
        pod.exits = 1 if ran >= BACKOFF_RESET else pod.exits + 1
        delay = backoff_delay(pod.exits)
        pod.next_start = time.monotonic() + delay
        pod.proc = None
        self._dirty = True
        self.say("I", f'"Container exited" pod="{pod.spec.namespace}/{pod.spec.name}" '
                      f'container="{pod.spec.container}" exitCode={cur.exit_code}'
                      + (f' "back-off {delay:g}s restarting failed container"' if delay else ""))

    def _start(self, pod: Pod) -> None:
        spec = pod.spec
        cdir = pod_dir(self.logs, spec) / spec.container
        cdir.mkdir(parents=True, exist_ok=True)
        n = next_attempt(cdir)
        log = cdir / f"{n}.log"
        cid = secrets.token_hex(32)
        writer = CriWriter(log)
        att = Attempt(id=cid, attempt=n, created=time.time(), log=str(log))
        try:
            proc = subprocess.Popen(spec.command, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    close_fds=True, start_new_session=True)
        except OSError as exc:
            writer.write(f"failed to start container: {exc}")
            writer.close()
            att.state, att.exit_code, att.finished = "Exited", 128, time.time()
            pod.history.append(att)
            pod.exits += 1
            pod.next_start = time.monotonic() + max(backoff_delay(pod.exits), 1.0)
            self._dirty = True
            return
        att.pid = proc.pid
        lock = threading.Lock()
        assert proc.stdout is not None and proc.stderr is not None
        pod.pumps = [threading.Thread(target=_pump, args=(s, writer, name, lock), daemon=True)
                     for s, name in ((proc.stdout, "stdout"), (proc.stderr, "stderr"))]
        for t in pod.pumps:
            t.start()
        pod.proc = proc
        pod.history = (pod.history + [att])[-MAX_HISTORY:]
        self._link(spec, cid, log)
        self._dirty = True
        self.say("I", f'"Started container" pod="{spec.namespace}/{spec.name}" '
                      f'container="{spec.container}" attempt={n} pid={proc.pid}')

    def _link(self, spec: PodSpec, cid: str, log: Path) -> None:
        links = self.logs.parent / "containers"
        links.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(OSError):
            (links / f"{spec.name}_{spec.namespace}_{spec.container}-{cid}.log").symlink_to(log)

    def _begin_stop(self, pod: Pod) -> None:
        if pod.proc is not None and pod.proc.poll() is None:
            with contextlib.suppress(OSError):
                pod.proc.send_signal(signal.SIGTERM)
        pod.stopping_since = time.monotonic()
        self.stopping.append(pod)
        self._dirty = True

    def _reap_stopping(self, now: float) -> None:
        for pod in list(self.stopping):
            proc = pod.proc
            if proc is not None and proc.poll() is None:
                if now - (pod.stopping_since or now) > pod.spec.grace:
                    with contextlib.suppress(OSError):
                        proc.kill()
                continue
            if proc is not None:
                self._exited(pod, proc.returncode)
            self.stopping.remove(pod)
            self._dirty = True

    def stop_all(self, timeout: float = 20.0) -> None:
        for pod in list(self.pods.values()):
            self._begin_stop(pod)
        self.pods.clear()
        end = time.monotonic() + timeout
        while self.stopping and time.monotonic() < end:
            self._reap_stopping(time.monotonic())
            time.sleep(0.1)
        for pod in self.stopping:
            if pod.proc is not None:
                with contextlib.suppress(OSError):
                    pod.proc.kill()
        self.write_state()

    # ---------------------------------------------------------------- state

    def snapshot(self) -> dict[str, Any]:
        pods = []
        for pod in [*self.pods.values(), *self.stopping]:
            pods.append({
                "namespace": pod.spec.namespace, "name": pod.spec.name, "uid": pod.spec.uid,
                "container": pod.spec.container, "image": pod.spec.image,
                "manifest": pod.spec.manifest, "stopping": pod.stopping_since is not None,
                "exits_since_reset": pod.exits,
                "backoff_remaining": max(0.0, pod.next_start - time.monotonic())
                if pod.proc is None else 0.0,
                "containers": [asdict(a) for a in pod.history],
            })
        return {"node": self.node, "kubelet_pid": os.getpid(), "boot": boot_id(),
                "updated": time.time(), "pods": pods}

    def write_state(self) -> None:
        self.state.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.state.with_name(self.state.name + ".tmp")
        tmp.write_text(json.dumps(self.snapshot(), indent=1) + "\n")
        os.replace(tmp, self.state)
        self._dirty = False


def orphans(state: dict[str, Any]) -> list[int]:
    """Pids of containers a previous kubelet of this node left running (pure on the state).

    A real kubelet finds them again through the runtime; this one cannot adopt a process it
    did not start, so it ends them and starts the pods afresh (the restart count goes on)."""
    return [int(c["pid"]) for pod in state.get("pods", []) for c in pod.get("containers", [])
            if c.get("state") == "Running" and c.get("pid")]


def _end_orphans(state_path: Path) -> None:
    try:
        state = json.loads(state_path.read_text())
    except (OSError, ValueError):
        return
    if state.get("kubelet_pid") == os.getpid() or state.get("boot") != boot_id():
        return  # a state from before a reboot names pids of another namespace
    for pid in orphans(state):
        with contextlib.suppress(OSError):
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            if b"blackstart.lab.kubelet" not in cmd and b"blackstart.lab.nodeinit" not in cmd:
                os.kill(pid, signal.SIGKILL)


def boot_id() -> str:
    """This node's boot: when its PID 1 started (ticks since the host booted)."""
    try:
        return Path("/proc/1/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def _exit_code(returncode: int) -> int:
    # Popen gives -N for a signal; the runtime reports 128+N (SIGKILL: 137).
    return 128 - returncode if returncode < 0 else returncode


class _Stop(Exception):
    pass


def _raise_stop(*_: Any) -> None:
    raise _Stop


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="blackstart.lab.kubelet")
    p.add_argument("component", choices=["kubelet"])
    p.add_argument("--node", required=True)
    p.add_argument("--manifests", type=Path, default=Path("/etc/kubernetes/manifests"))
    p.add_argument("--pod-logs", type=Path, default=Path("/var/log/pods"))
    p.add_argument("--state", type=Path, default=Path("/var/lib/kubelet/lab-state.json"))
    p.add_argument("--log", type=Path, default=Path("/var/log/kubelet.log"))
    p.add_argument("--max-loops", type=int, default=100_000_000)
    args = p.parse_args(argv)
    _end_orphans(args.state)  # after a kubelet crash (not a reboot: then nothing is left)
    kubelet = Kubelet(args.node, args.manifests, args.pod_logs, args.state, CriWriter(args.log))
    kubelet.say("I", f'"Starting kubelet" node="{args.node}" staticPodPath="{args.manifests}"')
    signal.signal(signal.SIGTERM, _raise_stop)
    signal.signal(signal.SIGINT, _raise_stop)
    try:
        for _ in range(args.max_loops):
            kubelet.sync()
            time.sleep(POLL)
    except _Stop:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        kubelet.say("I", '"Shutting down kubelet, stopping static pods"')
        kubelet.stop_all()


if __name__ == "__main__":
    main()
