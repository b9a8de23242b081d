"""The importer contract: a device config parsed back into the model's terms.

An importer reads what a device is really configured with (an emitted file,
or the running config an operator exported) and returns the parts the
verifier reasons about: ACLs and where they are bound, the route targets of
each VRF, and NAT. :func:`overlay` puts them onto the compiled device, so
``verify --from-configs`` proves the network the configs build, and
``audit-config`` compares one device's config with the compiled intent. There
is no second model: everything not imported stays as compiled.

Each target module (``cisco_ios_xe``, ``huawei_vrp``, ``junos``,
``nftables``) exposes ``parse(text, device, file) -> ImportedConfig``. It maps
vendor names back to model names through the vendor's naming module
(``emitters/naming/``, the one its emitter writes with) applied to the
compiled ``device`` (so the two can never disagree), and
raises :class:`ConfigError` with ``FILE:LINE:COL`` for a line it cannot
read: a config that is only partly understood must not be verified.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from zongheng.compiler.errors import Diagnostic, InputError, Loc, PolicyError
from zongheng.compiler.model import Acl, Device, Interface, NatRule, Vrf


class ConfigError(PolicyError):
    """A device config that cannot be read; carries located diagnostics (exit 2)."""


def config_error(file: str, text: str, line: int, col: int, message: str) -> ConfigError:
    """One located error, with the offending source line for the caret."""
    lines = text.splitlines()
    src = lines[line - 1] if 0 < line <= len(lines) else ""
    return ConfigError([Diagnostic(file, Loc(line, col), "error", message, src)])


def mask_length(value: int, wildcard: bool = False) -> int | None:
    """Prefix length of a netmask, or of a wildcard (Cisco/Huawei ACLs), as an integer;
    None when its bits are not contiguous (no prefix expresses it)."""
    host = value if wildcard else value ^ 0xFFFFFFFF
    if host & (host + 1):
        return None
    return 32 - host.bit_length()


@dataclass(frozen=True)
class ImportedBinding:
    """The ACLs a config binds to one model interface (``None``: nothing bound)."""

    interface: str  # model name, e.g. "eth3.102"
    acl_in: str | None
    acl_out: str | None = None


@dataclass(frozen=True)
class ImportedVrf:
    """The route targets a config gives one model VRF (exports: the union of all RTs)."""

    name: str  # model name, e.g. "H-tax" (the config's own name for a VRF the model lacks)
    rt_import: tuple[str, ...]
    rt_export: tuple[str, ...]
    line: int = field(default=0, compare=False)  # where the config defines it
    col: int = field(default=0, compare=False)


@dataclass(frozen=True)
class StaticRoute:
    """One static route as a config writes it, normalised for comparison.

    ``via``: a next-hop address, ``if:NAME`` (vendor interface name, a next-hop
    address may follow), ``discard`` or ``reject``; a distance or preference other
    than the default is appended (``... distance 200``). Where it was read
    (``line``, ``col``) does not take part in comparisons.
    """

    vrf: str | None  # model VRF name; None: the global table
    prefix: str  # CIDR, host bits cleared
    via: str
    line: int = field(default=0, compare=False)
    col: int = field(default=0, compare=False)


@dataclass(frozen=True)
class ImportedConfig:
    """What an importer read from one device config.

    ``acls`` carry model semantics (first match, implicit deny, ``stateful``
    for firewall policies); their names are the importer's choice but must be
    the ones ``bindings`` use. ``vrfs``/``nat`` set to ``None`` mean "not
    read by this importer": the compiled values stay.
    """

    device: str
    target: str
    acls: tuple[Acl, ...]
    bindings: tuple[ImportedBinding, ...]
    vrfs: tuple[ImportedVrf, ...] | None = None
    nat: tuple[NatRule, ...] | None = None
    # model interface -> model VRF (None: the global table) as the config binds it;
    # interfaces left out (or the whole field None) keep their compiled VRF
    interface_vrfs: tuple[tuple[str, str | None], ...] | None = None
    # static routes as written; None: not read (compared with the routes the compiled
    # device renders to, see zongheng.importers.statics)
    static_routes: tuple[StaticRoute, ...] | None = None
    # VRFs the config defines that the compiled device does not have (their own names)
    other_vrfs: tuple[ImportedVrf, ...] | None = None
    # model tunnel (each of the compiled device's ``tunnel_acl_in``) -> the ACL (one of
    # ``acls``) filtering what the config's tunnel interface lets in (None: nothing, or
    # no such interface); the whole field None: not read, the compiled tunnel ACLs stay
    tunnel_acls: tuple[tuple[str, str | None], ...] | None = None


def overlay(device: Device, imported: ImportedConfig) -> Device:
    """The compiled device with the imported ACLs, bindings, route targets, NAT and the
    VRF each interface is bound to (see :func:`_move`)."""
    bound = {b.interface: b for b in imported.bindings}
    unknown = sorted(set(bound) - {i.name for i in device.interfaces})
    if unknown:
        raise InputError(f"{device.name}: bindings on unknown interfaces {unknown}")
    names = {a.name for a in imported.acls}
    for b in imported.bindings:
        for acl in (b.acl_in, b.acl_out):
            if acl is not None and acl not in names:
                raise InputError(f"{device.name}: {b.interface} binds unknown ACL {acl!r}")
    interfaces = tuple(
        dataclasses.replace(i, acl_in=bound[i.name].acl_in, acl_out=bound[i.name].acl_out)
        if i.name in bound else dataclasses.replace(i, acl_in=None, acl_out=None)
        for i in device.interfaces)
    vrfs = device.vrfs
    if imported.vrfs is not None:
        got = {v.name: v for v in imported.vrfs}
        vrfs = tuple(dataclasses.replace(v, rt_import=got[v.name].rt_import,
                                         rt_export=got[v.name].rt_export)
                     if v.name in got else dataclasses.replace(v, rt_import=(), rt_export=())
                     for v in device.vrfs)
    nat = device.nat if imported.nat is None else imported.nat
    compiled_vrf = {i.name: i.vrf for i in device.interfaces}
    moved = {name: vrf for name, vrf in imported.interface_vrfs or ()
             if name in compiled_vrf and vrf != compiled_vrf[name]}
    if moved:
        interfaces, vrfs = _move(device.name, interfaces, vrfs, moved,
                                 {v.name: v for v in imported.other_vrfs or ()})
    if imported.tunnel_acls is None:
        # an importer that does not read tunnel interfaces: the compiled ACLs stay
        tunnel_acl_in = device.tunnel_acl_in
        kept = tuple(a for a in device.acls
                     if a.name in {n for _, n in device.tunnel_acl_in} and a.name not in names)
    else:
        known = {t for t, _ in device.tunnel_acl_in}
        for tunnel, acl in imported.tunnel_acls:
            if tunnel not in known:
                raise InputError(f"{device.name}: an ACL for unknown tunnel {tunnel!r}")
            if acl is not None and acl not in names:
                raise InputError(f"{device.name}: tunnel {tunnel} binds unknown ACL {acl!r}")
        tunnel_acl_in = tuple((t, a) for t, a in imported.tunnel_acls if a is not None)
        kept = ()
    return dataclasses.replace(device, interfaces=interfaces, acls=imported.acls + kept,
                               vrfs=vrfs, nat=nat, tunnel_acl_in=tunnel_acl_in)


def _move(device: str, interfaces: tuple[Interface, ...], vrfs: tuple[Vrf, ...],
          moved: dict[str, str | None], others: dict[str, ImportedVrf]
          ) -> tuple[tuple[Interface, ...], tuple[Vrf, ...]]:
    """Interfaces bound to another VRF than compiled, with their connected routes.

    A packet arriving on a moved interface is routed in its new VRF, and the
    routes to the hosts behind it (the VRF's ``local`` routes ending there)
    move with it, as a router's connected routes do. Into the global table
    they move nowhere: a PE's global table carries no attachments. A VRF the
    model lacks (``others``: as the config defines it) is added to the device
    with the route targets the config gives it, so attachments moved into one
    such VRF reach each other as they would on the router.
    """
    known = {v.name for v in vrfs}
    added = sorted({vrf for vrf in moved.values() if vrf is not None and vrf not in known})
    vrfs = vrfs + tuple(Vrf(name, "", others[name].rt_export if name in others else (),
                            others[name].rt_import if name in others else (), (),
                            "unmodelled", "defined by the config, not by the policy")
                        for name in added)
    interfaces = tuple(dataclasses.replace(i, vrf=moved[i.name]) if i.name in moved else i
                       for i in interfaces)
    travelling = {name: [r for v in vrfs for r in v.routes
                         if r.kind == "local" and r.egress_device == device
                         and r.egress_interface == name] for name in moved}
    out = []
    for v in vrfs:
        routes = [r for r in v.routes if not (r.kind == "local" and r.egress_device == device
                                              and r.egress_interface in moved)]
        routes += [dataclasses.replace(r, egress_vrf=v.name) for name, vrf in moved.items()
                   if vrf == v.name for r in travelling[name]]
        out.append(dataclasses.replace(v, routes=tuple(routes)))
    return interfaces, tuple(out)
