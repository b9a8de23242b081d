"""nftables target: one ruleset per device (ACLs as chains, NAT on exits).

Each model ACL becomes a regular chain ``zh_acl_<name>`` rendering its lines
in order (first match) and ending in ``drop`` (the implicit deny); the
``forward`` and ``input`` base chains jump to it for packets entering (or
leaving, for ``acl_out``) the interface it is bound to. Stateful ACLs
(exit firewalls) start with ``ct state established,related accept``;
stateless ones carry the model's explicit reply lines, TCP replies as
``tcp flags & (ack | rst) != 0``. Exits get a ``zh_nat`` table: static
dnat/snat per host first, then snat of the inside prefix to the pool; their
outside chain refuses new packets to a published host that were not DNATed.
A tunnel end's inbound ACL (``Device.tunnel_acl_in``) is jumped to for the
packets the tunnel brings in: those between its traffic selectors (see
:func:`tunnel_filters`).
Generated names carry the ``zh_`` prefix (nft rejects some bare names such
as ``fwd``) and every statement is on its own line.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from zongheng.compiler.errors import InputError
from zongheng.compiler.model import AclLine, Device, NatRule, Network
from zongheng.emitters.base import Emitter
from zongheng.emitters.filters import (
    cidr,
    host_address,
    ident,
    merge_prefixes,
    port_range,
    short_hash,
)
from zongheng.emitters.linux_plan import linux_port_name, wg_ifname

_PROTO = {"tcp", "udp", "icmp"}


class NftablesError(InputError):
    """An ACL line nftables cannot express (a compiler bug)."""


def _addr(field: str, prefixes: tuple[str, ...], sets: dict[tuple[str, ...], str]) -> list[str]:
    if not prefixes:
        return []
    merged = tuple(merge_prefixes(prefixes))
    if len(merged) == 1:
        return [f"ip {field} {merged[0]}"]
    if merged in sets:
        return [f"ip {field} @{sets[merged]}"]
    return [f"ip {field} {{ {', '.join(merged)} }}"]


def address_sets(device: Device) -> dict[tuple[str, ...], str]:
    """Named sets for every multi-prefix address list of the device's ACLs.

    Named after the model's object groups (``zh_g_internet``); a name that
    would stand for two different lists gets a hash suffix. Model order, so
    deterministic.
    """
    sets: dict[tuple[str, ...], str] = {}
    taken: set[str] = set()
    for acl in device.acls:
        for line in acl.lines:
            for prefixes, group in ((line.src, line.src_group), (line.dst, line.dst_group)):
                merged = tuple(merge_prefixes(prefixes)) if prefixes else ()
                if len(merged) < 2 or merged in sets:
                    continue
                name = ident(f"g_{group or 'addresses'}", max_len=40)
                if name in taken:
                    name = f"{name}_{short_hash(','.join(merged))}"
                taken.add(name)
                sets[merged] = name
    return sets


def nft_match(line: AclLine, sets: dict[tuple[str, ...], str] | None = None) -> str:
    """The match expressions of one ACL line (empty string: matches every packet)."""
    sets = sets or {}
    parts = _addr("saddr", line.src, sets) + _addr("daddr", line.dst, sets)
    proto = line.protocol
    if proto not in _PROTO and proto != "ip":
        raise NftablesError(f"unknown protocol {proto!r} in ACL line {line.seq}")
    if proto in ("tcp", "udp"):
        ports = []
        if line.sport is not None:
            ports.append(f"{proto} sport {port_range(line.sport)}")
        if line.dport is not None:
            ports.append(f"{proto} dport {port_range(line.dport)}")
        parts += ports or [f"ip protocol {proto}"]
        if line.established:
            if proto != "tcp":
                raise NftablesError(f"ACL line {line.seq}: established on {proto}")
            parts.append("tcp flags & (ack | rst) != 0")
    elif proto == "icmp":
        parts.append("ip protocol icmp")
        if line.icmp_types is not None:
            types = sorted(set(line.icmp_types))
            if len(types) == 1:
                parts.append(f"icmp type {types[0]}")
            else:
                parts.append(f"icmp type {{ {', '.join(str(t) for t in types)} }}")
    return " ".join(parts)


def nft_verdict(line: AclLine) -> str:
    if line.action not in ("permit", "deny"):
        raise NftablesError(f"ACL line {line.seq}: unknown action {line.action!r}")
    return "accept" if line.action == "permit" else "drop"


def nft_statement(line: AclLine, sets: dict[tuple[str, ...], str] | None = None) -> str:
    """The whole rule of one ACL line: matches, then the verdict."""
    match = nft_match(line, sets)
    return f"{match} {nft_verdict(line)}" if match else nft_verdict(line)


def nat_pool(rule: NatRule) -> str:
    """The snat target: the pool's overload range when the model gives one, else the pool."""
    if rule.pool_first and rule.pool_last:
        first, last = host_address(rule.pool_first), host_address(rule.pool_last)
        return first if first == last else f"{first}-{last}"
    return cidr(rule.outside)


def published_hosts(device: Device) -> dict[str, list[str]]:
    """ACL name -> inside addresses of static-NAT hosts, for the ACL of each NAT outside side.

    The exit's outside ACL judges packets after DNAT, so on its own it would
    also let the Internet reach a published host at its inside address. The
    chain first drops new packets to those addresses that no DNAT produced
    (``ct status & dnat == 0``): published hosts are reached only through
    their NAT address, as the language says. Stricter than the model, never
    looser, so the verifier's proofs still hold for this rendering.
    """
    out: dict[str, list[str]] = {}
    for iface in device.interfaces:
        hosts = sorted({host_address(n.inside) for n in device.nat
                        if n.kind == "static" and n.interface == iface.name},
                       key=lambda a: tuple(int(x) for x in a.split(".")))
        if hosts and iface.acl_in:
            out.setdefault(iface.acl_in, [])
            out[iface.acl_in] += [h for h in hosts if h not in out[iface.acl_in]]
    return out


def tunnel_filters(network: Network, device: Device) -> list[dict[str, str | None]]:
    """The match of each tunnel end's inbound ACL: {tunnel, acl, iifname, saddr, daddr}.

    The packets a tunnel brings in are those of its inbound policy: from the far
    end's traffic selectors to this end's (exactly the tunnel's prefixes, as the
    strongSwan and WireGuard targets configure them). An IPsec tunnel has no
    interface of its own (policy-based, decrypted packets arrive on the underlay
    port with kernel ESP, on charon's TUN device with kernel-libipsec), but the
    kernel drops a clear packet that matches an inbound IPsec policy, so a packet
    between the selectors came through the tunnel: the match is the selector
    pair, the same on both backends. A WireGuard (vertical) tunnel also names its
    ``wg-<vrf>`` interface: two VRFs' nets may overlap. docs/vendor-syntax.md.
    """
    tunnels = {t.name: t for t in network.tunnels}
    out: list[dict[str, str | None]] = []
    for name, acl in device.tunnel_acl_in:
        t = tunnels.get(name)
        if t is None or device.name not in (t.a_device, t.b_device):
            raise NftablesError(f"{device.name}: ACL {acl} bound to unknown tunnel {name!r}")
        a_side = device.name == t.a_device
        local, remote = (t.a_prefixes, t.b_prefixes) if a_side else (t.b_prefixes, t.a_prefixes)
        vrf = t.a_vrf if a_side else t.b_vrf
        if not local or not remote:
            raise NftablesError(f"{device.name}: tunnel {name} has no traffic selectors")
        out.append({"tunnel": name, "acl": acl,
                    "iifname": wg_ifname(vrf) if t.kind == "vertical" and vrf else None,
                    "saddr": _addr("saddr", remote, {})[0],
                    "daddr": _addr("daddr", local, {})[0]})
    return out


def acl_chain(name: str) -> str:
    """``zh-v-tax-in`` -> ``zh_acl_v_tax_in`` (never a base chain's name)."""
    return ident(name.removeprefix("zh-").removeprefix("acl-"), max_len=63, prefix="zh_acl_")


class NftablesEmitter(Emitter):
    """One ``nftables.nft`` per device, checked by ``nft -c -f``."""

    name = "nftables"
    extension = "nft"

    filters = {
        "nft_match": nft_match,
        "nft_verdict": nft_verdict,
        "nft_statement": nft_statement,
        "acl_chain": acl_chain,
        "nat_pool": nat_pool,
    }
    ports: Mapping[str, str] = {}  # the device being rendered's inventory port names

    def bound_filters(self) -> dict[str, Callable[..., Any]]:
        """``linux_ifname``: a model interface's Linux name on the device being rendered
        (its inventory port names when it is a ``linux`` platform device)."""
        return {"linux_ifname": lambda name: linux_port_name(name, self.ports)}

    def render(self, device: Device) -> str | None:
        self.ports = self.inventory.ports_for(device.name, self.name) if self.inventory else {}
        acls = {a.name: a for a in device.acls}
        chains = [acl_chain(a) for a in acls]
        if len(set(chains)) != len(chains):
            raise NftablesError(f"{device.name}: two ACL names map to one nftables chain")
        for iface in device.interfaces:
            for acl in (iface.acl_in, iface.acl_out):
                if acl is not None and acl not in acls:
                    raise NftablesError(f"{device.name} {iface.name}: unknown ACL {acl!r}")
        tunnels = tunnel_filters(self.network, device)
        for t in tunnels:
            if t["acl"] not in acls:
                raise NftablesError(f"{device.name} tunnel {t['tunnel']}: unknown ACL "
                                    f"{t['acl']!r}")
        return self.env.get_template("device.nft.j2").render(
            network=self.network, device=device,
            bound_in=[i for i in device.interfaces if i.acl_in],
            bound_out=[i for i in device.interfaces if i.acl_out],
            tunnels=tunnels,
            static_nat=[n for n in device.nat if n.kind == "static"],
            source_nat=[n for n in device.nat if n.kind == "source"],
            sets=address_sets(device),
            published=published_hosts(device),
            mss=any(device.name in (t.a_device, t.b_device) for t in self.network.tunnels),
        )
