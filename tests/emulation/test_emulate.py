"""`zongheng emulate`: the emitted Linux configs carry real packets the way the verifier says.

The lab tests need root and ``ip``/``nft``/``sysctl`` (CI has both); they are
skipped with the reason otherwise. Vertical nets between sites ride the
emitted WireGuard files (wireguard-go, needs ``wg``/``wg-quick``/``wireguard-go``).
A planted fault (one ACL chain that accepts everything, a wrong AllowedIPs)
must show up as a mismatch, and every namespace and every process the lab
started is gone after a run, a failed build and an interrupted run. The lab's
own processes, by id (``Lab.started``): whatever else runs on the machine
(another lab, another wireguard-go) is neither counted nor touched.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess

import pytest
from click.testing import CliRunner
from support.paths import REPO

from zongheng.compiler.model import Acl, AclLine
from zongheng.compiler.pipeline import compile_file
from zongheng.emitters.nftables import acl_chain
from zongheng.emitters.writer import render_tree
from zongheng.emulation import core
from zongheng.emulation import lab as lab_mod
from zongheng.emulation import render as emulate_cmd
from zongheng.emulation.lab import Lab, LabProcess, missing, unique
from zongheng.verifier.obligations import Encoder
from zongheng.verifier.results import Outcome

MINIMAL = "policies/minimal.zh"
PORTS = [("tcp", 80), ("tcp", 443), ("tcp", 22), ("udp", 22)]


def _lab_reason() -> str | None:
    if os.geteuid() != 0:
        return "emulate needs root"
    gone = missing("ip", "nft", "sysctl")
    return f"{gone} not installed" if gone else None


needs_lab = pytest.mark.skipif(_lab_reason() is not None, reason=_lab_reason() or "")
_WG_GONE = missing("wg", "wg-quick", "wireguard-go")
needs_wireguard = pytest.mark.skipif(_WG_GONE is not None, reason=f"{_WG_GONE} not installed")
TARGETS = ["iproute2", "nftables", "wireguard", "strongswan"]
_IPSEC_GONE = missing(*lab_mod.IPSEC_TOOLS)
needs_ipsec = pytest.mark.skipif(_IPSEC_GONE is not None, reason=f"{_IPSEC_GONE} not installed")


@pytest.fixture
def labs(monkeypatch: pytest.MonkeyPatch) -> list[Lab]:
    """Every Lab the emulation builds during the test, to ask what it started."""
    made: list[Lab] = []

    class Recorded(Lab):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(core, "Lab", Recorded)
    return made


def _started(labs: list[Lab], what: str = "") -> list[LabProcess]:
    """The processes the labs started whose description starts with ``what``."""
    return [p for lab in labs for p in lab.started() if p.what.startswith(what)]


def _alive(labs: list[Lab], what: str = "") -> list[LabProcess]:
    return [p for p in _started(labs, what) if p.alive()]


def _compiled(policy: str = MINIMAL):
    """A repository policy compiled as the CLI run from the root compiles it."""
    cwd = os.getcwd()
    os.chdir(REPO)
    try:
        return compile_file(policy)
    finally:
        os.chdir(cwd)


def _services(compiled) -> dict:
    return {k: tuple(v) for k, v in compiled.plan.services.items()}


def _namespaces(prefix: str) -> list[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    return [ln.split()[0] for ln in out.splitlines() if ln.startswith(prefix)]


def _find(probes: list[dict], src: str, dst: str, protocol: str, port: int | None) -> dict:
    [hit] = [p for p in probes if p["src_class"] == src and p["dst_class"] == dst
             and p["protocol"] == protocol and p["port"] == port]
    return hit


# ---------------------------------------------------------------- no lab needed

def test_probe_ports_are_the_service_ports_and_one_no_service_uses() -> None:
    ports = core.probe_ports(_services(_compiled()))
    # web = tcp/80, tcp/443; ping is ICMP; 22 is in no service, nor any UDP port
    assert ports == [("tcp", 80), ("tcp", 443), ("tcp", 22), ("udp", 22)]


def test_sampling_is_capped_and_deterministic() -> None:
    net = _compiled().network
    hosts, notes = core.lab_hosts(net)
    assert notes == []
    assert hosts["internet"].gateway is None and hosts["internet"].device == "exit-prov"
    assert hosts["platform@prov"].address == "59.64.0.10"  # the published portal
    enc = Encoder(net)
    full, total, probed = core.plan_probes(net, hosts, PORTS, 10_000, enc)
    assert total == probed == 14 * 13 and len(full) == 14 * 13 * 5
    a, _, pairs_a = core.plan_probes(net, hosts, PORTS, 40, enc)
    b, _, _ = core.plan_probes(net, hosts, PORTS, 40, enc)
    assert a == b and len(a) == 40 and pairs_a == 8
    assert a != full[:40]  # a sample across the pairs, not the first pairs only
    # the Internet addresses the portal by its static NAT address
    web = next(p for p in full if p.src == "internet" and p.dst == "platform@prov")
    assert web.dst_address == "202.97.10.1" and web.dst_inside == "59.64.0.10"


def test_not_root_is_bad_input(monkeypatch: pytest.MonkeyPatch) -> None:
    from zongheng.cli import main

    monkeypatch.setattr(lab_mod, "is_root", lambda: False)
    r = CliRunner().invoke(main, ["emulate", str(REPO / MINIMAL)])
    assert r.exit_code == 2
    assert "needs root" in r.output and "Traceback" not in r.output


def test_missing_tools_are_bad_input(monkeypatch: pytest.MonkeyPatch) -> None:
    from zongheng.cli import main

    monkeypatch.setattr(lab_mod, "is_root", lambda: True)
    monkeypatch.setattr(lab_mod, "missing_tools", lambda: ["nft"])
    r = CliRunner().invoke(main, ["emulate", str(REPO / MINIMAL)])
    assert r.exit_code == 2
    assert "needs nft" in r.output


def test_bad_policy_is_bad_input(tmp_path, zh) -> None:
    bad = tmp_path / "bad.zh"
    bad.write_text("network {\n")
    r = zh("emulate", str(bad))
    assert r.returncode == 2 and b"Traceback" not in r.stderr


# ---------------------------------------------------------------- the lab

@needs_lab
@needs_wireguard
def test_minimal_agrees_with_the_verifier(labs: list[Lab],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from zongheng.cli import main

    monkeypatch.chdir(REPO)
    # in this interpreter, so the test sees the lab and the processes it started
    r = CliRunner().invoke(main, ["emulate", MINIMAL, "--format", "json"])
    # every process the run started is gone: the wireguard-go daemons and their shells
    assert len(_started(labs, "wireguard-go ")) == 5 and len(_started(labs, "shell ")) == 3
    assert _alive(labs) == []
    assert r.exit_code == 0, r.output
    data = json.loads(r.output[r.output.index("{"):r.output.rindex("}") + 1])
    probes = data["probes"]
    s = data["summary"]
    assert s["mismatch"] == 0 and s["unknown"] == 0
    assert s["probes"] == 14 * 13 * 5 == s["agree"] + s["skipped"]
    agreeing = [p for p in probes if p["status"] == "agree"]
    assert sum(p["real"] == "delivered" for p in agreeing) > 100
    assert sum(p["real"] != "delivered" for p in agreeing) > 100
    # the Internet reaches the published portal's web port through its NAT address only
    web = _find(probes, "internet", "platform@prov", "tcp", 80)
    assert (web["dst"], web["verifier"], web["real"], web["status"]) == (
        "202.97.10.1", "all", "delivered", "agree")
    assert web["reason"] == "allowed by policies/minimal.zh:41"
    for proto, port in (("tcp", 22), ("icmp", None)):
        p = _find(probes, "internet", "platform@prov", proto, port)
        assert (p["verifier"], p["real"], p["status"]) == ("none", "dropped", "agree")
    # audit's horizontal site never reaches tax's vertical net: 10.0.0.10 is audit's own
    # vertical host there (the same private range), which answers the web port instead
    for proto, port in (("tcp", 80), ("tcp", 22), ("icmp", None)):
        p = _find(probes, "horizontal(audit)@prov", "vertical(tax)@prov", proto, port)
        assert p["dst"] == "10.0.0.10" and p["verifier"] == "none" and p["status"] == "agree"
    assert _find(probes, "horizontal(audit)@prov", "vertical(tax)@prov", "tcp", 80)[
        "real"] == "elsewhere (vertical(audit)@prov)"
    assert _find(probes, "horizontal(audit)@prov", "vertical(tax)@prov", "tcp", 22)[
        "real"] == "dropped"
    # horizontal -> own vertical: the web service and ping only
    assert _find(probes, "horizontal(tax)@north", "vertical(tax)@north", "tcp", 443)[
        "real"] == "delivered"
    assert _find(probes, "horizontal(tax)@north", "vertical(tax)@north", "tcp", 22)[
        "real"] == "dropped"
    # UDP: a datagram and its answer; a port no service uses is open only where any is
    p = _find(probes, "horizontal(tax)@north", "horizontal(tax)@prov", "udp", 22)
    assert (p["verifier"], p["real"], p["status"]) == ("all", "delivered", "agree")
    for src, dst in (("internet", "platform@prov"), ("horizontal(tax)@north",
                                                     "vertical(tax)@north")):
        p = _find(probes, src, dst, "udp", 22)
        assert (p["verifier"], p["real"], p["status"]) == ("none", "dropped", "agree")
    # stateless PE ACLs: the verifier says the datagram arrives but its reply is dropped
    # (for some source port): not a definite verdict, so not compared
    p = _find(probes, "vertical(tax)@north", "horizontal(tax)@north", "udp", 22)
    assert (p["verifier"], p["status"], p["real"]) == ("some", "skipped", None)
    assert p["reason"].startswith("arrives, but the reply")
    # vertical between sites rides the emitted WireGuard tunnels: really tried
    assert not any("WireGuard" in (p["reason"] or "") for p in probes)
    for src, dst in (("vertical(tax)@north", "vertical(tax)@south"),
                     ("vertical(tax)@south", "vertical(tax)@north"),
                     ("vertical(tax)@north", "vertical(tax)@prov"),
                     ("vertical(tax)@prov", "vertical(tax)@south")):
        for proto, port in (("tcp", 80), ("tcp", 22), ("udp", 22), ("icmp", None)):
            p = _find(probes, src, dst, proto, port)
            assert (p["verifier"], p["real"], p["status"]) == ("all", "delivered", "agree"), p
    # audit's vertical net never reaches tax's (audit has no site at south)
    for proto, port in (("tcp", 80), ("icmp", None)):
        p = _find(probes, "vertical(audit)@north", "vertical(tax)@south", proto, port)
        assert (p["verifier"], p["real"], p["status"]) == ("none", "dropped", "agree"), p
        # the same address at prov is audit's own vertical host: its tunnel answers
        p = _find(probes, "vertical(audit)@north", "vertical(tax)@prov", proto, port)
        assert p["verifier"] == "none" and p["status"] == "agree"
        assert p["real"].startswith("elsewhere")
    # mismatches first, then agreeing, then skipped probes
    order = [p["status"] for p in probes]
    assert order == sorted(order, key=lambda x: {"mismatch": 0, "unknown": 1, "agree": 2,
                                                 "skipped": 3}[x])


@needs_lab
def test_text_report_with_all_is_a_table_and_a_summary(zh) -> None:
    r = zh("emulate", MINIMAL, "--max-probes", "25", "--all")
    assert r.returncode == 0, r.stderr.decode()
    out = r.stdout.decode()
    assert "zongheng emulate policies/minimal.zh" in out
    assert out.count(" agree ") + out.count("│ agree") >= 1  # every probe has its row
    assert re.search(r"25 probes \(5 of 182 class pairs\): \d+ agree, 0 mismatch", out)


def _report(*statuses: str) -> core.Report:
    def probe(i: int) -> core.Probe:
        return core.Probe("horizontal(tax)@prov", "vertical(tax)@prov", f"59.64.16.{i}",
                          "10.0.0.10", "10.0.0.10", "tcp", 80 + i)
    return core.Report("p.zh", "0" * 64, [
        core.ProbeResult(probe(i), "all", "delivered",
                         "dropped" if s == core.MISMATCH else "delivered", s)
        for i, s in enumerate(statuses)], pairs_total=9, pairs_probed=1)


def test_text_report_shows_the_summary_and_only_the_mismatches() -> None:
    """No lab needed: the text of a report, by default and with ``--all``."""
    report = _report(core.AGREE, core.MISMATCH, core.AGREE)
    short = emulate_cmd.render_text(report)
    rows = [ln for ln in short.splitlines() if "horizontal(tax)@prov" in ln]
    assert len(rows) == 1 and "mismatch" in rows[0] and "tcp/81" in rows[0]
    assert "every probe: --all" in short
    assert short.endswith("3 probes (1 of 9 class pairs): 2 agree, 1 mismatch, 0 skipped, "
                          "0 unknown\n")
    full = emulate_cmd.render_text(report, full=True)
    assert len([ln for ln in full.splitlines() if "horizontal(tax)@prov" in ln]) == 3
    clean = emulate_cmd.render_text(_report(core.AGREE, core.AGREE))
    assert clean == "2 probes (1 of 9 class pairs): 2 agree, 0 mismatch, 0 skipped, 0 unknown\n"


def _tampered(files: dict[str, bytes], device: str, acl: str) -> dict[str, bytes]:
    """``device``'s ruleset with ``acl``'s chain accepting everything first."""
    rel = f"{device}/nftables.nft"
    text = files[rel].decode()
    head = f"\tchain {acl_chain(acl)} {{\n"
    assert text.count(head) == 1
    return {**files, rel: text.replace(head, head + "\t\taccept\n").encode()}


@needs_lab
def test_a_planted_fault_is_a_mismatch() -> None:
    compiled = _compiled()
    net = compiled.network
    acl = next(i.acl_in for i in net.device("pe-prov").interfaces
               if i.attached_class == "horizontal(audit)@prov")
    files = _tampered(render_tree(net, ["iproute2", "nftables"]), "pe-prov", acl)
    ports = core.probe_ports(_services(compiled))
    only = [("horizontal(audit)@prov", "vertical(audit)@prov"),
            ("horizontal(audit)@prov", "internet"),
            ("horizontal(tax)@prov", "vertical(tax)@prov")]
    prefix = unique("zh-emt-")
    report = core.emulate_files(net, files, ports, prefix=prefix, only=only)
    assert report.outcome == Outcome.BROKEN
    bad = {(r.probe.src, r.probe.dst, r.probe.label) for r in report.results
           if r.status == core.MISMATCH}
    # ssh into audit's own vertical net: the verifier drops it at the ACL, the lab delivers
    assert ("horizontal(audit)@prov", "vertical(audit)@prov", "tcp/22") in bad
    first = report.results[0]
    assert first.status == core.MISMATCH and first.expected == "dropped"
    assert first.real == "delivered"
    # a site whose ACL is intact still agrees
    assert all(r.status == core.AGREE for r in report.results
               if r.probe.src == "horizontal(tax)@prov")
    assert "mismatch" in emulate_cmd.render_text(report)
    assert _namespaces(prefix) == []


def _allowed_ips(files: dict[str, bytes], rel: str, old: str, new: str) -> dict[str, bytes]:
    text = files[rel].decode()
    assert text.count(old) == 1
    return {**files, rel: text.replace(old, new).encode()}


@needs_lab
@needs_wireguard
def test_a_wrong_allowed_ips_in_one_wireguard_file_is_a_mismatch(labs: list[Lab]) -> None:
    """pe-south's tax tunnel no longer accepts north's vertical net (10.0.1.0/24)."""
    compiled = _compiled()
    net = compiled.network
    files = _allowed_ips(render_tree(net, TARGETS), "pe-south/wireguard/wg-v-tax.conf",
                         "allowed-ips 10.0.0.0/24,10.0.1.0/24", "allowed-ips 10.0.0.0/24")
    only = [("vertical(tax)@south", "vertical(tax)@north"),
            ("vertical(tax)@north", "vertical(tax)@south"),
            ("vertical(tax)@south", "vertical(tax)@prov")]
    prefix = unique("zh-emt-")
    report = core.emulate_files(net, files, [("tcp", 80)], prefix=prefix, only=only)
    assert len(_started(labs, "wireguard-go ")) == 5 and _alive(labs) == []
    assert _namespaces(prefix) == []
    assert report.outcome == Outcome.BROKEN
    got = {(r.probe.src, r.probe.dst, r.probe.label): r for r in report.results}
    for src, dst in only[:2]:
        for label in ("tcp/80", "icmp echo"):
            r = got[src, dst, label]
            assert (r.status, r.verdict, r.real) == (core.MISMATCH, "all", "dropped"), r
    # the prov side of the same file is intact
    assert all(got["vertical(tax)@south", "vertical(tax)@prov", label].status == core.AGREE
               for label in ("tcp/80", "icmp echo"))
    # the files as emitted agree
    report = core.emulate_files(net, render_tree(net, TARGETS), [("tcp", 80)],
                                prefix=prefix, only=only)
    assert report.outcome == Outcome.HOLDS, [r for r in report.results if r.status != core.AGREE]
    assert report.count(core.AGREE) == len(report.results) == 6
    assert len(labs) == 2 and _alive(labs) == []


def test_without_wireguard_files_vertical_paths_are_skipped() -> None:
    net = _compiled().network
    assert core.wireguard_unavailable(render_tree(net, ["iproute2", "nftables"])) in (
        "no WireGuard files rendered", f"{_WG_GONE} not installed")
    assert core.wireguard_unavailable(render_tree(net, TARGETS)) == (
        None if _WG_GONE is None else f"{_WG_GONE} not installed")


def test_without_swanctl_files_inner_paths_are_skipped() -> None:
    net = _compiled("policies/heilongjiang.zh").network
    assert core.inner_ends(net) == {"inner-hlj", "inner-hrb", "inner-qqhr", "inner-sys",
                                    "inner-mdj"}
    without = core.ipsec_unavailable(net, render_tree(net, ["iproute2", "nftables"]))
    assert without == (f"{_IPSEC_GONE} not installed" if _IPSEC_GONE else
                       "no swanctl file for inner-hlj, inner-hrb, inner-mdj, inner-qqhr, "
                       "inner-sys")
    assert core.ipsec_unavailable(net, render_tree(net, TARGETS)) == (
        None if _IPSEC_GONE is None else f"{_IPSEC_GONE} not installed")
    reason = core._tunnel_reason(net, "inner-hrb", None, without)
    assert reason == f"the path rides tunnel inner-hrb (IPsec: {without})"


@needs_lab
def test_a_rejected_file_is_an_error_and_leaves_no_namespace() -> None:
    compiled = _compiled()
    files = render_tree(compiled.network, ["iproute2", "nftables"])
    files["pe-north/nftables.nft"] = b"table inet zh_filter {\n\tchain x { bogus }\n}\n"
    prefix = unique("zh-emt-")
    with pytest.raises(core.EmulateError, match="pe-north: nft -f"):
        core.emulate_files(compiled.network, files, [("tcp", 80)], prefix=prefix,
                           only=[("horizontal(tax)@north", "platform@prov")])
    assert _namespaces(prefix) == []


@needs_lab
def test_an_interrupted_run_leaves_no_namespace(monkeypatch: pytest.MonkeyPatch) -> None:
    compiled = _compiled()
    files = render_tree(compiled.network, ["iproute2", "nftables"])
    prefix = unique("zh-emt-")
    seen: list[list[str]] = []

    def interrupted(*args, **kwargs):
        seen.append(_namespaces(prefix))
        raise KeyboardInterrupt

    monkeypatch.setattr(core, "run_attempts", interrupted)
    with pytest.raises(KeyboardInterrupt):
        core.emulate_files(compiled.network, files, [("tcp", 80)], prefix=prefix,
                           only=[("horizontal(tax)@north", "platform@prov")])
    assert len(seen[0]) == 4 + 2 + 1  # devices, the two hosts, the sink
    assert _namespaces(prefix) == []


@needs_lab
@needs_wireguard
def test_an_interrupted_wireguard_run_leaves_no_wireguard_go(
        monkeypatch: pytest.MonkeyPatch, labs: list[Lab]) -> None:
    compiled = _compiled()
    files = render_tree(compiled.network, TARGETS)
    prefix = unique("zh-emt-")
    running: list[list[LabProcess]] = []

    def interrupted(*args, **kwargs):
        running.append(_alive(labs, "wireguard-go "))
        raise KeyboardInterrupt

    monkeypatch.setattr(core, "run_attempts", interrupted)
    with pytest.raises(KeyboardInterrupt):
        core.emulate_files(compiled.network, files, [("tcp", 80)], prefix=prefix,
                           only=[("vertical(tax)@north", "vertical(tax)@south")])
    assert len(running[0]) == 5  # one per wg-quick file: 2 at north and prov, 1 at south
    assert _alive(labs) == []
    assert _namespaces(prefix) == []


@needs_lab
@needs_wireguard
def test_wireguard_go_outliving_its_shell_is_killed_with_the_lab(
        monkeypatch: pytest.MonkeyPatch, labs: list[Lab]) -> None:
    """Deleting a namespace does not end a wireguard-go in it: the lab stops the ones it
    knows, not being their parent any more."""
    compiled = _compiled()
    prefix = unique("zh-emt-")
    orphans: list[list[LabProcess]] = []
    up = Lab.wireguard

    def shells_killed(self, *args, **kwargs):
        pids = up(self, *args, **kwargs)
        for proc in self.wg_procs:
            proc.kill()
            proc.wait()
        orphans.append(_alive([self], "wireguard-go "))
        return pids

    monkeypatch.setattr(Lab, "wireguard", shells_killed)
    core.emulate_files(compiled.network, render_tree(compiled.network, TARGETS),
                       [("tcp", 80)], prefix=prefix,
                       only=[("vertical(tax)@north", "vertical(tax)@south")])
    assert len(orphans[0]) == 5  # still running without their shells
    assert _alive(labs) == []
    assert _namespaces(prefix) == []


@needs_lab
@needs_wireguard
def test_every_wireguard_peer_has_handshaken_before_the_first_probe(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A probe measures the files, not how long a first handshake takes; keepalives are
    off again afterwards, as the files leave them."""
    compiled = _compiled()
    up = Lab.wireguard
    seen: list[tuple[list[str], list[str]]] = []

    def inspected(self, *args, **kwargs):
        pids = up(self, *args, **kwargs)
        for proc in self.wg_procs:  # each device's shell: its netns and private /run
            def wg(what: str, pid: int = proc.pid) -> list[str]:
                out = subprocess.run(["nsenter", "-t", str(pid), "-m", "-n", "wg", "show",
                                      "all", what], capture_output=True, text=True,
                                     check=True).stdout
                return [ln.split("\t")[2] for ln in out.splitlines()]
            seen.append((wg("latest-handshakes"), wg("persistent-keepalive")))
        return pids

    monkeypatch.setattr(Lab, "wireguard", inspected)
    report = core.emulate_files(compiled.network, render_tree(compiled.network, TARGETS),
                                [("tcp", 80)], prefix=unique("zh-emt-"),
                                only=[("vertical(tax)@north", "vertical(tax)@south")])
    assert report.outcome == Outcome.HOLDS
    assert len(seen) == 3 and sum(len(h) for h, _ in seen) == 6  # 5 files, 6 peers
    for handshakes, keepalives in seen:
        assert all(int(t) > 0 for t in handshakes), handshakes
        assert set(keepalives) == {"off"}, keepalives


@needs_lab
@needs_wireguard
def test_a_wireguard_file_wg_rejects_is_an_error_and_leaves_nothing(labs: list[Lab]) -> None:
    compiled = _compiled()
    files = _allowed_ips(render_tree(compiled.network, TARGETS),
                         "pe-south/wireguard/wg-v-tax.conf",
                         "allowed-ips 10.0.0.0/24,10.0.1.0/24", "allowed-ips 10.0.0.0/33")
    prefix = unique("zh-emt-")
    with pytest.raises(core.EmulateError, match="wg-quick up on pe-south"):
        core.emulate_files(compiled.network, files, [("tcp", 80)], prefix=prefix,
                           only=[("vertical(tax)@north", "vertical(tax)@south")])
    assert len(_started(labs, "shell ")) == 3 and _started(labs, "wireguard-go ")
    assert _alive(labs) == []
    assert _namespaces(prefix) == []


@needs_lab
def test_heilongjiang_gateway_segment_exit_next_hop_and_inner_links() -> None:
    """The province: a private-net gateway on the platform's LAN, an exit with an uplink
    next hop, WireGuard vertical nets between counties, IPsec inner-net links."""
    compiled = _compiled("policies/heilongjiang.zh")
    net = compiled.network
    only = [("horizontal(hrss)@hlj", "private(socialsec)"),
            ("horizontal(tax)@hlj", "private(socialsec)"),
            ("platform@hlj", "internet"), ("horizontal(tax)@suifenhe", "internet"),
            ("internet", "platform@hlj"), ("inner@hlj", "inner@hrb")]
    if _WG_GONE is None:
        only += [("vertical(tax)@wuchang", "vertical(tax)@dongning"),
                 ("vertical(stats)@baoqing", "vertical(tax)@ningan")]
    prefix = unique("zh-emt-")
    report = core.emulate_files(net, render_tree(net, TARGETS),
                                core.probe_ports(_services(compiled)), prefix=prefix, only=only)
    assert report.outcome == Outcome.HOLDS and report.count(core.MISMATCH) == 0
    got = {(r.probe.src, r.probe.dst, r.probe.label): r for r in report.results}
    real = {k: r.real for k, r in got.items()}
    assert real["horizontal(hrss)@hlj", "private(socialsec)", "tcp/80"] == "delivered"
    assert real["horizontal(hrss)@hlj", "private(socialsec)", "tcp/22"] == "dropped"
    assert real["horizontal(tax)@hlj", "private(socialsec)", "tcp/80"] == "dropped"
    assert real["platform@hlj", "internet", "tcp/443"] == "delivered"
    assert real["platform@hlj", "internet", "tcp/53"] == "delivered"
    assert real["platform@hlj", "internet", "tcp/22"] == "dropped"
    assert real["horizontal(tax)@suifenhe", "internet", "tcp/80"] == "dropped"  # own line
    assert real["internet", "platform@hlj", "tcp/443"] == "delivered"
    inner = got["inner@hlj", "inner@hrb", "icmp echo"]
    if _IPSEC_GONE is None:  # over the IPsec inner link (charon, userspace ESP)
        assert inner.status == core.AGREE and inner.real == "delivered"
    else:
        assert inner.status == core.SKIPPED and "IPsec" in inner.reason
    if _WG_GONE is None:  # county to county over the hub's WireGuard tunnels
        assert real["vertical(tax)@wuchang", "vertical(tax)@dongning", "tcp/80"] == "delivered"
        assert real["vertical(tax)@wuchang", "vertical(tax)@dongning", "icmp echo"] == \
            "delivered"
        assert real["vertical(stats)@baoqing", "vertical(tax)@ningan", "tcp/80"] == "dropped"
    assert _namespaces(prefix) == []


@needs_lab
def test_cli_exit_1_and_mismatches_first_on_a_planted_fault(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The command on rendered files with one ACL chain opened: exit 1, mismatch rows first."""
    from zongheng.cli import main

    compiled = _compiled()
    net = compiled.network
    hosts, _ = core.lab_hosts(net)
    sample, _, _ = core.plan_probes(net, hosts, core.probe_ports(_services(compiled)), 100,
                                    Encoder(net))
    # a sampled source at a PE whose probes include a denied one: open its inbound ACL
    src = next(p.src for p in sample if p.src.startswith("horizontal(")
               and p.dst.startswith("vertical(") and p.protocol == "tcp" and p.port == 22)
    cls = net.endpoint_class(src)
    acl = next(i.acl_in for i in net.device(cls.device).interfaces if i.name == cls.interface)
    real_render = core.render_tree
    monkeypatch.setattr(core, "render_tree", lambda network, targets: _tampered(
        real_render(network, targets), cls.device, acl))
    monkeypatch.chdir(REPO)
    r = CliRunner().invoke(main, ["emulate", MINIMAL, "--max-probes", "100", "--format", "json"])
    assert r.exit_code == 1, r.output
    data = json.loads(r.output[r.output.index("{"):r.output.rindex("}") + 1])
    statuses = [p["status"] for p in data["probes"]]
    assert data["summary"]["mismatch"] > 0 and statuses[0] == "mismatch"
    assert statuses == sorted(statuses, key=lambda x: x != "mismatch")
    assert all(p["src_class"] == src and p["expected"] == "dropped"
               for p in data["probes"] if p["status"] == "mismatch")


@needs_lab
def test_from_configs_runs_the_files_found_and_proves_what_they_build(tmp_path) -> None:
    """The same opened chain as above, but in a directory of configs: the importer reads
    it, so the verifier on the network the configs build agrees with the real packets."""
    compiled = _compiled()
    net = compiled.network
    acl = next(i.acl_in for i in net.device("pe-prov").interfaces
               if i.attached_class == "horizontal(audit)@prov")
    files = _tampered(render_tree(net, ["iproute2", "nftables"]), "pe-prov", acl)
    out = tmp_path / "configs"
    for rel, data in files.items():
        if rel.endswith((".batch", ".nft")):
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            (out / rel).write_bytes(data)
    from zongheng.importers import network_from_configs

    imported, notes = network_from_configs(net, out)
    got, missing = core.files_from_configs(net, out)
    assert got["pe-prov/nftables.nft"] == files["pe-prov/nftables.nft"]
    assert "pe-north/wireguard/wg-v-tax.conf" in got  # not in the directory: compiled
    assert any("no pe-north/wireguard/" in n for n in missing)
    only = [("horizontal(audit)@prov", "vertical(audit)@prov")]
    report = core.emulate_files(imported, got, [("tcp", 22)], prefix=unique("zh-emt-"),
                                only=only)
    assert report.outcome == Outcome.HOLDS, [r for r in report.results if r.status != core.AGREE]
    ssh = next(r for r in report.results if r.probe.label == "tcp/22")
    assert (ssh.status, ssh.verdict, ssh.real) == (core.AGREE, "all", "delivered")


@needs_lab
def test_from_configs_with_an_unreadable_config_is_bad_input(tmp_path, zh) -> None:
    out = tmp_path / "configs" / "pe-north"
    out.mkdir(parents=True)
    (out / "nftables.nft").write_text("table inet zh_filter {\n\tchain x {\n\t\tbogus\n")
    r = zh("emulate", str(REPO / MINIMAL), "--from-configs", str(tmp_path / "configs"))
    assert r.returncode == 2, r.stderr
    assert b"pe-north/nftables.nft" in r.stderr and b"Traceback" not in r.stderr


@needs_lab
@needs_wireguard
def test_vertical_nets_between_pes_that_are_not_neighbours() -> None:
    """Two cities without the province, the province and a county without its city, a
    city and a county under another city: each WireGuard tunnel crosses a PE in between,
    so its handshake must come from the loopback the far PE routes back to (link
    addresses are ``noprefixroute``). Every probe between those sites is delivered."""
    compiled = _compiled("tests/data/skip-sites.zh")
    net = compiled.network
    pairs = [("cities", "north", "south"), ("county", "prov", "na"), ("other", "north", "sa")]
    only = [(f"vertical({d})@{a}", f"vertical({d})@{b}") for d, x, y in pairs
            for a, b in ((x, y), (y, x))]
    prefix = unique("zh-ems-")
    report = core.emulate_files(net, render_tree(net, TARGETS), [("tcp", 80), ("udp", 22)],
                                prefix=prefix, only=only)
    assert report.count(core.MISMATCH) == 0, [
        (r.probe.src, r.probe.dst, r.probe.label, r.real) for r in report.results
        if r.status == core.MISMATCH]
    real = {(r.probe.src, r.probe.dst, r.probe.label): r.real for r in report.results}
    assert len(real) == len(only) * 3  # tcp/80, udp/22, icmp echo
    assert set(real.values()) == {"delivered"}, real
    assert _namespaces(prefix) == []


@needs_lab
@needs_ipsec
def test_inner_tunnel_acls_drop_in_the_kernel_what_the_verifier_drops(labs: list[Lab]) -> None:
    """Heilongjiang's inner net over IPsec (a charon per inner router, userspace ESP) with
    inner-hrb's attachment ACL opened to everything: the province's tunnel ACL still
    drops hrb's calls (the inner rules), the province's web calls to hrb are delivered,
    and the lab agrees with the verifier on every probe. Without the tunnel ACL's jump in
    the province's nftables ruleset the same probe gets through: a mismatch."""
    compiled = _compiled("policies/heilongjiang.zh")
    net = compiled.network
    hrb = net.device("inner-hrb")
    anything = Acl("zh-inner-in", (AclLine(10, "permit", "ip", (), ()),))
    opened = dataclasses.replace(net, devices=tuple(
        dataclasses.replace(d, acls=tuple(anything if a.name == "zh-inner-in" else a
                                          for a in d.acls)) if d is hrb else d
        for d in net.devices))
    only = [("inner@hrb", "inner@hlj"), ("inner@hlj", "inner@hrb")]
    files = render_tree(opened, TARGETS)
    rule = "jump zh_acl_tun_inner_hrb_in"
    assert rule in files["inner-hlj/nftables.nft"].decode()
    report = core.emulate_files(opened, files, [("tcp", 80)], only=only)
    got = {(r.probe.src, r.probe.dst, r.probe.label): r for r in report.results}
    assert report.count(core.MISMATCH) == 0 and report.count(core.SKIPPED) == 0, \
        [r.to_json() for r in report.results]
    denied = got["inner@hrb", "inner@hlj", "tcp/80"]
    assert denied.real == "dropped" and "zh-tun-inner-hrb-in" in denied.reason
    assert got["inner@hlj", "inner@hrb", "tcp/80"].real == "delivered"
    # the tunnel's jump taken out of the province's ruleset: the call gets through
    text = files["inner-hlj/nftables.nft"].decode()
    files["inner-hlj/nftables.nft"] = "".join(
        ln for ln in text.splitlines(keepends=True) if rule not in ln).encode()
    broken = core.emulate_files(opened, files, [("tcp", 80)], only=[only[0]])
    [leak] = [r for r in broken.results if r.probe.label == "tcp/80"]
    assert leak.status == core.MISMATCH and leak.real == "delivered"
    assert _alive(labs) == []
