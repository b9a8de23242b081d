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
import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

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
                   inventory: Inventory | None = None) -> Iterator[tuple[str, bytes]]:
    """The files of one target, one at a time (``seen``: paths written so far, to catch
    two targets writing one file). With an inventory each device is written by its
    platform's class, and a router target skips the devices of another vendor."""
    emitters: dict[type[Emitter], Emitter] = {}
    for device in network.devices:
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
        try:
            yield from _render_target(network, name, tdir, seen, inventory)
        except (jinja2.TemplateError, TemplateValueError) as exc:
            where = getattr(exc, "filename", None) or getattr(exc, "name", None) or ""
            line = getattr(exc, "lineno", None)
            loc = f" ({where}{f':{line}' if line else ''})" if where else ""
            raise OutputError(f"target {name}: template error{loc}: {exc}") from exc
        except InputError as exc:
            if isinstance(exc, OutputError):
                raise
            raise OutputError(f"target {name}: {exc}") from exc
    if model:
        yield "model.json", (piece.encode("utf-8") for piece in iter_json(network))


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
    hashes: dict[str, str] = {}
    for rel, data in files:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        with open(path, "wb", buffering=1 << 20) as fh:
            for piece in (data,) if isinstance(data, bytes) else data:
                fh.write(piece)
                digest.update(piece)
        hashes[rel] = digest.hexdigest()
    return hashes


def write_outputs(
    network: Network,
    out_dir: Path | str,
    targets: Iterable[str] | str,
    template_dir: Path | str | None = None,
    force: bool = False,
    inventory: Inventory | None = None,
    model: bool = True,
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
            manifest = _replace(real, network, names,
                                iter_files(network, names, tdir, inventory, model), inventory)
    except BaseException:
        for d in made:  # a failed compile leaves no directory it made (innermost first)
            with contextlib.suppress(OSError):
                d.rmdir()
        raise
    return json.loads(manifest)


def _replace(real: Path, network: Network, names: list[str],
             files: Iterable[tuple[str, Contents]], inventory: Inventory | None = None) -> bytes:
    """Write the tree beside ``real`` and swap it in; the old tree survives any failure.
    Returns the manifest written."""
    parent = real.parent
    tmp = Path(tempfile.mkdtemp(prefix=f".{real.name}.new-", dir=parent))
    try:
        os.chmod(tmp, 0o755)
        manifest = manifest_bytes(network, names, _write_tree(tmp, files), inventory)
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
