"""A lab node's own filesystem: what is mounted where inside its mount namespace.

The node boots under `unshare --pid --fork --mount --uts --mount-proc` with the shell
script `boot_script` renders. Inside the new mount namespace, after `mount --make-rprivate
/` (so nothing propagates back to the host):

    /             overlayfs: lower = the host's /, upper = a tmpfs (the node may create
                  mount points like /backup without touching the host; other writes
                  outside the binds below vanish at power-off)
    /etc          overlayfs: lower = the host's /etc, upper = DIR/nodes/<n>/etc (persistent)
    /etc/kubernetes /var/lib /var/log /backup /root /run /tmp
                  bind mounts of DIR/nodes/<n>/<same path> (the host's are hidden)
    /dev /sys     the host's (rbind); /proc is the node's own (its PID namespace)

plus bind mounts of the paths the node's processes run from (this checkout, the Python
environment, the etcd build) when those live under one of the hidden dirs. Then
`pivot_root` into it, set the hostname, and exec PID 1 (lab.nodeinit). The host never
sees any of it: every mount dies with the namespace when its last process does.

Host side, DIR/nodes/<n>/<path> *is* the node's <path> (for /etc: what the node changed
or added), so the lab reads and breaks a node's files there.
"""

from __future__ import annotations

import shlex
from pathlib import Path

# Dirs the node owns outright (bind mounts of DIR/nodes/<n>/<dir>). /etc/kubernetes is
# bound over the /etc overlay: the lab (and its faults) change manifests and certs from
# the host side, and overlayfs does not promise to show changes made to its upper dir
# behind its back; a bind mount does.
OWN_DIRS = ("etc/kubernetes", "var/lib", "var/log", "backup", "root", "run", "tmp")
# Made inside them on creation, kubeadm's and the kubelet's places.
NODE_DIRS = ("etc/kubernetes/manifests", "etc/kubernetes/pki/etcd", "var/lib/etcd",
             "var/lib/kubelet", "var/log/pods", "var/log/containers", "backup/etcd",
             "root/.ssh", "run", "tmp")
STAGE = ".stage"  # mount point of the node's private tmpfs (root overlay's upper)
ETC_WORK = ".etc-work"  # overlayfs workdir for /etc


def hidden_by_node(path: Path) -> bool:
    """Is `path` under a dir the node replaces (so it must be bound in to be seen)?"""
    rel = str(path).lstrip("/")
    return any(rel == d or rel.startswith(d + "/") for d in OWN_DIRS)


def boot_script(node_dir: Path, hostname: str, shared: list[Path], init: list[str],
                tmpfs: tuple[str, ...] = ()) -> str:
    """The shell script PID 1 of a new node namespace runs before exec'ing `init` (pure).

    `tmpfs`: dirs that get a fresh private tmpfs instead of the node's own dir (the systemd
    shape: /tmp, /var/tmp and /run, mounted after the overlay, ETCD_FACTS §9)."""
    q = shlex.quote
    n, s = str(node_dir), str(node_dir / STAGE)
    r = f"{s}/root"
    lines = [
        "set -eu",
        "mount --make-rprivate /",
        f"mount -t tmpfs -o mode=0755 lab-stage {q(s)}",
        f"mkdir -p {q(s)}/upper {q(s)}/work {q(r)}",
        f"mount -t overlay lab-root -o {q(f'lowerdir=/,upperdir={s}/upper,workdir={s}/work')}"
        f" {q(r)}",
        f"mount --rbind /dev {q(r)}/dev",
        f"mount --rbind /sys {q(r)}/sys",
        f"mount -t proc proc {q(r)}/proc",
        f"mount -t overlay lab-etc -o "
        f"{q(f'lowerdir=/etc,upperdir={n}/etc,workdir={n}/{ETC_WORK}')} {q(r)}/etc",
    ]
    for d in OWN_DIRS:
        if d not in tmpfs:
            lines += [f"mkdir -p {q(r)}/{d}", f"mount --bind {q(n)}/{d} {q(r)}/{d}"]
    for d in tmpfs:
        lines += [f"mkdir -p {q(r)}/{d}", f"mount -t tmpfs -o mode=1777 lab-{d.replace('/', '-')} "
                  f"{q(r)}/{d}"]
    for p in shared:
        if hidden_by_node(p):
            lines += [f"mkdir -p {q(r + str(p))}", f"mount --rbind {q(str(p))} {q(r + str(p))}"]
    lines += [
        f"hostname {q(hostname)}",
        f"cd {q(r)}",
        "mkdir -p .oldroot",
        "pivot_root . .oldroot",
        "cd /",
        "umount -l /.oldroot",
        "rmdir /.oldroot",
        "exec " + " ".join(q(a) for a in init),
    ]
    return "\n".join(lines) + "\n"


def node_path(node_dir: Path, inside: str) -> Path:
    """Where a path inside the node is seen from the host (its own dirs and /etc only)."""
    return node_dir / inside.lstrip("/")
