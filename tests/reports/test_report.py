"""`zongheng report`: the auditor's self-contained HTML report."""

from __future__ import annotations

import html
import os
import re
import tomllib
from html.parser import HTMLParser
from pathlib import Path

import pytest
import z3
from click.testing import CliRunner
from support.paths import POLICIES, REPO

from zongheng.cli import main
from zongheng.compiler.pipeline import compile_file
from zongheng.reports import html_report as audit_report
from zongheng.verifier import obligations as check
from zongheng.verifier.engine import verify_network
from zongheng.verifier.results import PROVEN, UNKNOWN, VIOLATED, summary

MINIMAL = POLICIES / "minimal.zh"
HEILONGJIANG = POLICIES / "heilongjiang.zh"
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


class Page(HTMLParser):
    """Checks tag nesting and collects what the tests look at."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.rows: list[list[str]] = []  # table rows (cell texts) of every table
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self.styles: list[str] = []
        self._in_style = False
        self.ids: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append((tag, a))
        if "id" in a:
            self.ids.append(a["id"] or "")
        if tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "style":
            self._in_style = True
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
            return
        self.stack.pop()
        if tag in ("td", "th") and self._row is not None and self._cell is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None
        elif tag == "style":
            self._in_style = False

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._in_style:
            self.styles.append(data)


def parse(text: str) -> Page:
    page = Page()
    page.feed(text)
    page.close()
    assert page.problems == [], page.problems[:5]
    assert page.stack == [], f"unclosed: {page.stack}"
    return page


def summary_rows(page: Page) -> list[tuple[str, str]]:
    """(assertion, status) of the summary table, in report order (a note after the status,
    such as "(not applicable: no inner net)", left out)."""
    return [(r[1], r[3].split(" (", 1)[0]) for r in page.rows
            if len(r) == 5 and r[0].isdigit() and r[2] in ("built-in", "policy")]


def expected_rows(results) -> list[tuple[str, str]]:
    """(name, status) of results (objects or verify's JSON), built-ins first in their order."""
    rows = [(r["name"], r["status"], r["builtin"]) if isinstance(r, dict)
            else (r.name, r.status, r.builtin) for r in results]
    rank = {n: i for i, n in enumerate(audit_report.BUILTIN_ORDER)}
    builtin = sorted((r for r in rows if r[2]), key=lambda r: rank.get(r[0], 99))
    return [(n, s) for n, s, _ in builtin + [r for r in rows if not r[2]]]


def assert_self_contained(text: str, page: Page) -> None:
    assert text.startswith("<!DOCTYPE html>\n")
    assert ("meta", {"charset": "utf-8"}) in page.tags
    for tag, attrs in page.tags:
        assert tag not in ("script", "link", "img", "iframe", "object", "embed"), tag
        for key in ("src", "href", "action", "srcset", "data"):
            value = attrs.get(key)
            if value is not None:
                assert value.startswith("#"), f"<{tag} {key}={value!r}>: external reference"
    css = "".join(page.styles)
    assert "@import" not in css and "url(" not in css
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", text, re.I)


@pytest.fixture(scope="module")
def heilongjiang_report(tmp_path_factory, report):
    out = tmp_path_factory.mktemp("hlj") / "report.html"
    proc = report(HEILONGJIANG, out)
    assert proc.returncode == 0, proc.stderr.decode()
    return out.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def heilongjiang_results(verify_json):
    return compile_file(HEILONGJIANG).network, verify_json(HEILONGJIANG)["assertions"]


def test_minimal_report_lists_every_assertion_with_its_status(tmp_path, report):
    out = tmp_path / "sub" / "report.html"  # the parent is created, like compile's -o
    proc = report(MINIMAL, out)
    assert proc.returncode == 0, proc.stderr.decode()
    text = out.read_text(encoding="utf-8")
    page = parse(text)
    network = compile_file(MINIMAL).network
    results = verify_network(network, defence=True, with_smt2=False)
    assert summary_rows(page) == expected_rows(results)
    assert [n for n, _ in summary_rows(page)][:4] == list(audit_report.BUILTIN_ORDER)
    counts = summary(results)
    for status in (PROVEN, VIOLATED, UNKNOWN):
        assert [status, str(counts[status])] == next(r[:2] for r in page.rows
                                                     if r and r[0] == status)
    assert network.policy_sha256 in text
    assert_self_contained(text, page)
    assert f"wrote {out}: {counts[PROVEN]} proven" in proc.stdout.decode()
    # minimal.zh has no inner net: the air gap is proven (as verify says) and not applicable
    air_gap = next(r for r in page.rows if len(r) == 5 and r[1] == "air-gap")
    assert air_gap[3] == "proven (not applicable: no inner net)"
    assert next(r.obligations for r in results if r.name == "air-gap") == []
    assert "Not applicable: no inner net." in text
    assert ["regions", "1 province, 2 cities"] in page.rows


def test_heilongjiang_report_statuses_waiver_defence_and_network(heilongjiang_report,
                                                                 heilongjiang_results):
    network, results = heilongjiang_results
    text = heilongjiang_report
    page = parse(text)
    assert_self_contained(text, page)
    assert summary_rows(page) == expected_rows(results)
    # every waiver with its reason and where it is declared
    for spec in network.assertions:
        for w in spec.waivers:
            assert [f"{w.statement.text}", w.reason, w.location] in page.rows
    # defence in depth: one row per defended assertion, both layers' statuses and examples
    defended = [r for r in results if r.get("defence")]
    assert defended
    for r in defended:
        row = next(x for x in page.rows if len(x) == 3 and x[0] == r["name"])
        for cell, mode in zip(row[1:], ("routing_only", "acl_only"), strict=True):
            assert cell.startswith(r["defence"][mode])
            assert r["defence"].get(f"{mode}_example", "") in cell
    # the network at a glance comes from the model
    vrfs = sum(len(d.vrfs) for d in network.devices)
    lines = sum(len(a.lines) for d in network.devices for a in d.acls)
    assert ["VRFs", str(vrfs)] in page.rows
    assert ["route targets", str(len(network.route_targets))] in page.rows
    assert any(r[0] == "ACLs" and f"with {lines} lines" in r[1] for r in page.rows)
    for d in network.devices:
        assert any(r and r[0] == d.name and r[1] == d.role for r in page.rows), d.name
    for h in network.hosts:
        for device, public in h.static_nat:
            assert [h.name, h.owner, h.address, public, device] in page.rows
    assert "黑龙江省" in text
    # how to re-check names the bundle commands for this policy
    assert f"zongheng verify {HEILONGJIANG} --bundle proof-bundle" in text
    assert "zongheng audit proof-bundle --solver all" in text


VIOLATING = """
assert "tax must not reach the portal" {
    deny horizontal(tax) -> host(portal)
}
"""


def violating_policy(tmp_path: Path, extra: str = VIOLATING) -> Path:
    policy = tmp_path / "violating.zh"
    policy.write_text(MINIMAL.read_text(encoding="utf-8") + extra, encoding="utf-8")
    return policy


def test_violated_assertion_shows_counterexample_and_rule(tmp_path, report, verify_json):
    policy = violating_policy(tmp_path)
    out = tmp_path / "report.html"
    proc = report(policy, out)
    assert proc.returncode == 0, proc.stderr.decode()  # written: the report says violated
    text = out.read_text(encoding="utf-8")
    page = parse(text)
    results = verify_json(policy)["assertions"]
    bad = next(r for r in results if r["name"] == "tax must not reach the portal")
    assert bad["status"] == VIOLATED and bad["counterexample"] is not None
    cx = bad["counterexample"]
    assert ["source address", cx["src"]] in page.rows
    assert ["destination address", cx["dst"]] in page.rows
    assert ["source class", cx["src_class"]] in page.rows
    # the rule that let it through: `allow horizontal -> horizontal` of minimal.zh
    line = next(i for i, t in enumerate(policy.read_text().splitlines(), 1)
                if t.strip() == "allow horizontal    -> horizontal")
    assert cx["rule"] == f"{policy}:{line}"
    rule_row = next(r for r in page.rows if r and r[0] == "policy rule that let it through")
    assert rule_row[1].startswith(f"{policy}:{line}")
    # the path, device by device, with each hop's device, VRF, ACL and line
    assert cx["path"]
    for i, hop in enumerate(cx["path"], 1):
        line_cells = ("-", "implicit deny") if hop["line"] is None else (str(hop["line"]),)
        assert any(r[:3] == [str(i), hop["device"], hop["vrf"] or "global"]
                   and r[4] == (hop["acl"] or "-") and r[5] in line_cells for r in page.rows
                   if len(r) == 9), hop
    assert "NOT PROVEN: violations found" in text
    assert summary_rows(page) == expected_rows(results)
    assert f'id="L{line}"' in text and f'href="#L{line}"' in text


def test_unknown_is_reported_not_proven_and_exit_0(monkeypatch, tmp_path):
    real = check.z3.SolverFor

    class NoAnswer:
        def __init__(self, solver):
            self.solver = solver

        def __getattr__(self, name):
            return getattr(self.solver, name)

        def check(self, *args):
            return z3.unknown

    monkeypatch.setattr(check.z3, "SolverFor", lambda logic, **kw: NoAnswer(real(logic, **kw)))
    out = tmp_path / "report.html"
    result = CliRunner().invoke(main, ["report", str(MINIMAL), "-o", str(out)])
    assert result.exit_code == 0, result.output
    page = parse(out.read_text(encoding="utf-8"))
    statuses = dict(summary_rows(page))
    assert statuses["vertical-isolation"] == UNKNOWN
    assert PROVEN not in {s for n, s in summary_rows(page) if n != "air-gap"}
    body = out.read_text(encoding="utf-8")
    assert "NOT PROVEN: the solver gave no answer" in body
    # every undecided proof obligation is named
    results = verify_network(compile_file(MINIMAL).network, with_smt2=False)
    undecided = [o.name for r in results for o in r.obligations if o.status == UNKNOWN]
    assert undecided
    for name in undecided:
        assert f"<li><code>{name}</code>:" in html.unescape(body)


def test_display_names_are_escaped(tmp_path, report):
    evil = "<script>alert(1)</script>"
    text = MINIMAL.read_text(encoding="utf-8")
    text = text.replace('network "Minimal province"', f'network "{evil} \\"q\\" 省 &amp;"')
    text = text.replace('department tax "Tax bureau"', f'department tax "{evil} 税务局"')
    text = text.replace('assert "tax cannot reach', f'assert "{evil} tax cannot reach')
    policy = tmp_path / "evil.zh"
    policy.write_text(text, encoding="utf-8")
    out = tmp_path / "report.html"
    proc = report(policy, out)
    assert proc.returncode == 0, proc.stderr.decode()
    body = out.read_text(encoding="utf-8")
    page = parse(body)
    assert "<script" not in body.lower()
    assert html.escape(evil) in body
    assert "&amp;amp;" in body  # a literal &amp; in a name stays text
    assert_self_contained(body, page)
    assert any(r[1] == f"{evil} 税务局" for r in page.rows if len(r) == 4)  # parses back
    assert any(n.startswith(evil) for n, _ in summary_rows(page))


def test_two_runs_are_byte_identical(tmp_path, report):
    policy = violating_policy(tmp_path)
    first, second = tmp_path / "a.html", tmp_path / "b.html"
    assert report(policy, first, env={"PYTHONHASHSEED": "1"}).returncode == 0
    assert report(policy, second, env={"PYTHONHASHSEED": "977"}).returncode == 0
    assert first.read_bytes() == second.read_bytes()
    assert not re.search(rb"20\d\d-\d\d-\d\d", first.read_bytes())  # no date


def test_bad_policy_exit_2_and_nothing_written(tmp_path, report):
    policy = tmp_path / "bad.zh"
    policy.write_text(MINIMAL.read_text(encoding="utf-8").replace(
        "allow horizontal    -> horizontal", "allow horizontal    -> nowhere(x)"),
        encoding="utf-8")
    out = tmp_path / "report.html"
    proc = report(policy, out)
    assert proc.returncode == 2
    err = proc.stderr.decode()
    assert re.search(rf"{re.escape(str(policy))}:\d+:\d+: error:", err), err
    assert "Traceback" not in err
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.zh"]
    # an older report is left as it was
    out.write_text("old report", encoding="utf-8")
    assert report(policy, out).returncode == 2
    assert out.read_text(encoding="utf-8") == "old report"
    missing = report(tmp_path / "missing.zh", tmp_path / "x.html")
    assert missing.returncode == 2 and not (tmp_path / "x.html").exists()


def test_output_that_is_a_directory_is_bad_input(tmp_path, report):
    proc = report(MINIMAL, tmp_path)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr.decode()


def test_unwritable_output_is_bad_input(tmp_path, report):
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    proc = report(MINIMAL, blocker / "report.html")  # its parent is a file
    assert proc.returncode == 2
    err = proc.stderr.decode()
    assert "error:" in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_failed_write_leaves_old_file_and_no_temporary(tmp_path, monkeypatch):
    out = tmp_path / "report.html"
    out.write_text("old", encoding="utf-8")

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(audit_report.os, "replace", broken_replace)
    with pytest.raises(audit_report.ReportError, match="No space left"):
        audit_report.write_report(out, "<html>new</html>")
    assert out.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_written_file_is_readable_by_others(tmp_path):
    out = tmp_path / "r.html"
    audit_report.write_report(out, "<p>x</p>")
    assert out.stat().st_mode & 0o777 == 0o644
    assert out.read_text(encoding="utf-8") == "<p>x</p>"


def test_help_says_exit_0_even_with_violations():
    result = CliRunner().invoke(main, ["report", "--help"])
    assert result.exit_code == 0
    assert "Exit 0 when the report is written" in result.output
    assert "violated" in result.output


def test_template_is_package_data():
    data = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = data["tool"]["setuptools"]["package-data"]["zongheng.reports.templates"]
    matched = {p.relative_to(REPO / "reports") for pat in patterns
               for p in (REPO / "reports" / "templates").glob(pat)}
    assert Path("templates") / audit_report.TEMPLATE in matched
    assert os.path.isfile(audit_report.TEMPLATE_DIR / audit_report.TEMPLATE)


def test_a_report_on_configs_says_so_lists_what_they_left_out_and_shows_a_leak(tmp_path, zh,
                                                                               report):
    """--from-configs: the subject is the configs as read back, not the compile."""
    out = tmp_path / "cfg"
    r = zh("compile", str(MINIMAL), "-o", str(out), "--target", "cisco-ios-xe")
    assert r.returncode == 0, r.stderr
    cfg = out / "pe-north" / "cisco-ios-xe.cfg"
    text = cfg.read_text(encoding="utf-8")
    cfg.write_text(text.replace("\nend\n", "\nip route vrf Mgmt 0.0.0.0 0.0.0.0 192.0.2.1\nend\n")
                   .replace(" vrf forwarding H-tax\n", " vrf forwarding H-audit\n"),
                   encoding="utf-8")
    r = report(MINIMAL, tmp_path / "r.html", "--from-configs", str(out))
    assert r.returncode == 0, r.stderr
    page_text = (tmp_path / "r.html").read_text(encoding="utf-8")
    page = parse(page_text)
    words = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page_text)).split())
    assert f"Proven on the device configurations under {out}" in words
    assert "static route vrf Mgmt 0.0.0.0/0 via 192.0.2.1 is in a VRF outside the policy" \
        in words
    assert dict(summary_rows(page))["vertical-guard"] == "violated"
    assert "is delivered, as configured" in words and "delivered, as compiled" not in words
    assert "the network the configurations build lets through" in words
    assert f"--from-configs {out}" in words
    # the compiled report says nothing of configurations
    r = report(MINIMAL, tmp_path / "c.html")
    words = " ".join(html.unescape(re.sub(r"<[^>]+>", " ",
                                          (tmp_path / "c.html").read_text())).split())
    assert "Proven on the device configurations" not in words
    assert dict(summary_rows(parse((tmp_path / "c.html").read_text())))["vertical-guard"] \
        == "proven"
