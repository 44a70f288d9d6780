"""Benchmark: the log classifier against real lines, and its speed.

Scores `checks.formats.loglines.classify` on tests/data/logs/corpus.toml (real lines from
public issues and docs, each with its source and the class an SRE gives it) and prints the
corpus size by class and by format, the accuracy, per-class precision/recall, the
confusion table (every wrong pair), and benign lines flagged above INFO.

Then it writes 1,000,000-line files from the corpus lines — every line in turn (a harder
mix than a real log: most corpus lines match something), and an outage mix with one
classified line in ten — and times `classify` over each, beside a plain `grep -c` of the
same file run in the same process (target: >= 200,000 lines/s of CPU time; the wall rate
and the load average are printed too, as the machine is shared).

`classify` remembers its answer per template (the line with its digits masked), and these
files repeat a few hundred lines, so each mix is timed twice: cycled as it is, and with
every line made distinct (each number replaced by a random one of random width, which
makes a new template nearly every line; ports and digits glued to letters are kept so the
classes do not change), which times the classifier itself. The figures print how many
answers were computed rather than remembered.

`--file LOG` also times the first N lines of a log of your own (e.g. the 1 GiB CRI
kube-apiserver log that bench/log_tail.py generates: random ids, ports and latencies).

    .venv/bin/python bench/log_classes.py [--dir DIR] [--lines N] [--corpus PATH]
                                          [--file LOG ...] [--no-mixes]

Without --dir the file goes to a fresh temporary directory that is removed afterwards.
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "checks"))

import log_corpus  # noqa: E402

from blackstart.checks.formats.loglines import CACHE, classify  # noqa: E402
from blackstart.checks.formats.logrecord import parse_line  # noqa: E402

TARGET_LPS = 200_000
GREP_WORD = "etcd"


def main() -> int:
    args = _args()
    rows = log_corpus.load(args.corpus)
    _sizes(rows)
    score = log_corpus.score(rows)
    _accuracy(score)
    if args.heldout.is_file():
        _heldout(log_corpus.load(args.heldout), args.heldout)
    if args.dir:
        args.dir.mkdir(parents=True, exist_ok=True)
        return _speed(rows, args.dir, args)
    tmp = Path(tempfile.mkdtemp(prefix="blackstart-log-classes-"))
    try:
        return _speed(rows, tmp, args)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dir", type=Path, help="where to write the big log file (kept)")
    p.add_argument("--lines", type=int, default=1_000_000)
    p.add_argument("--corpus", type=Path, default=log_corpus.CORPUS)
    p.add_argument("--heldout", type=Path, default=log_corpus.HELDOUT,
                   help="lines gathered after the table was written, scored apart")
    p.add_argument("--file", type=Path, action="append", default=[],
                   help="also time the first --lines lines of this log (e.g. the 1 GiB "
                        "kube-apiserver log bench/log_tail.py generates, or a real one)")
    p.add_argument("--no-mixes", action="store_true", help="time only the --file logs")
    return p.parse_args()


def _table(title: str, counts: Counter[str]) -> None:
    print(f"\n{title}")
    for key, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"  {n:5d}  {key}")


def _sizes(rows: list[log_corpus.Row]) -> None:
    print(f"corpus: {len(rows)} lines from {len({r.url for r in rows})} sources, "
          f"{sum(r.benign for r in rows)} benign hard negatives")
    _table("by class", Counter(r.cls for r in rows))
    _table("by format (outermost framing)", Counter(r.fmt for r in rows))
    _table("by format (all layers)", Counter("+".join(parse_line(r.text).layers)
                                             for r in rows))
    _table("by component", Counter(r.component for r in rows))


def _accuracy(score: log_corpus.Score) -> None:
    print(f"\naccuracy: {score.correct}/{score.total} = {score.accuracy:.1%}")
    classes = sorted({e for e, _ in score.pairs} | {p for _, p in score.pairs})
    print(f"\n  {'class':32s} {'precision':>9s} {'recall':>7s} {'support':>7s}")
    for cls in classes:
        prec, rec, support = score.precision_recall(cls)
        print(f"  {cls:32s} {prec:9.1%} {rec:7.1%} {support:7d}")
    mistakes = score.mistakes()
    print("\nconfusion (expected -> predicted, wrong pairs only):"
          + ("" if mistakes else " none"))
    for exp, pred, n in mistakes:
        print(f"  {n:4d}  {exp} -> {pred}")
    print(f"\nbenign lines flagged above INFO: {len(score.benign_flagged)}")
    for row, cls in score.benign_flagged:
        print(f"  {cls}: {row.text[:120]}")


def _heldout(rows: list[log_corpus.Row], path: Path) -> None:
    s = log_corpus.score(rows)
    print(f"\nheld-out ({path.name}, {len(rows)} lines never tuned on): "
          f"{s.correct}/{s.total} = {s.accuracy:.1%}, "
          f"benign flagged above INFO: {len(s.benign_flagged)}")
    for exp, pred, n in s.mistakes():
        print(f"  {n:4d}  {exp} -> {pred}")


def _speed(rows: list[log_corpus.Row], where: Path, args: argparse.Namespace) -> int:
    n = args.lines
    print(f"\nspeed, {n:,} lines per file (load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} CPUs; CPU-time rates are less sensitive to the load):")
    ok = True
    if not args.no_mixes:
        ok &= _speed_mixes(rows, where, n)
    for i, log in enumerate(args.file):
        head = where / f"log-classes-file-{i}.log"
        with log.open("rb") as src, head.open("wb") as dst:
            dst.writelines(itertools.islice(src, n))
        ok &= _speed_one(f"{log} (its first {n:,} lines)", head)
    return 0 if ok else 1


def _speed_mixes(rows: list[log_corpus.Row], where: Path, n: int) -> bool:
    quiet = [r.text for r in rows if r.cls == "none"]
    loud = [r.text for r in rows if r.cls != "none"]
    mixes = {
        # Every corpus line in turn: most of them match a class, far more than a real log.
        "corpus cycled": [r.text for r in rows],
        # An outage log: one classified line in ten, the rest the corpus's unmatched lines.
        "outage mix (10 % classified)": _interleave(quiet, loud),
    }
    ok = True
    for i, (name, pool) in enumerate(mixes.items()):
        path = where / f"log-classes-{i}.log"
        ok &= _speed_one(name, _write(path, pool, n, distinct=False))
        ok &= _speed_one(name + ", every line distinct", _write(path, pool, n, distinct=True))
    return ok


_NUMBER = re.compile(r"(?<![A-Za-z])\d+")  # not x509, etcd3, v3: those are names
_KEEP = frozenset(("2379", "2380", "4001"))  # ports that decide a class


def _distinct(line: str, i: int, rng: random.Random) -> str:
    """`line` with each number replaced by a random one of random width (1-12 digits)."""
    out = _NUMBER.sub(lambda m: m[0] if m[0] in _KEEP else _random_number(rng), line)
    return out if out != line else f"{line} #{i}"  # a line without numbers


def _random_number(rng: random.Random) -> str:
    while True:
        n = str(rng.randrange(10 ** rng.randint(1, 12)))
        if not any(port in n for port in _KEEP):  # a new port would change the class
            return n


def _write(path: Path, pool: list[str], n: int, distinct: bool) -> Path:
    rng = random.Random(15)
    with path.open("w", encoding="utf-8") as f:
        for i in range(n):
            line = pool[i % len(pool)]
            f.write((_distinct(line, i, rng) if distinct else line) + "\n")
    return path


def _interleave(quiet: list[str], loud: list[str]) -> list[str]:
    out: list[str] = []
    for i, line in enumerate(loud):
        out.extend(quiet[(i * 9 + k) % len(quiet)] for k in range(9))
        out.append(line)
    return out


def _speed_one(name: str, path: Path) -> bool:
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    distinct = len(set(lines))
    CACHE.clear()
    w0, c0 = time.perf_counter(), time.process_time()
    matched = sum(1 for line in lines if classify(line) is not None)
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    computed = CACHE.total_misses + CACHE.rested
    g_wall, g_cpu, grep_count = _grep(path)
    rate = len(lines) / cpu
    print(f"\n  {name}: {path.stat().st_size / 1e6:.0f} MB, {distinct:,} distinct lines, "
          f"{matched:,} lines classified, {computed:,} answers computed "
          f"({computed / len(lines):.0%}; the rest remembered per template)")
    print(f"    classify      wall {wall:7.2f} s = {len(lines) / wall:>10,.0f} lines/s   "
          f"cpu {cpu:7.2f} s = {rate:>10,.0f} lines/s   target >= {TARGET_LPS:,}: "
          f"{'ok' if rate >= TARGET_LPS else 'MISSED'}")
    print(f"    grep -c -F {GREP_WORD} wall {g_wall:7.2f} s = {len(lines) / g_wall:>10,.0f} "
          f"lines/s   cpu {g_cpu:7.2f} s ({grep_count} lines)")
    return rate >= TARGET_LPS


def _grep(path: Path) -> tuple[float, float, str]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    w0 = time.perf_counter()
    out = subprocess.run(["grep", "-c", "-F", GREP_WORD, str(path)], capture_output=True,
                         text=True, check=False)
    wall = time.perf_counter() - w0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, out.stdout.strip()


if __name__ == "__main__":
    sys.exit(main())
