"""The compiled model's ACLs as Aerleon input, so Aerleon can render the same ACLs.

Used by ``bench_emit.py`` to compare emit times: every ``Acl`` of every
device becomes one Aerleon filter, every ``AclLine`` one term, in order.
Addresses become network objects (one per distinct prefix list), ports
service objects (one per protocol and range), ``permit``/``deny`` become
``accept``/``deny`` and ``AclLine.established`` the ``tcp-established``
option. The output is plain Python data (Aerleon's in-memory policy and
definitions format, see ``aerleon.api``), so converting is kept out of the
timed Aerleon work. Aerleon is imported lazily: this module loads without it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from zongheng.compiler.model import Acl, AclLine, Device, Network, PortRange

# Bridge target -> (Aerleon platform, header options after the filter name or None
# when the platform's header takes no filter name).
#   cisco: IOS named ACL with object groups (zongheng's IOS-XE ACLs use object groups too)
#   cisco-extended: the same ACL without object groups (Aerleon's default; every
#     source x destination prefix pair becomes its own entry)
#   juniper: a Junos firewall filter, IPv4
#   nftables: IPv4 table, forward hook; Aerleon names no filter here (each filter is a
#     base chain root<N>, each term a chain named after the term) and its output is
#     always stateful: it leaves out tcp-established terms (ct state covers replies)
TARGETS: dict[str, tuple[str, tuple[str, ...], bool]] = {
    "cisco": ("cisco", ("object-group",), True),
    "cisco-extended": ("cisco", ("extended",), True),
    "juniper": ("juniper", ("inet",), True),
    "nftables": ("nftables", ("inet", "forward"), False),
}

# Aerleon names ICMP types; the model numbers them (Aerleon's policy.Term.ICMP_TYPE[4]).
ICMP_TYPE_NAMES: dict[int, str] = {
    0: "echo-reply", 3: "unreachable", 4: "source-quench", 5: "redirect",
    6: "alternate-address", 8: "echo-request", 9: "router-advertisement",
    10: "router-solicitation", 11: "time-exceeded", 12: "parameter-problem",
    13: "timestamp-request", 14: "timestamp-reply", 15: "information-request",
    16: "information-reply", 17: "mask-request", 18: "mask-reply",
    31: "conversion-error", 32: "mobile-redirect",
}

_TOKEN_BAD = re.compile(r"[^A-Za-z0-9_-]")


class BridgeError(ValueError):
    """A model ACL line Aerleon cannot express."""


@dataclass
class Definitions:
    """Network and service objects, named deterministically in order of first use."""

    networks: dict[tuple[str, ...], str] = field(default_factory=dict)
    services: dict[tuple[str, int, int], str] = field(default_factory=dict)

    def network(self, prefixes: tuple[str, ...], hint: str | None) -> str:
        key = tuple(prefixes)
        name = self.networks.get(key)
        if name is None:
            base = _TOKEN_BAD.sub("_", hint or "NET").upper()
            taken = set(self.networks.values())
            name = base if base not in taken else f"{base}_{len(self.networks)}"
            self.networks[key] = name
        return name

    def service(self, protocol: str, ports: PortRange) -> str:
        key = (protocol, ports.low, ports.high)
        name = self.services.get(key)
        if name is None:
            suffix = str(ports.low) if ports.low == ports.high else f"{ports.low}_{ports.high}"
            name = f"{protocol.upper()}_{suffix}"
            self.services[key] = name
        return name

    def as_object(self) -> dict[str, Any]:
        """Aerleon's definitions object (what ``Naming.ParseDefinitionsObject`` reads)."""
        return {
            "networks": {
                name: {"values": [{"address": p} for p in prefixes]}
                for prefixes, name in self.networks.items()
            },
            "services": {
                name: [{"port": str(lo) if lo == hi else f"{lo}-{hi}", "protocol": proto}]
                for (proto, lo, hi), name in self.services.items()
            },
        }


def _is_every_port(ports: PortRange | None) -> bool:
    return ports is None or (ports.low <= 1 and ports.high >= 65535)


def term(acl_name: str, line: AclLine, defs: Definitions,
         single_icmp_twice: bool = False) -> dict[str, Any]:
    """One Aerleon term for one model ACL line.

    Term names carry the ACL name: Aerleon's nftables output makes one chain
    per term in one table per device, so names must be unique per device.
    """
    if line.action not in ("permit", "deny"):
        raise BridgeError(f"ACL line {line.seq}: action {line.action!r}")
    out: dict[str, Any] = {"name": f"{acl_name}-{line.seq}",
                           "action": "accept" if line.action == "permit" else "deny"}
    if line.src:
        out["source-address"] = defs.network(line.src, line.src_group)
    if line.dst:
        out["destination-address"] = defs.network(line.dst, line.dst_group)
    if line.protocol != "ip":
        out["protocol"] = line.protocol
    if line.protocol in ("tcp", "udp"):
        if not _is_every_port(line.sport):
            out["source-port"] = defs.service(line.protocol, line.sport)
        if not _is_every_port(line.dport):
            out["destination-port"] = defs.service(line.protocol, line.dport)
    elif line.sport is not None or line.dport is not None:
        raise BridgeError(f"ACL line {line.seq}: ports on {line.protocol}")
    if line.protocol == "icmp" and line.icmp_types is not None:
        try:
            types = [ICMP_TYPE_NAMES[t] for t in sorted(set(line.icmp_types))]
        except KeyError as exc:
            raise BridgeError(f"ACL line {line.seq}: ICMP type {exc} has no Aerleon name") from None
        if len(types) == 1 and single_icmp_twice:
            # Aerleon 1.18's nftables generator crashes on a one-type list
            # (TypeError in PortsAndProtocols); the same type twice renders a
            # one-element set, which matches the same packets.
            types *= 2
        out["icmp-type"] = types
    if line.established:
        if line.protocol != "tcp":
            raise BridgeError(f"ACL line {line.seq}: established on {line.protocol}")
        out["option"] = "tcp-established"
    return out


def acl_filter(acl: Acl, target: str, defs: Definitions) -> dict[str, Any]:
    """One Aerleon filter for one ACL. An empty ACL (implicit deny only) gets one deny term."""
    platform, options, named = TARGETS[target]
    twice = platform == "nftables"
    terms = [term(acl.name, line, defs, twice) for line in sorted(acl.lines, key=lambda ln: ln.seq)]
    if not terms:
        terms = [{"name": f"{acl.name}-implicit-deny", "action": "deny"}]
    header = " ".join((acl.name, *options) if named else options)
    return {"header": {"targets": {platform: header}}, "terms": terms}


def device_policy(device: Device, target: str, defs: Definitions) -> dict[str, Any] | None:
    """One Aerleon policy (one output file) per device with ACLs."""
    if not device.acls:
        return None
    return {"filename": device.name,
            "filters": [acl_filter(acl, target, defs) for acl in device.acls]}


def network_policies(network: Network, target: str) -> tuple[list[dict[str, Any]], dict]:
    """Aerleon policies (one per device with ACLs) and the definitions object they use."""
    if target not in TARGETS:
        raise BridgeError(f"unknown Aerleon target {target!r}; known: {sorted(TARGETS)}")
    defs = Definitions()
    policies = [p for d in network.devices if (p := device_policy(d, target, defs)) is not None]
    return policies, defs.as_object()


def generate(policies: list[dict[str, Any]], definitions: dict[str, Any]) -> dict[str, str]:
    """Run Aerleon's generator in this process: file name -> text."""
    from aerleon import api
    from aerleon.lib import naming

    names = naming.Naming()
    names.ParseDefinitionsObject(definitions, "zongheng")
    return dict(api.Generate(policies, names))
