"""`SystemdLab`: the seed's shape. Each node is a host as in lab.kubeadm, but PID 1 of its
PID namespace is a real systemd and etcd, kube-apiserver, kube-controller-manager and
kube-scheduler are systemd units as kubespray writes them (/etc/systemd/system/etcd.service
with `EnvironmentFile=/etc/etcd.env`), logging to journald. `systemctl` and `journalctl -u`
work inside a node (`lab shell NODE -- systemctl stop etcd`).

Made safe as ETCD_FACTS §9 says, in this order inside the node's mount namespace:
`mount --make-rprivate /`; the /etc overlay (node units, node.target as the boot unit,
masks of every host unit that must not run: systemd-tmpfiles-*, ssh, cron, getty, logind,
dbus, and here also sysinit.target, udev, sysctl, modules-load, binfmt, swap, remount-fs);
then private tmpfs over /tmp, /var/tmp and /run; then `exec /lib/systemd/systemd --system
--unit=node.target`. Added on top of §9: `container=blackstart-lab` in PID 1's environment
(systemd then skips what a container must not touch), every unit DefaultDependencies=no
(nothing pulls in sysinit.target), and a refusal to boot when this checkout or Python lives
under /tmp or /var/tmp (it would be bound into a dir systemd treats as temporary).
Stopping a node is a SIGKILL of its PID 1 (§9), never systemd's own shutdown, whose last
stage would swapoff and detach loop devices of the host.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path
from typing import Any

import psutil

from blackstart.lab import controlplane, manifest, nodefs, procs
from blackstart.lab.errors import LabError
from blackstart.lab.kubeadm import NODE_SERVICES, KubeadmLab, inner_spec
from blackstart.lab.layout import SERVICES, NodeLayout
from blackstart.lab.liveness import health
from blackstart.lab.nodehost import node_env

SYSTEMD = "/lib/systemd/systemd"
TMPFS = ("tmp", "var/tmp", "run")
TEMP_DIRS = (Path("/tmp"), Path("/var/tmp"))  # noqa: S108 - the host's, kept out of nodes
CGROUP_ROOTS = ("/sys/fs/cgroup/systemd", "/sys/fs/cgroup/unified")
MASKED = ("systemd-tmpfiles-setup.service", "systemd-tmpfiles-clean.timer",
          "systemd-tmpfiles-clean.service", "systemd-tmpfiles-setup-dev.service",
          "ssh.service", "ssh.socket", "cron.service", "getty.target", "systemd-logind.service",
          "dbus.service", "dbus.socket", "sysinit.target", "systemd-udevd.service",
          "systemd-udev-trigger.service", "systemd-udevd-control.socket",
          "systemd-udevd-kernel.socket", "systemd-sysctl.service",
          "systemd-modules-load.service", "systemd-binfmt.service", "swap.target",
          "systemd-remount-fs.service", "systemd-networkd.service", "systemd-resolved.service",
          "systemd-timesyncd.service", "postgresql.service", "etcd2.service")
UNITS = {"etcd": "etcd.service", "kube-apiserver": "kube-apiserver.service",
         "kube-controller-manager": "kube-controller-manager.service",
         "kube-scheduler": "kube-scheduler.service", "sshd": "node-sshd.service"}


def env_file(argv: list[str]) -> str:
    """/etc/etcd.env as kubespray writes it: every flag as ETCD_<FLAG> (pure)."""
    lines = ["# Written like kubespray's roles/etcd/templates/etcd.env.j2"]
    for a in argv[1:]:
        key, _, value = a[2:].partition("=")
        lines.append(f"ETCD_{key.upper().replace('-', '_')}={value}")
    return "\n".join(lines) + "\n"


def etcd_unit(etcd_bin: str) -> str:
    # kubespray's etcd-host.service.j2, plus DefaultDependencies=no (see module doc).
    return f"""[Unit]
Description=etcd
After=network.target
DefaultDependencies=no

[Service]
Type=notify
User=root
EnvironmentFile=/etc/etcd.env
ExecStart={etcd_bin}
NotifyAccess=all
Restart=always
RestartSec=5s
LimitNOFILE=40000

[Install]
WantedBy=node.target
"""


def service_unit(description: str, argv: list[str], env: dict[str, str],
                 after: str = "etcd.service") -> str:
    envs = "".join(f"Environment={k}={v}\n" for k, v in env.items())
    return f"""[Unit]
Description={description}
DefaultDependencies=no
After={after}

[Service]
{envs}ExecStart={" ".join(argv)}
Restart=always
RestartSec=5s

[Install]
WantedBy=node.target
"""


def node_target(units: list[str]) -> str:
    return (f"[Unit]\nDescription=blackstart lab node\nDefaultDependencies=no\n"
            f"Wants=systemd-journald.service {' '.join(units)}\nAllowIsolate=yes\n")


class SystemdLab(KubeadmLab):
    shape = "systemd"
    INIT_MARK = "--unit=node.target"

    def _write_manifests(self) -> None:
        supported = manifest.supported_flags(self._run([self.bins.etcd, "--help"]))
        env = node_env([])
        pyenv = {"PYTHONPATH": env["PYTHONPATH"], "PATH": env["PATH"]}
        for n in self.nodes:
            etc = n.root / "etc"
            (n.root / "var/log/journal").mkdir(parents=True, exist_ok=True)  # persistent
            units = etc / "systemd/system"
            units.mkdir(parents=True, exist_ok=True)
            argv = manifest.etcd_command(inner_spec(n), self.bins.etcd, supported)
            (etc / "etcd.env").write_text(env_file(argv))
            (units / "etcd.service").write_text(etcd_unit(self.bins.etcd))
            (units / "kube-apiserver.service").write_text(service_unit(
                "Kubernetes API Server", controlplane.apiserver_command(n.name, n.ip), pyenv))
            for comp in ("kube-controller-manager", "kube-scheduler"):
                (units / f"{comp}.service").write_text(service_unit(
                    comp, controlplane.standin_command(comp, n.name), pyenv))
            (units / "node-sshd.service").write_text(service_unit(
                "OpenSSH server of the lab node",
                ["/usr/sbin/sshd", "-D", "-e", "-f", "/etc/ssh/sshd_config"], {},
                after="systemd-journald.socket").replace(
                "[Service]\n", "[Service]\nRuntimeDirectory=sshd\n"))
            (units / "node.target").write_text(node_target(list(UNITS.values())))
            for name in MASKED:
                link = units / name
                if not link.is_symlink():
                    link.unlink(missing_ok=True)
                    link.symlink_to("/dev/null")

    def shared_paths(self) -> list[Path]:
        paths = super().shared_paths()
        for p in paths:
            if any(p == t or t in p.parents for t in TEMP_DIRS):
                raise LabError(f"{p}: the systemd shape will not bind a path under "
                               f"{' or '.join(map(str, TEMP_DIRS))} into a node run by "
                               "systemd; install this checkout elsewhere")
        return paths

    def _boot_script(self, n: NodeLayout) -> str:
        init = ["/usr/bin/env", "container=blackstart-lab", SYSTEMD, "--system",
                self.INIT_MARK]
        text = nodefs.boot_script(n.root, n.name, self.shared_paths(), init, tmpfs=TMPFS)
        # PID 1 gets a cgroup of its own first, so systemd builds its slices there and not
        # in the host's root cgroup; down removes it.
        moves = [f"if [ -d {c} ]; then mkdir -p {c}/{self._cgroup(n)} && "
                 f"echo 0 > {c}/{self._cgroup(n)}/cgroup.procs; fi" for c in CGROUP_ROOTS]
        head, rest = text.split("\n", 1)
        return "\n".join([head, *moves, rest])

    def _cgroup(self, n: NodeLayout) -> str:
        return f"blackstart-lab-{self.dir.name}-{n.name}"

    def _remove_cgroups(self, n: NodeLayout) -> None:
        """Depth first: a cgroup dir goes once it has no children and no processes."""
        for c in CGROUP_ROOTS:
            top = Path(c) / self._cgroup(n)
            if not top.is_dir():
                continue
            for d in sorted((p for p in top.rglob("*") if p.is_dir()),
                            key=lambda p: len(p.parts), reverse=True) + [top]:
                with contextlib.suppress(OSError):
                    d.rmdir()

    def boot(self, n: NodeLayout) -> int:
        if not os.path.exists(SYSTEMD):
            raise LabError(f"{SYSTEMD}: no systemd here (apt-get install systemd)")
        return super().boot(n)

    # ------------------------------------------------------------------ units

    def systemctl(self, name: str, *args: str, timeout: float = 60.0) -> str:
        r = self.node_run(name, ["systemctl", *args], timeout=timeout)
        return (r.stdout or "").strip()

    def running(self, member: str, service: str = "etcd") -> int | None:
        n = self.node(member)
        if self.init_pid(n.name) is None:
            return None
        if service in ("node", "systemd"):
            return self.init_pid(n.name)
        unit = UNITS.get(service)
        if unit is None:
            return None
        pid = self.systemctl(n.name, "show", "-p", "MainPID", "--value", unit)
        if not pid.isdigit() or pid == "0":
            return None
        return self.ns_to_host_pid(n.name, int(pid))

    def main_pids(self, name: str) -> dict[str, int | None]:
        """{service: host pid or None} of every unit, in one systemctl call."""
        out: dict[str, int | None] = dict.fromkeys(UNITS)
        if self.init_pid(name) is None:
            return out
        text = self.systemctl(name, "show", "-p", "Id,MainPID", *UNITS.values())
        by_unit = {u: s for s, u in UNITS.items()}
        for block in text.split("\n\n"):  # one block per unit, properties in any order
            props = dict(line.partition("=")[::2] for line in block.splitlines())
            svc, pid = by_unit.get(props.get("Id", "")), props.get("MainPID", "")
            if svc and pid.isdigit() and pid != "0":
                out[svc] = self.ns_to_host_pid(name, int(pid))
        return out

    def status(self) -> dict[str, Any]:
        members = []
        for n in self.nodes:
            services: dict[str, int | None] = {**self.main_pids(n.name),
                                               "systemd": self.init_pid(n.name)}
            members.append({"name": n.name, "ip": n.ip, "client_url": n.spec.client_url,
                            "healthy": health(n.ip, 1.0), "services": services,
                            "etcd_log": self._etcd_log(n), "init_pid": self.init_pid(n.name)})
        return {"dir": str(self.dir), "shape": self.shape, "net": self.net,
                "etcd": self.bins.etcd, "ssh": True, "ssh_port": self.ssh_port,
                "created": self.params_path.exists(), "inventory": None, "members": members,
                "healthy": sum(1 for m in members if m["healthy"])}

    def start(self, member: str, service: str = "etcd") -> int | None:
        n = self.node(member)
        if service not in NODE_SERVICES:
            raise LabError(f"unknown service {service!r} (one of {', '.join(NODE_SERVICES)})")
        if self.init_pid(n.name) is None:
            self.boot(n)
        pid = self.running(n.name, service)
        if pid is not None:
            with contextlib.suppress(psutil.Error):
                if psutil.Process(pid).status() == psutil.STATUS_STOPPED:
                    os.kill(pid, signal.SIGCONT)
            return pid
        if service in UNITS:
            self.systemctl(n.name, "start", "--no-block", UNITS[service])
        return self.running(n.name, service)

    def stop(self, member: str, service: str = "etcd") -> None:
        n = self.node(member)
        if self.init_pid(n.name) is None:
            return
        if service == "node":
            self._shutdown(n, 0.0)
            return
        if service in UNITS:
            self.systemctl(n.name, "stop", UNITS[service])

    def wait_started(self, member: str, timeout: float = 10.0) -> str:
        n = self.node(member)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            state = self.systemctl(n.name, "is-active", "etcd.service")
            if state in ("failed", "activating") and self._restarts(n.name) > 0:
                return "exited"
            if state == "active":
                return "serving"
            time.sleep(0.2)
        return "starting"

    def _restarts(self, name: str) -> int:
        out = self.systemctl(name, "show", "-p", "NRestarts", "--value", "etcd.service")
        return int(out) if out.isdigit() else 0

    def _wait_pod(self, name: str, service: str, want_running: bool, timeout: float) -> None:
        return None

    def kubelet_state(self, name: str) -> dict[str, Any]:
        return {"node": name, "pods": []}

    def crictl_ps(self, name: str) -> str:
        raise LabError("a systemd-shaped node has no kubelet: use "
                       f"`lab shell {name} -- systemctl status etcd`")

    def _etcd_log(self, n: NodeLayout) -> str:
        return f"journalctl -u etcd on {n.name}"

    def etcd_log(self, member: str) -> Path:
        return Path(self._etcd_log(self.node(member)))

    def _shutdown(self, n: NodeLayout, grace: float = 3.0) -> None:
        """Units asked to stop for `grace` seconds, then PID 1 SIGKILLed (§9): the kernel
        ends everything in the namespace. systemd's own poweroff is never used."""
        if self.init_pid(n.name) is not None and grace > 0:
            with contextlib.suppress(Exception):
                self.systemctl(n.name, "stop", *[UNITS[s] for s in SERVICES],
                               timeout=max(grace, 1.0))
        procs.signal_all([self.init_pidfile(n)], signal.SIGKILL)
        procs.wait_gone([self.init_pidfile(n)], 5.0)
        procs.wait_gone([self.unshare_pidfile(n)], 5.0)
        procs.stop([self.unshare_pidfile(n), self.init_pidfile(n)], timeout=2.0)
        self._remove_cgroups(n)

    def down(self) -> None:
        for n in self.nodes:
            self._shutdown(n, 0.0)
        self._sweep()
