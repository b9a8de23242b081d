"""Cisco IOS-XE, Huawei VRP and Junos targets: strict offline checks of the emitted configs.

No vendor parser can be installed here, so every target has a STRICT line
checker below: a regex for exactly each statement shape the target emits
(documented in docs/vendor-syntax.md). Any line that is not one of them
fails the test. The checkers run over a hand-made network (always) and the
golden files of policies/heilongjiang.zh (once the compiler pipeline exists).

Update golden files with
``python -m pytest tests/emitters/test_emit_vendor.py -k golden --update-golden``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import replace

import pytest
from support.compiled import render_all
from support.paths import REPO as ROOT

from zongheng.compiler.model import (
    Acl,
    Device,
    Interface,
    Network,
    Route,
)
from zongheng.emitters import REGISTRY

TARGETS = ("cisco-ios-xe", "huawei-vrp", "junos")

# ---------------------------------------------------------------- strict line checkers
#
# Each checker knows exactly the statement shapes its target emits (see
# docs/vendor-syntax.md for the documentation of each). Cisco and Huawei are
# checked with their view nesting (indentation, Huawei's ``quit``); a shape
# is only accepted in the view where the vendor accepts it.

_OCT = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
IP = rf"{_OCT}(?:\.{_OCT}){{3}}"
PFX = rf"{IP}/(?:3[0-2]|[12]?\d)"
NAME = r"[A-Za-z][A-Za-z0-9_-]*"
RT = r"\d{1,10}:\d{1,10}"
RD = rf"(?:{IP}|\d{{1,10}}):\d{{1,10}}"
NUM = r"\d{1,10}"
PORT = r"(?:6553[0-5]|655[0-2]\d|65[0-4]\d\d|6[0-4]\d{3}|[1-5]\d{4}|[1-9]\d{0,3}|0)"
# what filters.comment_text can produce: no quote, backslash, ; # ! { } [ ] $ < > | `
TEXT = r"[^\"'\\;#!{}\[\]$<>|`\x00-\x1f\x7f]+"

# ---- Cisco IOS-XE
# ports: the default GigabitEthernet0/0/N, or an inventory's slot/card/port (docs/inventory.md)
C_IF = r"(?:GigabitEthernet\d{1,2}/\d{1,2}/\d{1,2}(?:\.\d{1,4})?|Loopback0|Tunnel\d{3})"
C_ADDR = rf"(?:any|host {IP}|{IP} {IP}|object-group {NAME})"
C_PORT = rf"(?: eq {PORT}| range {PORT} {PORT})?"
CISCO: dict[str, list[tuple[str, str | None]]] = {
    "top": [
        (rf"! {TEXT}", None),
        (r"!", None),
        (rf"hostname {NAME}", None),
        (rf"ip prefix-list {NAME} seq {NUM} permit {PFX}", None),
        (rf"route-map {NAME} permit {NUM}", "route-map"),
        (rf"vrf definition {NAME}", "vrf"),
        (rf"object-group network {NAME}", "og"),
        (rf"ip access-list extended {NAME}", "acl"),
        (rf"ip access-list standard {NAME}", "std-acl"),
        (rf"class-map type inspect match-any {NAME}", "class-map"),
        (rf"policy-map type inspect {NAME}", "policy-map"),
        (rf"zone security {NAME}", None),
        (rf"zone-pair security {NAME} source {NAME} destination {NAME}", "zone-pair"),
        (rf"crypto pki trustpoint {NAME}", "trustpoint"),
        (rf"crypto ikev2 proposal {NAME}", "ikev2-proposal"),
        (rf"crypto ikev2 policy {NAME}", "ikev2-policy"),
        (rf"crypto ipsec transform-set {NAME} esp-gcm 256", "transform-set"),
        (rf"crypto ikev2 profile {NAME}", "ikev2-profile"),
        (rf"crypto ipsec profile {NAME}", "ipsec-profile"),
        (rf"interface {C_IF}", "interface"),
        (r"router ospf 1", "ospf"),
        (r"mpls ldp router-id Loopback0 force", None),
        (rf"router bgp {NUM}", "bgp"),
        (rf"ip nat pool {NAME} {IP} {IP} prefix-length {NUM}", None),
        (rf"ip nat inside source list {NAME} pool {NAME} overload", None),
        (rf"ip nat inside source static {IP} {IP}", None),
        (rf"ip route (?:vrf {NAME} )?{IP} {IP} (?:{IP}|Null0|{C_IF})", None),
        (r"end", None),
    ],
    "route-map": [(rf"match ip address prefix-list {NAME}", None),
                  (rf"set extcommunity rt {RT}(?: {RT})* additive", None)],
    "vrf": [(rf"description {TEXT}", None), (rf"rd {RD}", None),
            (r"address-family ipv4", "vrf-af"), (r"exit-address-family", None)],
    "vrf-af": [(rf"route-target (?:import|export) {RT}", None), (rf"export map {NAME}", None)],
    "og": [(rf"host {IP}", None), (rf"{IP} {IP}", None)],
    "acl": [
        (rf"remark {TEXT}", None),
        (rf"{NUM} (?:permit|deny) ip {C_ADDR} {C_ADDR}", None),
        (rf"{NUM} (?:permit|deny) tcp {C_ADDR}{C_PORT} {C_ADDR}{C_PORT}(?: established)?", None),
        (rf"{NUM} (?:permit|deny) udp {C_ADDR}{C_PORT} {C_ADDR}{C_PORT}", None),
        (rf"{NUM} (?:permit|deny) icmp {C_ADDR} {C_ADDR}(?: \d{{1,3}})?", None),
    ],
    "std-acl": [(rf"{NUM} permit {IP} {IP}", None)],
    "class-map": [(rf"match access-group name {NAME}", None),
                  (r"match protocol (?:tcp|udp|icmp)", None)],
    "policy-map": [(rf"class type inspect {NAME}", "pm-class"),
                   (r"class class-default", "pm-default")],
    "pm-class": [(r"inspect", None)],
    "pm-default": [(r"drop", None)],
    "zone-pair": [(rf"service-policy type inspect {NAME}", None)],
    "ikev2-proposal": [(r"encryption aes-cbc-256", None), (r"integrity sha256", None),
                       (r"group 14", None)],
    "ikev2-policy": [(rf"proposal {NAME}", None)],
    "trustpoint": [(r"enrollment terminal", None), (r"enrollment url http://\S+", None)],
    "transform-set": [(r"mode tunnel", None)],
    "ikev2-profile": [(rf"match identity remote address {IP} 255\.255\.255\.255", None),
                      (rf"identity local address {IP}", None),
                      (r"authentication (?:remote|local) rsa-sig", None),
                      (rf"pki trustpoint {NAME}", None)],
    "ipsec-profile": [(rf"set transform-set {NAME}", None), (rf"set ikev2-profile {NAME}", None)],
    "interface": [
        (rf"description {TEXT}", None), (rf"encapsulation dot1Q {NUM}", None),
        (rf"vrf forwarding {NAME}", None), (rf"ip address {IP} {IP}", None),
        (r"no ip address", None), (r"ip address dhcp", None), (rf"ip unnumbered {C_IF}", None),
        (r"ip ospf network point-to-point", None), (r"ip ospf 1 area 0", None),
        (rf"ip access-group {NAME} (?:in|out)", None), (r"ip nat (?:inside|outside)", None),
        (rf"zone-member security {NAME}", None), (r"mpls ip", None), (r"no shutdown", None),
        (r"tunnel source Loopback0", None), (r"tunnel mode ipsec ipv4", None),
        (rf"tunnel destination {IP}", None), (rf"tunnel protection ipsec profile {NAME}", None),
        (r"ip tcp adjust-mss (?:[5-9]\d\d|1[0-3]\d\d|14[0-5]\d|1460)", None),  # 500..1460
        (r"mtu 1[5-9]\d\d", None), (r"mpls mtu 1[5-9]\d\d", None),
    ],
    "ospf": [(rf"router-id {IP}", None)],
    "bgp": [
        (rf"bgp router-id {IP}", None), (r"bgp log-neighbor-changes", None),
        (r"no bgp default ipv4-unicast", None), (rf"neighbor {IP} remote-as {NUM}", None),
        (rf"neighbor {IP} description {TEXT}", None),
        (rf"neighbor {IP} update-source Loopback0", None),
        (r"address-family vpnv4", "bgp-vpnv4"), (rf"address-family ipv4 vrf {NAME}", "bgp-vrf"),
        (r"exit-address-family", None),
    ],
    "bgp-vpnv4": [(rf"neighbor {IP} activate", None),
                  (rf"neighbor {IP} send-community extended", None),
                  (rf"neighbor {IP} route-reflector-client", None)],
    "bgp-vrf": [(rf"network {IP} mask {IP}", None), (r"network 0\.0\.0\.0", None)],
}

# ---- Huawei VRP
H_IF = r"(?:GigabitEthernet\d{1,2}/\d{1,2}/\d{1,2}(?:\.\d{1,4})?|LoopBack0|Tunnel0/0/\d{3})"
H_PORT = rf"(?:eq {PORT}|range {PORT} {PORT})"
H_ADDR = rf"{IP} (?:0|{IP})"
H_VPN = rf"(?: vpn-instance {NAME})?"
H_RULE_TAIL = (rf"{H_VPN}(?: source {H_ADDR})?(?: source-port {H_PORT})?(?: destination {H_ADDR})?"
               rf"(?: destination-port {H_PORT})?")
H_FWPORT = rf"{PORT}(?: to {PORT})?"
HUAWEI: dict[str, list[tuple[str, str | None]]] = {
    "top": [
        (r"system-view", None),
        (rf"# {TEXT}", None),
        (rf"sysname {NAME}", None),
        (rf"pki entity {NAME}", "pki-entity"),
        (rf"pki realm {NAME}", "pki-realm"),
        (r"commit", None),
        (rf"ip ip-prefix {NAME} index {NUM} permit {IP} \d{{1,2}}", None),
        (rf"route-policy {NAME} permit node {NUM}", "route-policy"),
        (rf"ip vpn-instance {NAME}", "vpn-instance"),
        (rf"mpls lsr-id {IP}", None),
        (r"mpls", "mpls"),
        (r"mpls ldp", "mpls"),
        (r"acl number (?:2000|3\d{3})", "acl"),
        (r"ike proposal 10", "ike-proposal"),
        (rf"ipsec proposal {NAME}", "ipsec-proposal"),
        (rf"ike peer {NAME}", "ike-peer"),
        (rf"ipsec profile {NAME}", "ipsec-profile"),
        (rf"interface {H_IF}", "interface"),
        (r"firewall zone (?:trust|untrust)", "zone"),
        (rf"ip address-set {NAME} type object", "address-set"),
        (r"security-policy", "security-policy"),
        (rf"nat address-group {NAME} 0", "nat-group"),
        (r"nat-policy", "nat-policy"),
        (rf"nat server {NAME} global {IP} inside {IP}", None),
        (rf"nat address-group 1 {IP} {IP}", None),
        (rf"ospf 1 router-id {IP}", "ospf"),
        (rf"bgp {NUM}", "bgp"),
        (rf"ip route-static (?:vpn-instance {NAME} )?{IP} {IP} (?:{IP}|NULL0|{H_IF})", None),
        (r"return", None),
    ],
    "pki-entity": [(rf"common-name {NAME}", None)],
    "pki-realm": [(rf"entity {NAME}", None), (r"enrollment-url http://\S+", None)],
    "route-policy": [(rf"if-match ip-prefix {NAME}", None),
                     (rf"apply extcommunity rt {RT}(?: {RT})* additive", None)],
    "vpn-instance": [(rf"description {TEXT}", None), (r"ipv4-family", "vpn-af")],
    "vpn-af": [(rf"route-distinguisher {RD}", None),
               (rf"vpn-target {RT} (?:export|import)-extcommunity", None),
               (rf"export route-policy {NAME}", None)],
    "mpls": [],
    "acl": [
        (rf"description {TEXT}", None),
        (rf"rule {NUM} description {TEXT}", None),
        (rf"rule {NUM} permit source {IP} {IP}", None),
        (rf"rule {NUM} (?:permit|deny) ip{H_VPN}(?: source {H_ADDR})?(?: destination {H_ADDR})?",
         None),
        (rf"rule {NUM} (?:permit|deny) tcp{H_RULE_TAIL}(?: tcp-flag established)?", None),
        (rf"rule {NUM} (?:permit|deny) udp{H_RULE_TAIL}", None),
        (rf"rule {NUM} (?:permit|deny) icmp{H_VPN}(?: source {H_ADDR})?(?: destination {H_ADDR})?"
         rf"(?: icmp-type \d{{1,3}}(?: \d{{1,3}})?)?", None),
    ],
    "ike-proposal": [(r"encryption-algorithm aes-(?:cbc-)?256", None), (r"dh group14", None),
                     (r"authentication-method rsa-signature", None),
                     (r"authentication-algorithm sha2-256", None),
                     (r"integrity-algorithm hmac-sha2-256", None), (r"prf hmac-sha2-256", None)],
    "ipsec-proposal": [(r"transform esp", None),
                       (r"esp encryption-algorithm aes-256-gcm-128", None),
                       (r"encapsulation-mode tunnel", None)],
    "ike-peer": [(r"undo version 1", None), (r"ike-proposal 10", None),
                 (rf"pki realm {NAME}", None), (rf"remote-address {IP}", None)],
    "ipsec-profile": [(rf"ike-peer {NAME}", None), (rf"proposal {NAME}", None)],
    "interface": [
        (rf"description {TEXT}", None), (rf"dot1q termination vid {NUM}", None),
        (rf"ip binding vpn-instance {NAME}", None), (rf"ip address {IP} {IP}", None),
        (rf"ip address unnumbered interface {H_IF}", None), (r"ip address dhcp-alloc", None),
        (r"ospf enable 1 area 0\.0\.0\.0", None),
        (r"arp broadcast enable", None),
        (r"traffic-filter (?:inbound|outbound) acl 3\d{3}", None),
        (r"mpls", None), (r"mpls ldp", None),
        (r"nat outbound 2000 address-group 1", None),
        (rf"nat static global {IP} inside {IP}", None),
        (r"undo shutdown", None), (r"tunnel-protocol ipsec", None), (r"source LoopBack0", None),
        (rf"destination {IP}", None), (rf"ipsec profile {NAME}", None),
        (r"tcp adjust-mss [1-9]\d{1,3}", None),
        (r"mtu 1[5-9]\d\d", None), (r"mpls mtu 1[5-9]\d\d", None),
    ],
    "zone": [(rf"add interface {H_IF}", None)],
    "address-set": [(rf"address {NUM} {IP} mask {IP}", None)],
    "security-policy": [(rf"rule name {NAME}", "sp-rule")],
    "sp-rule": [
        (rf"description {TEXT}", None), (r"source-zone (?:trust|untrust|local)", None),
        (r"destination-zone (?:trust|untrust|local)", None),
        (rf"(?:source|destination)-address {IP} mask {IP}", None),
        (rf"(?:source|destination)-address address-set {NAME}", None),
        (rf"service protocol (?:tcp|udp)(?: source-port {H_FWPORT})? destination-port {H_FWPORT}",
         None),
        (r"service protocol icmp(?: icmp-type \d{1,3} 0 to 255)?", None),
        (r"action (?:permit|deny)", None),
    ],
    "nat-group": [(r"mode pat", None), (rf"section 0 {IP} {IP}", None)],
    "nat-policy": [(rf"rule name {NAME}", "nat-rule")],
    "nat-rule": [(r"source-zone (?:trust|untrust)", None),
                 (r"destination-zone (?:trust|untrust)", None),
                 (rf"source-address {IP} mask {IP}", None),
                 (rf"action source-nat address-group {NAME}", None)],
    "ospf": [(r"area 0\.0\.0\.0", "ospf-area")],
    "ospf-area": [],
    "bgp": [
        (rf"router-id {IP}", None), (rf"peer {IP} as-number {NUM}", None),
        (rf"peer {IP} connect-interface LoopBack0", None), (rf"peer {IP} description {TEXT}", None),
        (r"ipv4-family vpnv4", "bgp-vpnv4"), (rf"ipv4-family vpn-instance {NAME}", "bgp-vrf"),
    ],
    "bgp-vpnv4": [(r"undo policy vpn-target", None), (rf"peer {IP} enable", None),
                  (rf"peer {IP} reflect-client", None)],
    "bgp-vrf": [(rf"network {IP} \d{{1,2}}", None)],
}

# ---- Junos (set commands; comments via edit / annotate / top)
J_PORT = r"(?:ge|xe|et)-\d{1,2}/\d{1,2}/\d{1,2}"  # ge-0/0/N, or an inventory's port
J_IF = rf"(?:{J_PORT}\.\d{{1,4}}|st0\.\d{{1,4}}|lo0\.0)"
J_PORTS = rf"{PORT}(?:-{PORT})?"
J_ZONE = r"(?:trust|untrust|vpn|underlay)"  # exit: trust/untrust; inner SRX: trust/vpn/underlay
J_Q = r'"[^"\\\x00-\x1f]*"'
JUNOS_SET = [
    rf"set system host-name {NAME}",
    rf"set interfaces lo0 unit 0 family inet address {IP}/32",
    rf"set interfaces {J_PORT} vlan-tagging",
    rf"set interfaces (?:{J_PORT}|st0) unit \d{{1,4}} description {J_Q}",
    rf"set interfaces {J_PORT} unit \d{{1,4}} vlan-id \d{{1,4}}",
    rf"set interfaces (?:{J_PORT}|st0) unit \d{{1,4}} family inet(?: address {PFX})?",
    rf"set interfaces {J_PORT} unit \d{{1,4}} family inet unnumbered-address lo0\.0",
    rf"set interfaces {J_PORT} unit \d{{1,4}} family inet dhcp",
    rf"set interfaces (?:{J_PORT}|st0) unit \d{{1,4}} family inet filter (?:input|output) {NAME}",
    rf"set interfaces {J_PORT} unit \d{{1,4}} family mpls(?: mtu 1[5-9]\d\d)?",
    rf"set interfaces {J_PORT} mtu 1[5-9]\d\d",
    rf"set policy-options prefix-list {NAME} {PFX}",
    rf"set firewall family inet filter {NAME} term {NAME} from (?:source|destination)-address "
    rf"{PFX}",
    rf"set firewall family inet filter {NAME} term {NAME} from (?:source|destination)-prefix-list "
    rf"{NAME}",
    rf"set firewall family inet filter {NAME} term {NAME} from protocol (?:tcp|udp|icmp)",
    rf"set firewall family inet filter {NAME} term {NAME} from (?:source|destination)-port "
    rf"{J_PORTS}",
    rf"set firewall family inet filter {NAME} term {NAME} from icmp-type \d{{1,3}}",
    rf"set firewall family inet filter {NAME} term {NAME} from tcp-established",
    rf"set firewall family inet filter {NAME} term {NAME} then (?:accept|discard)",
    rf"set policy-options community {NAME} members target:{RT}",
    rf"set policy-options policy-statement {NAME} term {NAME} from community {NAME}",
    rf"set policy-options policy-statement {NAME} term {NAME} from route-filter {PFX} exact",
    rf"set policy-options policy-statement {NAME} term {NAME} then community add {NAME}",
    rf"set policy-options policy-statement {NAME} term {NAME} then (?:accept|reject)",
    rf"set routing-instances {NAME} instance-type vrf",
    rf"set routing-instances {NAME} description {J_Q}",
    rf"set routing-instances {NAME} interface {J_IF}",
    rf"set routing-instances {NAME} route-distinguisher {RD}",
    rf"set routing-instances {NAME} vrf-(?:import|export) {NAME}",
    rf"set routing-instances {NAME} vrf-table-label",
    rf"set routing-instances {NAME} routing-options auto-export",
    rf"set (?:routing-instances {NAME} )?routing-options static route {PFX} "
    rf"(?:next-hop (?:{IP}|st0\.\d{{1,4}})|discard)",  # no Ethernet interface next hops
    rf"set routing-options router-id {IP}",
    rf"set routing-options autonomous-system {NUM}",
    r"set protocols ospf area 0\.0\.0\.0 interface lo0\.0 passive",
    rf"set protocols ospf area 0\.0\.0\.0 interface {J_IF}(?: interface-type p2p)?",
    rf"set protocols (?:mpls|ldp) interface {J_IF}",
    rf"set protocols bgp group {NAME} type internal",
    rf"set protocols bgp group {NAME} local-address {IP}",
    rf"set protocols bgp group {NAME} family inet-vpn unicast",
    rf"set protocols bgp group {NAME} cluster {IP}",
    rf"set protocols bgp group {NAME} neighbor {IP} description {J_Q}",
    rf"set security zones security-zone {J_ZONE} interfaces {J_IF}",
    rf"set security pki ca-profile {NAME} ca-identity {NAME}",
    rf"set security pki ca-profile {NAME} enrollment url http://\S+",
    r"set security zones security-zone (?:trust|underlay) host-inbound-traffic system-services ike",
    r"set security zones security-zone (?:trust|underlay) host-inbound-traffic protocols ospf",
    r"set security zones security-zone (?:trust|untrust) host-inbound-traffic system-services dhcp",
    rf"set security address-book global address {NAME} {PFX}",
    rf"set security address-book global address-set {NAME} address {NAME}",
    rf"set applications application {NAME} protocol (?:tcp|udp|icmp)",
    rf"set applications application {NAME} (?:source|destination)-port {J_PORTS}",
    rf"set applications application {NAME} icmp-type \d{{1,3}}",
    rf"set security policies from-zone {J_ZONE} to-zone {J_ZONE} policy {NAME} "
    rf"(?:match (?:source|destination)-address {NAME}|match application {NAME}|"
    rf"then (?:permit|deny)|then permit destination-address drop-untranslated|"
    rf"description {J_Q})",
    rf"set security nat source pool {NAME} address {IP}/32 to {IP}/32",
    rf"set security nat source rule-set {NAME} (?:from|to) zone (?:trust|untrust)",
    rf"set security nat source rule-set {NAME} rule {NAME} match source-address {PFX}",
    rf"set security nat source rule-set {NAME} rule {NAME} then source-nat pool {NAME}",
    rf"set security nat static rule-set {NAME} from zone (?:trust|untrust)",
    rf"set security nat static rule-set {NAME} rule {NAME} match destination-address {IP}/32",
    rf"set security nat static rule-set {NAME} rule {NAME} then static-nat prefix {IP}/32",
    rf"set security ike proposal {NAME} (?:authentication-method rsa-signatures|"
    r"dh-group group14|authentication-algorithm sha-256|encryption-algorithm aes-256-cbc)",
    rf"set security ipsec proposal {NAME} (?:protocol esp|encryption-algorithm aes-256-gcm)",
    rf"set security ipsec policy {NAME} proposals {NAME}",
    rf"set security ike policy {NAME} (?:proposals {NAME}|certificate local-certificate {NAME})",
    rf"set security ike gateway {NAME} (?:ike-policy {NAME}|address {IP}|local-address {IP}|"
    rf"local-identity inet {IP}|"
    r"external-interface lo0\.0|version v2-only)",
    rf"set security ipsec vpn {NAME} (?:bind-interface st0\.\d{{1,4}}|ike gateway {NAME}|"
    rf"ike ipsec-policy {NAME}|establish-tunnels immediately)",
    r"set security flow tcp-mss ipsec-vpn mss [1-9]\d{1,4}",
    rf"annotate system {J_Q}",
]
JUNOS_EDIT = [
    r"edit security pki",
    rf"edit firewall family inet filter {NAME}",
    r"edit firewall family inet",
]
JUNOS_ANNOTATE = rf"annotate (?:term|filter|ca-profile) {NAME} {J_Q}"

_COMPILED: dict[str, re.Pattern] = {}


def _rx(pattern: str) -> re.Pattern:
    if pattern not in _COMPILED:
        _COMPILED[pattern] = re.compile(pattern)
    return _COMPILED[pattern]


def _mask_kind(mask: int) -> str | None:
    """"netmask" (1s then 0s), "wildcard" (0s then 1s), both for 0 / all-ones, else None."""
    inv = mask ^ 0xFFFFFFFF
    if (inv + 1) & inv == 0:
        return "netmask"
    if (mask + 1) & mask == 0:
        return "wildcard"
    return None


def _ip_int(text: str) -> int:
    return int.from_bytes(bytes(int(o) for o in text.split(".")), "big")


_PAIR = re.compile(rf"({IP}) ({IP}|0)(?= |$)")


def mask_errors(body: str) -> list[str]:
    """Address/mask pairs must be contiguous masks of the right kind, with no stray host bits.

    Which kind a pair holds follows from the statement: ACL entries use
    wildcards, routes/object groups/prefixes netmasks, interface addresses a
    netmask with host bits.
    """
    if re.match(r"(?:\d+ (?:permit|deny) |rule \d+ )", body):
        kind, host_bits = "wildcard", False
    elif body.startswith(("ip address ", "ip route", "network ")) or _PAIR.fullmatch(body) \
            or re.match(r"(?:source|destination)-address ", body):
        kind, host_bits = "netmask", body.startswith("ip address ")
    else:
        return []
    out = []
    for addr_text, mask_text in _PAIR.findall(body.replace(" mask ", " ")):
        addr = _ip_int(addr_text)
        mask = 0 if mask_text == "0" else _ip_int(mask_text)
        found = "wildcard" if mask_text == "0" and kind == "wildcard" else _mask_kind(mask)
        if mask in (0, 0xFFFFFFFF):
            found = kind
        if found != kind:
            out.append(f"{addr_text} {mask_text}: not a {kind}")
        elif not host_bits:
            hostmask = mask if kind == "wildcard" else mask ^ 0xFFFFFFFF
            if addr & hostmask:
                out.append(f"{addr_text} {mask_text}: host bits set")
    return out


def check_nested(text: str, grammar: dict, quit_closes: bool) -> list[str]:
    """Errors of an indented config (one space per level); [] when every line is known."""
    errors: list[str] = []
    stack: list[tuple[int, str | None]] = [(-1, "top")]  # (depth of opener, context)
    lines = text.split("\n")
    if lines[-1] != "":
        errors.append("file does not end with a newline")
    for n, raw in enumerate(lines[:-1], 1):
        body = raw.lstrip(" ")
        depth = len(raw) - len(body)
        if not body or body != body.rstrip():
            errors.append(f"{n}: blank line or trailing space: {raw!r}")
            continue
        if quit_closes and body == "quit":
            if stack[-1][0] != depth or len(stack) == 1:
                errors.append(f"{n}: quit at depth {depth} closes nothing: {raw!r}")
            else:
                stack.pop()
            continue
        if not quit_closes:
            while stack[-1][0] >= depth:
                stack.pop()
        elif stack[-1][0] >= depth:
            errors.append(f"{n}: view opened at depth {stack[-1][0]} not closed by quit")
            while stack[-1][0] >= depth:
                stack.pop()
        if stack[-1][0] != depth - 1:
            errors.append(f"{n}: indentation {depth} under depth {stack[-1][0]}: {raw!r}")
            continue
        context = stack[-1][1]
        for pattern, child in grammar.get(context or "", []):
            if _rx(pattern).fullmatch(body):
                if child is not None:
                    stack.append((depth, child))
                break
        else:
            errors.append(f"{n}: not a known {context} statement: {raw!r}")
            continue
        errors.extend(f"{n}: {e}: {raw!r}" for e in mask_errors(body))
    if quit_closes and len(stack) > 1:
        errors.append(f"views left open at the end: {[c for _d, c in stack[1:]]}")
    return errors


def check_junos(text: str) -> list[str]:
    errors: list[str] = []
    in_edit = False
    lines = text.split("\n")
    if lines[-1] != "":
        errors.append("file does not end with a newline")
    for n, line in enumerate(lines[:-1], 1):
        if in_edit:
            if line == "top":
                in_edit = False
            elif not _rx(JUNOS_ANNOTATE).fullmatch(line):
                errors.append(f"{n}: only annotate ... inside edit: {line!r}")
        elif any(_rx(p).fullmatch(line) for p in JUNOS_EDIT):
            in_edit = True
        elif not any(_rx(p).fullmatch(line) for p in JUNOS_SET):
            errors.append(f"{n}: not a known Junos statement: {line!r}")
    if in_edit:
        errors.append("edit without top at the end")
    return errors


def check(target: str, text: str) -> list[str]:
    if target == "cisco-ios-xe":
        return check_nested(text, CISCO, quit_closes=False)
    if target == "huawei-vrp":
        return check_nested(text, HUAWEI, quit_closes=True)
    return check_junos(text)


# ---------------------------------------------------------------- helpers over rendered text

COMMENT_SHAPES = {
    "cisco-ios-xe": [rf"! {TEXT}", rf" description {TEXT}", rf" remark {TEXT}",
                     rf" neighbor {IP} description {TEXT}"],
    "huawei-vrp": [rf"# {TEXT}", rf" +description {TEXT}", rf" rule {NUM} description {TEXT}",
                   rf" peer {IP} description {TEXT}"],
    "junos": [rf"set .* description {J_Q}", rf"annotate .* {J_Q}"],
}


def is_comment(target: str, line: str) -> bool:
    return any(re.fullmatch(p, line) for p in COMMENT_SHAPES[target])


def acl_entries(target: str, text: str) -> dict[str, list[str]]:
    """ACL name (Cisco/Junos) or number (Huawei) -> its permit/deny entries, in order."""
    out: dict[str, list[str]] = {}
    current = None
    for line in text.split("\n"):
        if target == "cisco-ios-xe":
            m = re.fullmatch(r"ip access-list extended (\S+)", line)
            if m:
                current = m.group(1)
                out[current] = []
            elif current and re.match(r" \d+ (?:permit|deny) ", line):
                out[current].append(line)
            elif not line.startswith(" "):
                current = None
        elif target == "huawei-vrp":
            m = re.fullmatch(r"acl number (3\d{3})", line)
            if m:
                current = m.group(1)
                out[current] = []
            elif current and re.match(r" rule \d+ (?:permit|deny) ", line):
                out[current].append(line)
            elif line == "quit":
                current = None
        else:
            m = re.fullmatch(r"set firewall family inet filter (\S+) term (\S+) then (\S+)", line)
            if m:
                out.setdefault(m.group(1), []).append(line)
    return out


def expected_entries(target: str, acl: Acl) -> int:
    """Vendor entries a model ACL must become, computed from the model alone."""
    total = 0
    for ln in acl.lines:
        types = len(set(ln.icmp_types)) if ln.protocol == "icmp" and ln.icmp_types else 1
        if target == "junos":
            total += 1
        elif target == "cisco-ios-xe":
            total += types
        else:
            srcs = 1 if not ln.src or any(p.endswith("/0") for p in ln.src) else len(set(ln.src))
            dsts = 1 if not ln.dst or any(p.endswith("/0") for p in ln.dst) else len(set(ln.dst))
            total += types * srcs * dsts
    last = max(acl.lines, key=lambda ln: ln.seq) if acl.lines else None
    deny_all = (last is not None and last.action == "deny" and last.protocol == "ip"
                and not last.src and not last.dst)
    return total + (0 if deny_all else 1)


def compiled(policy: str) -> Network:
    from zongheng.compiler.errors import PolicyError
    from zongheng.compiler.pipeline import compile_text

    try:  # the repository-relative name, as the CLI run from the root records it
        return compile_text(policy, (ROOT / policy).read_bytes()).network
    except PolicyError as e:  # an upstream policy bug, not an emitter one
        pytest.skip(f"{policy} does not compile yet: {str(e).splitlines()[0]}")


POLICIES = ("policies/minimal.zh", "tests/data/language-examples.zh", "policies/heilongjiang.zh")


# ---------------------------------------------------------------- tests: the checkers themselves


@pytest.mark.parametrize("target,text", [
    ("cisco-ios-xe", "ip access-list extended A\n 10 permit tcpp any anyy\nend\n"),
    ("cisco-ios-xe", "interface GigabitEthernet0/0/1\n 10 permit ip any any\nend\n"),
    ("cisco-ios-xe", "ip access-list extended A\n 10 permit ip 10.0.0.0 255.0.0.0 any\nend\n"),
    ("cisco-ios-xe", "ip access-list extended A\n 10 permit udp any any established\nend\n"),
    ("cisco-ios-xe", "ip route 10.0.0.1 255.0.0.0 1.2.3.4\nend\n"),
    ("cisco-ios-xe", "ip access-list extended A\n 10 permit ip any any\n"),  # no newline issue
    ("huawei-vrp", "acl number 3000\n rule 5 permit tcp source 10.0.0.1 0.0.0.255\nquit\nreturn\n"),
    ("huawei-vrp", "interface GigabitEthernet0/0/1\n undo shutdown\nsysname x\nreturn\n"),
    ("huawei-vrp", "acl number 3000\n rule 5 permit ip any any\nquit\nreturn\n"),
    ("huawei-vrp", "quit\nreturn\n"),
    ("junos", "set firewall family inet filter F term t1 then accept;\n"),
    ("junos", 'set interfaces ge-0/0/1 unit 0 description "a" b"\n'),
    ("junos", "edit firewall family inet filter F\nset system host-name x\ntop\n"),
    ("junos", "edit firewall family inet filter F\n"),
    ("junos", "set routing-options static route 0.0.0.0/0 next-hop ge-0/0/1.0\n"),
])
def test_strict_checkers_reject_unknown_lines(target: str, text: str) -> None:
    if text.endswith("any any\n") and target == "cisco-ios-xe":
        text = text[:-1]  # a missing final newline is an error too
    assert check(target, text), f"{target} checker accepted:\n{text}"


@pytest.mark.parametrize("target", TARGETS)
def test_strict_checkers_accept_a_minimal_known_config(target: str) -> None:
    text = {
        "cisco-ios-xe": "hostname pe-x\ninterface GigabitEthernet0/0/1.10\n description a\n"
                        " encapsulation dot1Q 10\n no shutdown\n!\nend\n",
        "huawei-vrp": "sysname pe-x\ninterface GigabitEthernet0/0/1.10\n dot1q termination vid 10\n"
                      "quit\nreturn\n",
        "junos": 'set system host-name pe-x\nset interfaces ge-0/0/1 unit 10 description "a"\n',
    }[target]
    assert check(target, text) == []


# ---------------------------------------------------------------- tests: rendering


@pytest.mark.parametrize("target", TARGETS)
def test_every_device_of_the_fixture_passes_the_strict_checker(target: str, hand_network) -> None:
    out = render_all(hand_network(), target)
    assert set(out) == {"pe-hlj", "pe-hrb", "exit-hlj", "inner-hlj", "inner-hrb"}
    for device, text in out.items():
        assert check(target, text) == [], f"{target} {device}"


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("target", TARGETS)
def test_compiled_policies_pass_the_strict_checker(target: str, policy: str) -> None:
    network = compiled(policy)
    out = render_all(network, target)
    assert set(out) == {d.name for d in network.devices}
    for device, text in out.items():
        errors = check(target, text)
        assert errors == [], f"{target} {device}: {errors[:5]}"


NASTY_NAMES = [
    None,  # hand_network's own default (tests/conftest.py NASTY)
    "x\u2028permit ip any any\u2029y",  # Unicode line/paragraph separators
    "a；b＂c｛d｝",  # full-width ; " { } (NFKC-folded to ASCII, then dropped)
    "}\n set system root-authentication plain-text-password",
    "税务局 \"} ] ; !\\ end",
]


@pytest.mark.parametrize("name", NASTY_NAMES)
@pytest.mark.parametrize("target", TARGETS)
def test_display_names_never_become_statements(target: str, name: str, hand_network) -> None:
    network = hand_network(display=name)
    plain = render_all(hand_network(display="plain"), target)
    for device in network.devices:
        text = render_all(network, target)[device.name]
        assert check(target, text) == [], device.name
        # the user text shows up only inside comment-shaped lines (a line the same
        # network renders with a harmless name, such as a generated `permit ip any any`,
        # is the emitter's own)
        own = set(plain[device.name].split("\n"))
        for line in text.split("\n"):
            if line not in own and any(marker in line for marker in (
                    "税务局", "permit ip any any", "bureau", "root-authentication", "U+2028")):
                assert is_comment(target, line), f"{device.name}: {line!r}"
        # and no statement was added: ACL entries are exactly what the model asks for
        entries = acl_entries(target, text)
        assert len(entries) == len(device.acls) or device.role == "exit"
        if device.role != "exit":
            counts = sorted(len(v) for v in entries.values())
            assert counts == sorted(expected_entries(target, a) for a in device.acls)


def test_nasty_text_reaches_descriptions_escaped(hand_network) -> None:
    """The display name is kept readable (Chinese stays) but loses every dangerous character."""
    text = render_all(hand_network(), "cisco-ios-xe")["exit-hlj"]
    desc = [ln for ln in text.split("\n") if ln.startswith(" description Tax")]
    assert desc == [" description Tax bureau permit ip any any x y z w 税务局 rm HOME a b"]


@pytest.mark.parametrize("target", TARGETS)
def test_acl_entries_match_the_model_line_for_line(target: str) -> None:
    network = compiled("policies/minimal.zh")
    for device in network.devices:
        if any(a.stateful for a in device.acls):
            continue
        text = render_all(network, target)[device.name]
        entries = acl_entries(target, text)
        assert sorted(len(v) for v in entries.values()) == sorted(
            expected_entries(target, a) for a in device.acls)


def _cisco_blocks(text: str) -> list[tuple[str, str]]:
    """(last remark before it, entry) for every ACL entry."""
    out, remark = [], None
    for line in text.split("\n"):
        if line.startswith("ip access-list extended"):
            remark = None
        elif line.startswith(" remark "):
            remark = line[8:]
        elif re.match(r" \d+ (?:permit|deny) ", line):
            out.append((remark, line))
    return out


def test_cisco_every_entry_is_under_a_remark_naming_its_rule() -> None:
    network = compiled("policies/minimal.zh")
    text = render_all(network, "cisco-ios-xe")["pe-prov"]
    acl = next(a for a in network.device("pe-prov").acls if a.name == "zh-v-tax-in")
    body = text.split("ip access-list extended zh-v-tax-in\n", 1)[1].split("!\n", 1)[0]
    pairs = _cisco_blocks("ip access-list extended zh-v-tax-in\n" + body)
    expected = []
    for ln in sorted(acl.lines, key=lambda x: x.seq):
        n = len(set(ln.icmp_types)) if ln.icmp_types else 1
        expected += [ln.rule + (" reply" if ln.reply else "")] * n
    assert [r for r, _e in pairs[:-1]] == expected
    assert pairs[-1] == ("implicit deny of the policy, made explicit", pairs[-1][1])
    assert pairs[-1][1].endswith("deny ip any any")
    established = [e for _r, e in pairs if e.endswith(" established")]
    assert len(established) == sum(1 for ln in acl.lines if ln.established)


def test_huawei_every_rule_has_its_policy_rule_as_description() -> None:
    network = compiled("policies/minimal.zh")
    text = render_all(network, "huawei-vrp")["pe-north"]
    seen: set[str] = set()
    for acl in re.findall(r"^acl number 3\d{3}\n(.*?)^quit$", text, re.M | re.S):
        rules = re.findall(r"^ rule (\d+) (?:permit|deny) .*$", acl, re.M)
        described = dict(re.findall(r"^ rule (\d+) description (.*)$", acl, re.M))
        assert rules and sorted(rules, key=int) == sorted(described, key=int)
        seen.update(described.values())
    assert seen >= {"policies/minimal.zh:37", "policies/minimal.zh:40 reply"}
    # traffic-filter lets unmatched packets through: every ACL ends with an explicit deny
    for acl in re.findall(r"^acl number 3\d{3}\n(.*?)^quit$", text, re.M | re.S):
        last_rule = [ln for ln in acl.split("\n") if re.match(r" rule \d+ (permit|deny) ", ln)][-1]
        assert re.fullmatch(r" rule \d+ deny ip(?: vpn-instance \S+)?", last_rule)
    assert "tcp-flag established" in text


def test_huawei_firewall_icmp_service_names_a_code_range(hand_network) -> None:
    """USG `service protocol icmp icmp-type <number>` requires a code (range) after the type."""
    text = render_all(hand_network(), "huawei-vrp")["exit-hlj"]
    assert re.search(r"^  service protocol icmp icmp-type 8 0 to 255$", text, re.M)
    assert not re.search(r"icmp-type \d+$", text, re.M)


def _huawei_block(text: str, head: str) -> list[str]:
    """The lines of one top-level Huawei view, from ``head`` to its ``quit``."""
    return text.split(f"\n{head}\n", 1)[1].split("\nquit\n", 1)[0].split("\n")


def test_huawei_exit_without_uplink_runs_a_dhcp_client_on_its_outside_port() -> None:
    """No ``uplink`` clause: ``ip address dhcp-alloc`` on the outside port, security-policy
    rules for DHCP to and from the firewall itself (local zone); the interface default route
    is kept, as the USG uses the DHCP-learned gateway as its next hop."""
    from zongheng.emitters.huawei_vrp import vrp_ifname

    network = _minimal_with_uplink("")
    exit_dev = next(d for d in network.devices if d.role == "exit")
    outside = next(i for i in exit_dev.interfaces if i.attached_class == "internet")
    assert outside.address is None  # the case under test
    port = vrp_ifname(outside.name)
    text = render_all(network, "huawei-vrp")[exit_dev.name]
    block = _huawei_block(text, f"interface {port}")
    assert " ip address dhcp-alloc" in block
    assert not [ln for ln in block if re.fullmatch(rf" ip address {IP} {IP}", ln)]
    policy = "\n".join(_huawei_block(text, "security-policy"))
    assert ("  source-zone untrust\n  destination-zone local\n"
            "  service protocol udp source-port 67 destination-port 68\n  action permit") in policy
    assert ("  source-zone local\n  destination-zone untrust\n"
            "  service protocol udp source-port 68 destination-port 67\n  action permit") in policy
    routes = [ln for ln in text.split("\n") if ln.startswith("ip route-static ")]
    assert f"ip route-static 0.0.0.0 0.0.0.0 {port}" in routes
    # no interface-only route out of any other Ethernet port
    assert not [r for r in routes if "GigabitEthernet" in r and not r.endswith(port)]
    assert check("huawei-vrp", text) == []


def test_huawei_exit_with_uplink_keeps_its_address_and_next_hop() -> None:
    network = _minimal_with_uplink(" uplink 203.0.113.2/30 via 203.0.113.1")
    exit_dev = next(d for d in network.devices if d.role == "exit")
    text = render_all(network, "huawei-vrp")[exit_dev.name]
    assert " ip address 203.0.113.2 255.255.255.252" in text.split("\n")
    assert "ip route-static 0.0.0.0 0.0.0.0 203.0.113.1" in text.split("\n")
    assert "dhcp" not in text and "zone local" not in text
    golden = render_all(compiled(GOLDEN_POLICY), "huawei-vrp")  # heilongjiang has its uplink
    assert not [d for d, t in golden.items() if "dhcp" in t or "unnumbered interface Gig" in t]


def test_huawei_refuses_routes_out_of_an_unaddressed_port_without_dhcp() -> None:
    from zongheng.emitters._router import VendorEmitError

    network = _minimal_with_uplink(" uplink 203.0.113.2/30 via 203.0.113.1")
    exit_dev = next(d for d in network.devices if d.role == "exit")
    spare = Interface("eth7", None)  # no address, not the Internet side: no DHCP client
    extra = Route("198.51.100.0/24", "local", exit_dev.name, "eth7", None)
    bad = replace(exit_dev, interfaces=(*exit_dev.interfaces, spare),
                  routes=(*exit_dev.routes, extra))
    network = replace(network, devices=tuple(bad if d.name == exit_dev.name else d
                                             for d in network.devices))
    with pytest.raises(VendorEmitError, match="198.51.100.0/24.*eth7"):
        REGISTRY["huawei-vrp"](network).render(bad)


def test_junos_every_term_is_annotated_with_its_rule() -> None:
    network = compiled("policies/minimal.zh")
    text = render_all(network, "junos")["pe-north"]
    terms = set(re.findall(r"^set firewall family inet filter (\S+) term (\S+) then", text, re.M))
    annotated = set()
    current = None
    for line in text.split("\n"):
        m = re.fullmatch(r"edit firewall family inet filter (\S+)", line)
        if m:
            current = m.group(1)
        elif line == "top":
            current = None
        elif current:
            m = re.fullmatch(r'annotate term (\S+) "(.+)"', line)
            assert m, line
            annotated.add((current, m.group(1)))
            assert re.fullmatch(r"policies/minimal\.zh:\d+(?: reply)?|implicit deny.*", m.group(2))
    assert terms == annotated
    assert "from tcp-established" in text


@pytest.mark.parametrize("target,expect", [
    ("cisco-ios-xe", ["interface GigabitEthernet0/0/3.102", " encapsulation dot1Q 102",
                      " vrf forwarding V-tax", " ip address 10.0.0.1 255.255.255.0",
                      " ip access-group zh-v-tax-in in"]),
    ("huawei-vrp", ["interface GigabitEthernet0/0/3.102", " dot1q termination vid 102",
                    " ip binding vpn-instance V-tax", " ip address 10.0.0.1 255.255.255.0"]),
    ("junos", ["set interfaces ge-0/0/3 vlan-tagging",
               "set interfaces ge-0/0/3 unit 102 vlan-id 102",
               "set interfaces ge-0/0/3 unit 102 family inet address 10.0.0.1/24",
               "set interfaces ge-0/0/3 unit 102 family inet filter input zh-v-tax-in",
               "set routing-instances V-tax interface ge-0/0/3.102"]),
])
def test_logical_interfaces_map_to_vendor_subinterfaces(target: str, expect: list[str]) -> None:
    text = render_all(compiled("policies/minimal.zh"), target)["pe-prov"]
    lines = text.split("\n")
    positions = [lines.index(e) for e in expect]
    if target != "junos":  # statements of one interface block, in an order the vendor accepts
        assert positions == sorted(positions) and positions[-1] - positions[0] < 8
    if target == "huawei-vrp":  # binding a VPN instance clears the address: binding first
        assert positions[2] < positions[3]


def test_exit_default_route_carries_only_the_internet_route_target() -> None:
    """H-platform exports the shared RT for platform prefixes and ASN:3 for 0/0 only."""
    network = compiled("policies/minimal.zh")
    cisco = render_all(network, "cisco-ios-xe")["pe-prov"]
    assert "ip prefix-list PL-EXP-H-platform-10 seq 5 permit 0.0.0.0/0" in cisco
    clause = cisco.split("route-map EXP-H-platform permit 10\n", 1)[1].split("\n")[:2]
    assert clause == [" match ip address prefix-list PL-EXP-H-platform-10",
                      " set extcommunity rt 65000:3 additive"]
    vrf = cisco.split("vrf definition H-platform\n", 1)[1].split("!\n", 1)[0]
    assert "route-target export 65000:1" not in vrf and " export map EXP-H-platform" in vrf
    huawei = render_all(network, "huawei-vrp")["pe-prov"]
    assert "ip ip-prefix PL-H-platform-1 index 10 permit 0.0.0.0 0" in huawei
    assert " apply extcommunity rt 65000:3 additive" in huawei
    junos = render_all(network, "junos")["pe-prov"]
    default_term = re.search(r"H-platform-export term (\S+) from route-filter 0\.0\.0\.0/0 exact",
                             junos).group(1)
    adds = re.findall(rf"H-platform-export term {default_term} then community add (\S+)", junos)
    assert adds == ["rt-65000-2", "rt-65000-3"]


def test_route_reflector_hierarchy_follows_the_region_tree() -> None:
    network = compiled("policies/minimal.zh")
    prov = render_all(network, "cisco-ios-xe")["pe-prov"]
    north = render_all(network, "cisco-ios-xe")["pe-north"]
    assert prov.count("route-reflector-client") == 2
    assert "route-reflector-client" not in north
    assert " neighbor 100.64.0.1 description pe-prov parent" in north
    huawei = render_all(network, "huawei-vrp")["pe-prov"]
    assert "  undo policy vpn-target" in huawei and huawei.count("reflect-client") == 2


def test_nat_uses_the_model_overload_range_and_statics() -> None:
    network = compiled("tests/data/language-examples.zh")
    cisco = render_all(network, "cisco-ios-xe")["exit-hlj"]
    assert ("ip nat pool NAT-POOL-exit-hlj 202.97.10.2 202.97.10.14 prefix-length 28"
            in cisco.split("\n"))
    assert "ip nat inside source static 59.64.0.10 202.97.10.1" in cisco.split("\n")
    huawei = render_all(network, "huawei-vrp")["exit-hlj"]
    assert " section 0 202.97.10.2 202.97.10.14" in huawei.split("\n")
    junos = render_all(network, "junos")["exit-hlj"]
    assert ("set security nat source pool nat-exit-hlj address 202.97.10.2/32 to 202.97.10.14/32"
            in junos.split("\n"))


def _cisco_interface(text: str, name: str) -> list[str]:
    block = text.split(f"\ninterface {name}\n", 1)[1].split("\n!\n", 1)[0]
    return block.split("\n")


def test_cisco_exit_without_uplink_takes_its_address_by_dhcp() -> None:
    """No ``uplink`` clause: DHCP client on the outside port, no interface-only default route."""
    network = compiled("policies/minimal.zh")  # `exit prov nat ...` without an uplink
    text = render_all(network, "cisco-ios-xe")["exit-prov"]
    outside = _cisco_interface(text, "GigabitEthernet0/0/1")
    assert " ip address dhcp" in outside and " ip nat outside" in outside
    assert " no ip address" not in outside
    routes = [ln for ln in text.split("\n") if ln.startswith("ip route ")]
    assert routes and not any(ln.startswith("ip route 0.0.0.0 0.0.0.0") for ln in routes)
    assert not any(ln.endswith("GigabitEthernet0/0/1") for ln in routes)
    assert check("cisco-ios-xe", text) == []


def test_cisco_exit_with_uplink_keeps_its_address_and_next_hop() -> None:
    network = compiled(GOLDEN_POLICY)  # `exit hlj ... uplink 202.97.9.2/30 via 202.97.9.1`
    text = render_all(network, "cisco-ios-xe")["exit-hlj"]
    outside = _cisco_interface(text, "GigabitEthernet0/0/1")
    assert " ip address 202.97.9.2 255.255.255.252" in outside
    assert "dhcp" not in text
    assert "ip route 0.0.0.0 0.0.0.0 202.97.9.1" in text.split("\n")


def test_inner_routes_go_through_the_tunnels() -> None:
    network = compiled("tests/data/language-examples.zh")
    text = render_all(network, "cisco-ios-xe")["inner-hrb"]
    assert "ip route 172.20.0.0 255.255.255.0 Tunnel100" in text
    assert " tunnel destination 100.65.0.1" in text
    assert " pki trustpoint pki-inner-hrb" in text  # the model's secret is referenced, not inlined
    assert "pre-shared" not in text


def _minimal_with_uplink(uplink: str) -> Network:
    """policies/minimal.zh with the exit clause extended (or not) by ``uplink``."""
    from zongheng.compiler.pipeline import compile_text

    text = (ROOT / "policies/minimal.zh").read_text(encoding="utf-8")
    clause = "    exit prov nat 202.97.10.0/29\n"
    assert clause in text
    return compile_text("policies/minimal.zh",
                        text.replace(clause, clause[:-1] + uplink + "\n")).network


def _junos_outside(network: Network) -> tuple[Device, Interface]:
    exit_dev = next(d for d in network.devices if d.role == "exit")
    outside = {n.interface for n in exit_dev.nat}
    return exit_dev, next(i for i in exit_dev.interfaces if i.name in outside)


def test_junos_exit_without_uplink_learns_its_default_route_by_dhcp() -> None:
    """An unaddressed SRX outside interface runs a DHCP client; no interface next hop on
    Ethernet (Junos documents those for point-to-point interfaces only)."""
    from zongheng.emitters.junos import junos_ifname, junos_port, junos_unit

    network = _minimal_with_uplink("")
    exit_dev, outside = _junos_outside(network)
    assert outside.address is None  # the case under test: no uplink clause
    out = render_all(network, "junos")
    lines = out[exit_dev.name].split("\n")
    unit = f"set interfaces {junos_port(outside.name)} unit {junos_unit(outside.name)}"
    assert f"{unit} family inet dhcp" in lines
    assert f"{unit} family inet" not in lines  # the DHCP line replaces the bare family
    assert (f"set security zones security-zone untrust interfaces {junos_ifname(outside.name)}"
            in lines)
    assert "set security zones security-zone untrust host-inbound-traffic system-services dhcp" \
        in lines
    assert not [ln for ln in lines if ln.startswith("set routing-options static route 0.0.0.0/0")]
    for device, text in out.items():
        assert "next-hop ge-" not in text, device
        assert check("junos", text) == [], device


def test_junos_exit_with_uplink_keeps_its_static_default_route() -> None:
    network = _minimal_with_uplink(" uplink 203.0.113.2/30 via 203.0.113.1")
    exit_dev, outside = _junos_outside(network)
    assert outside.address == "203.0.113.2/30"
    text = render_all(network, "junos")[exit_dev.name]
    lines = text.split("\n")
    assert "set routing-options static route 0.0.0.0/0 next-hop 203.0.113.1" in lines
    assert "dhcp" not in text
    golden = render_all(compiled(GOLDEN_POLICY), "junos")  # heilongjiang declares its uplink
    assert not [d for d, t in golden.items() if "dhcp" in t or "next-hop ge-" in t]


@pytest.mark.parametrize("target", ["cisco-ios-xe", "huawei-vrp", "junos"])
def test_routers_refuse_other_routes_out_of_an_unaddressed_ethernet_interface(
        target: str) -> None:
    """Only the default route a DHCP client learns may leave an unaddressed port."""
    from zongheng.emitters._router import VendorEmitError

    network = _minimal_with_uplink("")
    exit_dev, outside = _junos_outside(network)
    extra = Route("198.51.100.0/24", "local", exit_dev.name, outside.name, None)
    bad = replace(exit_dev, routes=(*exit_dev.routes, extra))
    network = replace(network, devices=tuple(bad if d.name == exit_dev.name else d
                                             for d in network.devices))
    REGISTRY[target](network).render(exit_dev)  # the DHCP default route alone is fine
    with pytest.raises(VendorEmitError, match="198.51.100.0/24.*point-to-point"):
        REGISTRY[target](network).render(bad)


def test_rendering_is_deterministic_across_hash_seeds() -> None:
    code = (
        "import hashlib, sys; sys.path.insert(0, 'tests')\n"
        "from conftest import build_hand_network\n"  # a fresh interpreter has no fixtures
        "from support.compiled import render_all\n"
        "from zongheng.compiler.pipeline import compile_policy\n"
        "h = hashlib.sha256()\n"
        "for n in (build_hand_network(), compile_policy('tests/data/language-examples.zh')):\n"
        f"    for t in {TARGETS!r}:\n"
        "        for d, text in sorted(render_all(n, t).items()):\n"
        "            h.update(d.encode() + text.encode())\n"
        "print(h.hexdigest())\n"
    )
    digests = {
        subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                       check=True, env={**os.environ, "PYTHONHASHSEED": seed}).stdout
        for seed in ("1", "2", "random")
    }
    assert len(digests) == 1


# ---------------------------------------------------------------- golden files

GOLDEN_POLICY = "policies/heilongjiang.zh"


@pytest.mark.parametrize("target", TARGETS)
def test_golden_configs(target: str, golden) -> None:
    """Byte-for-byte against tests/golden/<target>/<device>.<ext> (heilongjiang.zh)."""
    network = compiled(GOLDEN_POLICY)
    emitter = REGISTRY[target](network)
    out = render_all(network, target)
    for text in out.values():
        assert check(target, text) == []
    golden.tree(target, {f"{d}.{emitter.extension}": text for d, text in out.items()},
                pattern=f"*.{emitter.extension}")


def test_vendor_error_is_clear_for_unmappable_interfaces(hand_network) -> None:
    from zongheng.emitters._router import VendorEmitError

    network = hand_network()
    pe = network.device("pe-hrb")
    bad = replace(pe, interfaces=(*pe.interfaces, Interface("Gi0/1", None, "10.9.9.1/30")))
    network = replace(network, devices=tuple(bad if d.name == "pe-hrb" else d
                                             for d in network.devices))
    for target in TARGETS:
        with pytest.raises(VendorEmitError, match="not ethN or ethN.VLAN"):
            REGISTRY[target](network).render(bad)


def _cisco_exports(text: str) -> dict[str, dict[str, set[str]]]:
    """VRF -> prefix -> route targets a Cisco config attaches when exporting it."""
    prefix_lists: dict[str, list[str]] = {}
    for name, p in re.findall(r"^ip prefix-list (\S+) seq \d+ permit (\S+)$", text, re.M):
        prefix_lists.setdefault(name, []).append(p)
    clauses: dict[str, list[tuple[str, set[str]]]] = {}
    for rmap, pl, rts in re.findall(r"^route-map (\S+) permit \d+\n match ip address prefix-list "
                                    r"(\S+)\n set extcommunity rt (.+) additive$", text, re.M):
        clauses.setdefault(rmap, []).append((pl, set(rts.split())))
    networks: dict[str, list[str]] = {}
    for vrf, body in re.findall(r"^ address-family ipv4 vrf (\S+)\n((?:  .*\n)*)", text, re.M):
        for m in re.finditer(r"network (\S+)(?: mask (\S+))?", body):
            addr, mask = m.group(1), m.group(2) or "0.0.0.0"
            length = bin(_ip_int(mask)).count("1")
            networks.setdefault(vrf, []).append(f"{addr}/{length}")
    out: dict[str, dict[str, set[str]]] = {}
    for vrf, body in re.findall(r"^vrf definition (\S+)\n((?: .*\n)*)", text, re.M):
        common = set(re.findall(r"route-target export (\S+)", body))
        emap = re.search(r"export map (\S+)", body)
        for prefix in networks.get(vrf, []):
            rts = set(common)
            for pl, extra in clauses.get(emap.group(1), []) if emap else []:
                if prefix in prefix_lists[pl]:
                    rts |= extra
            out.setdefault(vrf, {})[prefix] = rts
    return out


@pytest.mark.parametrize("policy", POLICIES)
def test_every_imported_vpn_route_is_exported_with_its_route_target(policy: str) -> None:
    """End to end over the model's own route tables (Network.vrf_routes), not the emitter's plan.

    Each route a VRF imports by route target must leave its exporting PE with
    that RT; and an exported prefix never carries an RT some VRF imports
    without the model importing it there (no leak through a broad export).
    """
    network = compiled(policy)
    pes = [d for d in network.devices if d.role == "pe"]
    exports = {d.name: _cisco_exports(render_all(network, "cisco-ios-xe")[d.name]) for d in pes}
    pe_names = {d.name for d in pes}
    importers: dict[str, set[tuple[str, str]]] = {}
    for d in pes:
        for v in d.vrfs:
            for rt in v.rt_import:
                importers.setdefault(rt, set()).add((d.name, v.name))
    checked = 0
    for d in pes:
        for v in d.vrfs:
            for r in network.vrf_routes(d.name, v.name):
                if r.route_target is None or r.egress_device not in pe_names:
                    continue
                exported = exports[r.egress_device].get(r.egress_vrf, {})
                assert r.route_target in exported.get(r.prefix, set()), (d.name, v.name, r)
                checked += 1
    assert checked > 0
    for pe, vrfs in exports.items():
        for vrf, prefixes in vrfs.items():
            for prefix, rts in prefixes.items():
                for rt in rts:
                    for dev, ivrf in importers.get(rt, ()):
                        if (dev, ivrf) == (pe, vrf):
                            continue
                        table = {x.prefix: x for x in network.vrf_routes(dev, ivrf)}
                        assert prefix in table, f"{pe}/{vrf} {prefix} leaks to {dev}/{ivrf} ({rt})"


def test_srx_reaches_published_hosts_only_through_their_static_nat() -> None:
    """SRX policies match the post-NAT destination, so every untrust -> trust permit to a
    published host drops packets whose destination was not translated."""
    network = compiled(GOLDEN_POLICY)
    exit_dev, _outside = _junos_outside(network)
    published = {n.inside for n in exit_dev.nat if n.kind == "static"}
    assert published
    lines = render_all(network, "junos")[exit_dev.name].split("\n")
    inbound = "set security policies from-zone untrust to-zone trust policy "
    outbound = "set security policies from-zone trust to-zone untrust policy "
    ends = {ln.split()[7]: ln.split(" then ", 1)[1] for ln in lines
            if ln.startswith(inbound) and " then " in ln}
    targets = {ln.split()[7]: ln.rsplit(" ", 1)[1] for ln in lines
               if ln.startswith(inbound) and " match destination-address " in ln}
    assert ends and set(ends) == set(targets)
    for name, then in ends.items():
        assert then == "permit destination-address drop-untranslated", name
        assert targets[name].removeprefix("a-").removesuffix("-32").replace("-", ".") \
            in published, name
    assert not [ln for ln in lines if ln.startswith(outbound) and "drop-untranslated" in ln]


PRE_NAT_BINDING = " ip access-group ZH-OUTSIDE-PRE-NAT in"
PERMIT_REST = "permit ip any any"


def _published(device: Device) -> list[str]:
    """Inside addresses of the device's static NAT rules, in address order."""
    import ipaddress

    hosts = {n.inside.split("/")[0] for n in device.nat if n.kind == "static"}
    return sorted(hosts, key=ipaddress.IPv4Address)


def _device(network: Network, name: str) -> Device:
    return next(d for d in network.devices if d.name == name)


def test_cisco_exit_drops_published_hosts_at_their_inside_address() -> None:
    """The zone firewall judges packets after outside-to-inside NAT; the interface input ACL
    runs before it, so it alone can drop packets sent straight to a published host's inside
    address. One deny per static NAT host, everything else goes on, outside interface only."""
    network = compiled(GOLDEN_POLICY)
    exit_dev = _device(network, "exit-hlj")
    published = _published(exit_dev)
    assert len(published) >= 2
    text = render_all(network, "cisco-ios-xe")[exit_dev.name]
    assert check("cisco-ios-xe", text) == []
    entries = acl_entries("cisco-ios-xe", text)["ZH-OUTSIDE-PRE-NAT"]
    assert entries == ([f" {10 * (k + 1)} deny ip any host {h}" for k, h in enumerate(published)]
                       + [f" {10 * (len(published) + 1)} {PERMIT_REST}"])
    (outside,) = {n.interface for n in exit_dev.nat}
    port = outside.removeprefix("eth")
    assert PRE_NAT_BINDING in _cisco_interface(text, f"GigabitEthernet0/0/{port}")
    assert text.count(PRE_NAT_BINDING) == 1
    # the zone firewall still judges what passes: the outside port stays a zone member
    assert any(ln.startswith(" zone-member security ")
               for ln in _cisco_interface(text, f"GigabitEthernet0/0/{port}"))


def test_cisco_dhcp_exit_keeps_its_dhcp_replies_past_the_pre_nat_acl() -> None:
    """An exit without uplink is a DHCP client on the port that carries the pre-NAT ACL: the
    ACL denies only published hosts, so the ISP's replies to the router itself pass."""
    network = compiled("policies/minimal.zh")
    exit_dev = _device(network, "exit-prov")
    text = render_all(network, "cisco-ios-xe")[exit_dev.name]
    outside = _cisco_interface(text, "GigabitEthernet0/0/1")
    assert " ip address dhcp" in outside and PRE_NAT_BINDING in outside
    entries = acl_entries("cisco-ios-xe", text)["ZH-OUTSIDE-PRE-NAT"]
    denied = [e.rsplit(" ", 1)[1] for e in entries if " deny " in e]
    assert denied == _published(exit_dev) and entries[-1].endswith(PERMIT_REST)
    assert check("cisco-ios-xe", text) == []


def test_cisco_exit_without_static_nat_has_no_pre_nat_acl() -> None:
    network = compiled(GOLDEN_POLICY)
    exit_dev = _device(network, "exit-hlj")
    bare = replace(exit_dev, nat=tuple(n for n in exit_dev.nat if n.kind != "static"))
    network = replace(network, devices=tuple(bare if d.name == bare.name else d
                                             for d in network.devices))
    text = render_all(network, "cisco-ios-xe")[bare.name]
    assert "ZH-OUTSIDE-PRE-NAT" not in text
    assert check("cisco-ios-xe", text) == []


def test_cisco_refuses_a_second_inbound_acl_on_the_nat_outside_interface() -> None:
    """A stateless NAT device already filtering its outside port cannot take the pre-NAT
    ACL as well (one inbound ACL per interface): the emitter stops instead of dropping one."""
    from zongheng.emitters._router import VendorEmitError

    network = compiled(GOLDEN_POLICY)
    exit_dev = _device(network, "exit-hlj")
    stateless = replace(exit_dev, acls=tuple(replace(a, stateful=False) for a in exit_dev.acls))
    network = replace(network, devices=tuple(stateless if d.name == stateless.name else d
                                             for d in network.devices))
    with pytest.raises(VendorEmitError, match="already has the inbound ACL"):
        render_all(network, "cisco-ios-xe")


def test_huawei_files_enter_system_view_carry_the_policy_hash_and_commit() -> None:
    """Pasted from the user view: system-view first, # header with the sha256, commit last
    on the VRP8 routers; the exit is a USG, which applies each line at once (no commit)."""
    network = compiled("policies/minimal.zh")
    configs = render_all(network, "huawei-vrp")
    assert {network.device(d).role for d in configs} >= {"pe", "exit"}
    for device, text in configs.items():
        lines = text.splitlines()
        assert lines[0] == "system-view", device
        assert f"# policy {network.policy_file} sha256 {network.policy_sha256}" in lines
        if network.device(device).role == "exit":
            assert lines[-1] == "return" and "commit" not in lines, device
            continue
        assert lines[-2:] == ["commit", "return"], device
        assert lines.index(f"sysname {device}") < lines.index("commit")
