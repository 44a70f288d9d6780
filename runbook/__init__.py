"""ACT: plans of steps that change things, previewed, confirmed, audited, resumable.

- `runbook.planner.plan_for(action, cluster, report=None, **args) -> Plan` (blocking; call
  it from a thread) / `aplan_for` (coroutine). Raises `PlanRefused(reason)` before any
  change. Actions: snapshot-save, restore, restart, renew-cert, disarm-alarm, defrag.
- `blackstart.runbook.executor.execute(plan, cluster, operator=, on_event=, journal=None)` runs it
  (coroutine); `rollback(journal, cluster, operator=, on_event=)` undoes a journal.
- State in `cluster.state_dir`: `journal/<plan>.json` (fsynced per step), `audit.jsonl`,
  `lock`, `snapshots/`, `restore/<plan>/` (staged member-db copies). A plan also holds
  `<state_dir>/lock` on every remote node it changes, over SSH (`runbook.lock_plan`).
Nothing here imports Textual; nothing the operator owns is deleted (moved aside with a
timestamp), except snapshots pruned with an explicit `--delete`.
"""
