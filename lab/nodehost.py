"""`NodeHostLab`: a lab whose every node is a host of its own (mount + UTS + PID
namespaces), the base of the kubeadm and systemd shapes.

What makes a node a host, whatever supervises its pods: booting it (`unshare` running
lab.nodefs's boot script, PID 1 = lab.nodeinit or systemd), entering it (`nsenter`, as a
root shell there would run a command, the node's fake clock included), translating its
pids to the host's, remembering the PID namespaces it booted into, and its power (SIGTERM
with a grace, a power cut, the sweep of what is left). DIR/run/<n>-node.pid records the
`unshare` process, <n>-init.pid its PID 1.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

from blackstart.lab import nodefaults, nodefs, procs
from blackstart.lab.cluster import Lab
from blackstart.lab.errors import LabError
from blackstart.lab.layout import NodeLayout

BOOT_TIMEOUT = 15.0
DOWN_GRACE = 3.0


def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


def node_env(extra_path: list[str]) -> dict[str, str]:
    """The environment of a node's PID 1: this checkout importable, this venv first."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TMPDIR", "PYTEST", "BLACKSTART_", "ETCDCTL_", "SSH_"))}
    bindir = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join([bindir, *extra_path, "/usr/local/sbin", "/usr/local/bin",
                                   "/usr/sbin", "/usr/bin", "/sbin", "/bin"])
    env["PYTHONPATH"] = str(repo_root())
    env["HOME"] = "/root"
    env["USER"] = env["LOGNAME"] = "root"
    env.pop("PWD", None)
    return env


class NodeHostLab(Lab):
    """Nodes as hosts: boot, enter, pids, namespaces and power. Shapes add their files and
    how services run (kubelet and manifests, or systemd units)."""

    # ------------------------------------------------------------------ nodes

    def init_pidfile(self, n: NodeLayout) -> Path:
        return self.dir / "run" / f"{n.name}-init.pid"

    def unshare_pidfile(self, n: NodeLayout) -> Path:
        return self.dir / "run" / f"{n.name}-node.pid"

    def init_pid(self, name: str) -> int | None:
        p = procs.process_of(self.init_pidfile(self.node(name)))
        return p.pid if p else None

    def shared_paths(self) -> list[Path]:
        """What the node's processes run from: this checkout, the venv, the etcd build."""
        paths = {repo_root(), Path(sys.prefix), Path(sys.base_prefix),
                 Path(self.bins.etcd).parent}
        return sorted(p.resolve() for p in paths)

    def boot(self, n: NodeLayout) -> int:
        """Start a node's namespaces and PID 1 unless it runs. Returns PID 1's host pid."""
        pid = self.init_pid(n.name)
        if pid is not None:
            return pid
        script = self.dir / "run" / f"{n.name}-boot.sh"
        script.write_text(self._boot_script(n))
        argv = ["unshare", "--pid", "--fork", "--mount", "--uts", "--mount-proc",
                "sh", str(script)]
        err = self.dir / "run" / f"{n.name}-node.err"
        err.write_text("")
        upid = procs.spawn(argv, self.unshare_pidfile(n), err, env=node_env([]))
        return self._wait_init(n, upid, err)

    INIT_MARK = "blackstart.lab.nodeinit"  # in PID 1's argv once it runs

    def _boot_script(self, n: NodeLayout) -> str:
        init = [sys.executable, "-m", self.INIT_MARK, "--node", n.name,
                "--sshd-config", "/etc/ssh/sshd_config"]
        return nodefs.boot_script(n.root, n.name, self.shared_paths(), init)

    def _wait_init(self, n: NodeLayout, upid: int, err: Path) -> int:
        end = time.monotonic() + BOOT_TIMEOUT
        while time.monotonic() < end:
            try:
                kids = psutil.Process(upid).children()
                alive = psutil.Process(upid).status() != psutil.STATUS_ZOMBIE
            except psutil.Error:
                kids, alive = [], False
            for k in kids:
                with contextlib.suppress(psutil.Error):
                    if self.INIT_MARK in k.cmdline():
                        self._record(self.init_pidfile(n), k)
                        self._remember_namespace(k.pid)
                        return k.pid
            if not alive:
                break
            time.sleep(0.02)
        said = err.read_text(errors="replace")[-800:].strip()
        raise LabError(f"{n.name}: the node did not boot within {BOOT_TIMEOUT:g}s "
                       f"(see {err}){': ' + said if said else ''}")

    @staticmethod
    def _record(pidfile: Path, p: psutil.Process) -> None:
        pidfile.write_text(json.dumps({"pid": p.pid, "argv": p.cmdline(),
                                       "started": p.create_time(),
                                       "ticks": procs.start_ticks(p.pid)}))

    @property
    def namespaces_path(self) -> Path:
        return self.dir / "run" / "namespaces.json"

    def namespaces(self) -> set[str]:
        """Every PID namespace this lab's nodes have booted into ("pid:[inode]")."""
        try:
            return {str(x) for x in json.loads(self.namespaces_path.read_text())}
        except (OSError, ValueError):
            return set()

    def _remember_namespace(self, pid: int) -> None:
        with contextlib.suppress(OSError):
            seen = self.namespaces() | {os.readlink(f"/proc/{pid}/ns/pid")}
            self.namespaces_path.write_text(json.dumps(sorted(seen)))

    def shell_argv(self, name: str, argv: list[str]) -> list[str]:
        """argv run inside node `name`, as a root shell on it would run it."""
        pid = self.init_pid(name)
        if pid is None:
            raise LabError(f"{name}: the node is not running (power it on: `lab up`)")
        env = node_env([])
        fake = self._faketime(name)
        return ["nsenter", "-t", str(pid), "-m", "-u", "-p", "--wdns=/root", "--",
                "/usr/bin/env", "-u", "TMPDIR", f"PATH={env['PATH']}", "HOME=/root",
                f"PYTHONPATH={env['PYTHONPATH']}", *fake, *argv]

    def _faketime(self, name: str) -> list[str]:
        """A node's clock-off fault, for the sessions `lab shell` opens there."""
        try:
            offset = (self.node(name).root / "etc/faketimerc").read_text().strip()
        except OSError:
            return []
        return [f"LD_PRELOAD={nodefaults.FAKETIME_LIB}", f"FAKETIME={offset}"] if offset else []

    def node_run(self, name: str, argv: list[str], timeout: float = 30.0
                 ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.shell_argv(name, argv), capture_output=True, text=True,
                              timeout=timeout, check=False, stdin=subprocess.DEVNULL)

    def ns_to_host_pid(self, name: str, nspid: int) -> int | None:
        """The host pid of a process that is `nspid` inside node `name`."""
        init = self.init_pid(name)
        if init is None:
            return None
        if nspid == 1:
            return init
        try:
            family = psutil.Process(init).children(recursive=True)
        except psutil.Error:
            return None
        for p in family:
            with contextlib.suppress(OSError):
                for line in Path(f"/proc/{p.pid}/status").read_text().splitlines():
                    if line.startswith("NSpid:"):
                        ids = line.split()[1:]
                        if len(ids) >= 2 and int(ids[-1]) == nspid:
                            return p.pid
        return None

    # ------------------------------------------------------------------ power

    def _shutdown(self, n: NodeLayout, grace: float = 25.0) -> None:
        pid = self.init_pid(n.name)
        if pid is not None:
            with contextlib.suppress(psutil.Error):
                p = psutil.Process(pid)
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(grace)
                except psutil.TimeoutExpired:
                    p.kill()
                    p.wait(5)
        procs.wait_gone([self.unshare_pidfile(n)], 5.0)
        procs.stop([self.unshare_pidfile(n), self.init_pidfile(n)], timeout=2.0)

    def power_off(self) -> list[int]:
        """SIGKILL every node's PID 1 at once: the kernel kills all in its namespace."""
        files = [self.init_pidfile(n) for n in self.nodes]
        killed = procs.signal_all(files, signal.SIGKILL)
        procs.wait_gone(files, 5.0)
        procs.wait_gone([self.unshare_pidfile(n) for n in self.nodes], 5.0)
        return killed

    def down(self) -> None:
        """Shut every node down: SIGTERM (the kubelet stops its pods), and after DOWN_GRACE
        the power goes anyway (PID 1 SIGKILLed). A 3-member etcd told to stop all at once
        spends seconds on leader transfer; the lab does not wait for that."""
        for n in self.nodes:
            pid = self.init_pid(n.name)
            if pid is not None:
                with contextlib.suppress(psutil.Error):
                    psutil.Process(pid).send_signal(signal.SIGTERM)
        deadline = time.monotonic() + DOWN_GRACE
        for n in self.nodes:
            self._shutdown(n, grace=max(0.1, deadline - time.monotonic()))
        self._sweep()

    def stray_processes(self) -> list[psutil.Process]:
        """Processes still in one of this lab's nodes, or its unshare/boot processes."""
        marker = str(self.dir) + "/"
        spaces = self.namespaces()
        out = []
        for p in psutil.process_iter(["pid", "cmdline", "status"]):
            if p.pid == os.getpid() or p.info["status"] == psutil.STATUS_ZOMBIE:
                continue
            cmd = p.info["cmdline"] or []
            if any(marker in a for a in cmd) and cmd and cmd[0] in ("unshare", "sh"):
                out.append(p)
                continue
            with contextlib.suppress(OSError):
                if os.readlink(f"/proc/{p.pid}/ns/pid") in spaces:
                    out.append(p)
        return out
