"""Linux and VPN targets: nftables, iproute2, strongSwan, WireGuard.

The proof is the real tools: every nftables file passes ``nft -c -f`` (and
loads into a throwaway namespace), every iproute2 batch is applied with
``ip -batch`` in a throwaway namespace, every swanctl.conf is loaded by a
throwaway charon, every wg-quick file is accepted by ``wg setconf`` on a
throwaway wireguard-go interface and its ``PostUp`` lines run there. What
the tools report back is compared with the model.

Golden files: ``tests/golden/<target>/<policy>/<device>/<file>``. A test
fails on any difference; after a deliberate change, regenerate them with

    python -m pytest tests/emitters/test_emit_linux.py -k golden --update-golden

and review the diff before committing.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import unicodedata
from pathlib import Path

import netaddr
import pytest
from support.linux_tools import (
    LIBIPSEC,
    Lab,
    ip_batch_apply,
    ipsec_pair,
    missing,
    nft_check,
    run,
    swanctl_load,
    wg_apply,
)
from support.paths import REPO

from zongheng.compiler.model import Network
from zongheng.compiler.pipeline import compile_policy, compile_text
from zongheng.compiler.scaffold import scaffold
from zongheng.emitters import filters
from zongheng.emitters.filters import comment_text, make_env, safe_name
from zongheng.emitters.linux_plan import (
    VRF_TABLE_BASE,
    WG_PORT_BASE,
    linux_ifname,
    linux_plan,
    vrf_names,
    wg_ifname,
)
from zongheng.emitters.nftables import acl_chain, published_hosts
from zongheng.emitters.strongswan import ESP_PROPOSAL, IKE_PROPOSAL, conn_name
from zongheng.emitters.wireguard import KEY_DIR
from zongheng.emitters.writer import render_tree

TARGETS = ["iproute2", "nftables", "strongswan", "wireguard"]
GOLDEN_POLICIES = ["heilongjiang", "minimal"]


def _compile(stem: str) -> Network:
    """Compile a shipped policy by its repo-relative path (the path is in the headers)."""
    cwd = os.getcwd()
    os.chdir(REPO)
    try:
        return compile_policy(f"policies/{stem}.zh")
    finally:
        os.chdir(cwd)


@pytest.fixture(scope="session")
def network_named(small_network):
    """``network_named(name)``: "fixture" (the hand-built one), "scaffold" or a shipped policy."""
    cache: dict[str, Network] = {}

    def get(name: str) -> Network:
        if name not in cache:
            if name == "fixture":
                cache[name] = small_network()
            elif name == "scaffold":
                cache[name] = compile_text("scaffold.zh", scaffold(8, 3, 2)).network
            else:
                cache[name] = _compile(name)
        return cache[name]
    return get


NETWORKS = ["fixture", "minimal", "heilongjiang"]


@pytest.fixture(scope="session")
def tree(network_named):
    """``tree(name)``: the rendered files of a network (cached: the big policy takes seconds)."""
    cache: dict[str, dict[str, bytes]] = {}

    def get(name: str) -> dict[str, bytes]:
        if name not in cache:
            cache[name] = render_tree(network_named(name), TARGETS)
        return cache[name]
    return get


@pytest.fixture(scope="session")
def files_of(tree):
    """``files_of(name, suffix)``: (path, bytes) of the rendered files ending in suffix."""
    def get(name: str, suffix: str) -> list[tuple[str, bytes]]:
        return [(rel, data) for rel, data in sorted(tree(name).items()) if rel.endswith(suffix)]
    return get


# ---------------------------------------------------------------- filters

EVIL = [
    'tax"; permit ip any any; {',
    "税务局\n permit ip any any",
    "a\r\nb}\x00c\x1b[31m",
    "‮evil‬ \u2028next\u2029line\x85",
    "＂；｛｝ full-width",
    "back\\slash $(reboot) `id` #comment !bang",
    "'single' <b>&amp;",
]


@pytest.mark.parametrize("text", EVIL)
def test_comment_text_leaves_nothing_that_ends_a_line_string_or_block(text: str) -> None:
    out = comment_text(text, max_len=60)
    assert len(out) <= 60
    for bad in "\r\n\"'`;{}[]#!$\\<>|":
        assert bad not in out, (bad, out)
    for c in out:
        assert unicodedata.category(c)[0] not in "CZ" or c == " ", repr(c)


def test_comment_text_keeps_chinese_and_plain_words() -> None:
    assert comment_text("黑龙江省 Heilongjiang (province), 2301") == \
        "黑龙江省 Heilongjiang (province), 2301"
    assert comment_text("税务局", ascii_only=True) == "U+7A0E U+52A1 U+5C40"
    assert len(comment_text("税" * 100, max_bytes=30).encode()) <= 30


def test_address_filters() -> None:
    assert filters.wildcard("10.1.2.0/24") == "0.0.0.255"
    assert filters.netmask("10.1.2.0/23") == "255.255.254.0"
    assert filters.network_address("10.1.3.7/23") == "10.1.2.0"
    assert filters.prefixlen("10.1.2.0/26") == 26
    assert filters.ip_range("202.97.10.0/28") == "202.97.10.0-202.97.10.15"
    assert filters.merge_prefixes(["10.0.1.0/24", "10.0.0.0/24", "10.0.0.0/25"]) == [
        "10.0.0.0/23"]
    assert filters.host_address("100.66.0.1/31") == "100.66.0.1"


def test_safe_name_is_bounded_and_never_merges_two_names() -> None:
    names = ["V-tax", "V_tax", "V tax", "税务", "税局", "x" * 40]
    out = [safe_name(n, max_len=15) for n in names]
    assert out[0] == "V-tax"
    assert len(set(out)) == len(out)
    assert all(len(o) <= 15 and re.fullmatch(r"[A-Za-z0-9_-]+", o) for o in out)


def test_linux_ifnames_fit_the_kernel_limit() -> None:
    assert linux_ifname("eth3.101") == "eth3.101"
    long = linux_ifname("GigabitEthernet0/0/1.101")
    assert len(long) <= 15 and "/" not in long
    assert len(wg_ifname("V-" + "d" * 30)) <= 15


def test_templates_refuse_values_that_break_lines() -> None:
    env = make_env("nftables")
    with pytest.raises(filters.TemplateValueError):
        env.from_string("# {{ x }}\n").render(x="ok\npermit ip any any")
    assert env.from_string("# {{ x | comment_text }}\n").render(x="ok\npwn") == "# ok pwn\n"


def test_template_override_replaces_one_file(tmp_path: Path, network_named, tree) -> None:
    (tmp_path / "nftables").mkdir()
    (tmp_path / "nftables" / "device.nft.j2").write_text("# custom {{ device.name }}\n")
    net = network_named("fixture")
    custom = render_tree(net, TARGETS, template_dir=tmp_path)
    default = tree("fixture")
    assert custom["pe-hlj/nftables.nft"] == b"# custom pe-hlj\n"
    assert custom["pe-hlj/iproute2.batch"] == default["pe-hlj/iproute2.batch"]


# ---------------------------------------------------------------- nftables

@pytest.mark.parametrize("name", NETWORKS)
def test_nftables_files_pass_nft_check(name: str, tmp_path: Path, network_named, files_of,
                                       need) -> None:
    need("nft", "unshare")
    nft_files = files_of(name, "nftables.nft")
    assert {rel.split("/")[0] for rel, _ in nft_files} == {
        d.name for d in network_named(name).devices}
    for rel, data in nft_files:
        path = tmp_path / rel.replace("/", "_")
        path.write_bytes(data)
        nft_check(path)


@pytest.mark.parametrize("name", ["fixture", "minimal"])
def test_nftables_rulesets_load_and_keep_every_acl_line(name: str, tmp_path: Path, network_named,
                                                        tree, need) -> None:
    """Loaded for real (kernel checks), the chains hold exactly the model's lines in order."""
    need("nft", "unshare")
    net = network_named(name)
    for device in net.devices:
        path = tmp_path / f"{device.name}.nft"
        path.write_bytes(tree(name)[f"{device.name}/nftables.nft"])
        r = run(["unshare", "-n", "sh", "-c", f"nft -f {path} && nft -j list ruleset"])
        assert r.returncode == 0, r.stderr
        rules = [x["rule"] for x in json.loads(r.stdout)["nftables"] if "rule" in x]
        published = published_hosts(device)
        for acl in device.acls:
            chain = [x for x in rules if x["chain"] == acl_chain(acl.name)]
            head = (1 if acl.stateful else 0) + (1 if acl.name in published else 0)
            expected = len(acl.lines) + 1 + head  # + final drop (+ ct state, + not DNATed)
            assert len(chain) == expected, (device.name, acl.name)
            verdicts = [next(k for e in x["expr"] for k in e if k in ("accept", "drop"))
                        for x in chain]
            model = ["accept" if ln.action == "permit" else "drop" for ln in acl.lines]
            assert verdicts[-1] == "drop"
            assert verdicts[head:-1] == model
        bound = {i.name for i in device.interfaces if i.acl_in}
        jumps = {e["match"]["right"] for x in rules if x["chain"] == "zh_forward"
                 for e in x["expr"] if "match" in e
                 and e["match"]["left"].get("meta", {}).get("key") == "iifname"}
        assert jumps == {linux_ifname(n) for n in bound}


def test_nftables_stateless_replies_and_stateful_exit(tree) -> None:
    text = tree("fixture")["pe-hlj/nftables.nft"].decode()
    assert "tcp sport 8080-8089 tcp flags & (ack | rst) != 0 accept" in text
    assert "ct state" not in text.split("chain zh_acl_v_tax_hlj")[1].split("}")[0]
    exit_text = tree("fixture")["exit-hlj/nftables.nft"].decode()
    chain = exit_text.split("chain zh_acl_exit_hlj_outside {")[1].split("}")[0]
    assert chain.strip().splitlines()[0].strip() == "ct state established,related accept"
    assert 'iifname "eth1" ip daddr 202.97.10.1 dnat to 59.64.0.10' in exit_text
    assert 'oifname "eth1" ip saddr 59.64.0.10 snat to 202.97.10.1' in exit_text
    assert 'ip saddr 59.64.0.0/14 snat to 202.97.10.2-202.97.10.15' in exit_text
    assert "# rule policy.zh:12" in exit_text


# ---------------------------------------------------------------- iproute2

@pytest.mark.parametrize("name", NETWORKS)
def test_iproute2_batches_apply_in_a_namespace(name: str, tmp_path: Path, network_named, tree,
                                               need) -> None:
    need("ip")
    net = network_named(name)
    plans = linux_plan(net)
    for device in net.devices:
        plan = plans[device.name]
        path = tmp_path / f"{device.name}.batch"
        path.write_bytes(tree(name)[f"{device.name}/iproute2.batch"])
        state = ip_batch_apply(path, [i.name for i in plan.interfaces])
        rules = {(r.get("iif"), int(r["table"])) for r in state["rules"] if "iif" in r}
        assert rules == {(r.iif, r.table) for r in plan.rules}
        got = set()
        for r in state["routes"]:
            table = r.get("table", "main")
            if table in ("local",) or r.get("protocol") == "kernel":
                continue
            dst = "0.0.0.0/0" if r["dst"] == "default" else r["dst"]
            if "/" not in dst:
                dst += "/32"
            got.add((None if table == "main" else int(table), dst, r.get("dev"),
                     r.get("gateway"), r.get("type", "unicast")))
        want = {(r.table, r.prefix, r.dev, r.via, r.kind) for r in plan.routes}
        assert got == want, device.name


class _Fib:
    """What Linux does with a device plan: rules by priority, first table with a match, LPM."""

    def __init__(self, plan) -> None:
        self.tables: dict[int | None, list[tuple[int, int, int, int, tuple]]] = {}
        for r in plan.routes:
            n = netaddr.IPNetwork(r.prefix)
            self.tables.setdefault(r.table, []).append(
                (n.first, n.last, n.prefixlen, -(r.metric or 0), (r.kind, r.dev, r.via)))
        self.chains: dict[str, list[int]] = {}
        for rule in sorted(plan.rules, key=lambda r: r.priority):
            self.chains.setdefault(rule.iif, []).append(rule.table)

    def lookup(self, iif: str, address: int) -> tuple | None:
        for table in self.chains[iif]:
            hits = [x for x in self.tables.get(table, ()) if x[0] <= address <= x[1]]
            if hits:
                return max(hits, key=lambda x: (x[2], x[3]))[4]
        return None


@pytest.mark.parametrize("name", ["minimal", "heilongjiang", "scaffold"])
def test_shared_route_target_tables_forward_like_full_vrf_tables(name: str, network_named) -> None:
    """The compact rendering (own table, route-target tables, covers) = full per-VRF tables."""
    net = network_named(name)
    compact, full = linux_plan(net), linux_plan(net, by_route_target=False)
    devices = [d for d in net.devices if d.vrfs]
    if name != "minimal":  # the province, a city, a county
        devices = [devices[0], devices[1], devices[-1]]
    checked = 0
    for device in devices:
        a_fib, b_fib = _Fib(compact[device.name]), _Fib(full[device.name])
        prefixes = {r.prefix for r in full[device.name].routes}
        probes = sorted({a for p in prefixes for n in [netaddr.IPNetwork(p)]
                         for a in (n.first, n.last)})
        for iface in device.interfaces:
            if iface.vrf is None:
                continue
            for address in probes:
                a, b = a_fib.lookup(iface.name, address), b_fib.lookup(iface.name, address)
                assert a == b, (device.name, iface.name, str(netaddr.IPAddress(address)), a, b)
                checked += 1
    assert checked > 100


def test_vrf_lite_keeps_overlapping_vertical_nets_apart(network_named) -> None:
    """tax and audit both use 10.0.0.0/24 at hlj: each VRF table reaches only its own."""
    plan = linux_plan(network_named("fixture"))["pe-hlj"]
    names = vrf_names(network_named("fixture"))
    t_tax = VRF_TABLE_BASE + names.index("V-tax")
    t_audit = VRF_TABLE_BASE + names.index("V-audit")
    tax = {r.prefix: r for r in plan.routes if r.table == t_tax}
    audit = {r.prefix: r for r in plan.routes if r.table == t_audit}
    assert tax["10.0.0.0/24"].dev == "eth2.101" and audit["10.0.0.0/24"].dev == "eth2.201"
    # tax reaches hrb over its WireGuard tunnel only: until it is up, a blackhole (fail closed)
    assert tax["10.0.1.0/24"].kind == "blackhole"
    assert audit["10.0.1.0/24"].dev.endswith(f".{3000 + names.index('V-audit')}")
    for iif in ("eth2.101", "eth2.201"):
        chain = sorted((r.priority, r.table) for r in plan.rules if r.iif == iif)
        last = chain[-1][1]
        assert chain[0][1] in (t_tax, t_audit)
        assert any(r.kind == "blackhole" and r.prefix == "0.0.0.0/0"
                   for r in plan.routes if r.table == last)


def _lab_hosts(net: Network) -> dict[str, tuple[str, str, str, str | None]]:
    """One host per PE attachment, at address 10 of its class's first prefix."""
    hosts: dict[str, tuple[str, str, str, str | None]] = {}
    for c in net.classes:
        if not c.device.startswith("pe-") or not c.interface:
            continue
        iface = next(i for i in net.device(c.device).interfaces if i.name == c.interface)
        net_ = netaddr.IPNetwork(c.prefixes[0])
        hosts[f"{c.kind[0]}-{c.owner or 'platform'}-{c.region}"] = (
            c.device, c.interface, f"{net_[10]}/{net_.prefixlen}",
            filters.host_address(iface.address))
    return hosts


def test_exit_nat_and_stateful_firewall_with_real_packets(tmp_path: Path, network_named, tree,
                                                          need) -> None:
    """minimal.zh: the Internet reaches the portal's web port through the static NAT only."""
    need("ip", "nft", "sysctl")
    net = network_named("minimal")
    files = tree("minimal")
    devices = {d.name: (files[f"{d.name}/iproute2.batch"], files[f"{d.name}/nftables.nft"])
               for d in net.devices}
    exit_dev = next(d for d in net.devices if d.role == "exit")
    outside = next(i for i in exit_dev.interfaces if i.attached_class == "internet")
    static = next(n for n in exit_dev.nat if n.kind == "static" and n.host == "portal")
    hosts = _lab_hosts(net)
    portal_host = next(h for h, v in hosts.items()
                       if v[2].split("/")[0] == filters.host_address(static.inside))
    hosts["internet"] = (exit_dev.name, outside.name, "198.51.100.10/24", None)
    with Lab(linux_plan(net), devices, hosts, tmp_path) as lab:
        for port in (80, 22):
            lab.serve_tcp(portal_host, filters.host_address(static.inside), port)
        public = filters.host_address(static.outside)
        assert lab.connect("internet", public, 80)  # allow internet -> host(portal) web
        # the inside address is not published, even on the published port
        assert not lab.connect("internet", filters.host_address(static.inside), 80)
        assert not lab.connect("internet", public, 22)  # not a web port
        assert not lab.ping("internet", public)  # nor ICMP
        assert not lab.ping(portal_host, "198.51.100.10")  # no rule lets the inside out
    # the servers the lab started (its own, by id) are gone with it
    assert [p.what for p in lab.started()] == [f"server {portal_host}"] * 2
    assert not any(p.alive() for p in lab.started())


def test_vrf_lite_forwards_real_packets_between_overlapping_vertical_nets(tmp_path: Path,
                                                                          network_named, tree, need
                                                                          ) -> None:
    """minimal.zh as namespaces running the emitted batches and rulesets.

    tax and audit both use 10.0.0.10 at prov: a ping from tax's horizontal
    site at north reaches tax's host only, one from audit's reaches audit's
    only (the other host sees not even an ARP request); what the policy does
    not allow does not arrive, and vertical-to-vertical traffic never goes in
    clear (only the WireGuard tunnel, not up here, carries it).
    """
    need("ip", "nft", "sysctl")
    net = network_named("minimal")
    plans = linux_plan(net)
    files = tree("minimal")
    devices = {d.name: (files[f"{d.name}/iproute2.batch"], files[f"{d.name}/nftables.nft"])
               for d in net.devices}
    hosts = _lab_hosts(net)
    with Lab(plans, devices, hosts, tmp_path) as lab:
        assert lab.ping("h-tax-north", "59.64.16.10")  # horizontal -> horizontal
        before = {h: lab.rx(h) for h in ("v-tax-prov", "v-audit-prov")}
        assert lab.ping("h-tax-north", "10.0.0.10")  # tax's vertical host, through VRF-lite
        assert lab.rx("v-tax-prov") > before["v-tax-prov"]
        assert lab.rx("v-audit-prov") == before["v-audit-prov"]
        before = {h: lab.rx(h) for h in ("v-tax-prov", "v-audit-prov")}
        assert lab.ping("h-audit-north", "10.0.0.10")  # the same address, audit's host
        assert lab.rx("v-audit-prov") > before["v-audit-prov"]
        assert lab.rx("v-tax-prov") == before["v-tax-prov"]
        assert not lab.ping("v-audit-north", "59.64.16.10")  # audit vertical -> tax horizontal
        assert lab.ping("h-audit-north", "59.64.16.10")  # any horizontal -> any horizontal
        before = lab.rx("v-tax-prov")
        assert not lab.ping("v-tax-north", "10.0.0.10")  # vertical: tunnel only, fail closed
        assert lab.rx("v-tax-prov") == before
        if missing("wg", "wg-quick", "wireguard-go"):
            return
        # the emitted wg-quick files bring the vertical nets up, each in its own VRF
        lab.wireguard({d.name: {rel.split("/")[-1]: data for rel, data in files.items()
                                if rel.startswith(f"{d.name}/wireguard/")}
                       for d in net.devices
                       if any(rel.startswith(f"{d.name}/wireguard/") for rel in files)},
                      KEY_DIR)
        for src, owner in (("v-tax-north", "tax"), ("v-audit-north", "audit")):
            before = {h: lab.rx(h) for h in ("v-tax-prov", "v-audit-prov")}
            assert lab.ping(src, "10.0.0.10"), src
            mine, other = f"v-{owner}-prov", ({"v-tax-prov", "v-audit-prov"} - {
                f"v-{owner}-prov"}).pop()
            assert lab.rx(mine) > before[mine]
            assert lab.rx(other) == before[other]
        assert lab.ping("v-tax-south", "10.0.1.10")  # spoke to spoke through the hub
        assert not lab.ping("v-audit-north", "10.0.2.10")  # audit has no site at south


# ---------------------------------------------------------------- strongSwan

def _tunnel_devices(net: Network) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for t in net.tunnels:
        out.setdefault(t.a_device, []).append(t.b_device)
        out.setdefault(t.b_device, []).append(t.a_device)
    return out


@pytest.mark.parametrize("name", NETWORKS)
def test_swanctl_files_load_into_charon(name: str, tmp_path: Path, network_named, files_of,
                                        need) -> None:
    need("/usr/lib/ipsec/charon", "swanctl", "openssl", "unshare")
    net = network_named(name)
    ends = _tunnel_devices(net)
    confs = files_of(name, "strongswan.swanctl.conf")
    assert {rel.split("/")[0] for rel, _ in confs} == set(ends)
    checked = 0
    for rel, data in confs:
        device = rel.split("/")[0]
        if name == "heilongjiang" and checked >= 4:
            break  # a few charons are enough for the big policy; all are golden files
        path = tmp_path / f"{device}.conf"
        path.write_bytes(data)
        _, conns = swanctl_load(path, device, sorted(set(ends[device])))
        checked += 1
        for t in net.tunnels:
            if device not in (t.a_device, t.b_device):
                continue
            local = t.a_prefixes if device == t.a_device else t.b_prefixes
            remote = t.b_prefixes if device == t.a_device else t.a_prefixes
            block = conns.split(f"{conn_name(t)} {{", 1)
            assert len(block) == 2, f"{conn_name(t)} not loaded on {device}:\n{conns}"
            body = block[1]
            for p in local:
                assert p in body.split("local-ts")[1].split("]")[0], (t.name, p)
            for p in remote:
                assert p in body.split("remote-ts")[1].split("]")[0], (t.name, p)


def test_ipsec_tunnels_come_up_between_two_charons(tmp_path: Path, network_named, tree,
                                                   need) -> None:
    """Both ends of every minimal.zh tunnel pair negotiate: right SA, selectors, VRF if_id."""
    need("/usr/lib/ipsec/charon", "swanctl", "openssl", str(LIBIPSEC))  # libcharon-extra-plugins
    net = network_named("minimal")
    names = vrf_names(net)
    pairs: dict[tuple[str, str], list] = {}
    for t in net.tunnels:
        pairs.setdefault((t.a_device, t.b_device), []).append(t)
    assert pairs
    for (a, b), tunnels in sorted(pairs.items()):
        ends = []
        for dev in (a, b):
            conf = tmp_path / f"{dev}.conf"
            conf.write_bytes(tree("minimal")[f"{dev}/strongswan.swanctl.conf"])
            local = sorted({p for t in tunnels
                            for p in (t.a_prefixes if dev == t.a_device else t.b_prefixes)})
            ends.append({"device": dev, "conf": conf,
                         "loopback": filters.host_address(net.device(dev).loopback),
                         "addresses": [str(netaddr.IPNetwork(p)[1]) for p in local]})
        others = tuple(sorted({d.name for d in net.devices} - {a, b}))
        sas = ipsec_pair(ends, want_children=len(tunnels), others=others)
        for t in tunnels:
            children = re.findall(r"\{name=" + re.escape(conn_name(t)) + r" ([^}]*)\}", sas[a])
            installed = [c for c in children if "state=INSTALLED" in c]  # a rekey may be on
            assert installed, f"no CHILD_SA {conn_name(t)} on {a}:\n{sas[a]}\n{sas['logs']}"
            child = installed[0]
            assert "encr-alg=AES_GCM_16 encr-keysize=256" in child
            local_ts = set(re.search(r"local-ts=\[([^]]*)\]", child).group(1).split())
            remote_ts = set(re.search(r"remote-ts=\[([^]]*)\]", child).group(1).split())
            assert local_ts == set(t.a_prefixes) and remote_ts == set(t.b_prefixes)
            if_id = f"{VRF_TABLE_BASE + names.index(t.a_vrf):08x}"
            assert f"if-id-in={if_id} if-id-out={if_id}" in child
        ike = re.findall(r"encr-alg=(\S+) encr-keysize=256 integ-alg=(\S+) prf-alg=(\S+) "
                         r"dh-group=(\S+)", sas[a])
        # the one suite of every tunnel target (emitters/crypto_suite.py)
        assert set(ike) == {("AES_CBC", "HMAC_SHA2_256_128", "PRF_HMAC_SHA2_256", "MODP_2048")}


def test_swanctl_proposals_are_aes256gcm_only_and_no_secret_inline(files_of) -> None:
    for name in ("fixture", "minimal"):
        for _, data in files_of(name, "strongswan.swanctl.conf"):
            text = data.decode()
            proposals = re.findall(r"^\s*(?:proposals|esp_proposals) = (.*)$", text, re.M)
            assert proposals and set(proposals) == {IKE_PROPOSAL, ESP_PROPOSAL}
            assert "secret" not in text.replace("# ", "").split("connections {")[1]
            assert "auth = psk" not in text


# ---------------------------------------------------------------- WireGuard

def _peer_prefixes(net: Network, device: str, vrf: str) -> dict[str, set[str]]:
    """Remote device -> prefixes behind it, straight from the model's tunnels."""
    out: dict[str, set[str]] = {}
    for t in net.tunnels:
        if t.kind != "vertical":
            continue
        if t.a_device == device and t.a_vrf == vrf:
            out.setdefault(t.b_device, set()).update(t.b_prefixes)
        if t.b_device == device and t.b_vrf == vrf:
            out.setdefault(t.a_device, set()).update(t.a_prefixes)
    return out


@pytest.mark.parametrize("name", NETWORKS)
def test_wireguard_files_set_up_exactly_the_model_tunnels(name: str, tmp_path: Path, network_named,
                                                          files_of, need) -> None:
    need("wg", "wg-quick", "wireguard-go")
    net = network_named(name)
    loopbacks = {d.name: filters.host_address(d.loopback) for d in net.devices}
    names = vrf_names(net)
    confs = files_of(name, ".conf")
    confs = [(rel, data) for rel, data in confs if "/wireguard/" in rel]
    expected = {(t.a_device, t.a_vrf) for t in net.tunnels if t.kind == "vertical"} | {
        (t.b_device, t.b_vrf) for t in net.tunnels if t.kind == "vertical"}
    assert {(rel.split("/")[0], rel) for rel, _ in confs} == {
        (d, f"{d}/wireguard/{wg_ifname(v)}.conf") for d, v in expected}
    if name == "heilongjiang":
        confs = confs[:4]
    for rel, data in confs:
        device = rel.split("/")[0]
        vrf = next(v for d, v in expected if f"{d}/wireguard/{wg_ifname(v)}.conf" == rel)
        peers = _peer_prefixes(net, device, vrf)
        keys = {d: run(["wg", "genkey"]).stdout.strip() for d in [device, *peers]}
        path = tmp_path / Path(rel).name
        path.write_bytes(data)
        state = wg_apply(path, KEY_DIR, keys)
        iface, *peer_lines = [ln.split("\t") for ln in state["dump"]]
        assert iface[0] == keys[device]
        port = WG_PORT_BASE + names.index(vrf)
        assert iface[2] == str(port)
        pubs = {run(["wg", "pubkey"], input=keys[d]).stdout.strip(): d for d in peers}
        seen = {}
        for p in peer_lines:
            remote = pubs[p[0]]
            assert p[2] == f"{loopbacks[remote]}:{port}"
            seen[remote] = set(p[3].split(","))
        assert seen == peers
        table = str(VRF_TABLE_BASE + names.index(vrf))
        routed = {r["dst"] for r in state["routes"]
                  if str(r.get("table")) == table and r.get("dev") == state["ifname"]}
        assert routed == set().union(*seen.values())


def test_wireguard_files_hold_no_key(tree) -> None:
    for name in ("fixture", "minimal"):
        for rel, data in tree(name).items():
            if "/wireguard/" in rel:
                text = data.decode()
                assert "PrivateKey" not in text and "PublicKey" not in text
                assert re.search(r"[A-Za-z0-9+/]{42,43}=", text) is None


# ---------------------------------------------------------------- golden files

@pytest.mark.parametrize("stem", GOLDEN_POLICIES)
def test_golden_files(stem: str, tree, golden) -> None:
    rendered = {rel: data for rel, data in tree(stem).items()
                if rel not in ("model.json", "manifest.json")}
    by_target: dict[str, dict[str, bytes]] = {}
    for rel, data in rendered.items():
        fname = rel.split("/", 1)[1]
        target = "wireguard" if fname.startswith("wireguard/") else fname.split(".")[0]
        by_target.setdefault(target, {})[rel] = data
    for target in TARGETS:
        golden.tree(f"{target}/{stem}", by_target.get(target, {}))


# ---------------------------------------------------------------- injection

# bidi controls are refused by the parser (Trojan Source); a zero-width space is legal
_EVIL_DISPLAY = 'x"; permit ip any any; } { # \\" 税务局 $(reboot) \u200b ＂；'


def _statements(files: dict[str, bytes]) -> dict[str, list[str]]:
    """Every non-comment line of every config file."""
    out = {}
    for rel, data in files.items():
        if rel.endswith(".json"):
            continue
        out[rel] = [ln for ln in data.decode().splitlines() if not ln.lstrip().startswith("#")]
    return out


def test_injection_fixture_display_names_change_only_comments(tmp_path: Path,
                                                              small_network) -> None:
    evil = 'evil"; permit ip any any;\n}\r\n{ table ip x { }\u2028# 税务局 \\ ‮ $(id)'
    plain = render_tree(small_network("plain"), TARGETS)
    bad = render_tree(small_network(evil), TARGETS)
    assert _statements(plain) == _statements(bad)
    assert plain != bad  # the names did reach the comments
    for rel, data in bad.items():
        text = data.decode()
        if rel.endswith(".json"):
            continue
        assert "permit ip any any" not in "\n".join(
            ln for ln in text.splitlines() if not ln.lstrip().startswith("#"))
        assert "\u2028" not in text and "\r" not in text and "\u202e" not in text
    if not missing("nft", "unshare"):
        for rel, data in bad.items():
            if rel.endswith(".nft"):
                path = tmp_path / rel.replace("/", "_")
                path.write_bytes(data)
                nft_check(path)


def _policy_with_names(display: str) -> bytes:
    text = (REPO / "policies" / "minimal.zh").read_text(encoding="utf-8")
    quoted = '"' + display.replace("\\", "\\\\").replace('"', '\\"') + '"'
    text = re.sub(r'"[^"\n]*"', lambda m: quoted, text)
    return text.encode("utf-8")


def test_injection_through_the_policy_language(tmp_path: Path) -> None:
    """Display names written in a .zh file (legal strings) never become statements."""
    plain = compile_text("policies/minimal.zh", _policy_with_names("plain")).network
    evil = compile_text("policies/minimal.zh", _policy_with_names(_EVIL_DISPLAY)).network
    assert evil.display_name == _EVIL_DISPLAY
    a, b = render_tree(plain, TARGETS), render_tree(evil, TARGETS)
    assert _statements(a) == _statements(b)
    if not missing("nft", "unshare"):
        for rel, data in b.items():
            if rel.endswith(".nft"):
                path = tmp_path / rel.replace("/", "_")
                path.write_bytes(data)
                nft_check(path)


# ---------------------------------------------------------------- determinism

_WRITE = """
import sys
from zongheng.compiler.pipeline import compile_policy
from zongheng.emitters.writer import write_outputs
write_outputs(compile_policy(sys.argv[1]), sys.argv[2], sys.argv[3].split(","))
"""


def _digest_tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("stem", ["minimal", "heilongjiang"])
def test_two_compiles_with_different_hash_seeds_are_byte_identical(stem: str, tmp_path: Path
                                                                   ) -> None:
    trees = []
    for seed in ("1", "4242"):
        out = tmp_path / f"out-{seed}"
        env = dict(os.environ, PYTHONHASHSEED=seed)
        r = subprocess.run([sys.executable, "-c", _WRITE, f"policies/{stem}.zh", str(out),
                            ",".join(TARGETS)], cwd=REPO, env=env, capture_output=True,
                           text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        trees.append(_digest_tree(out))
    assert trees[0] == trees[1]
    assert any(k.endswith("nftables.nft") for k in trees[0])
