"""Drift: what one device's real config does differently from the compiled intent.

The config is parsed back into the model's terms (an importer), then compared
with the compiled device: for every interface, the packets its bound ACL
decides differently (one concrete packet each way, found by z3, or proof that
none exists); the route targets of every VRF; NAT. A comparison z3 could not decide raises
``TimeoutError`` (never reported as "no drift"). ``audit-config`` is the command.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zongheng.compiler.model import Acl, Device, Network
from zongheng.importers import TARGET_MODULES, ImportedConfig
from zongheng.importers.iproute2_batch import BATCH, batch_drift
from zongheng.importers.statics import describe, static_drift

if TYPE_CHECKING:
    from zongheng.emitters.inventory import Inventory


@dataclass(frozen=True)
class Finding:
    """One difference between the config and the intent."""

    where: str  # "eth3.102 in", "tunnel inner-hrb in", "VRF H-tax", "NAT"
    kind: str  # opened|closed|unbound|bound|stateful|vrf|rt-import|rt-export|route|routing|nat
    detail: str
    packet: dict | None = None


def guess_target(path: Path, text: str) -> str | None:
    """The target a config file is written for: its emitted file name, else its content."""
    from zongheng.importers.registry import config_file_name

    for target in TARGET_MODULES:
        if path.name == config_file_name(target):
            return target
    if path.suffix == ".set":
        return "junos"
    if path.suffix == ".nft" or text.lstrip().startswith(("table ", "#!/usr/sbin/nft")):
        return "nftables"
    if "ip vpn-instance" in text or "\nacl number " in text or "\nsysname " in text:
        return "huawei-vrp"
    if "ip access-list " in text or "\nhostname " in text or "vrf definition " in text:
        return "cisco-ios-xe"
    return None


def _acl(device: Device, name: str | None) -> Acl | None:
    return None if name is None else next(a for a in device.acls if a.name == name)


def _acl_findings(where: str, want_name: str | None, want: Acl | None,
                  have_name: str | None, have: Acl | None, timeout_ms: int) -> list[Finding]:
    """How the ACL a config binds at ``where`` differs from the intended one."""
    from zongheng.verifier.acl_diff import acl_differences

    if want is None and have is None:
        return []
    out = []
    if (want is None) != (have is None):
        kind = "unbound" if have is None else "bound"
        out.append(Finding(where, kind, f"intended {want_name or 'no ACL'}, "
                                        f"configured {have_name or 'no ACL'}"))
    elif want is not None and have is not None and want.stateful != have.stateful:
        out.append(Finding(where, "stateful", f"intended stateful={want.stateful}, "
                                              f"configured stateful={have.stateful}"))
    for d in acl_differences(want, have, timeout_ms=timeout_ms):
        verb = ("permitted by the config, denied by the policy" if d.kind == "opened"
                else "denied by the config, permitted by the policy")
        out.append(Finding(where, d.kind, verb,
                           {k: v for k, v in asdict(d.packet).items() if k != "realm"}))
    return out


def compare(device: Device, imported: ImportedConfig, timeout_ms: int,
            network: Network | None = None, inventory: Inventory | None = None
            ) -> list[Finding]:
    """Every difference: interface ACLs in model order, tunnel ACLs, interface VRFs, then
    VRF route targets, static routes (with ``network``, whose rendering they are compared
    with), then NAT."""
    got_acls = {a.name: a for a in imported.acls}
    bound = {b.interface: b for b in imported.bindings}
    out: list[Finding] = []
    for iface in device.interfaces:
        b = bound.get(iface.name)
        for direction, want_name, have_name in (
                ("in", iface.acl_in, b.acl_in if b else None),
                ("out", iface.acl_out, b.acl_out if b else None)):
            out += _acl_findings(f"{iface.name} {direction}", want_name,
                                 _acl(device, want_name), have_name,
                                 got_acls.get(have_name) if have_name else None, timeout_ms)
    # what each tunnel lets in (inner routers), where the importer reads tunnel interfaces
    got_tunnels = dict(imported.tunnel_acls or ())
    for tunnel, want_name in device.tunnel_acl_in if imported.tunnel_acls is not None else ():
        have_name = got_tunnels.get(tunnel)
        out += _acl_findings(f"tunnel {tunnel} in", want_name, _acl(device, want_name),
                             have_name, got_acls.get(have_name) if have_name else None,
                             timeout_ms)
    bound_vrf = dict(imported.interface_vrfs or ())
    for iface in device.interfaces:
        if iface.name in bound_vrf and bound_vrf[iface.name] != iface.vrf:
            have = bound_vrf[iface.name] or "global"
            out.append(Finding(iface.name, "vrf", f"intended VRF {iface.vrf or 'global'}, "
                                                  f"configured {have}"))
    if imported.vrfs is not None:
        got = {v.name: v for v in imported.vrfs}
        for v in device.vrfs:
            g = got.get(v.name)
            for kind, want, have in (("rt-import", v.rt_import, g.rt_import if g else ()),
                                     ("rt-export", v.rt_export, g.rt_export if g else ())):
                extra, missing = sorted(set(have) - set(want)), sorted(set(want) - set(have))
                if extra or missing:
                    out.append(Finding(f"VRF {v.name}", kind,
                                       f"extra {extra or 'none'}, missing {missing or 'none'}"))
    if network is not None:
        added, lacking = static_drift(network, device, imported, inventory=inventory)
        for r in added:
            out.append(Finding(f"VRF {r.vrf}" if r.vrf else "global table", "route",
                               f"configured but not intended: {describe(r)} "
                               f"(line {r.line})"))
        for r in lacking:
            out.append(Finding(f"VRF {r.vrf}" if r.vrf else "global table", "route",
                               f"intended but not configured: {describe(r)}"))
    if imported.nat is not None:
        key = lambda n: (n.kind, n.inside, n.outside, n.interface)  # noqa: E731
        want_n, have_n = {key(n) for n in device.nat}, {key(n) for n in imported.nat}
        for k in sorted(have_n - want_n):
            out.append(Finding("NAT", "nat", f"configured but not intended: {' '.join(k)}"))
        for k in sorted(want_n - have_n):
            out.append(Finding("NAT", "nat", f"intended but not configured: {' '.join(k)}"))
    return out


def batch_findings(network: Network, device: Device, batch: Path,
                   inventory: Any = None) -> list[Finding]:
    """The iproute2 batch beside an nftables ruleset against the compiled batch."""
    added, lacking = batch_drift(network, device, batch.read_bytes().decode("utf-8", "replace"),
                                 inventory)
    return ([Finding(BATCH, "routing", f"configured but not intended: {s} (line {line})")
             for line, _col, s in added]
            + [Finding(BATCH, "routing", f"intended but not configured: {s}") for s in lacking])


def render_text(device: str, config: str, findings: list[Finding]) -> str:
    if not findings:
        return f"{config}: no drift from the compiled intent of {device}\n"
    lines = [f"{config}: {len(findings)} difference(s) from the compiled intent of {device}"]
    for f in findings:
        lines.append(f"  {f.where}: {f.kind}: {f.detail}")
        if f.packet:
            p = f.packet
            ports = f" {p['sport']} -> {p['dport']}" if p["protocol"] in ("tcp", "udp") else ""
            icmp = f" type {p['icmp_type']}" if p["icmp_type"] is not None else ""
            flags = f" [{p['tcp_flags']}]" if p["tcp_flags"] else ""
            lines.append(f"    packet: {p['protocol']} {p['src']} -> {p['dst']}{ports}{icmp}"
                         f"{flags}{'' if p['new'] else ' (reply)'}")
    return "\n".join(lines) + "\n"
