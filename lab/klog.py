"""klog's line header, as Kubernetes components write it.

`Lmmdd hh:mm:ss.uuuuuu threadid file:line] msg` (k8s.io/klog/v2 header), L in IWEF.
"""

from __future__ import annotations

import datetime as dt
import os


def klog_line(level: str, msg: str, where: str, now: dt.datetime | None = None,
              pid: int | None = None) -> str:
    t = now or dt.datetime.now(dt.UTC)
    head = t.strftime("%m%d %H:%M:%S.") + f"{t.microsecond:06d}"
    return f"{level}{head} {pid or os.getpid():7d} {where}] {msg}"
