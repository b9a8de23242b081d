"""Write a compiled network's configs to a directory, all or nothing.

``DIR/<device>/<file>`` for every device a target renders, ``DIR/model.json``
(compact; left out with ``model=False``) and ``DIR/manifest.json`` (sha256 of
every file, versions, targets; sorted keys and no timestamps, so the same input
gives a byte-identical tree).

Each file is rendered and written at once to a temporary directory next to
``DIR`` (one device's file in memory at a time, not the whole tree: a
province's tree is hundreds of megabytes); ``model.json`` is written in pieces
as it is encoded (:func:`~zongheng.compiler.model.iter_json`), never whole.
Only then is the old ``DIR`` renamed away and the new one renamed in. If
anything fails, the previous ``DIR`` is left byte-identical and no temporary
directory remains.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import json
import multiprocessing as mp
import os
import pickle
import re
import shutil
import signal
import tempfile
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2

import zongheng
from zongheng.compiler.errors import InputError
from zongheng.compiler.model import Device, Network, iter_json
from zongheng.emitters import REGISTRY, target_names
from zongheng.emitters.base import Emitter
from zongheng.emitters.filters import TemplateValueError
from zongheng.emitters.output_tree import (
    MANIFEST,
    OutputError,
    destination,
    exchange,
    locked,
)

if TYPE_CHECKING:
    from zongheng.emitters.inventory import Inventory

_SAFE_PATH_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def parse_targets(spec: str | Iterable[str]) -> list[str]:
    """``"all"``, ``"nftables,wireguard"`` or a list of names -> sorted known names."""
    names = spec.split(",") if isinstance(spec, str) else list(spec)
    names = [n.strip() for n in names if n.strip()]
    if not names:
        raise OutputError("no target given")
    if "all" in names:
        return target_names()
    unknown = sorted(set(names) - set(REGISTRY))
    if unknown:
        raise OutputError(
            f"unknown target(s) {', '.join(unknown)}; known: {', '.join(target_names())}, all"
        )
    return sorted(set(names))


def device_files(emitter: Emitter, device: Device) -> dict[str, str]:
    """File name -> text that one target writes for one device (empty if none).

    A target writes ``<name>.<extension>`` by default; a target that needs
    several files per device defines ``render_files(device) -> dict`` (names
    may have one sub-directory: ``wireguard/wg-v-tax.conf``).
    """
    if not emitter.applies_to(device):
        return {}
    render_files = getattr(emitter, "render_files", None)
    if render_files is not None:
        return dict(render_files(device))
    text = emitter.render(device)
    if text is None:
        return {}
    return {f"{emitter.name}.{emitter.extension}": text}


def _render_target(network: Network, name: str, tdir: Path | None, seen: set[str],
                   inventory: Inventory | None = None,
                   devices: Iterable[Device] | None = None,
                   emitters: dict[type[Emitter], Emitter] | None = None
                   ) -> Iterator[tuple[str, bytes]]:
    """The files of one target, one at a time (``seen``: paths written so far, to catch
    two targets writing one file). With an inventory each device is written by its
    platform's class, and a router target skips the devices of another vendor.
    ``devices``: a slice of the network's (a worker's share); ``emitters``: the emitters
    made so far, kept across slices (their templates and network-wide plans)."""
    if emitters is None:
        emitters = {}
    for device in network.devices if devices is None else devices:
        if not _SAFE_PATH_PART.fullmatch(device.name):
            raise OutputError(f"device name {device.name!r} cannot be a directory name")
        cls = REGISTRY[name] if inventory is None else inventory.emitter_class(device.name, name)
        if cls is None:
            continue
        if cls not in emitters:
            emitters[cls] = cls(network, tdir)
            emitters[cls].inventory = inventory
        emitter = emitters[cls]
        for fname, text in device_files(emitter, device).items():
            parts = fname.split("/")
            if len(parts) > 2 or not all(_SAFE_PATH_PART.fullmatch(x) for x in parts):
                raise OutputError(f"target {name} produced a bad file name {fname!r}")
            rel = f"{device.name}/{fname}"
            if rel in seen:
                raise OutputError(f"two targets write {rel}")
            seen.add(rel)
            yield rel, text.encode("utf-8")


@contextlib.contextmanager
def _target_errors(name: str) -> Iterator[None]:
    """A target's template and model errors as an :class:`OutputError` naming it."""
    try:
        yield
    except (jinja2.TemplateError, TemplateValueError) as exc:
        where = getattr(exc, "filename", None) or getattr(exc, "name", None) or ""
        line = getattr(exc, "lineno", None)
        loc = f" ({where}{f':{line}' if line else ''})" if where else ""
        raise OutputError(f"target {name}: template error{loc}: {exc}") from exc
    except InputError as exc:
        if isinstance(exc, OutputError):
            raise
        raise OutputError(f"target {name}: {exc}") from exc


# A file's contents: bytes, or pieces of bytes written one after the other (model.json)
Contents = bytes | Iterable[bytes]


def iter_files(network: Network, names: list[str], tdir: Path | None,
               inventory: Inventory | None = None, model: bool = True
               ) -> Iterator[tuple[str, Contents]]:
    """Every config file of the tree as (relative path, contents), target by target,
    then ``model.json`` unless ``model`` is False (the manifest is made from their
    hashes). ``model.json`` comes as pieces, to be written as they are encoded."""
    seen: set[str] = set()
    for name in names:
        with _target_errors(name):
            yield from _render_target(network, name, tdir, seen, inventory)
    if model:
        yield "model.json", _model_pieces(network)


def _model_pieces(network: Network) -> Iterator[bytes]:
    return (piece.encode("utf-8") for piece in iter_json(network))


def manifest_bytes(network: Network, names: list[str], hashes: dict[str, str],
                   inventory: Inventory | None = None) -> bytes:
    manifest = {
        "zongheng_version": zongheng.__version__,
        "policy": network.policy_file,
        "policy_sha256": network.policy_sha256,
        "targets": names,
        "files": dict(sorted(hashes.items())),
    }
    if inventory is not None:  # only then: without one the tree stays as it always was
        manifest["inventory"] = inventory.file
        manifest["inventory_sha256"] = inventory.sha256
    return (json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
            ).encode("utf-8")


def render_tree(
    network: Network, targets: Iterable[str], template_dir: Path | str | None = None,
    inventory: Inventory | None = None,
    model: bool = True,
) -> dict[str, bytes]:
    """Relative path -> bytes of every file of the output tree (manifest included), in
    memory: for callers that want the texts (``compile`` writes them one at a time)."""
    names = parse_targets(list(targets))
    if inventory is not None:
        inventory.check_targets(names)
    tdir = Path(template_dir) if template_dir is not None else None
    files = {rel: data if isinstance(data, bytes) else b"".join(data)
             for rel, data in iter_files(network, names, tdir, inventory, model)}
    files["manifest.json"] = manifest_bytes(
        network, names, {rel: hashlib.sha256(data).hexdigest() for rel, data in files.items()},
        inventory)
    return files


def _write_tree(root: Path, files: Iterable[tuple[str, Contents]]) -> dict[str, str]:
    """Write each file as it comes (a file in pieces piece by piece); their sha256 by
    relative path."""
    return {rel: _write_file(root, rel, data) for rel, data in files}


def _write_file(root: Path, rel: str, data: Contents) -> str:
    """Write one file under ``root``; its sha256."""
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    with open(path, "wb", buffering=1 << 20) as fh:
        for piece in (data,) if isinstance(data, bytes) else data:
            fh.write(piece)
            digest.update(piece)
    return digest.hexdigest()


# ------------------------------------------------------------------ worker processes
def default_workers() -> int:
    """The cores this process may run on (``compile --workers`` default)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else \
        (os.cpu_count() or 1)


@dataclass(frozen=True)
class _Unit:
    """One worker task: devices ``start:stop`` of one target (``None``: model.json);
    ``order`` is its place in a serial write."""

    order: int
    target: str | None
    start: int = 0
    stop: int = 0


# per process: the network, template dir, inventory and root a forked worker writes
# (set in the parent before the fork: the network is shared, never pickled), and the
# emitters it has made, by target (their templates and network-wide plans are reused)
_JOB: dict[str, Any] = {}


def _units(network: Network, names: list[str], workers: int, model: bool) -> list[_Unit]:
    """The tasks of a tree in serial order: a target's devices in slices (a few per
    worker, so the last ones end together), one task for a target whose first device
    builds a network-wide plan (``Emitter.whole_network``), then model.json."""
    n = len(network.devices)
    size = max(1, -(-n // (workers * 8)))
    units: list[_Unit] = []
    for name in names:
        step = n if REGISTRY[name].whole_network else size
        for lo in range(0, n, step):
            units.append(_Unit(len(units), name, lo, min(n, lo + step)))
    if model:
        units.append(_Unit(len(units), None))
    return units


def _init_worker() -> None:
    """Ctrl-C and SIGTERM are the parent's to handle: it ends the workers itself."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _work(unit: _Unit) -> tuple[int, list[tuple[str, str]], BaseException | None]:
    """Write one task's files under the job's root: (order, [(path, sha256)] written,
    the error that stopped it, if any)."""
    network: Network = _JOB["network"]
    done: list[tuple[str, str]] = []
    try:
        if unit.target is None:
            done.append(("model.json", _write_file(_JOB["root"], "model.json",
                                                   _model_pieces(network))))
        else:
            emitters = _JOB["emitters"].setdefault(unit.target, {})
            with _target_errors(unit.target):
                for rel, data in _render_target(network, unit.target, _JOB["tdir"], set(),
                                                _JOB["inventory"],
                                                network.devices[unit.start:unit.stop],
                                                emitters):
                    done.append((rel, _write_file(_JOB["root"], rel, data)))
    except Exception as exc:  # noqa: BLE001 - raised by the parent, in serial order
        try:
            pickle.loads(pickle.dumps(exc))  # noqa: S301 - our own bytes, this process
        except Exception:  # noqa: BLE001 - an error that cannot cross processes
            exc = RuntimeError(f"{type(exc).__name__}: {exc}")
        return unit.order, done, exc
    return unit.order, done, None


def _write_parallel(root: Path, network: Network, names: list[str], tdir: Path | None,
                    inventory: Inventory | None, model: bool, workers: int
                    ) -> dict[str, str]:
    """The tree written by ``workers`` forked processes, each writing its own files;
    their sha256 by relative path. Every file's bytes are the serial write's, and an
    error is the one a serial write meets first (the earliest task's, a clash of two
    targets included). No worker outlives the call, so the caller may remove ``root``."""
    units = _units(network, names, workers, model)
    # the longest tasks first, so no worker starts one at the end: whole-network
    # targets, then model.json, then the slices in serial order
    schedule = sorted(units, key=lambda u: (
        not (u.target is not None and REGISTRY[u.target].whole_network), u.target is not None,
        u.order))
    results: dict[int, tuple[list[tuple[str, str]], BaseException | None]] = {}
    _JOB.update(network=network, tdir=tdir, inventory=inventory, root=root, emitters={})
    gc.freeze()  # the collector leaves the shared objects alone: fewer pages copied
    pool = ProcessPoolExecutor(min(workers, len(units)), mp_context=mp.get_context("fork"),
                               initializer=_init_worker)
    finished = False
    try:
        futures = [pool.submit(_work, u) for u in schedule]
        first_error: int | None = None
        for future in as_completed(futures):
            try:
                order, done, exc = future.result()
            except BrokenProcessPool as broken:  # killed (the OOM killer?), not a bug of ours
                raise OutputError("a worker process ended abruptly (killed, out of memory?); "
                                  "nothing was written: try fewer --workers") from broken
            results[order] = (done, exc)
            if exc is not None and (first_error is None or order < first_error):
                first_error = order
            if first_error is not None and all(o in results for o in range(first_error)):
                break  # every task before the first failure is in: no need to wait
        finished = True
    finally:
        if not finished or len(results) < len(units):  # an error or Ctrl-C: stop them now
            for proc in list(getattr(pool, "_processes", {}).values()):
                proc.terminate()
        pool.shutdown(wait=True, cancel_futures=True)
        gc.unfreeze()
        _JOB.clear()
    hashes: dict[str, str] = {}
    for unit in units:  # serial order
        done, exc = results[unit.order]
        for rel, digest in done:
            if rel in hashes:
                raise OutputError(f"two targets write {rel}")
            hashes[rel] = digest
        if exc is not None:
            raise exc
    return hashes


def write_outputs(
    network: Network,
    out_dir: Path | str,
    targets: Iterable[str] | str,
    template_dir: Path | str | None = None,
    force: bool = False,
    inventory: Inventory | None = None,
    model: bool = True,
    workers: int = 1,
) -> dict:
    """Render ``targets`` for ``network`` and replace ``out_dir`` atomically.

    ``targets``: target names, or ``"all"`` / ``"a,b"``. ``template_dir``:
    the ``--templates DIR`` override (``DIR/<target>/*.j2``). ``inventory``: the
    device inventory (``--inventory``: platforms and port names). Returns the
    manifest (as written to ``out_dir/manifest.json``). Raises
    :class:`OutputError` for bad targets or an unusable ``out_dir`` (one holding
    files a compile did not write, unless ``force``: see :mod:`output_tree`);
    template errors propagate. On any exception, or an interrupt, ``out_dir``
    is untouched. ``model``: False leaves ``model.json`` out (``compile --no-model``).
    ``workers``: processes writing the files (``compile --workers``); the tree is the
    same bytes however many.
    """
    out = Path(out_dir)
    names = parse_targets(targets)
    if inventory is not None:
        inventory.check_targets(names)
    tdir = Path(template_dir) if template_dir is not None else None
    real = destination(out, force)  # refuse early, before the work of rendering
    parent = real.parent
    made = [d for d in (parent, *parent.parents) if not d.exists()]
    try:  # like `mkdir -p`: `-o out/heilongjiang` works on a fresh checkout
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create {parent}: {exc.strerror}") from None
    try:
        with locked(parent):
            real = destination(out, force)  # another compile may have written it meanwhile
            if workers > 1:
                def write(root: Path) -> dict[str, str]:
                    return _write_parallel(root, network, names, tdir, inventory, model,
                                           workers)
            else:
                def write(root: Path) -> dict[str, str]:
                    return _write_tree(root, iter_files(network, names, tdir, inventory,
                                                        model))
            manifest = _replace(real, network, names, write, inventory)
    except BaseException:
        for d in made:  # a failed compile leaves no directory it made (innermost first)
            with contextlib.suppress(OSError):
                d.rmdir()
        raise
    return json.loads(manifest)


def _replace(real: Path, network: Network, names: list[str],
             write: Callable[[Path], dict[str, str]], inventory: Inventory | None = None
             ) -> bytes:
    """Write the tree beside ``real`` (``write(root)``: the files' sha256 by path) and swap
    it in; the old tree survives any failure. Returns the manifest written."""
    parent = real.parent
    tmp = Path(tempfile.mkdtemp(prefix=f".{real.name}.new-", dir=parent))
    try:
        os.chmod(tmp, 0o755)
        manifest = manifest_bytes(network, names, write(tmp), inventory)
        (tmp / MANIFEST).write_bytes(manifest)
        if real.exists() and exchange(tmp, real):
            shutil.rmtree(tmp, ignore_errors=True)  # tmp now holds the old tree
            return manifest
        old: Path | None = None
        if real.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{real.name}.old-", dir=parent))
            os.rename(real, old / "tree")
        try:
            os.rename(tmp, real)
        except BaseException:
            if old is not None:
                os.rename(old / "tree", real)
            raise
        finally:
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
        return manifest
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
