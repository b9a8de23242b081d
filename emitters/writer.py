"""Write a compiled network's configs to a directory, all or nothing.

``DIR/<device>/<file>`` for every device a target renders, ``DIR/model.json``
and ``DIR/manifest.json`` (sha256 of every file, versions, targets; sorted
keys and no timestamps, so the same input gives a byte-identical tree).

Everything is rendered in memory and written to a temporary directory next
to ``DIR`` first; only then is the old ``DIR`` renamed away and the new one
renamed in. If anything fails, the previous ``DIR`` is left byte-identical
and no temporary directory remains.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

import jinja2

import zongheng
from zongheng.compiler.errors import InputError
from zongheng.compiler.model import Device, Network, to_json
from zongheng.emitters import REGISTRY, target_names
from zongheng.emitters.base import Emitter
from zongheng.emitters.filters import TemplateValueError
from zongheng.emitters.output_tree import OutputError, destination, exchange, locked

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


def _render_target(network: Network, name: str, tdir: Path | None, files: dict[str, bytes]
                   ) -> dict[str, bytes]:
    """The files of one target (``files``: what earlier targets wrote, to catch clashes)."""
    emitter = REGISTRY[name](network, tdir)
    out: dict[str, bytes] = {}
    for device in network.devices:
        if not _SAFE_PATH_PART.fullmatch(device.name):
            raise OutputError(f"device name {device.name!r} cannot be a directory name")
        for fname, text in device_files(emitter, device).items():
            parts = fname.split("/")
            if len(parts) > 2 or not all(_SAFE_PATH_PART.fullmatch(x) for x in parts):
                raise OutputError(f"target {name} produced a bad file name {fname!r}")
            rel = f"{device.name}/{fname}"
            if rel in files or rel in out:
                raise OutputError(f"two targets write {rel}")
            out[rel] = text.encode("utf-8")
    return out


def render_tree(
    network: Network, targets: Iterable[str], template_dir: Path | str | None = None
) -> dict[str, bytes]:
    """Relative path -> bytes of every file of the output tree (manifest included)."""
    names = parse_targets(list(targets))
    tdir = Path(template_dir) if template_dir is not None else None
    files: dict[str, bytes] = {}
    for name in names:
        try:
            files.update(_render_target(network, name, tdir, files))
        except (jinja2.TemplateError, TemplateValueError) as exc:
            where = getattr(exc, "filename", None) or getattr(exc, "name", None) or ""
            line = getattr(exc, "lineno", None)
            loc = f" ({where}{f':{line}' if line else ''})" if where else ""
            raise OutputError(f"target {name}: template error{loc}: {exc}") from exc
        except InputError as exc:
            if isinstance(exc, OutputError):
                raise
            raise OutputError(f"target {name}: {exc}") from exc
    files["model.json"] = to_json(network).encode("utf-8")
    manifest = {
        "zongheng_version": zongheng.__version__,
        "policy": network.policy_file,
        "policy_sha256": network.policy_sha256,
        "targets": names,
        "files": {rel: hashlib.sha256(data).hexdigest() for rel, data in sorted(files.items())},
    }
    text = json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    files["manifest.json"] = text.encode("utf-8")
    return files


def _write_tree(root: Path, files: dict[str, bytes]) -> None:
    for rel in sorted(files):
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as fh:
            fh.write(files[rel])


def write_outputs(
    network: Network,
    out_dir: Path | str,
    targets: Iterable[str] | str,
    template_dir: Path | str | None = None,
    force: bool = False,
) -> dict:
    """Render ``targets`` for ``network`` and replace ``out_dir`` atomically.

    ``targets``: target names, or ``"all"`` / ``"a,b"``. ``template_dir``:
    the ``--templates DIR`` override (``DIR/<target>/*.j2``). Returns the
    manifest (as written to ``out_dir/manifest.json``). Raises
    :class:`OutputError` for bad targets or an unusable ``out_dir`` (one holding
    files a compile did not write, unless ``force``: see :mod:`output_tree`);
    template errors propagate. On any exception, or an interrupt, ``out_dir``
    is untouched.
    """
    out = Path(out_dir)
    names = parse_targets(targets)
    destination(out, force)  # refuse early, before the work of rendering
    files = render_tree(network, names, template_dir)
    real = destination(out, force)
    parent = real.parent
    try:  # like `mkdir -p`: `-o out/heilongjiang` works on a fresh checkout
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create {parent}: {exc.strerror}") from None
    with locked(parent):
        real = destination(out, force)  # another compile may have written it meanwhile
        _replace(real, files)
    return json.loads(files["manifest.json"])


def _replace(real: Path, files: dict[str, bytes]) -> None:
    """Write the tree beside ``real`` and swap it in; the old tree survives any failure."""
    parent = real.parent
    tmp = Path(tempfile.mkdtemp(prefix=f".{real.name}.new-", dir=parent))
    try:
        os.chmod(tmp, 0o755)
        _write_tree(tmp, files)
        if real.exists() and exchange(tmp, real):
            shutil.rmtree(tmp, ignore_errors=True)  # tmp now holds the old tree
            return
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
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
