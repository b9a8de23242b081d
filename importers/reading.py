"""One line on what ``--from-configs DIR`` read and what it left out, so a verdict on
configs never hides that most of a directory was not looked at."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from zongheng.compiler.i18n import _, ngettext
from zongheng.compiler.model import Network
from zongheng.importers.iproute2_batch import batch_beside
from zongheng.importers.registry import find_config

COMPILE_INDEX = ("manifest.json", "model.json")  # compile -o's own files: not configs


def reading_summary(network: Network, directory: Path) -> str:
    """``configs DIR: read 5 of 6 devices (cisco-ios-xe 5); 1 without a config kept its
    compiled form; 20 files left out (huawei-vrp 5, junos 5, ...)``.

    Each device is read from the first dialect with an importer found in its folder
    (registry.TARGET_MODULES order), with the iproute2 batch beside an nftables ruleset;
    every other file under ``directory`` is left out, counted by its dialect (the file
    name before its first dot, or its folder inside a device folder).
    """
    dialects: Counter[str] = Counter()
    used: set[Path] = set()
    for device in network.devices:
        found = find_config(directory, device.name)
        if found is None:
            continue
        target, path = found
        dialects[target] += 1
        used.add(path)
        batch = batch_beside(path) if target == "nftables" else None
        if batch is not None:
            used.add(batch)
    left: Counter[str] = Counter()
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        rel = path.relative_to(directory).parts
        if path in used or (len(rel) == 1 and rel[0] in COMPILE_INDEX):
            continue
        left[rel[1] if len(rel) > 2 else rel[-1].split(".")[0]] += 1
    read = sum(dialects.values())
    parts = [_("configs {directory}: read {read} of {devices} devices ({dialects})").format(
        directory=directory, read=read, devices=len(network.devices),
        dialects=_counts(dialects) or _("no config"))]
    if read < len(network.devices):
        parts.append(_("{count} without a config kept its compiled form").format(
            count=len(network.devices) - read))
    total = sum(left.values())
    parts.append(ngettext("{count} file left out", "{count} files left out", total).format(
        count=total) + (f" ({_counts(left)})" if total else ""))
    return _("; ").join(parts)


def _counts(counter: Counter[str]) -> str:
    return ", ".join(f"{name} {n}" for name, n in sorted(counter.items()))
