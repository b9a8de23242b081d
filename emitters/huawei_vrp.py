"""Huawei VRP target: one paste-able configuration per device (system view).

PE and inner routers use the NetEngine/AR router commands (VPN instances,
numbered advanced ACLs applied with ``traffic-filter``, MP-BGP, IPsec
profiles on tunnel interfaces); exit devices are USG firewalls (security
zones, ``security-policy`` with address sets, ``nat-policy``, ``nat server``),
because a stateful exit needs a firewall's session table. VRP names live in
``emitters/naming/huawei.py``, shared with the importer. Statement shapes
and the documentation they were checked against: ``docs/vendor-syntax.md``.
This class writes each role for one real platform: routers for NE/CE on
VRP8 (two-stage ``commit``), exits for the USG (each line applies at once, no
``commit``); the platform profiles (``emitters/huawei_platforms.py``) change
only what its hooks expose.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any, ClassVar

from zongheng.compiler.addresses import prefixlen
from zongheng.compiler.model import Acl, Device, Vrf
from zongheng.emitters import _router as rv
from zongheng.emitters import crypto_suite
from zongheng.emitters.config_lines import huawei_entries
from zongheng.emitters.filters import Lines, comment_text
from zongheng.emitters.naming import gigabit_port, split_ifname
from zongheng.emitters.naming import huawei as nm
from zongheng.emitters.naming.huawei import vrp_ifname, vrp_name
from zongheng.emitters.router import RouterEmitter, RouterPlan

RULE_STEP = 5


class HuaweiVrp(RouterEmitter):
    """VRP: VPN instances, MP-BGP VPNv4, advanced ACLs, USG security policy and NAT, IPsec."""

    name: ClassVar[str] = "huawei-vrp"
    extension: ClassVar[str] = "cfg"
    suite: ClassVar[dict[str, str]] = crypto_suite.HUAWEI
    filters: ClassVar[dict[str, Any]] = {"vrp_name": vrp_name}
    ifname_filter: ClassVar[str] = "vrp_ifname"

    discard: ClassVar[str | None] = nm.DISCARD

    # ---- what a platform profile (emitters/huawei_platforms.py) may change; the
    # values here are the default platforms' (emitters/platforms.py)
    # routers: VRP8 keeps a candidate configuration that only ``commit`` applies; an
    # exit is a USG, which applies each line at once and writes none, whatever this says
    two_stage_commit: ClassVar[bool] = True
    # the USG static-route guide: with no next hop on a broadcast interface the
    # device uses the gateway its DHCP client learned there, so the route stays
    writes_dhcp_route: ClassVar[bool] = True

    # ------------------------------------------------------------ naming hooks

    def ifname(self, name: str) -> str:
        return vrp_ifname(name, self.ports)

    @classmethod
    def port_name(cls, port: str, ports: Mapping[str, str] | None = None) -> str:
        return gigabit_port(split_ifname(port)[0], ports)

    def tunnel_ifname(self, index: int) -> str:
        return nm.tunnel_ifname(index)

    @classmethod
    def icmp_codes(cls, icmp_type: int, action: str) -> list[int | None]:
        """The codes an ACL rule for ``icmp_type`` names, one rule each (None: no code).

        VRP8 takes ``icmp-type T`` alone for every code of the type, so one
        rule, without a code.
        """
        return [None]

    # ------------------------------------------------------------ view

    def device_view(self, plan: RouterPlan) -> dict[str, Any]:
        device = plan.device
        firewall = plan.firewall
        numbers = {a.name: nm.acl_number(k) for k, a in enumerate(device.acls)}
        if len(numbers) > nm.ACL_LIMIT:
            raise rv.VendorEmitError(f"{device.name}: more than 1000 advanced ACLs")
        zones = self._zones(device) if firewall else {}
        policies = self._policies(device, zones) if firewall else []
        # a USG's security-policy address lists of two or more prefixes are address sets
        address_sets = _address_sets(policies) if firewall else []
        unaddressed = [i.name for i in plan.underlay if not i.address]
        if unaddressed:
            # VRP documents unnumbered addresses on P2P (POS) and tunnel interfaces only
            raise rv.VendorEmitError(f"{device.name}: underlay link {unaddressed[0]} has no "
                                     f"address (unnumbered Ethernet is not rendered)")
        return {
            "vrfs": [self._vrf(v, plan.export_plans[v.name]) for v in device.vrfs],
            "acls": [] if firewall else [self._acl(a, numbers[a.name], _acl_vrf(device, a.name))
                                         for a in device.acls],
            "policies": policies,
            "address_sets": address_sets,
            "zones": zones,
            "interfaces": self._interfaces(device, numbers, firewall),
            **rv.underlay_view(device, plan.underlay),
            "bgp": self.bgp(plan),
            "dhcp": plan.dhcp,
            "dhcp_rules": _dhcp_rules([self.ifname(n) for n in plan.dhcp]) if firewall else [],
            "statics": self.statics(plan),
            "nat": self._nat(device, firewall, zones),
            "tunnels": self._tunnels(device, plan.tunnels, numbers),
            "tunnel_mss": rv.TUNNEL_MSS,
            "core_mtu": rv.CORE_MPLS_MTU,
            "commit": self.two_stage_commit and not firewall,
        }

    def _interfaces(self, device: Device, numbers: dict[str, int],
                    firewall: bool) -> list[dict[str, Any]]:
        present = {i.name for i in device.interfaces}
        out: list[dict[str, Any]] = [
            {"name": f"eth{p}", "parent_only": True}
            for p in rv.parent_ports_of_vlans(device) if f"eth{p}" not in present
        ]
        for i in rv.sorted_interfaces(device):
            out.append({
                "name": i.name,
                "parent_only": False,
                "description": comment_text(i.description, max_len=200),
                "vlan": rv.split_ifname(i.name)[1],
                "vrf": i.vrf,
                "address": i.address,
                "acl_in": None if firewall or not i.acl_in else numbers[i.acl_in],
                "acl_out": None if firewall or not i.acl_out else numbers[i.acl_out],
            })
        return sorted(out, key=lambda d: rv.if_key(d["name"]))

    def _vrf(self, v: Vrf, plan: rv.ExportPlan) -> dict[str, Any]:
        """A VPN instance; an export route-policy adds RTs that only some prefixes carry."""
        name = nm.export_policy(v.name)
        nodes = [
            {"node": RULE_STEP * 2 * (k + 1),
             "prefix_list": nm.export_prefix_list(v.name, k + 1),
             "prefixes": list(prefixes), "rts": list(rts)}
            for k, (prefixes, rts) in enumerate(plan.extra)
        ]
        return {
            "name": v.name,
            "description": comment_text(v.description, max_len=200),
            "rd": v.rd,
            "rt_import": sorted(set(v.rt_import), key=rv.rt_key),
            "rt_export": list(plan.common),
            "export_policy": name if nodes else None,
            "nodes": nodes,
        }

    def _acl(self, acl: Acl, number: int, vrf: str | None) -> dict[str, Any]:
        """Rules numbered 5, 10, ...; each carries the policy rule FILE:LINE as description.

        A rule has one source and one destination, so a model line with
        several prefixes becomes their cross product (same order, same action).
        Unmatched packets pass a ``traffic-filter``, so the policy's implicit
        deny is written as a last rule. An ACL bound to interfaces of a VPN
        instance names it in every rule (``vpn-instance V``): a rule without it
        matches public-network packets only on VRP (docs/vendor-syntax.md), so
        the filter would pass every packet of the VPN.

        The rules are formatted here, not in the template: a province writes
        millions of them, and a Jinja loop over them cost more than all the
        rest of the Huawei target (``rule_lines``, a :class:`Lines` block).
        """
        lines: list[str] = []
        append = lines.append
        rid = 0
        vpn = f" vpn-instance {vrp_name(vrf)}" if vrf else ""
        # the numbering a counterexample names (config_lines.huawei_entries: rules in
        # product order of sources and destinations, each with every code), so the two
        # never drift (an AR writes one rule per ICMP code, numbered there too)
        for _seq, ace, srcs, dsts, codes, rid in huawei_entries(acl, self.icmp_codes):
            head = f" {ace.action} {ace.protocol}{vpn}"
            sport = _ports(" source-port", ace.sport)
            tail = _ports(" destination-port", ace.dport)
            icmp = "" if ace.icmp_type is None else f" icmp-type {ace.icmp_type}"
            established = " tcp-flag established" if ace.established else ""
            comment = f" description {rv.rule_comment(ace, max_len=120)}"
            ends = [f"{icmp if code is None else f'{icmp} {code}'}{established}"
                    if icmp else established for code in codes]
            for src in srcs:
                front = f"{head} source {_vrp_addr(src)}{sport}" if src is not None \
                    else f"{head}{sport}"
                for dst in dsts:
                    middle = f"{front} destination {_vrp_addr(dst)}{tail}" if dst is not None \
                        else f"{front}{tail}"
                    for end in ends:
                        rid += RULE_STEP
                        append(f" rule {rid}{middle}{end}")
                        append(f" rule {rid}{comment}")
        return {
            "number": number,
            "vrf": vrf,
            "description": comment_text(f"{acl.name} {acl.comment}", max_len=120),
            "rule_lines": Lines("\n".join(lines)),
            "final_id": None if rv.ends_with_deny_all(acl) else rid + RULE_STEP,
        }

    def _zones(self, device: Device) -> dict[str, str]:
        """Interface -> security zone: the Internet side is ``untrust``, the rest ``trust``."""
        outside = {n.interface for n in device.nat}
        return {
            i.name: "untrust" if i.attached_class == "internet" or i.name in outside else "trust"
            for i in device.interfaces
        }

    def _policies(self, device: Device, zones: dict[str, str]) -> list[dict[str, Any]]:
        """``security-policy`` rules in model order, per ingress interface (first match).

        Rules of one interface's ACL keep their order; the zone pair makes the
        ACLs of different interfaces independent, as the model's per-interface
        ACLs are. The firewall's default action is deny.
        """
        by_acl = {a.name: a for a in device.acls}
        out = []
        for i in rv.sorted_interfaces(device):
            if not i.acl_in:
                continue
            src_zone = zones[i.name]
            dst_zones = sorted({z for n, z in zones.items() if n != i.name and z != src_zone})
            acl = by_acl[i.acl_in]
            for line in sorted(acl.lines, key=lambda ln: ln.seq):
                for ace in rv.aces(line):
                    if ace.established:
                        raise rv.VendorEmitError(f"{acl.name}: established on a stateful ACL")
                    out.append({
                        "name": nm.security_rule(acl.name, line.seq, ace.icmp_type),
                        "description": rv.rule_comment(ace, max_len=120),
                        "source_zone": src_zone,
                        "destination_zones": dst_zones,
                        "src": [] if rv.is_any(ace.src) else rv.sorted_prefixes(ace.src),
                        "dst": [] if rv.is_any(ace.dst) else rv.sorted_prefixes(ace.dst),
                        "src_set": None,  # address-set names (_address_sets)
                        "dst_set": None,
                        "protocol": ace.protocol,
                        "sport": ace.sport,
                        "dport": ace.dport,
                        "icmp_type": ace.icmp_type,
                        "action": "permit" if ace.action == "permit" else "deny",
                    })
        return out

    def _nat(self, device: Device, firewall: bool, zones: dict[str, str]) -> dict[str, Any] | None:
        outside = rv.nat_outside(device)
        if outside is None:
            return None
        return {
            "firewall": firewall,
            "group": nm.nat_group(device.name),
            "acl": nm.NAT_ACL,
            "range": rv.nat_pool(device),
            "sources": rv.nat_sources(device),
            "statics": [
                {"name": nm.nat_server(inside), "inside": inside,
                 "outside": outside_ip}
                for inside, outside_ip in rv.nat_statics(device)
            ],
            "interface": outside,
            "inside_zone": "trust",
            "outside_zone": zones.get(outside, "untrust"),
        }

    def _tunnels(self, device: Device, tunnels: list[rv.TunnelEnd],
                 numbers: dict[str, int]) -> list[dict[str, Any]]:
        out = []
        for t in tunnels:
            lender = rv.borrowed_interface(device, t)
            borrow = self.ifname(lender) if lender else nm.LOOPBACK
            out.append({
                "ifname": nm.tunnel_ifname(t.index),
                "name": nm.tunnel_name(t.name),
                "description": comment_text(t.description()),
                "vrf": t.vrf,
                "borrow": borrow,
                "local": t.local,
                "remote": t.remote,
                "realm": self.pki_name or nm.realm(t.secret, t.name),
                "acl_in": numbers[t.acl_in] if t.acl_in else None,
            })
        return out


def _acl_vrf(device: Device, acl: str) -> str | None:
    """The VPN instance of the interfaces an ACL filters (None: the public network).

    A rule names one VPN instance, so an ACL bound in two is refused rather
    than written to match in one of them only.
    """
    vrfs = {i.vrf for i in device.interfaces if acl in (i.acl_in, i.acl_out)}
    if len(vrfs) > 1:
        raise rv.VendorEmitError(f"{device.name}: ACL {acl} filters interfaces of several "
                                 f"VPN instances {sorted(v or 'public' for v in vrfs)}")
    return vrfs.pop() if vrfs else None


def _dhcp_rules(dhcp: list[str]) -> list[dict[str, Any]]:  # dhcp: the ports' VRP names
    """USG ``security-policy`` rules that let a DHCP client on an untrust port work.

    Traffic to and from the firewall itself is in the ``local`` zone, which
    the security policy controls like any other zone pair; the client's
    DISCOVER/REQUEST go out UDP 68 -> 67, the server's OFFER/ACK come back
    UDP 67 -> 68 (Huawei *How to Configure Security Policies to Allow DHCP*).
    """
    if not dhcp:
        return []
    names = ", ".join(dhcp)
    return [
        {"name": "dhcp-client-out", "source_zone": "local", "destination_zone": "untrust",
         "sport": 68, "dport": 67,
         "description": comment_text(f"DHCP requests of {names}, no uplink in the policy")},
        {"name": "dhcp-client-in", "source_zone": "untrust", "destination_zone": "local",
         "sport": 67, "dport": 68,
         "description": comment_text(f"DHCP replies to {names}, no uplink in the policy")},
    ]


def _address_sets(policies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Move every security-policy address list of two or more prefixes into an address set.

    One ``ip address-set NAME type object`` per distinct list (the 64-prefix
    ``internet`` group once, not once per rule), named in order of first use;
    the rule then names it (``destination-address address-set NAME``). Changes
    ``policies`` in place and returns the sets to define before ``security-policy``.
    """
    names: dict[tuple[str, ...], str] = {}
    for p in policies:
        for side in ("src", "dst"):
            prefixes = tuple(p[side])
            if len(prefixes) < 2:
                continue
            if len(prefixes) > nm.ADDRESS_SET_LIMIT:  # member IDs 0-4095 (USG ``address``)
                raise rv.VendorEmitError(f"security-policy rule {p['name']}: {len(prefixes)} "
                                         f"prefixes, more than a USG address set holds "
                                         f"({nm.ADDRESS_SET_LIMIT})")
            if prefixes not in names:
                names[prefixes] = nm.address_set(len(names) + 1)
            p[f"{side}_set"] = names[prefixes]
            p[side] = []
    return [{"name": n, "prefixes": list(prefixes)} for prefixes, n in names.items()]


@functools.lru_cache(maxsize=1 << 16)
def _vrp_addr(prefix: str) -> str:
    """``A W`` of a rule's source/destination (``A 0`` for one host); cached: rules
    repeat their prefixes."""
    network, _mask, wildcard = rv.masks(prefix)
    return f"{network} {'0' if prefixlen(prefix) == 32 else wildcard}"


def _ports(keyword: str, ports: rv.Port | None) -> str:
    """`` source-port eq 80`` / `` destination-port range 80 89``; ``""`` for any port."""
    if ports is None:
        return ""
    if ports.single:
        return f"{keyword} eq {ports.low}"
    return f"{keyword} range {ports.low} {ports.high}"
