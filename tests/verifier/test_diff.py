"""`zongheng diff`: what a change opens and closes, checked against the plain-Python simulator.

Every example packet the diff reports is replayed with tests/support/simulator.py on both
compiled networks: it must be delivered in its destination class on the side that
delivers and nowhere in that class on the other.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import z3
from click.testing import CliRunner
from support.paths import REPO
from support.simulator import Pkt, Simulator, inside, ip

from zongheng.cli import main
from zongheng.compiler.model import Network
from zongheng.compiler.pipeline import compile_file
from zongheng.verifier import diff as diff_mod

MINIMAL = REPO / "policies" / "minimal.zh"
TEXT = MINIMAL.read_text(encoding="utf-8")
INTERNET_WEB = "allow internet      -> host(portal) service web"
H_TO_V = "allow horizontal(D) -> vertical(D)  service web, ping"
PROTO = {"tcp": 6, "udp": 17, "icmp": 1}


def policy(tmp_path: Path, name: str, old: str | None = None, new: str = "") -> str:
    """A copy of minimal.zh with one line replaced (or unchanged)."""
    text = TEXT
    if old is not None:
        assert old in text
        text = text.replace(old, new)
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def run(*args: str):
    return CliRunner().invoke(main, ["diff", *args])


def diff_json(old: str, new: str, *extra: str) -> tuple[int, dict]:
    result = run(old, new, "--format", "json", *extra)
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout)


def packet(ex: dict, dport: int | None = None) -> Pkt:
    proto = PROTO.get(ex["protocol"]) or int(ex["protocol"])
    p = Pkt(ip(ex["src"]), ip(ex["dst"]), proto, ex["sport"],
            ex["dport"] if dport is None else dport, syn=proto == 6,
            icmp=ex["icmp_type"] or 0, new=True)
    assert p.valid()
    return p


def delivered(network: Network, src_cls: str, dst_cls: str, p: Pkt) -> bool:
    """Whether the simulator delivers p, sent from src_cls, in dst_cls (at an address of it)."""
    names = {c.name for c in network.classes}
    if src_cls not in names or dst_cls not in names:
        return False
    assert inside(p.src, network.endpoint_class(src_cls).prefixes)
    sim = Simulator(network)
    dst_prefixes = network.endpoint_class(dst_cls).prefixes
    for dev, ifn in sim.entries(src_cls):
        if not sim.may_enter(dev, p):
            continue
        for end in sim.run(dev, ifn, p):
            if end.delivered and end.cls == dst_cls and inside(end.pkt.dst, dst_prefixes):
                return True
    return False


def replay(old: str, new: str, data: dict) -> None:
    """Every opened example is delivered in NEW only, every closed one in OLD only."""
    n_old, n_new = compile_file(old).network, compile_file(new).network
    for kind, yes, no in (("opened", n_new, n_old), ("closed", n_old, n_new)):
        for ch in data[kind]:
            p = packet(ch["example"])
            assert delivered(yes, ch["src_class"], ch["dst_class"], p), (kind, ch)
            assert not delivered(no, ch["src_class"], ch["dst_class"], p), (kind, ch)
            if ch["path"]:  # the path shown ends where the class is attached
                last = ch["path"][-1]
                attached = yes.endpoint_class(ch["dst_class"])
                assert last["action"] == "deliver"
                if attached.device:
                    assert (last["device"], last["interface"]) == (attached.device,
                                                                   attached.interface)


def line_of(path: str, text: str) -> str:
    """FILE:LINE of the line holding text (the rule a change must be traced to)."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    [n] = [i for i, ln in enumerate(lines, 1) if text in ln]
    return f"{path}:{n}"


def pairs(data: dict, kind: str) -> set[tuple[str, str]]:
    return {(c["src_class"], c["dst_class"]) for c in data[kind]}


def test_identical_policies_differ_in_nothing(tmp_path):
    old = str(MINIMAL)
    new = policy(tmp_path, "same.zh")
    result = run(old, new, "--fail-on", "changed")
    assert result.exit_code == 0, result.output
    assert "opened: none" in result.stdout and "closed: none" in result.stdout
    code, data = diff_json(old, new, "--fail-on", "changed")
    assert code == 0 and data["opened"] == [] and data["closed"] == []
    assert data["summary"]["pairs_solved"] == 0  # identical terms: no solver call at all


def test_comments_and_moved_lines_change_nothing(tmp_path):
    old = str(MINIMAL)
    new = tmp_path / "commented.zh"
    new.write_text("# reviewed 2026-11-25\n\n" + TEXT.replace(
        H_TO_V, H_TO_V + "   # citizens' portal, see ticket 42"), encoding="utf-8")
    assert compile_file(str(new)).network.rules[0].rule != compile_file(old).network.rules[0].rule
    code, data = diff_json(old, str(new), "--fail-on", "changed")
    assert code == 0 and data["opened"] == [] and data["closed"] == []


def test_publishing_ping_opens_the_portal_to_the_internet_only(tmp_path):
    old = str(MINIMAL)
    new = policy(tmp_path, "ping.zh", INTERNET_WEB, INTERNET_WEB + ", ping")
    code, data = diff_json(old, new, "--fail-on", "opened")
    assert code == 1
    assert pairs(data, "opened") == {("internet", "platform@prov")}
    assert data["closed"] == []
    # only the pairs whose terms the change touched went to the solver
    assert 0 < data["summary"]["pairs_solved"] < data["summary"]["class_pairs"]
    [ch] = data["opened"]
    assert ch["flows"] == [{"protocol": "icmp", "ports": [], "icmp_types": [8],
                            "other_icmp_types": False}]
    assert ch["services"] == ["ping"]
    assert ch["example"]["protocol"] == "icmp" and ch["example"]["icmp_type"] == 8
    assert ch["rule"] == line_of(new, INTERNET_WEB)
    assert ch["other_side"].startswith("drop-acl at exit-")
    replay(old, new, data)


def test_a_new_allow_opens_exactly_its_ports_for_every_site(tmp_path):
    old = str(MINIMAL)
    new = policy(tmp_path, "vweb.zh", INTERNET_WEB,
                 INTERNET_WEB + "\n    allow vertical(tax) -> host(portal) service web")
    code, data = diff_json(old, new)
    assert code == 0  # no gate asked for
    net = compile_file(new).network
    tax_sites = {c.name for c in net.classes if c.name.startswith("vertical(tax)@")}
    assert len(tax_sites) == 3
    assert pairs(data, "opened") == {(s, "platform@prov") for s in tax_sites}
    assert data["closed"] == []
    for ch in data["opened"]:
        assert ch["flows"] == [{"protocol": "tcp", "ports": [[80, 80], [443, 443]],
                                "icmp_types": None, "other_icmp_types": False}]
        assert ch["services"] == ["web"]
        assert ch["rule"] == line_of(new, "allow vertical(tax) -> host(portal)")
    replay(old, new, data)
    # the port set is exact: 80 and 443 are new, 8080 is delivered on neither side
    n_old = compile_file(old).network
    ch = data["opened"][0]
    for port, is_new in ((80, True), (443, True), (8080, False)):
        p = packet(ch["example"], dport=port)
        assert delivered(net, ch["src_class"], ch["dst_class"], p) is is_new
        assert not delivered(n_old, ch["src_class"], ch["dst_class"], p)


def test_dropping_a_service_closes_only(tmp_path):
    old = str(MINIMAL)
    new = policy(tmp_path, "noping.zh", H_TO_V, H_TO_V.replace(", ping", ""))
    code, data = diff_json(old, new, "--fail-on", "opened")
    assert code == 0
    assert data["opened"] == []
    net = compile_file(old).network
    expected = {(h.name, v.name) for h in net.classes for v in net.classes
                for dept in ("tax", "audit")
                if h.name.startswith(f"horizontal({dept})@")
                and v.name.startswith(f"vertical({dept})@")}
    assert len(expected) == 9 + 4
    assert pairs(data, "closed") == expected
    for ch in data["closed"]:
        assert ch["services"] == ["ping"]
        assert [f["protocol"] for f in ch["flows"]] == ["icmp"]
        assert ch["rule"] == line_of(old, H_TO_V)  # the rule that let it through before
        assert ch["other_side"].startswith("drop-acl at pe-")
    replay(old, new, data)
    assert run(old, new, "--fail-on", "changed").exit_code == 1


def test_removed_allow_closes_the_published_host(tmp_path):
    old = str(MINIMAL)
    new = policy(tmp_path, "unpublished.zh", INTERNET_WEB + "\n", "")
    result = run(old, new, "--fail-on", "opened")
    assert result.exit_code == 0, result.output
    assert "closed:\n  internet -> platform@prov: tcp/80,443 [web]; e.g. tcp " in result.stdout
    assert run(old, new, "--fail-on", "changed").exit_code == 1
    code, data = diff_json(old, new)
    assert pairs(data, "closed") == {("internet", "platform@prov")} and data["opened"] == []
    replay(old, new, data)


def test_added_sites_are_compared_against_nothing(tmp_path):
    old = str(MINIMAL)
    new = policy(tmp_path, "audit-south.zh", "sites prov, north", "sites all")
    code, data = diff_json(old, new)
    assert data["added_classes"] == ["horizontal(audit)@south", "vertical(audit)@south"]
    assert data["removed_classes"] == [] and data["closed"] == []
    added = set(data["added_classes"])
    # every opened pair involves a new class, and the new sites reach their department
    assert all(s in added or d in added for s, d in pairs(data, "opened"))
    assert ("vertical(audit)@south", "vertical(audit)@prov") in pairs(data, "opened")
    assert ("horizontal(audit)@south", "platform@prov") in pairs(data, "opened")
    replay(old, new, data)
    # the other way round the same pairs are closed and the classes removed
    _, back = diff_json(new, old)
    assert back["removed_classes"] == data["added_classes"]
    assert pairs(back, "closed") == pairs(data, "opened") and back["opened"] == []


def test_json_is_deterministic(tmp_path):
    old = str(MINIMAL)
    new = policy(tmp_path, "noping.zh", H_TO_V, H_TO_V.replace(", ping", ""))
    first = run(old, new, "--format", "json").stdout
    assert first == run(old, new, "--format", "json").stdout


@pytest.mark.parametrize("bad_side", ["old", "new"])
def test_bad_policy_exits_2_with_nothing_on_stdout(tmp_path, bad_side):
    good = str(MINIMAL)
    bad = policy(tmp_path, "bad.zh", "allow horizontal    -> horizontal",
                 "allow horizontal    -> nowhere(x)")
    args = [bad, good] if bad_side == "old" else [good, bad]
    result = run(*args, "--fail-on", "changed")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert f"{bad}:" in result.stderr and ": error: " in result.stderr
    assert "Traceback" not in result.output


def test_missing_file_exits_2(tmp_path):
    result = run(str(MINIMAL), str(tmp_path / "nope.zh"))
    assert result.exit_code == 2 and result.stdout == ""
    assert "nope.zh" in result.stderr


class _NoAnswer:
    """z3's solver that answers unknown, as on a timeout."""

    def __init__(self, real: z3.Solver) -> None:
        self.real = real

    def __getattr__(self, name):
        return getattr(self.real, name)

    def check(self, *args):
        return z3.unknown


def test_solver_unknown_exits_3_and_names_the_pairs(tmp_path, monkeypatch):
    old = str(MINIMAL)
    new = policy(tmp_path, "ping.zh", INTERNET_WEB, INTERNET_WEB + ", ping")
    real = z3.SolverFor
    monkeypatch.setattr(diff_mod.z3, "SolverFor",
                        lambda logic, **kw: _NoAnswer(real(logic, **kw)))
    result = run(old, new, "--fail-on", "opened")
    assert result.exit_code == 3, result.output
    assert "undecided" in result.stdout and "internet -> platform@prov (opened)" in result.stdout


def test_a_witnessed_difference_trips_the_gate_even_if_its_details_time_out(tmp_path,
                                                                            monkeypatch):
    old = str(MINIMAL)
    new = policy(tmp_path, "ping.zh", INTERNET_WEB, INTERNET_WEB + ", ping")

    def undecided(self, s):
        raise diff_mod.Undecided("timeout")

    monkeypatch.setattr(diff_mod.Differ, "_flows", undecided)
    result = run(old, new, "--fail-on", "opened")
    assert result.exit_code == 1, result.output  # the gate wins over unknown, as in verify
    assert "internet -> platform@prov: (protocols undecided); e.g. icmp" in result.stdout
    assert "internet -> platform@prov (opened: protocols and ports)" in result.stdout
    assert run(old, new).exit_code == 3  # without a gate: unknown
    data = json.loads(run(old, new, "--format", "json").stdout)
    replay(old, new, data)  # the witness packet really is new


def test_heilongjiang_lifting_the_suifenhe_exception_opens_exactly_its_sites(tmp_path):
    """The province policy: removing `deny horizontal at suifenhe -> internet` opens web
    and dns to the Internet for every horizontal class at suifenhe, and nothing else."""
    hlj = MINIMAL.parent / "heilongjiang.zh"
    text = hlj.read_text(encoding="utf-8")
    line = "    deny horizontal at suifenhe -> internet\n"  # the rule; its assertion follows
    assert line in text
    new = tmp_path / "hlj.zh"
    new.write_text(text.replace(line, "", 1), encoding="utf-8")
    code, data = diff_json(str(hlj), str(new), "--fail-on", "opened")
    assert code == 1
    net = compile_file(str(hlj)).network
    sites = {c.name for c in net.classes
             if c.region == "suifenhe" and c.realm == "horizontal"}
    assert sites and pairs(data, "opened") == {(s, "internet") for s in sites}
    assert data["closed"] == []
    for ch in data["opened"]:
        assert ch["services"] == ["dns", "web"]
        assert [(f["protocol"], f["ports"]) for f in ch["flows"]] == [
            ("tcp", [[53, 53], [80, 80], [443, 443]]), ("udp", [[53, 53]])]
    replay(str(hlj), str(new), data)
