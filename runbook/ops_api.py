"""Step handlers that call the etcd API of one member: member add/remove (in `member_ops`),
a snapshot saved through a fresh temp file and verified before it gets its name, defrag,
and disarming alarms.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from blackstart.checks.requests import ALL_ALARMS
from blackstart.runbook import etcdapi, safe_files
from blackstart.runbook.plan import Step
from blackstart.runbook.preflight import file_sha256
from blackstart.runbook.runner import Outcome, Runner


async def op_api(r: Runner, step: Step, previous: str | None) -> Outcome:
    from blackstart.runbook import member_ops

    call, m = step.args.get("call"), r.cluster.member(str(step.args["member"]))
    if call in ("member-remove", "member-add"):
        return await member_ops.member_call(r, step)
    if call == "snapshot":
        return await _snapshot(r, step)
    if call == "defrag":
        await asyncio.to_thread(etcdapi.defragment, r.cluster, m)
        return Outcome("ok", r.say(f"defragmented {m.name}"))
    if call == "disarm":
        only = str(step.args.get("alarm", ALL_ALARMS))
        active = await asyncio.to_thread(etcdapi.disarm_alarms, r.cluster, m, 10.0,
                                         None if only == ALL_ALARMS else only)
        return Outcome("ok", r.say(f"disarmed: {', '.join(active) or 'no active alarm'}"))
    return Outcome("failed", error=f"unknown api call {call!r}")


class _SnapshotInvalid(Exception):
    pass


async def _snapshot(r: Runner, step: Step) -> Outcome:
    from blackstart.checks.formats.snapshot_file import verify_snapshot_file

    m, dest = r.cluster.member(str(step.args["member"])), Path(str(step.args["dest"]))
    safe_files.state_subdir(r.cluster.state_dir)
    safe_files.private_dir(dest.parent, own=True)

    def save() -> Any:
        # a fresh unguessable temp beside the final name; on any error (a full disk
        # included) it is removed, so nothing is left to fill the disk
        with safe_files.staged(dest, replace=False) as st:
            etcdapi.save_snapshot(r.cluster, m, st.fh, timeout=step.timeout)
            st.fh.flush()
            v = verify_snapshot_file(st.temp)
            if not v.valid or v.sha256_ok is not True:
                raise _SnapshotInvalid(f"saved snapshot does not verify: {v.error}")
        return v

    try:
        v = await asyncio.to_thread(save)
    except _SnapshotInvalid as exc:
        return Outcome("failed", error=f"{dest}: {exc}")
    except OSError as exc:
        return Outcome("failed", error=f"cannot write the snapshot {dest}: "
                                       f"{exc.strerror or exc} (nothing was left behind)")
    info = {"path": str(dest), "revision": v.revision, "total_keys": v.total_keys,
            "sha256": file_sha256(str(dest)), "member": m.name}
    return Outcome("ok", r.say(json.dumps(info)))
