"""`Lab`: a real local etcd cluster shaped like kubeadm masters, to break and recover.

Member N of a lab on net `127.0.0` runs on 127.0.0.N (clients :2379, peers :2380,
metrics :2381), from the command in its own static pod manifest. Processes are detached
and tracked by pid files (blackstart.lab.procs), so they outlive the command that started them and
`Lab(dir)` in another process can stop them. Layout: blackstart.lab.layout.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil

from blackstart.checks.etcd_client import etcd_client
from blackstart.checks.model import TLSFiles
from blackstart.lab import faults, inventory, manifest, pki, procs, seed, sshd
from blackstart.lab.errors import LabError
from blackstart.lab.etcd_binaries import find_binaries
from blackstart.lab.layout import SERVICES, NodeLayout, layouts
from blackstart.lab.liveness import etcd_answers, health, port_open

STANDINS = ("kube-apiserver", "kube-controller-manager", "kube-scheduler")
MAX_MEMBERS = 7


def _check_net(net: str) -> None:
    parts = net.split(".")
    if len(parts) != 3 or parts[0] != "127" or not all(p.isdigit() and int(p) < 256 for p in parts):
        raise LabError(f"--net {net!r}: must be three octets inside 127/8, e.g. 127.0.0")


class Lab:
    """The flat lab: every node's files under DIR/nodes/<n>/ on this machine's filesystem,
    members started by the lab itself (fast; for unit-level tests of probes)."""

    shape = "flat"

    def __init__(self, dir: str | Path, members: int = 3, etcd: str | None = None,
                 ssh: bool = False, net: str = "127.0.0") -> None:
        self.dir = Path(dir).expanduser().resolve()
        saved = self._params()
        if saved:  # an existing lab comes back exactly as it was created
            members, etcd, ssh, net = saved["members"], saved["etcd"], saved["ssh"], saved["net"]
        if not 1 <= members <= MAX_MEMBERS:
            raise LabError(f"--members {members}: must be 1..{MAX_MEMBERS}")
        _check_net(net)
        self.members, self.etcd, self.ssh, self.net = members, etcd, ssh, net
        self.bins = find_binaries(etcd)
        self.nodes = self._layouts(members, net)

    def _layouts(self, members: int, net: str) -> list[NodeLayout]:
        return layouts(self.dir, members, net)

    # ------------------------------------------------------------------ parameters

    @property
    def params_path(self) -> Path:
        return self.dir / "lab.json"

    @property
    def inventory_path(self) -> Path:
        return self.dir / "blackstart.toml"

    def _params(self) -> dict[str, Any] | None:
        try:
            return dict(json.loads(self.params_path.read_text()))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise LabError(f"{self.params_path}: unreadable lab parameters ({exc})") from exc

    def _save_params(self, **extra: Any) -> None:
        d = self._params() or {"shape": self.shape, "members": self.members, "etcd": self.etcd,
                               "ssh": self.ssh, "net": self.net, "created": time.time(),
                               "seeded": False}
        d.update(extra)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.params_path.write_text(json.dumps(d, indent=2) + "\n")

    def node(self, name: str | None) -> NodeLayout:
        if name is None:
            return self.nodes[0]
        for n in self.nodes:
            if n.name == name:
                return n
        raise LabError(f"no member {name!r} in the lab at {self.dir} "
                       f"(members: {', '.join(n.name for n in self.nodes)})")

    # ------------------------------------------------------------------ creation

    def _create_files(self) -> None:
        ca_base = self.dir / "pki/ca"
        if not ca_base.with_suffix(".crt").exists():
            ca = pki.make_ca()
            pki.write_pair(ca_base, ca.cert, ca.key)
            for n in self.nodes:
                pki.write_node_pki(n.root, n.name, n.ip, ca)
        supported = manifest.supported_flags(self._run([self.bins.etcd, "--help"]))
        image = f"registry.k8s.io/etcd:{self._etcd_version()}-0"
        for n in self.nodes:
            for d in (n.spec.data_dir.parent, n.backup_dir, n.spec.manifest_path.parent):
                d.mkdir(parents=True, exist_ok=True)
            if not n.spec.manifest_path.exists():
                cmd = manifest.etcd_command(n.spec, self.bins.etcd, supported)
                n.spec.manifest_path.write_text(manifest.render(n.spec, cmd, image))
        (self.dir / "state").mkdir(exist_ok=True)

    def _run(self, argv: list[str]) -> str:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
        return r.stdout + r.stderr

    def _etcd_version(self) -> str:
        out = self._run([self.bins.etcd, "--version"])
        for line in out.splitlines():
            if line.startswith("etcd Version:"):
                return line.split(":", 1)[1].strip()
        return "unknown"

    def write_inventory(self) -> Path:
        ssh = None
        if self.ssh:
            ssh = sshd.inventory_info(self.dir)
        self.inventory_path.write_text(inventory.render(self.dir, self.nodes, self.bins, ssh))
        return self.inventory_path

    # ------------------------------------------------------------------ up / down

    def up(self, timeout: float = 30.0) -> dict[str, Any]:
        """Start everything not running; on first up also seed keys and snapshots.

        A new lab must become healthy (LabError otherwise). An existing one is brought
        back as far as it goes: a broken member stays broken, and status() says so."""
        self._save_params()
        self._create_files()
        if self.ssh:
            sshd.start_all(self.dir, self.nodes)
        for n in self.nodes:
            self.start(n.name, "etcd")
        if not (self._params() or {}).get("seeded"):
            self.wait_healthy(timeout)
            self._seed()
            self._save_params(seeded=True)
        else:
            with contextlib.suppress(LabError):
                self.wait_healthy(min(timeout, 10.0))
        for n in self.nodes:
            for svc in STANDINS:
                self.start(n.name, svc)
        self.write_inventory()
        return self.status()

    def wait_healthy(self, timeout: float = 30.0, names: list[str] | None = None) -> None:
        want = [self.node(m) for m in names] if names else self.nodes
        end = time.monotonic() + timeout
        sick = want
        while time.monotonic() < end:
            sick = [n for n in want if not health(n.ip, 0.5)]
            if not sick:
                return
            if all(self._etcd_gone_for_good(n) for n in sick):
                break  # every one still missing has exited: waiting cannot help
            time.sleep(0.1)
        raise LabError("not healthy: {}".format("; ".join(
            f"{n.name} (etcd {'running' if self.running(n.name) else 'not running'}; "
            f"log: {self.etcd_log(n.name)})" for n in sick)))

    def _seed(self) -> None:
        client = self.client()
        try:
            seed.put_all(client, seed.first_keys())
            now = dt.datetime.now(dt.UTC).replace(microsecond=0)
            self._snapshot_round(now - dt.timedelta(hours=12))
            seed.put_all(client, seed.later_keys(1))
            self._snapshot_round(now)
            seed.put_all(client, seed.later_keys(2))
        finally:
            client.close()

    def _snapshot_round(self, when: dt.datetime) -> None:
        for n in self.nodes:
            c = self.client(n.name)
            try:
                seed.save_snapshot(c, n.backup_dir, when)
            finally:
                c.close()

    def down(self) -> None:
        """Stop every process this lab started; nothing of it keeps running."""
        for n in self.nodes:
            for svc in (*STANDINS, "etcd"):
                self.stop(n.name, svc)
        if self.ssh:
            sshd.stop_all(self.dir, self.nodes)
        self._sweep()

    def _sweep(self) -> None:
        """Kill lab-shaped processes naming this DIR that no pid file tracks any more."""
        for p in self.stray_processes():
            try:
                p.kill()
                p.wait(2)
            except (psutil.Error, subprocess.TimeoutExpired):
                pass

    def stray_processes(self) -> list[psutil.Process]:
        """Processes of this lab (etcd, stand-ins, loggers, sshd) that are still alive."""
        marker = str(self.dir) + "/"
        out = []
        for p in psutil.process_iter(["pid", "cmdline", "status"]):
            cmd = p.info["cmdline"] or []
            if p.pid == os.getpid() or p.info["status"] == psutil.STATUS_ZOMBIE:
                continue
            if any(marker in a for a in cmd) and _lab_shaped(cmd, self.bins.etcd):
                out.append(p)
        return out

    # ------------------------------------------------------------------ services

    def start(self, member: str, service: str = "etcd") -> int | None:
        """Start one service of one node if it is not running. Returns its pid."""
        n = self.node(member)
        if service not in SERVICES:
            raise LabError(f"unknown service {service!r} (one of {', '.join(SERVICES)})")
        running = procs.process_of(n.pidfile(service))
        if running is not None:
            from blackstart.lab.nodefaults import thaw

            thaw(running.pid)  # a blackholed (SIGSTOPped) member answers again
            return running.pid
        if service == "etcd":
            try:
                cmd = manifest.read_command(n.spec.manifest_path)
            except manifest.ManifestError as exc:
                raise LabError(str(exc)) from exc
            return procs.spawn_logged(cmd, n.pidfile("etcd"), n.log("etcd"), n.logger_pidfile())
        return procs.spawn(self._standin_argv(n, service), n.pidfile(service), n.errfile(service),
                           env=procs.python_env())

    def _standin_argv(self, n: NodeLayout, service: str) -> list[str]:
        log, pf = str(n.log(service)), str(n.pidfile(service))
        if service == "kube-apiserver":
            p = pki.pki_paths(n.root)
            return [sys.executable, "-m", "blackstart.lab.apiserver", service, "--node", n.name,
                    f"--etcd-servers={n.spec.client_url}",
                    f"--etcd-cafile={p['etcd-ca']}.crt",
                    f"--etcd-certfile={p['apiserver-etcd-client']}.crt",
                    f"--etcd-keyfile={p['apiserver-etcd-client']}.key",
                    "--log", log, "--pidfile", pf]
        return [sys.executable, "-m", "blackstart.lab.standin", service, "--node", n.name,
                "--log", log, "--pidfile", pf]

    def stop(self, member: str, service: str = "etcd") -> None:
        n = self.node(member)
        procs.stop([n.pidfile(service)])
        if service == "etcd":
            # The logger exits by itself at EOF once etcd is gone; give it a moment to
            # flush etcd's last lines before making sure.
            procs.wait_gone([n.logger_pidfile()], 2.0)
            procs.stop([n.logger_pidfile()])

    def wait_started(self, member: str, timeout: float = 10.0) -> str:
        """After start: 'serving' (client port open), 'exited' (etcd died) or 'starting'."""
        n = self.node(member)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if procs.process_of(n.pidfile("etcd")) is None:
                procs.wait_gone([n.logger_pidfile()], 2.0)  # its last words reach the log
                return "exited"
            if port_open(n.ip, 2379) and etcd_answers(n.ip):
                return "serving"
            time.sleep(0.1)
        return "starting"

    def _etcd_gone_for_good(self, n: NodeLayout) -> bool:
        """Has this member's etcd exited with nothing to bring it back? (Here: no
        supervisor, so exited is final; a kubelet-shaped lab answers otherwise.)"""
        return procs.process_of(n.pidfile("etcd")) is None

    def etcd_log(self, member: str) -> Path:
        return self.node(member).log("etcd")

    def running(self, member: str, service: str = "etcd") -> int | None:
        p = procs.process_of(self.node(member).pidfile(service))
        return p.pid if p else None

    # ------------------------------------------------------------------ status, clients

    def status(self) -> dict[str, Any]:
        members = []
        for n in self.nodes:
            members.append({
                "name": n.name, "ip": n.ip, "client_url": n.spec.client_url,
                "healthy": health(n.ip, 1.0),
                "services": {svc: self.running(n.name, svc) for svc in SERVICES},
                "etcd_log": str(n.log("etcd")),
            })
        return {
            "dir": str(self.dir), "net": self.net, "etcd": self.bins.etcd, "ssh": self.ssh,
            "created": self.params_path.exists(), "inventory": str(self.inventory_path),
            "members": members, "healthy": sum(1 for m in members if m["healthy"]),
        }

    def client(self, member: str | None = None, timeout: float = 5.0) -> Any:
        """An etcd3 client to one member with that node's healthcheck-client cert."""
        # grpc's C core prints handshake failures to stderr unless told otherwise.
        os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
        n = self.node(member)
        p = pki.pki_paths(n.root)
        hc = p["etcd-healthcheck-client"]
        return etcd_client(n.ip, 2379, timeout=timeout,
                           tls=TLSFiles(f"{hc}.crt", f"{hc}.key", f"{p['etcd-ca']}.crt"))

    def etcdctl_env(self, member: str | None = None) -> dict[str, str]:
        """ETCDCTL_* for an independent etcdctl: all endpoints, or one member's."""
        n = self.node(member)
        p = pki.pki_paths(n.root)
        eps = [n.spec.client_url] if member else [x.spec.client_url for x in self.nodes]
        return {"ETCDCTL_API": "3", "ETCDCTL_ENDPOINTS": ",".join(eps),
                "ETCDCTL_CACERT": f"{p['etcd-ca']}.crt",
                "ETCDCTL_CERT": f"{p['etcd-healthcheck-client']}.crt",
                "ETCDCTL_KEY": f"{p['etcd-healthcheck-client']}.key"}

    # ------------------------------------------------------------------ faults

    def break_fault(self, fault: str, member: str | None = None, cert: str = "server",
                    **opts: str) -> str:
        """Inject one fault for real; returns a sentence saying what was done."""
        return faults.inject(self, fault, member, cert, opts)


def _lab_shaped(cmd: list[str], etcd_bin: str) -> bool:
    if not cmd:
        return False
    if cmd[0] == etcd_bin or cmd[0].endswith("/etcd") or "sshd" in cmd[0]:
        return True
    lab_mods = ("blackstart.lab.apiserver", "blackstart.lab.standin", "blackstart.lab.crilog")
    return any(a in lab_mods for a in cmd[1:3])
