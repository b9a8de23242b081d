"""Fuzz targets: one function per input format, bytes in, an exception out only on a bug.

The policy compiler may refuse input only with an ``InputError`` (its
``PolicyError`` carries the located diagnostics); an importer only with a
``ConfigError``. Anything else escaping a target (an ``IndexError``, a
``KeyError``, a ``RecursionError``) is a crash: the command line would print a
traceback and exit 4 on a user's file.

These live in ``tests/fuzz/`` rather than a top-level ``fuzz/``: the repository
root is the import package, so a top-level folder would sit among zongheng's
own subpackages; here the replay test (``test_fuzz_replay.py``, part of the
suite, no atheris needed) and the atheris runner (``run.py``, ``make fuzz``)
import the same functions, and ``corpus/<target>/`` and ``regressions/<target>/``
sit beside them.
"""

from __future__ import annotations

import functools
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path

from zongheng.compiler.errors import InputError
from zongheng.compiler.model import Device, Network
from zongheng.compiler.pipeline import compile_file, compile_text
from zongheng.importers import TARGET_MODULES, ConfigError, import_config, overlay
from zongheng.importers import _check_batch as check_batch
from zongheng.importers.iproute2_batch import BATCH

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
CORPUS, REGRESSIONS = HERE / "corpus", HERE / "regressions"
POLICY = REPO / "policies" / "minimal.zh"  # the network the importers read configs of


@functools.cache
def network() -> Network:
    return compile_file(POLICY).network


def device_for(text: str) -> Device:
    """The device whose name the config mentions first (every emitted config names
    its own device in its first lines); the first device when it names none."""
    devices = {d.name: d for d in network().devices}
    m = re.search("|".join(re.escape(n) for n in sorted(devices, key=len, reverse=True)), text)
    return devices[m.group(0)] if m else network().devices[0]


def policy(data: bytes) -> None:
    """Parse, check, allocate and build a policy."""
    try:
        compile_text("fuzz.zh", data)
    except InputError:
        pass


def importer(target: str) -> Callable[[bytes], None]:
    """Read a config of ``target`` back and lay it onto its compiled device, as
    ``verify --from-configs`` does (bytes decoded the way it decodes them)."""
    def read(data: bytes) -> None:
        text = data.decode("utf-8", errors="replace")
        device = device_for(text)
        try:
            overlay(device, import_config(target, text, device, f"{device.name}/{target}"))
        except ConfigError:
            pass
    read.__name__ = read.__qualname__ = f"import_{target.replace('-', '_')}"
    return read


@functools.cache
def _scratch() -> Path:
    """One file per process for the batch (the check reads it from disk)."""
    fd, name = tempfile.mkstemp(prefix="zh-fuzz-", suffix=f"-{BATCH}")
    os.close(fd)
    return Path(name)


def iproute2(data: bytes) -> None:
    """An iproute2 batch beside an nftables ruleset, compared with the compiled one."""
    path = _scratch()
    path.write_bytes(data)
    device = device_for(data.decode("utf-8", errors="replace"))
    try:
        check_batch(network(), device, path)
    except ConfigError:
        pass


TARGETS: dict[str, Callable[[bytes], None]] = {
    "policy": policy,
    **{t: importer(t) for t in TARGET_MODULES},  # every importer the registry lists
    "iproute2": iproute2,
}


def inputs(target: str) -> list[Path]:
    """The seed corpus and the saved crashes of ``target``."""
    return sorted(p for d in (CORPUS / target, REGRESSIONS / target) if d.is_dir()
                  for p in d.iterdir() if p.is_file() and not p.name.startswith("."))
