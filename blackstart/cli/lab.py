"""`blackstart lab ...` and `blackstart demo`: a real local cluster to break."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import click

from blackstart.cli import cli
from blackstart.cli.errors import OperatorError

FAULTS = ("power-cut", "stop-member", "expire-cert", "not-yet-valid", "corrupt-wal",
          "tear-wal", "truncate-snapshot", "nospace", "blackhole", "unreachable",
          "change-host-key", "disk-full", "clock-off")
SERVICE_NAMES = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler",
                 "sshd", "kubelet", "node")
DEMO_DIR = Path("~/.local/state/blackstart/demo")
# The seed's outage, in the order `blackstart demo` breaks a fresh lab (the screenshots'
# recorder, tests/data/recorded/record.py, breaks its lab the same way).

dir_option = click.option("--dir", "dir_", required=True, type=click.Path(path_type=Path),
                          help="The lab's directory (DIR/blackstart.toml is its inventory).")


def _lab(dir_: Path, **kw: Any) -> Any:
    from blackstart.lab.errors import LabError
    from blackstart.lab.shapes import open_lab

    try:
        return open_lab(dir_, **kw)
    except LabError as exc:
        raise OperatorError(exc) from exc


def _existing(dir_: Path) -> Any:
    the_lab = _lab(dir_)
    if not the_lab.params_path.exists():
        raise click.ClickException(f"{the_lab.dir}: no lab here (run `blackstart lab up`)")
    return the_lab


def _guard(fn: Any, *args: Any, **kw: Any) -> Any:
    """Run a lab call; a LabError becomes a clean one-line error, not a traceback."""
    from blackstart.lab.errors import LabError

    try:
        return fn(*args, **kw)
    except LabError as exc:
        raise OperatorError(exc) from exc


def print_status(st: dict[str, Any]) -> None:
    click.echo(f"lab {st['dir']}  net {st['net']}.x  etcd {st['etcd']}"
               f"{'  ssh' if st['ssh'] else ''}")
    for m in st["members"]:
        svcs = "  ".join(f"{k}={'up' if v else 'down'}" for k, v in m["services"].items())
        click.echo(f"  {m['name']:6} {m['client_url']:24} "
                   f"{'healthy' if m['healthy'] else 'UNHEALTHY':9}  {svcs}")
    click.echo(f"  {st['healthy']}/{len(st['members'])} healthy; inventory: {st['inventory']}")


@cli.group()
def lab() -> None:
    """A real etcd cluster on loopback, shaped like kubeadm masters, to break and recover."""


@lab.command("up")
@dir_option
@click.option("--members", default=None, type=int, help="Members for a new lab [3].")
@click.option("--etcd", default=None, help="Another etcd binary (e.g. /usr/bin/etcd, 3.4).")
@click.option("--shape", type=click.Choice(["kubeadm", "systemd", "flat"]), default=None,
              help="kubeadm: every node its own host (namespaces, kubelet, sshd on :22); "
                   "systemd: the same hosts with a real systemd as PID 1 and etcd and the "
                   "control plane as units; flat: one filesystem, fast [kubeadm].")
@click.option("--ssh", is_flag=True, help="Flat shape: also run an OpenSSH sshd per node.")
@click.option("--net", default=None,
              help="Member N listens on NET.N (inside 127/8) [127.0.0].")
@click.option("--json", "as_json", is_flag=True)
def up_cmd(*, dir_: Path, members: int | None, etcd: str | None, shape: str | None, ssh: bool,
           net: str | None, as_json: bool) -> None:
    """Start the lab (create it first if DIR is new) and wait until it is healthy.

    On an existing kubeadm lab after a power cut this is the power coming back."""
    the_lab = _lab(dir_, shape=shape, members=members or 3, etcd=etcd, ssh=ssh,
                   net=net or "127.0.0")
    given = {"members": members, "etcd": etcd, "ssh": ssh or None, "net": net}
    kept = {k: v for k, v in given.items() if v is not None and getattr(the_lab, k) != v}
    if kept and the_lab.params_path.exists():
        click.echo(f"existing lab: keeping its {', '.join(kept)} from {the_lab.params_path}")
    start = time.monotonic()
    st = _guard(the_lab.up)
    took = time.monotonic() - start
    if as_json:
        click.echo(json.dumps(st | {"took": took}, indent=2))
        return
    print_status(st)
    sick = [m for m in st["members"] if not m["healthy"]]
    if not sick:
        click.echo(f"  up and healthy in {took:.1f}s")
        return
    for m in sick:
        click.echo(f"  {m['name']} is not healthy; its log: {m['etcd_log']}", err=True)
    sys.exit(1)


@lab.command("down")
@dir_option
def down_cmd(dir_: Path) -> None:
    """Stop every process the lab started (data, certs and logs stay)."""
    the_lab = _existing(dir_)
    _guard(the_lab.down)
    left = the_lab.stray_processes()
    if left:
        raise click.ClickException(f"still running: {[p.pid for p in left]}")
    click.echo(f"lab {the_lab.dir}: stopped, no process left")


@lab.command("status")
@dir_option
@click.option("--json", "as_json", is_flag=True)
def status_cmd(dir_: Path, as_json: bool) -> None:
    """Members, their health and which services run."""
    st = _existing(dir_).status()
    click.echo(json.dumps(st, indent=2)) if as_json else print_status(st)


def _service_options(fn: Any) -> Any:
    fn = click.option("--service", default="etcd", show_default=True,
                      type=click.Choice(SERVICE_NAMES))(fn)
    fn = click.option("--member", required=True, help="Node/member name, e.g. etcd1.")(fn)
    return dir_option(fn)


@lab.command("start")
@_service_options
@click.option("--wait", default=10.0, show_default=True,
              help="For etcd: seconds to wait for it to serve or die.")
def start_cmd(dir_: Path, member: str, service: str, wait: float) -> None:
    """Start one service on one node (used by the inventory's [[services]])."""
    the_lab = _existing(dir_)
    pid = _guard(the_lab.start, member, service)
    if service != "etcd":
        click.echo(f"{member}: {service} running (pid {pid})")
        return
    verdict = _guard(the_lab.wait_started, member, wait)
    click.echo(f"{member}: etcd {verdict} (pid {pid}); log: {the_lab.etcd_log(member)}")
    if verdict == "exited":
        sys.exit(1)


@lab.command("stop")
@_service_options
def stop_cmd(dir_: Path, member: str, service: str) -> None:
    """Stop one service on one node."""
    the_lab = _existing(dir_)
    _guard(the_lab.stop, member, service)
    click.echo(f"{member}: {service} stopped")


def _kubeadm(dir_: Path) -> Any:
    the_lab = _existing(dir_)
    if the_lab.shape not in ("kubeadm", "systemd"):
        raise click.ClickException(f"{the_lab.dir}: a {the_lab.shape} lab has no node hosts "
                                   "(this needs `lab up --shape kubeadm`)")
    return the_lab


@lab.command("shell", context_settings={"ignore_unknown_options": True})
@click.argument("node")
@click.argument("argv", nargs=-1, type=click.UNPROCESSED)
@dir_option
def shell_cmd(node: str, argv: tuple[str, ...], dir_: Path) -> None:
    """Run ARGV (default: a login shell) inside NODE, as root on that master.

    \b
    blackstart lab shell master01 --dir DIR -- blackstart check --json"""
    import os

    the_lab = _kubeadm(dir_)
    full = _guard(the_lab.shell_argv, node, list(argv) or ["/bin/bash", "-l"])
    sys.stdout.flush()
    os.execvp(full[0], full)


@lab.command("crictl")
@click.argument("node")
@click.argument("what", type=click.Choice(["ps"]))
@click.option("-a", "--all", "all_", is_flag=True, help="Exited containers too (always shown).")
@dir_option
def crictl_cmd(node: str, what: str, all_: bool, dir_: Path) -> None:
    """What NODE's kubelet runs: `crictl ps -a` with each container's exit code."""
    the_lab = _kubeadm(dir_)
    the_lab.node(node)
    click.echo(the_lab.crictl_ps(node), nl=False)


@lab.command("break")
@click.argument("fault", type=click.Choice(FAULTS))
@dir_option
@click.option("--member", default=None, help="Target member (default: etcd1).")
@click.option("--cert", default="server", show_default=True,
              type=click.Choice(["server", "peer", "client", "healthcheck-client"]),
              help="Which certificate expire-cert / not-yet-valid reissues.")
@click.option("--path", default=None,
              help="disk-full: /backup/etcd (default) or /var/lib/etcd.")
@click.option("--offset", default=None, help="clock-off: e.g. -400d (default), +2h.")
def break_cmd(fault: str, *, dir_: Path, member: str | None, cert: str, path: str | None,
              offset: str | None) -> None:
    """Inject FAULT for real (blackhole, unreachable, change-host-key, disk-full and
    clock-off need a kubeadm-shaped lab, except blackhole)."""
    the_lab = _existing(dir_)
    opts = {k: v for k, v in (("path", path), ("offset", offset)) if v}
    click.echo(_guard(the_lab.break_fault, fault, member, cert, **opts))


@cli.command("demo")
@click.option("--dir", "dir_", default=str(DEMO_DIR), show_default=True,
              type=click.Path(path_type=Path))
@click.option("--net", default="127.0.0", show_default=True)
@click.option("--shape", type=click.Choice(["auto", "kubeadm", "flat"]), default="auto",
              show_default=True,
              help="auto: kubeadm (the TUI opens inside master01, as on a real master) when "
                   "this machine can run it (root, namespaces, sshd), else flat.")
def demo_cmd(dir_: Path, net: str, shape: str) -> None:
    """A lab with the seed's outage (power cut, the first master's server cert expired, the
    second's WAL corrupt), then the TUI on it."""
    from blackstart.lab.shapes import kubeadm_missing, saved_shape

    dir_ = dir_.expanduser()
    chosen = saved_shape(dir_) or _demo_shape(shape, kubeadm_missing())
    the_lab = _lab(dir_, shape=chosen, net=net)
    fresh = not the_lab.params_path.exists()
    click.echo(f"{'creating' if fresh else 'bringing back'} the demo lab ({chosen} shape) in "
               f"{the_lab.dir} ...")
    _guard(the_lab.up)  # an existing lab comes back as far as it goes
    if fresh or _all_healthy(the_lab):
        # a new lab, or one the operator already recovered: the seed's outage (again)
        from blackstart.lab.outage import break_seed_outage

        for said in _guard(break_seed_outage, the_lab):
            click.echo(said)
    else:
        click.echo("the demo lab is still broken from before: showing it as it is")
    if chosen == "flat":
        _open(the_lab)
        return
    # a powered-off master has no shell to open: the power comes back (kubelets start
    # their pods; etcd on the first master serves its expired cert, the second crash-loops)
    _power_back(the_lab)
    _open_in_node(the_lab, the_lab.nodes[0].name)


def _power_back(the_lab: Any) -> None:
    from blackstart.lab.outage import power_back

    power_back(the_lab)
    click.echo("the power is back: the kubelets started their pods")


def _demo_shape(asked: str, kubeadm_lacks: str | None) -> str:
    if asked != "auto":
        if asked == "kubeadm" and kubeadm_lacks:
            raise click.UsageError(f"--shape kubeadm needs {kubeadm_lacks}; use --shape flat")
        return asked
    if kubeadm_lacks:
        click.echo(f"(flat lab: the kubeadm-shaped one needs {kubeadm_lacks})")
        return "flat"
    return "kubeadm"


def _open_in_node(the_lab: Any, node: str) -> None:
    """The TUI as an operator runs it: `blackstart`, no options, as root on the master."""
    import os

    click.echo(f"opening blackstart inside {node} (zero configuration); "
               f"a shell there: blackstart lab shell {node} --dir {the_lab.dir}")
    argv = _guard(the_lab.shell_argv, node, ["blackstart"])
    sys.stdout.flush()
    os.execvp(argv[0], argv)


def _all_healthy(the_lab: Any) -> bool:
    from blackstart.lab.liveness import health

    return all(health(n.ip, 1.0) for n in the_lab.nodes)


def _open(the_lab: Any) -> None:
    from blackstart.cli.tui import open_tui

    open_tui(config=str(the_lab.inventory_path))
