"""Faults of a node as a host: frozen etcd, unreachable node, changed host key, full disk,
a clock off. Real each one, done inside the node (lab.nodehost's node_run) where the node's
own view matters.

- blackhole: SIGSTOP of the member's etcd; TCP still connects (the kernel accepts), nothing
  answers. `lab start --service etcd` sends SIGCONT. (Works on the flat lab too.)
- unreachable: the node's sshd is stopped (its etcd keeps running); `lab start --service
  sshd` starts it again.
- change-host-key: a new ed25519 host key made inside the node (old one kept as
  ssh_host_ed25519_key.<stamp>); every other node's known_hosts still has the old key.
- disk-full: a small tmpfs mounted over the node's /backup/etcd (or /var/lib/etcd with
  --path), what was there copied in, the rest filled: ENOSPC on the next write. Inside the
  node's mount namespace only; `lab shell NODE -- umount PATH` undoes it.
- clock-off: libfaketime preloaded into every session on the node from then on (sshd's
  `SetEnv LD_PRELOAD=... FAKETIME=...`, and `lab shell`, which reads /etc/faketimerc): what
  an SSH session or an operator there runs (`date`, blackstart) sees the offset. Not
  node-wide through /etc/ld.so.preload: sshd's seccomp-sandboxed pre-auth child is killed
  (SIGSYS) by what libfaketime calls. A Linux time namespace cannot do this: it offsets
  CLOCK_MONOTONIC and CLOCK_BOOTTIME only, never the wall clock. etcd (Go, static, reads
  the vDSO) does not see it; that is a fake "now" for what is read on the node, as issue 10
  allows for the certificate and clock probes, not a real per-node clock.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import signal
from typing import TYPE_CHECKING, cast

import psutil

from blackstart.lab.errors import LabError

if TYPE_CHECKING:
    from blackstart.lab.cluster import Lab
    from blackstart.lab.kubeadm import KubeadmLab

FAKETIME_LIB = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"
DISK_PATHS = ("/backup/etcd", "/var/lib/etcd")
OFFSET = re.compile(r"^[+-]\d+[smhdy]?$")


def _err(msg: str) -> Exception:
    return LabError(msg)


def _kubeadm(lab: Lab, fault: str) -> KubeadmLab:
    # By shape, not isinstance: importing lab.kubeadm here would close an import circle
    # (kubeadm -> cluster -> faults -> nodefaults).
    if lab.shape not in ("kubeadm", "systemd"):
        raise _err(f"{fault}: needs a kubeadm-shaped lab (nodes that are hosts)")
    return cast("KubeadmLab", lab)


def _stamp() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")


def _inside(lab: KubeadmLab, name: str, script: str, what: str) -> str:
    r = lab.node_run(name, ["sh", "-c", script])
    if r.returncode != 0:
        raise _err(f"{name}: {what} failed: {(r.stderr or r.stdout).strip()[-400:]}")
    return r.stdout.strip()


def blackhole(lab: Lab, member: str | None, opts: dict[str, str]) -> str:
    n = lab.node(member)
    pid = lab.running(n.name, "etcd")
    if pid is None:
        raise _err(f"{n.name}: etcd is not running; nothing to blackhole")
    os.kill(pid, signal.SIGSTOP)
    return (f"{n.name}: etcd (pid {pid}) SIGSTOPped: its ports accept TCP connections and "
            "nothing answers; `lab start --service etcd` sends SIGCONT")


def thaw(pid: int) -> bool:
    """SIGCONT a stopped (blackholed) process; True when it was stopped."""
    with contextlib.suppress(psutil.Error):
        if psutil.Process(pid).status() == psutil.STATUS_STOPPED:
            os.kill(pid, signal.SIGCONT)
            return True
    return False


def unreachable(lab: Lab, member: str | None, opts: dict[str, str]) -> str:
    k = _kubeadm(lab, "unreachable")
    n = k.node(member)
    k.stop(n.name, "sshd")
    return (f"{n.name}: sshd stopped ({n.ip}:{k.ssh_port} refuses connections; etcd still "
            "runs); `lab start --service sshd` brings it back")


def change_host_key(lab: Lab, member: str | None, opts: dict[str, str]) -> str:
    k = _kubeadm(lab, "change-host-key")
    n = k.node(member)
    key = "/etc/ssh/ssh_host_ed25519_key"
    aside = f"{key}.{_stamp()}"
    _inside(k, n.name, f"mv {key} {aside} && mv {key}.pub {aside}.pub && "
                       f"ssh-keygen -q -t ed25519 -N '' -C root@{n.name} -f {key}",
            "making a new host key")
    return (f"{n.name}: new SSH host key {key} (old one kept as {aside}); the other nodes' "
            "known_hosts still name the old key")


def disk_full(lab: Lab, member: str | None, opts: dict[str, str]) -> str:
    k = _kubeadm(lab, "disk-full")
    n = k.node(member)
    path = opts.get("path") or DISK_PATHS[0]
    if path not in DISK_PATHS:
        raise _err(f"--path {path!r}: one of {', '.join(DISK_PATHS)}")
    data = path == "/var/lib/etcd"
    was = data and k.running(n.name, "etcd") is not None
    if was:
        k.stop(n.name, "etcd")
    used = _inside(k, n.name, f"du -sk {path} | cut -f1", "measuring")
    size_kb = int(used or "0") + 2048
    stage = f"/run/disk-full-{_stamp()}"
    _inside(k, n.name, "set -e; "
            f"mkdir -p {stage}; cp -a {path}/. {stage}/; "
            f"mount -t tmpfs -o size={size_kb}k lab-disk-full {path}; "
            f"cp -a {stage}/. {path}/; rm -rf {stage}; "
            f"mkdir {path}/.disk-full; "
            f"dd if=/dev/zero of={path}/.disk-full/filler bs=64k 2>/dev/null || true; "
            f"test \"$(df --output=avail -k {path} | tail -1 | tr -d ' ')\" -lt 64",
            f"filling {path}")
    note = ""
    if was:
        k.start(n.name, "etcd")
        note = f"; etcd started again: {k.wait_started(n.name, 10.0)}"
    return (f"{n.name}: {path} is now a full {size_kb} KiB tmpfs (what was there copied in, "
            f"the rest filled by {path}/.disk-full/filler){note}; "
            f"`lab shell {n.name} -- umount {path}` undoes it")


def _wait_listening(ip: str, port: int, timeout: float = 10.0) -> None:
    import socket
    import time

    time.sleep(0.2)  # the old listener closes before the re-exec'd one opens
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        with contextlib.suppress(OSError), socket.create_connection((ip, port), 0.5):
            return
        time.sleep(0.05)
    raise _err(f"sshd on {ip}:{port} did not come back after SIGHUP")


def clock_off(lab: Lab, member: str | None, opts: dict[str, str]) -> str:
    k = _kubeadm(lab, "clock-off")
    n = k.node(member)
    offset = opts.get("offset") or "-400d"
    if not OFFSET.match(offset):
        raise _err(f"--offset {offset!r}: like -400d, +2h or +90 (s, m, h, d, y)")
    if not os.path.exists(FAKETIME_LIB):
        raise _err(f"clock-off needs libfaketime ({FAKETIME_LIB}): apt-get install libfaketime")
    env = f"LD_PRELOAD={FAKETIME_LIB} FAKETIME={offset}"
    _inside(k, n.name, f"echo {offset} > /etc/faketimerc && "
                       f"sed -i 's|^SetEnv PATH=\\([^ ]*\\).*|SetEnv PATH=\\1 {env}|' "
                       "/etc/ssh/sshd_config && grep -q FAKETIME /etc/ssh/sshd_config && "
                       # sshd reads its config at start and on SIGHUP only
                       "kill -HUP $(cat /run/sshd.pid)",
            "preloading libfaketime into sessions")
    _wait_listening(n.ip, k.ssh_port)
    return (f"{n.name}: clock {offset} for every session on the node from now on "
            "(libfaketime through sshd's SetEnv and `lab shell`; /etc/faketimerc says so; "
            "not etcd, which is Go and reads the kernel's clock directly: no Linux namespace "
            "offsets the wall clock)")
