"""`KubeadmLab`: every node its own host (mount + UTS + PID namespaces), kubeadm's paths.

Node k of a lab on net 127.0.N is `master0k` on 127.0.N.k. It boots (lab.nodefs) into
namespaces of its own with PID 1 = lab.nodeinit, which starts the node's sshd (port 22 of
its address, or the port recorded in lab.json) and its kubelet (lab.kubelet). The kubelet
runs etcd, kube-apiserver, kube-controller-manager and kube-scheduler from the static
pod manifests in /etc/kubernetes/manifests; it is the only supervisor. Stopping a pod
means parking its manifest (moving it out of the manifests dir), as an SRE does.

Host side, DIR/nodes/<n>/ holds the node's own dirs (see lab.nodefs), so `NodeLayout`'s
paths (data dir, PKI, backups) are the node's files as the host sees them. Nothing is
mounted on the host: `down` (or a power cut) ends the namespaces and with them every
mount. DIR/run/<n>-node.pid records the `unshare` process, <n>-init.pid its PID 1.
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
from typing import Any

import psutil

from blackstart.lab import (
    controlplane,
    kubelet,
    manifest,
    nodefaults,
    nodefs,
    nodessh,
    pki,
    procs,
)
from blackstart.lab.cluster import Lab, _port_open, etcd_answers, health
from blackstart.lab.errors import LabError
from blackstart.lab.layout import SERVICES, NodeLayout
from blackstart.lab.manifest import MemberSpec

NODE_SERVICES = (*SERVICES, "sshd", "kubelet")
BOOT_TIMEOUT = 15.0
DOWN_GRACE = 3.0
PARKED = "etc/kubernetes/parked"  # where a stopped pod's manifest waits, host side


def node_name(i: int) -> str:
    return f"master{i:02d}"


def inner_spec(n: NodeLayout) -> MemberSpec:
    """The member as the node sees itself: kubeadm's paths (/var/lib/etcd, ...)."""
    return MemberSpec(n.name, n.ip, Path("/"), n.initial_cluster)


def manifest_file(service: str) -> str:
    return f"{service}.yaml"


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


class KubeadmLab(Lab):
    shape = "kubeadm"

    def _layouts(self, members: int, net: str) -> list[NodeLayout]:
        names = [(node_name(i), f"{net}.{i}") for i in range(1, members + 1)]
        initial = ",".join(f"{n}=https://{ip}:2380" for n, ip in names)
        return [NodeLayout(self.dir, n, ip, initial) for n, ip in names]

    # ------------------------------------------------------------------ files

    @property
    def ssh_port(self) -> int:
        return int((self._params() or {}).get("ssh_port", nodessh.DEFAULT_PORT))

    def _create_files(self) -> None:
        new = not (self.dir / "pki/ca.crt").exists()
        for n in self.nodes:
            for d in nodefs.NODE_DIRS:
                (n.root / d).mkdir(parents=True, exist_ok=True)
            (n.root / nodefs.STAGE).mkdir(exist_ok=True)
            (n.root / nodefs.ETC_WORK).mkdir(exist_ok=True)
            (n.root / "root").chmod(0o700)
            (n.root / "root/.ssh").chmod(0o700)
            (n.root / PARKED).mkdir(parents=True, exist_ok=True)
        if new:
            ca = pki.make_ca()
            pki.write_pair(self.dir / "pki/ca", ca.cert, ca.key)
            for n in self.nodes:
                pki.write_node_pki(n.root, n.name, n.ip, ca)
        if "ssh_port" not in (self._params() or {}):
            self._save_params(ssh_port=nodessh.pick_port([n.ip for n in self.nodes]))
        nodessh.prepare(self.dir, self.nodes, self.ssh_port, node_env([])["PATH"])
        if new:
            self._write_manifests()
        for n in self.nodes:
            nodessh.write_if_changed(n.root / "etc/hostname", n.name + "\n")
            nodessh.write_if_changed(n.root / "etc/hosts", self._hosts())
        (self.dir / "run").mkdir(exist_ok=True)

    def _hosts(self) -> str:
        lines = ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback"]
        lines += [f"{n.ip}\t{n.name}" for n in self.nodes]
        return "\n".join(lines) + "\n"

    def _write_manifests(self) -> None:
        supported = manifest.supported_flags(self._run([self.bins.etcd, "--help"]))
        image = f"registry.k8s.io/etcd:{self._etcd_version()}-0"
        for n in self.nodes:
            mdir = n.root / "etc/kubernetes/manifests"
            spec = inner_spec(n)
            cmd = manifest.etcd_command(spec, self.bins.etcd, supported)
            (mdir / "etcd.yaml").write_text(manifest.render(spec, cmd, image))
            for fname, text in controlplane.manifests(n.name, n.ip).items():
                (mdir / fname).write_text(text)

    def write_inventory(self) -> Path:
        # Zero configuration is the point of this shape: blackstart finds everything from
        # inside a node. The host-side inventory is not written.
        return self.inventory_path

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
                                       "started": p.create_time()}))

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

    # ------------------------------------------------------------------ kubelet state

    def kubelet_state(self, name: str) -> dict[str, Any]:
        path = self.node(name).root / "var/lib/kubelet/lab-state.json"
        try:
            return dict(json.loads(path.read_text()))
        except (OSError, ValueError):
            return {"node": name, "pods": []}

    def _pod(self, name: str, service: str) -> dict[str, Any] | None:
        for pod in self.kubelet_state(name).get("pods", []):
            if pod["container"] == service and not pod.get("stopping"):
                return dict(pod)
        return None

    def write_node_inventory(self, name: str) -> str:
        """Put a hand-written-style /etc/blackstart/blackstart.toml on node `name` (written
        inside the node: /etc is its overlay). Returns the path inside the node."""
        from blackstart.lab import nodeinventory

        text = nodeinventory.render(self.nodes, name, self.ssh_port)
        script = (f"mkdir -p /etc/blackstart && cat > {nodeinventory.PATH} && "
                  f"chmod 600 {nodeinventory.PATH}")
        r = subprocess.run(self.shell_argv(name, ["sh", "-c", script]), input=text,
                           capture_output=True, text=True, timeout=30, check=False)
        if r.returncode != 0:
            raise LabError(f"{name}: cannot write {nodeinventory.PATH}: {r.stderr.strip()}")
        return nodeinventory.PATH

    def crictl_ps(self, name: str) -> str:
        return kubelet.render_ps(self.kubelet_state(name), time.time())

    # ------------------------------------------------------------------ services

    def running(self, member: str, service: str = "etcd") -> int | None:
        n = self.node(member)
        if self.init_pid(n.name) is None:
            return None
        if service == "node":
            return self.init_pid(n.name)
        if service == "sshd":
            return self._sshd_pid(n)
        if service == "kubelet":
            pid = self.kubelet_state(n.name).get("kubelet_pid")
            return self.ns_to_host_pid(n.name, int(pid)) if pid else None
        pod = self._pod(n.name, service)
        if pod is None or not pod["containers"]:
            return None
        cur = pod["containers"][-1]
        if cur["state"] != "Running" or not cur.get("pid"):
            return None
        return self.ns_to_host_pid(n.name, int(cur["pid"]))

    def _sshd_pid(self, n: NodeLayout) -> int | None:
        try:
            nspid = int((n.root / "run/sshd.pid").read_text().strip())
        except (OSError, ValueError):
            return None
        return self.ns_to_host_pid(n.name, nspid)

    def start(self, member: str, service: str = "etcd") -> int | None:
        n = self.node(member)
        if service not in NODE_SERVICES:
            raise LabError(f"unknown service {service!r} (one of {', '.join(NODE_SERVICES)})")
        if self.init_pid(n.name) is None:
            self.boot(n)
        if service == "sshd":
            if self._sshd_pid(n) is None:
                self.node_run(n.name, ["/usr/sbin/sshd", "-f", "/etc/ssh/sshd_config",
                                       "-E", "/var/log/sshd.log"])
                nodessh_wait(n.ip, self.ssh_port, 10.0)
            return self._sshd_pid(n)
        if service in SERVICES:
            running = self.running(n.name, service)
            if running is not None:
                nodefaults.thaw(running)  # a blackholed (SIGSTOPped) member answers again
                return running
            parked = n.root / PARKED / manifest_file(service)
            live = n.root / "etc/kubernetes/manifests" / manifest_file(service)
            if parked.exists() and not live.exists():
                os.replace(parked, live)
            self._wait_pod(n.name, service, want_running=True, timeout=10.0)
        return self.running(n.name, service)

    def stop(self, member: str, service: str = "etcd") -> None:
        n = self.node(member)
        if self.init_pid(n.name) is None:
            return
        if service == "sshd":
            pid = self._sshd_pid(n)
            if pid is not None:
                with contextlib.suppress(psutil.Error):
                    psutil.Process(pid).kill()
                    psutil.Process(pid).wait(5)
            return
        if service == "node":
            self._shutdown(n)
            return
        live = n.root / "etc/kubernetes/manifests" / manifest_file(service)
        if live.exists():
            os.replace(live, n.root / PARKED / manifest_file(service))
        self._wait_pod(n.name, service, want_running=False, timeout=20.0)

    def _wait_pod(self, name: str, service: str, want_running: bool, timeout: float) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            pods = [p for p in self.kubelet_state(name).get("pods", [])
                    if p["container"] == service]
            if want_running and any(not p.get("stopping") and p["containers"] for p in pods):
                return
            if not want_running and not pods:
                return
            time.sleep(0.1)

    def _etcd_gone_for_good(self, n: NodeLayout) -> bool:
        # The kubelet restarts an exited etcd; only a node that is off stays down.
        return self.init_pid(n.name) is None

    def wait_started(self, member: str, timeout: float = 10.0) -> str:
        n = self.node(member)
        end = time.monotonic() + timeout
        seen = None
        while time.monotonic() < end:
            pod = self._pod(n.name, "etcd")
            cur = pod["containers"][-1] if pod and pod["containers"] else None
            if cur is not None:
                seen = seen or cur["id"]
                if cur["state"] == "Exited" or cur["id"] != seen:
                    return "exited"
                if _port_open(n.ip, 2379) and etcd_answers(n.ip):
                    return "serving"
            time.sleep(0.1)
        return "starting"

    # ------------------------------------------------------------------ up / down

    def up(self, timeout: float = 30.0) -> dict[str, Any]:
        self._save_params()
        self._create_files()
        for n in self.nodes:
            self.boot(n)
        for n in self.nodes:
            nodessh_wait(n.ip, self.ssh_port, 10.0)
        if not (self._params() or {}).get("seeded"):
            self.wait_healthy(timeout)
            self._seed()
            self._save_params(seeded=True)
        else:
            with contextlib.suppress(LabError):
                self.wait_healthy(min(timeout, 10.0))
        return self.status()

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

    # ------------------------------------------------------------------ status

    def status(self) -> dict[str, Any]:
        members = []
        for n in self.nodes:
            members.append({
                "name": n.name, "ip": n.ip, "client_url": n.spec.client_url,
                "healthy": health(n.ip, 1.0),
                "services": {svc: self.running(n.name, svc) for svc in NODE_SERVICES},
                "etcd_log": self._etcd_log(n),
                "init_pid": self.init_pid(n.name),
            })
        return {
            "dir": str(self.dir), "shape": self.shape, "net": self.net, "etcd": self.bins.etcd,
            "ssh": True, "ssh_port": self.ssh_port, "created": self.params_path.exists(),
            "inventory": None, "members": members,
            "healthy": sum(1 for m in members if m["healthy"]),
        }

    def _etcd_log(self, n: NodeLayout) -> str:
        pod = self._pod(n.name, "etcd")
        if pod and pod["containers"]:
            inside = str(pod["containers"][-1]["log"])
            return str(nodefs.node_path(n.root, inside))
        return str(n.root / "var/log/pods")

    def etcd_log(self, member: str) -> Path:
        return Path(self._etcd_log(self.node(member)))


def nodessh_wait(ip: str, port: int, timeout: float) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if _port_open(ip, port):
            return
        time.sleep(0.05)
    raise LabError(f"sshd did not listen on {ip}:{port} within {timeout:g}s")

