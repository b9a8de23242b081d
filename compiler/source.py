"""Reading what users hand zongheng: policies and configs, from regular files or stdin only,
within a size limit, never blocking on a FIFO nor filling memory from ``/dev/zero``.

The limit is 64 MiB by default (a 200-department province over 274 regions is
about 80 KB of policy; the largest Huawei config of such a province a few MB)
and settable with ``ZONGHENG_MAX_INPUT_BYTES``.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

from zongheng.compiler.errors import InputError

DEFAULT_LIMIT = 64 << 20
STDIN = "-"
_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a device"),
          (stat.S_ISBLK, "a device"), (stat.S_ISSOCK, "a socket"))


class SourceError(InputError):
    """An input that cannot be read as a file of text (exit 2)."""


def limit() -> int:
    """The largest input read, in bytes (``ZONGHENG_MAX_INPUT_BYTES``)."""
    raw = os.environ.get("ZONGHENG_MAX_INPUT_BYTES", "")
    try:
        value = int(raw) if raw else DEFAULT_LIMIT
    except ValueError:
        raise SourceError(f"ZONGHENG_MAX_INPUT_BYTES={raw!r} is not a number of bytes") \
            from None
    if value < 1:
        raise SourceError(f"ZONGHENG_MAX_INPUT_BYTES={raw!r} must be positive")
    return value


def read_input(path: str | Path, what: str = "file") -> bytes:
    """The bytes of ``path`` (``-``: standard input). Raises :class:`SourceError` with a
    one-line reason for anything but a readable regular file within the limit."""
    most = limit()
    if str(path) == STDIN:
        data = sys.stdin.buffer.read(most + 1)
        return _within(data, "standard input", most)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO must not block the open
    except FileNotFoundError:
        raise SourceError("no such file") from None
    except IsADirectoryError:
        raise SourceError(f"is a directory, not a {what}") from None
    except OSError as exc:
        raise SourceError(f"cannot read: {exc.strerror}") from None
    try:
        mode = os.fstat(fd).st_mode
        for test, kind in _KINDS:
            if test(mode):
                raise SourceError(f"is {kind}, not a {what}")
        chunks, size = [], 0
        while size <= most:
            chunk = os.read(fd, min(1 << 20, most + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise SourceError(f"cannot read: {exc.strerror}") from None
    finally:
        os.close(fd)
    return _within(b"".join(chunks), str(path), most)


def _within(data: bytes, name: str, most: int) -> bytes:
    if len(data) > most:
        raise SourceError(f"larger than {most} bytes (set ZONGHENG_MAX_INPUT_BYTES to read "
                          "larger inputs)")
    return data
