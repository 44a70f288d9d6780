"""Record what every probe returns against a real lab, for the screenshots and SVG tests.

    .venv/bin/python tests/data/recorded/record.py --net 127.0.31 [OUT_DIR]

Starts a real 3-member lab of the shape `blackstart demo` uses (flat) in a temporary
directory and
writes one JSON recording (blackstart.checks.recording) per scenario:

- healthy.json: right after `lab up`;
- seed-outage.json: then the seed's outage exactly as `blackstart demo` breaks a fresh lab
  (blackstart.lab.outage.SEED_OUTAGE: power cut, etcd1's server cert expired, etcd2's WAL
  corrupt), members left as the power cut left them;
- power-back.json: then `lab up` (what `blackstart demo` shows when run again on the
  still-broken lab): etcd1 serves an expired cert, etcd2 cannot start, etcd3 is up;
- seed-outage.restore-plan.json: the runbook's real restore plan for seed-outage (the
  plan the confirmation dialog shows), planned on the live lab.

Only the probes' raw results are stored; findings and verdicts are never recorded: they
come from the real `assemble_report`/`diagnose` when the recording is replayed. (One
exception, see `only_this_lab`: control-plane processes of other labs running on the same
machine are recorded as this lab's, not running.) The lab's
temporary directory is written as /srv/lab, the etcd binaries' directory as /usr/local/bin
and this venv as /usr/local, so the pictures do not change with the machine. The lab
is stopped and removed at the end, whatever happens.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from blackstart.checks.discovery.inventory import load_inventory
from blackstart.checks.model import Cluster
from blackstart.checks.probe_results import ProcessInfo
from blackstart.checks.probes.context import ProbeContext
from blackstart.checks.probes.engine import PROBES, run_probe
from blackstart.checks.reasoning.report import assemble_report
from blackstart.checks.recording import Recording, recording_to_json
from blackstart.checks.requests import BestSource, Restore
from blackstart.lab.cluster import Lab
from blackstart.lab.outage import break_seed_outage
from blackstart.lab.shapes import open_lab
from blackstart.runbook.planner import plan_for

HERE = Path(__file__).resolve().parent
SHOWN_DIR = "/srv/lab"
SHOWN_BIN = "/usr/local/bin"  # where etcd, etcdctl and etcdutl are shown to live
SHOWN_PREFIX = "/usr/local"  # blackstart's own venv (the stand-ins' python)
SETTLE = 3.0  # seconds for the control-plane stand-ins to log what they see
PENDING_ROUNDS = 20  # snapshot verification still running: probe again, at most this often


async def _probe_all(cluster: Cluster, cache: dict[str, Any]) -> tuple[dict[str, list[Any]],
                                                                          dict[str, str]]:
    ctx = ProbeContext(cluster=cluster, cache=cache)
    try:
        runs = await asyncio.gather(*(run_probe(name, ctx) for name in PROBES))
    finally:
        await ctx.close()
    results = {r.name: list(r.results) for r in runs}
    errors = {r.name: r.error for r in runs if r.error is not None}
    return results, errors


def probe_until_settled(cluster: Cluster) -> tuple[dict[str, list[Any]], dict[str, str]]:
    """Every probe once, again while a snapshot's verification is still pending."""
    cache: dict[str, Any] = {}
    for _ in range(PENDING_ROUNDS):
        results, errors = asyncio.run(_probe_all(cluster, cache))
        if not any(getattr(r, "pending", False) for items in results.values() for r in items):
            return results, errors
        time.sleep(1.0)
    raise SystemExit("snapshot verification did not finish: not recording a pending state")


def only_this_lab(results: dict[str, list[Any]], lab: Lab) -> dict[str, list[Any]]:
    """Processes of *other* labs on this shared machine, as this lab's: not running.

    The processes probe finds a node's control plane by name, and every lab on one machine
    is "local"; on a real master only its own cluster runs. What the probe would have
    said with this lab alone is that its own (killed) process is not running."""
    mine = str(lab.dir)
    procs = [p if not p.running or mine in " ".join(p.cmdline)
             else ProcessInfo(p.node, p.name, None, False, member=p.member)
             for p in results.get("processes", [])]
    return {**results, "processes": procs} if "processes" in results else results


def record(lab: Lab, scenario: str, how: str, out: Path) -> Recording:
    time.sleep(SETTLE)
    cluster = load_inventory(config=str(lab.inventory_path))
    results, errors = probe_until_settled(cluster)
    results = only_this_lab(results, lab)
    rec = Recording(scenario, how, time.time(), cluster, results, errors)
    _write(out / f"{scenario}.json", recording_to_json(rec), lab)
    return rec


def record_restore_plan(lab: Lab, rec: Recording, out: Path) -> None:
    """The plan `R` asks for: restore from the verdict's source, else the best-ranked one."""
    report = assemble_report(rec.cluster, rec.results, rec.taken_at, rec.errors)
    plan = plan_for(Restore(report.best_source or BestSource()), rec.cluster, report)
    _write(out / f"{rec.scenario}.restore-plan.json", plan.to_json(), lab)


def _write(path: Path, doc: Any, lab: Lab) -> None:
    text = json.dumps(doc, indent=1, sort_keys=False) + "\n"
    for real, shown in ((str(lab.dir), SHOWN_DIR), (str(Path(lab.bins.etcd).parent), SHOWN_BIN),
                        (sys.prefix, SHOWN_PREFIX)):
        text = text.replace(real, shown)
    path.write_text(text)
    print(path)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", nargs="?", default=str(HERE), type=Path)
    ap.add_argument("--net", required=True, help="lab net, e.g. 127.0.31 (loopback only)")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="blackstart-record-") as tmp:
        lab = open_lab(Path(tmp) / "lab", shape="flat", net=args.net)  # as `demo --shape flat`
        try:
            lab.up()
            record(lab, "healthy", "a fresh lab, right after `blackstart lab up`", args.out)
            done = break_seed_outage(lab)
            rec = record(lab, "seed-outage", "the seed's outage as `blackstart demo` breaks a "
                         "fresh lab: " + "; ".join(done), args.out)
            record_restore_plan(lab, rec, args.out)
            lab.up()
            record(lab, "power-back", "then `blackstart lab up` (the power comes back)",
                   args.out)
        finally:
            lab.down()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
