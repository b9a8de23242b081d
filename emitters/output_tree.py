"""Where ``compile -o DIR`` may write, and how it replaces a tree without losing anything.

An engineer's ``-o ~/configs`` must never delete files zongheng did not write, a
symlink must never be replaced by a directory, and an interrupted or concurrent
compile must leave either the old tree or the new one, whole. So:

* the directory is new, empty, or one a previous compile wrote: every file in it
  is listed in its ``manifest.json`` (anything else is "foreign" and refused
  unless ``force``);
* a symlink is followed: the tree it points to is replaced, the link stays;
* the current directory, one of its parents, a mount point or ``/`` is refused
  (renaming it away is impossible or would pull the floor from under the user);
* the new tree is written beside the old one and swapped in with one
  ``renameat2(RENAME_EXCHANGE)`` where the kernel has it (two renames otherwise);
* compiles into one directory hold an exclusive ``flock`` on its parent, so two
  at once are serialised instead of interleaved.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path

from zongheng.compiler.errors import InputError

MANIFEST = "manifest.json"
SHOWN = 10  # foreign files named in the message; the rest are counted


class OutputError(InputError):
    """The output directory cannot be used (exit 2)."""


def destination(out: Path, force: bool = False) -> Path:
    """The real directory ``-o out`` will replace (symlinks followed), after refusing
    every path that cannot be replaced safely."""
    real = out.resolve() if out.is_symlink() else out.absolute()
    if out.is_symlink() and not real.exists():
        raise OutputError(f"{out} is a symlink to {real}, which does not exist")
    if real.exists() and not real.is_dir():
        raise OutputError(f"{out} exists and is not a directory")
    cwd = Path.cwd().resolve()
    resolved = real.resolve() if real.exists() else real
    if resolved == cwd or resolved in cwd.parents:
        raise OutputError(f"{out} is the current directory or contains it; write the configs "
                          "into a directory of their own, e.g. -o out/configs")
    if resolved.exists() and (os.path.ismount(resolved) or resolved.parent == resolved):
        raise OutputError(f"{out} is a mount point; write the configs into a directory "
                          "inside it")
    if resolved.exists() and not force:
        foreign = foreign_files(resolved)
        if foreign:
            shown = ", ".join(foreign[:SHOWN])
            more = f" and {len(foreign) - SHOWN} more" if len(foreign) > SHOWN else ""
            raise OutputError(
                f"{out} holds files zongheng did not write ({shown}{more}); compile into a "
                "new or empty directory, or give --force to replace it with its contents")
    return resolved


def foreign_files(directory: Path) -> list[str]:
    """Files under ``directory`` that no zongheng manifest there lists (all of them when
    there is no readable manifest), relative and sorted."""
    present = sorted(str(p.relative_to(directory)) for p in directory.rglob("*")
                     if not p.is_dir() or p.is_symlink())
    if not present:
        return []
    try:
        manifest = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
        listed = set(manifest["files"]) | {MANIFEST}
    except (OSError, ValueError, KeyError, TypeError):
        return present
    return [p for p in present if p not in listed]


@contextlib.contextmanager
def locked(parent: Path) -> Iterator[None]:
    """An exclusive lock on ``parent`` (a directory: no lock file is left behind)."""
    fd = os.open(parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _renameat2() -> object | None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    return fn


def exchange(a: Path, b: Path) -> bool:
    """Swap two existing paths atomically; False where the kernel or filesystem cannot."""
    fn = _renameat2()
    if fn is None:
        return False
    rc = fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(b))
