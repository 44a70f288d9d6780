"""Open a file for reading only when it is a regular file, decided by `stat` first.

A FIFO opened for reading blocks until a writer appears (forever, in a backup dir); a
device or socket is no snapshot either. So the type is checked by `stat` before `open`,
and again on the descriptor (`O_NONBLOCK`, so even a FIFO swapped in between cannot
block the open): the second check closes the race, the first gives the clear message.
"""

from __future__ import annotations

import os
import stat as stat_mod

_KINDS = ((stat_mod.S_ISDIR, "a directory"), (stat_mod.S_ISFIFO, "a FIFO"),
          (stat_mod.S_ISSOCK, "a socket"), (stat_mod.S_ISCHR, "a character device"),
          (stat_mod.S_ISBLK, "a block device"))


class NotRegularFile(OSError):
    """The path exists but is not a regular file; `strerror` says what it is."""

    def __init__(self, path: str, mode: int) -> None:
        super().__init__(f"not a regular file ({file_kind(mode)}); refused without "
                         f"opening it")
        self.filename = path
        self.strerror = str(self.args[0])


def file_kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "a special file")


def check_regular(path: str) -> os.stat_result:
    """`os.stat(path)`, raising NotRegularFile for anything but a regular file."""
    st = os.stat(path)
    if not stat_mod.S_ISREG(st.st_mode):
        raise NotRegularFile(path, st.st_mode)
    return st


def open_regular(path: str) -> int:
    """A read-only descriptor on the regular file at `path` (the caller closes it)."""
    check_regular(path)
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        st = os.fstat(fd)
        if not stat_mod.S_ISREG(st.st_mode):
            raise NotRegularFile(path, st.st_mode)
    except BaseException:
        os.close(fd)
        raise
    return fd
