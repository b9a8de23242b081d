"""Which importer reads which dialect, and where a compile output keeps each device's config."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from pathlib import Path

from zongheng.compiler.errors import InputError
from zongheng.compiler.model import Device, Network
from zongheng.importers.base import ImportedConfig

# targets with an importer, in the order a device directory is searched
TARGET_MODULES = {
    "cisco-ios-xe": "cisco_ios_xe",
    "huawei-vrp": "huawei_vrp",
    "junos": "junos",
    "nftables": "nftables",
}


def config_file_name(target: str) -> str:
    """The file name the emitter of ``target`` writes (``cisco-ios-xe.cfg``)."""
    from zongheng.emitters import REGISTRY

    return f"{target}.{REGISTRY[target].extension}"


def import_config(target: str, text: str, device: Device, file: str,
                  ports: Mapping[str, str] | None = None,
                  network: Network | None = None) -> ImportedConfig:
    """Parse one config of ``device``; ConfigError (located) when it cannot be read.
    ``ports``: the device's port names from an inventory (model ``eth3`` -> device port).
    ``network``: the compiled network, for an importer that maps a config's tunnels back
    to the model's (its module sets ``READS_TUNNELS``; it reads tunnels' ACLs only then)."""
    if target not in TARGET_MODULES:
        raise InputError(f"no importer for target {target!r}; "
                         f"importers: {', '.join(TARGET_MODULES)}")
    module = importlib.import_module(f"zongheng.importers.{TARGET_MODULES[target]}")
    if network is not None and getattr(module, "READS_TUNNELS", False):
        return module.parse(text, device, file, ports, network=network)
    return module.parse(text, device, file, ports)


def find_config(directory: Path, device: str) -> tuple[str, Path] | None:
    """(target, path) of the first config of ``device`` under ``directory``, if any."""
    for target in TARGET_MODULES:
        path = directory / device / config_file_name(target)
        if path.is_file():
            return target, path
    return None
