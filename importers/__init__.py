"""Importers: device configs parsed back into the compiled network model.

``import_config(target, text, device, file)`` reads one config;
``network_from_configs(network, directory)`` rebuilds the network a compile
output directory (``DIR/<device>/<target>.<ext>``, or configs an operator
exported into the same layout) describes. See :mod:`zongheng.importers.base`.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

from zongheng.compiler.model import Device, Network
from zongheng.importers.base import (
    ConfigError,
    ImportedBinding,
    ImportedConfig,
    ImportedVrf,
    config_error,
    overlay,
)
from zongheng.importers.exports import reexport
from zongheng.importers.iproute2_batch import batch_beside, batch_drift
from zongheng.importers.reading import reading_summary
from zongheng.importers.registry import (
    TARGET_MODULES,
    config_file_name,
    find_config,
    import_config,
)
from zongheng.importers.statics import describe, static_drift

if TYPE_CHECKING:
    from zongheng.emitters.inventory import Inventory

__all__ = [
    "TARGET_MODULES", "ConfigError", "ImportedBinding", "ImportedConfig", "ImportedVrf",
    "config_error", "config_file_name", "find_config", "import_config", "network_from_configs",
    "overlay", "reading_summary",
]

def network_from_configs(network: Network, directory: Path,
                         inventory: Inventory | None = None) -> tuple[Network, list[str]]:
    """The network the configs under ``directory`` build, and notes on devices without one.

    A device without a config keeps its compiled form and is named in the
    notes, so a report never passes off the intent as the configuration.
    ``inventory``: the device inventory the configs were compiled with (their port
    names are mapped back to the model's through it).
    """
    devices, missing = [], []
    notes: list[str] = []
    emitters: dict = {}  # target -> emitter of the compiled network, for static routes
    model_rts = {t.rt for t in network.route_targets} | {
        rt for d in network.devices for v in d.vrfs for rt in (*v.rt_import, *v.rt_export)}
    for device in network.devices:
        found = find_config(directory, device.name)
        if found is None:
            missing.append(device.name)
            devices.append(device)
            continue
        target, path = found
        text = path.read_bytes().decode("utf-8", errors="replace")
        ports = inventory.ports_for(device.name, target) if inventory else None
        imported = import_config(target, text, device, str(path), ports, network)
        for v in imported.other_vrfs or ():
            shared = sorted(model_rts & {*v.rt_import, *v.rt_export})
            if shared:
                raise config_error(str(path), text, v.line, v.col,
                                   f"VRF {v.name} is not in the policy but exchanges route "
                                   f"target {', '.join(shared)} with its VRFs: the routes it "
                                   "imports or exports are not modelled")
        result = overlay(device, imported)
        policy_vrfs = {v.name for v in device.vrfs}
        notes += [f"{path}: {i.name} is bound to VRF {i.vrf}, which the policy does not have; "
                  "it is verified as a VRF of its own with the config's route targets"
                  for i in result.interfaces if i.vrf is not None and i.vrf not in policy_vrfs]
        notes += _check_statics(network, device, result, imported, path, text, emitters,
                                inventory)
        batch = batch_beside(path) if target == "nftables" else None
        if batch is not None:
            notes += _check_batch(network, device, batch, inventory)
        devices.append(result)
    notes += [f"{directory}: no config for {name}; its compiled form is used" for name in missing]
    return dataclasses.replace(network, devices=tuple(devices),
                               route_targets=reexport(network, tuple(devices))), notes


def _check_statics(network: Network, device: Device, result: Device,
                   imported: ImportedConfig, path: Path, text: str,
                   emitters: dict | None = None,
                   inventory: Inventory | None = None) -> list[str]:
    """Notes on static routes the config lacks or adds outside the modelled tables;
    ConfigError on one it adds where the verifier would route with it.

    Outside the model: a VRF the policy does not have and no model interface is
    bound to (it exchanges no route target with the model's VRFs, or the
    config was refused), and a PE's global table while no attachment sits in
    it (it carries only the MPLS underlay between PEs).
    """
    added, lacking = static_drift(network, device, imported, emitters, inventory)
    used = {i.vrf for i in result.interfaces}
    model_vrfs = {v.name for v in device.vrfs}
    notes = []
    for r in added:
        if r.vrf is not None and r.vrf not in model_vrfs and r.vrf not in used:
            notes.append(f"{path}:{r.line}: static route {describe(r)} is in a VRF outside "
                         "the policy; it is not verified")
            continue
        if r.vrf is None and device.role == "pe" and not any(
                i.vrf is None and i.attached_class for i in result.interfaces):
            notes.append(f"{path}:{r.line}: static route {describe(r)} is in the PE's global "
                         "table, which carries only the MPLS underlay (assumed to deliver, "
                         "as OSPF and LDP are); it is not verified")
            continue
        raise config_error(str(path), text, r.line, r.col,
                           f"static route {describe(r)} is not one the policy compiles "
                           "to: where it leads is not modelled, so the network cannot be "
                           "verified with it (remove it, or say it in the policy)")
    return notes + [f"{path}: compiled static route {describe(r)} is not in the config; it "
                    "is verified as compiled" for r in lacking]


def _check_batch(network: Network, device: Device, batch: Path,
                 inventory: Inventory | None = None) -> list[str]:
    """Notes on compiled statements the iproute2 batch lacks; ConfigError on one it adds."""
    text = batch.read_bytes().decode("utf-8", errors="replace")
    added, lacking = batch_drift(network, device, text, inventory)
    if added:
        line, col, stmt = added[0]
        raise config_error(str(batch), text, line, col,
                           f"'{stmt}' is not in the batch the policy compiles to: the Linux "
                           "routing is taken from the compile, so a changed batch cannot be "
                           "verified (remove it, or say it in the policy)")
    return [f"{batch}: compiled statement '{s}' is not in the batch; it is verified as "
            "compiled" for s in lacking]


__all__ = [
    "TARGET_MODULES", "ConfigError", "ImportedBinding", "ImportedConfig", "ImportedVrf",
    "config_error", "config_file_name", "find_config", "import_config", "network_from_configs",
    "overlay", "reading_summary", "reexport",
]
