"""Cisco IOS-XE target: one paste-able configuration per device.

The class computes the values the template needs (object groups, sequence
numbers, export maps); IOS-XE names come from ``emitters/naming/cisco.py``,
which the importer reads them back with; the statement
shapes live in ``templates/cisco-ios-xe/device.j2`` and are listed with the
documentation they were checked against in ``docs/vendor-syntax.md``.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any, ClassVar

from zongheng.compiler.addresses import host, prefixlen, sort_key
from zongheng.compiler.model import Acl, Device, Vrf
from zongheng.emitters import _router as rv
from zongheng.emitters import crypto_suite
from zongheng.emitters.filters import Lines, comment_text
from zongheng.emitters.naming import cisco as nm
from zongheng.emitters.naming import gigabit_port, split_ifname
from zongheng.emitters.naming.cisco import ios_ifname, ios_name
from zongheng.emitters.router import RouterEmitter, RouterPlan

SEQ_STEP = 10


class CiscoIosXe(RouterEmitter):
    """IOS-XE: VRFs, MP-BGP VPNv4, named extended ACLs, NAT, zone firewall, IKEv2 tunnels."""

    name: ClassVar[str] = "cisco-ios-xe"
    extension: ClassVar[str] = "cfg"
    suite: ClassVar[dict[str, str]] = crypto_suite.CISCO
    filters: ClassVar[dict[str, Any]] = {"ios_name": ios_name}
    ifname_filter: ClassVar[str] = "ios_ifname"

    discard: ClassVar[str | None] = nm.DISCARD

    # ------------------------------------------------------------ naming hooks

    def ifname(self, name: str) -> str:
        return ios_ifname(name, self.ports)

    @classmethod
    def port_name(cls, port: str, ports: Mapping[str, str] | None = None) -> str:
        return gigabit_port(split_ifname(port)[0], ports)

    def tunnel_ifname(self, index: int) -> str:
        return nm.tunnel_ifname(index)

    # ------------------------------------------------------------ view

    def device_view(self, plan: RouterPlan) -> dict[str, Any]:
        device = plan.device
        groups: dict[str, tuple[str, ...]] = {}
        by_acl = {a.name: a for a in device.acls}
        acls = [self._acl(acl, groups) for acl in device.acls]
        zones = self._zones(device, by_acl)
        interfaces = self._interfaces(device, by_acl, zones["member"])
        pre_nat = self._pre_nat(device, interfaces)
        return {
            "vrfs": [self._vrf(v, plan.export_plans[v.name]) for v in device.vrfs],
            "object_groups": [{"name": n, "entries": [_og_entry(p) for p in groups[n]]}
                              for n in sorted(groups)],
            "acls": acls,
            "interfaces": interfaces,
            "pre_nat": pre_nat,
            "dhcp": plan.dhcp,
            **rv.underlay_view(device, plan.underlay),
            "bgp": self.bgp(plan),
            # a DHCP client (` ip address dhcp`) installs the ISP's default route itself
            "statics": self.statics(plan),
            "nat": self._nat(device),
            "zones": zones,
            "tunnels": self._tunnels(device, plan.tunnels),
            "tunnel_mss": rv.TUNNEL_MSS,
            "core_mtu": rv.CORE_MPLS_MTU,
        }

    def _interfaces(self, device: Device, by_acl: dict[str, Acl],
                    zone_of: dict[str, str]) -> list[dict[str, Any]]:
        nat_role = rv.nat_roles(device)
        present = {i.name for i in device.interfaces}
        out: list[dict[str, Any]] = [
            {"name": f"eth{p}", "parent_only": True}
            for p in rv.parent_ports_of_vlans(device) if f"eth{p}" not in present
        ]
        for i in rv.sorted_interfaces(device):
            stateful = bool(i.acl_in and by_acl[i.acl_in].stateful)
            out.append({
                "name": i.name,
                "parent_only": False,
                "description": comment_text(i.description, max_len=200),
                "vlan": rv.split_ifname(i.name)[1],
                "vrf": i.vrf,
                "address": i.address,
                "acl_in": None if stateful else i.acl_in,
                "acl_out": i.acl_out,
                "nat": nat_role.get(i.name),
                "zone": zone_of.get(i.name),
                "pre_nat": None,
            })
        return sorted(out, key=lambda d: rv.if_key(d["name"]))

    def _vrf(self, v: Vrf, plan: rv.ExportPlan) -> dict[str, Any]:
        """A VRF; an export map adds route targets that only some prefixes carry."""
        clauses = [
            {"seq": SEQ_STEP * (k + 1),
             "prefix_list": nm.export_prefix_list(v.name, SEQ_STEP * (k + 1)),
             "prefixes": list(prefixes), "rts": list(rts)}
            for k, (prefixes, rts) in enumerate(plan.extra)
        ]
        return {
            "name": v.name,
            "description": comment_text(v.description, max_len=200),
            "rd": v.rd,
            "rt_import": sorted(set(v.rt_import), key=rv.rt_key),
            "rt_export": list(plan.common),
            "export_map": nm.export_map(v.name) if clauses else None,
            "clauses": clauses,
        }

    def _addr(self, prefixes: tuple[str, ...], group: str | None, acl: str, seq: int,
              side: str, groups: dict[str, tuple[str, ...]]) -> str:
        """An entry's source or destination: ``any``, ``host A``, ``A W`` or
        ``object-group NAME`` (the group recorded in ``groups``)."""
        if rv.is_any(prefixes):
            return "any"
        if len(prefixes) == 1 and not group:
            return _single(prefixes[0])
        name = nm.object_group(group, acl, seq, side)
        content = tuple(rv.sorted_prefixes(prefixes))
        if groups.setdefault(name, content) != content:
            raise rv.VendorEmitError(f"object-group {name} used with different prefixes")
        return f"object-group {name}"

    def _acl(self, acl: Acl, groups: dict[str, tuple[str, ...]]) -> dict[str, Any]:
        """Entries numbered 10, 20, ...; a remark before each block of one policy rule.

        The entries are formatted here, not in the template (``entry_lines``, a
        :class:`Lines` block): a province writes hundreds of thousands of them.
        """
        lines: list[str] = []
        seq = 0
        last_block = None
        for line in sorted(acl.lines, key=lambda ln: ln.seq):
            for ace in rv.aces(line):
                block = (ace.rule, ace.reply, ace.model_seq)
                seq += SEQ_STEP
                if block != last_block:
                    remark = rv.rule_comment(ace)
                    if remark:
                        lines.append(f" remark {remark}")
                src = self._addr(ace.src, ace.src_group, acl.name, line.seq, "src", groups)
                dst = self._addr(ace.dst, ace.dst_group, acl.name, line.seq, "dst", groups)
                text = (f" {seq} {ace.action} {ace.protocol} {src}{_ports(ace.sport)}"
                        f" {dst}{_ports(ace.dport)}")
                if ace.icmp_type is not None:
                    text += f" {ace.icmp_type}"
                lines.append(f"{text} established" if ace.established else text)
                last_block = block
        return {
            "name": nm.acl_name(acl.name),
            "comment": comment_text(acl.comment, max_len=95),
            "entry_lines": Lines("\n".join(lines)),
            "final_seq": None if rv.ends_with_deny_all(acl) else seq + SEQ_STEP,
        }

    def _zones(self, device: Device, by_acl: dict[str, Acl]) -> dict[str, Any]:
        """Zone-based firewall for stateful ACLs: one zone per interface.

        Connections entering interface I are inspected by I's stateful ACL
        (first match, deny = not in the class = dropped by class-default)
        towards every other zone; replies of inspected sessions pass back.
        Every interface of such a device needs a stateful ACL: the model's "no
        ACL" permits every protocol, which ``inspect`` (TCP, UDP, ICMP) cannot
        render, so it is refused rather than written narrower than the model
        (compiled exits always have both ACLs).
        """
        ifaces = rv.sorted_interfaces(device)
        if not any(i.acl_in and by_acl[i.acl_in].stateful for i in ifaces):
            return {"member": {}, "zones": [], "policies": [], "pairs": []}
        member = {i.name: nm.zone(i.name) for i in ifaces}
        policies: list[dict[str, Any]] = []
        pairs = []
        for i in ifaces:
            if not i.acl_in or not by_acl[i.acl_in].stateful:
                raise rv.VendorEmitError(
                    f"{device.name} {i.name}: a zone-firewall device needs a stateful ACL "
                    "on every interface")
            policy = {"class": nm.class_map(i.acl_in), "policy": nm.policy_map(i.acl_in),
                      "acl": nm.acl_name(i.acl_in)}
            if policy not in policies:
                policies.append(policy)
            for other in ifaces:
                if other.name != i.name:
                    pairs.append({
                        "name": nm.zone_pair(i.name, other.name),
                        "source": member[i.name],
                        "destination": member[other.name],
                        "policy": policy["policy"],
                    })
        return {"member": member, "zones": [member[i.name] for i in ifaces],
                "policies": policies, "pairs": pairs}

    def _pre_nat(self, device: Device,
                 interfaces: list[dict[str, Any]]) -> dict[str, Any] | None:
        """Inbound ACL of the NAT outside interface: no published host at its inside address.

        The zone firewall judges a packet after outside-to-inside NAT, so it
        cannot tell a packet sent to a published host's public address from one
        sent straight to its inside address. An interface input ACL is checked
        before that translation (Cisco *NAT Order of Operation*), so it sees
        the untranslated destination and drops the second kind; everything
        else goes on to NAT and the zone firewall, which still judge it.
        """
        hosts = sorted({inside for inside, _outside in rv.nat_statics(device)},
                       key=sort_key)
        outside = rv.nat_outside(device)
        if not hosts or outside is None:
            return None
        iface = next(i for i in interfaces if i["name"] == outside)
        if iface["acl_in"]:
            raise rv.VendorEmitError(f"{device.name} {outside}: the NAT outside interface "
                                     f"already has the inbound ACL {iface['acl_in']}")
        iface["pre_nat"] = nm.PRE_NAT_ACL
        return {
            "name": nm.PRE_NAT_ACL,
            "entries": [{"seq": SEQ_STEP * (k + 1), "host": h} for k, h in enumerate(hosts)],
            "final_seq": SEQ_STEP * (len(hosts) + 1),
        }

    def _nat(self, device: Device) -> dict[str, Any] | None:
        if not device.nat:
            return None
        pool = rv.nat_pool(device)
        return {
            "pool": nm.nat_pool(device.name),
            "range": pool,
            "acl": nm.nat_acl(device.name),
            "sources": rv.nat_sources(device),
            "statics": rv.nat_statics(device),
        }

    def _tunnels(self, device: Device, tunnels: list[rv.TunnelEnd]) -> list[dict[str, Any]]:
        out = []
        for t in tunnels:
            lender = rv.borrowed_interface(device, t)
            unnumbered = self.ifname(lender) if lender else nm.LOOPBACK
            out.append({
                "ifname": nm.tunnel_ifname(t.index),
                "profile": nm.tunnel_profile(t.name),
                "description": comment_text(t.description()),
                "vrf": t.vrf,
                "unnumbered": unnumbered,
                "local": t.local,
                "remote": t.remote,
                "trustpoint": self.pki_name or nm.trustpoint(t.secret, t.name),
                "acl_in": t.acl_in,
            })
        return out


def _og_entry(prefix: str) -> str:
    """A network object-group entry: ``host A`` or ``A NETMASK``."""
    network, netmask, _wildcard = rv.masks(prefix)
    return f"host {network}" if prefixlen(prefix) == 32 else f"{network} {netmask}"


@functools.lru_cache(maxsize=1 << 16)
def _single(prefix: str) -> str:
    """``host A`` for one address, else ``A W`` (cached: entries repeat prefixes)."""
    if prefixlen(prefix) == 32:
        return f"host {host(prefix)}"
    network, _mask, wildcard = rv.masks(prefix)
    return f"{network} {wildcard}"


def _ports(ports: rv.Port | None) -> str:
    """`` eq 80`` / `` range 80 89`` after an address; ``""`` for any port."""
    if ports is None:
        return ""
    return f" eq {ports.low}" if ports.single else f" range {ports.low} {ports.high}"
