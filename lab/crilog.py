"""CRI container-log files, as the kubelet writes them under /var/log/pods.

Line format: `<RFC3339Nano UTC> <stdout|stderr> F <text>`. The writer rotates the file
at `MAX_BYTES` to `0.log.<timestamp>` so a crash-looping process cannot fill the disk.

`python -m blackstart.lab.crilog --log FILE` copies its stdin into FILE line by line: the lab pipes
each etcd's output through it so etcd's own log lines land where a kubelet puts them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from pathlib import Path
from typing import BinaryIO

MAX_BYTES = 10 * 1024 * 1024
MAX_LINE = 16 * 1024  # the kubelet splits longer lines; we simply cut them


def cri_timestamp(now: dt.datetime | None = None) -> str:
    t = now or dt.datetime.now(dt.UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond:06d}000Z"


def cri_line(text: str, stream: str = "stderr", now: dt.datetime | None = None) -> str:
    return f"{cri_timestamp(now)} {stream} F {text[:MAX_LINE]}\n"


class CriWriter:
    """Appends CRI lines to one file, flushing each, rotating at MAX_BYTES."""

    def __init__(self, path: Path, max_bytes: int = MAX_BYTES) -> None:
        self.path = path
        self.max_bytes = max_bytes
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fh: BinaryIO = open(path, "ab")  # noqa: SIM115 - lives as long as the writer

    def write(self, text: str, stream: str = "stderr") -> None:
        self._fh.write(cri_line(text.rstrip("\n"), stream).encode("utf-8", "replace"))
        self._fh.flush()
        if self._fh.tell() >= self.max_bytes:
            self._rotate()

    def _rotate(self) -> None:
        self._fh.close()
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S%f")
        os.rename(self.path, self.path.with_name(f"{self.path.name}.{stamp}"))
        self._fh = open(self.path, "ab")  # noqa: SIM115

    def close(self) -> None:
        self._fh.close()


class StdoutWriter:
    """The same interface, plain lines on stdout: for a process a kubelet logs."""

    def write(self, text: str, stream: str = "stderr") -> None:
        sys.stderr.write(text.rstrip("\n") + "\n")
        sys.stderr.flush()

    def close(self) -> None:
        sys.stderr.flush()


def open_writer(path: Path) -> CriWriter | StdoutWriter:
    """`-` is stdout (a kubelet writes the CRI file); anything else a CRI file of our own."""
    return StdoutWriter() if str(path) == "-" else CriWriter(path)


def pump(src: BinaryIO, writer: CriWriter, stream: str = "stderr") -> None:
    """Copy lines until EOF (the process on the other end of the pipe died)."""
    for raw in iter(src.readline, b""):
        writer.write(raw.decode("utf-8", "replace"), stream)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="blackstart.lab.crilog")
    p.add_argument("--log", required=True, type=Path)
    p.add_argument("--for", dest="owner", default="", help="who writes (shown in ps only)")
    args = p.parse_args(argv)
    writer = CriWriter(args.log)
    try:
        pump(sys.stdin.buffer, writer)
    finally:
        writer.close()


if __name__ == "__main__":
    main()
