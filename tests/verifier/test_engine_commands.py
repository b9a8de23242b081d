"""diff, query and lint on the proof engine: two workers, a Dask cluster and a warm cache
print the bytes a serial run prints, and a warm cache answers every question (none is
solved again); after a one-rule change only the questions it touched are."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from support.paths import DATA, REPO

from zongheng.cli import main
from zongheng.compiler.pipeline import compile_file
from zongheng.verifier import questions
from zongheng.verifier.diff import diff_networks
from zongheng.verifier.lint import lint
from zongheng.verifier.solving import Options

MINIMAL = REPO / "policies" / "minimal.zh"
INTERNET_WEB = "allow internet      -> host(portal) service web"
LINT_RULES = """\
policy {
    allow horizontal(tax) -> host(portal) service https
    allow horizontal(tax) at north -> host(portal) service http
    allow horizontal(tax) at south -> host(portal) service http
    deny  horizontal(tax) at north -> host(portal) service web
    deny  horizontal(tax) -> host(portal) service web
    allow vertical(D) -> horizontal(D)
    allow horizontal -> horizontal
}
"""


@pytest.fixture
def policies(tmp_path):
    """minimal.zh, the same with the Internet also pinging the portal and with web to
    it closed, and a lint policy with shadowed rules (one covered by two together)."""
    text = MINIMAL.read_text(encoding="utf-8")
    assert INTERNET_WEB in text
    paths = {}
    for name, body in (("old", text),
                       ("opened", text.replace(INTERNET_WEB, INTERNET_WEB + ", ping")),
                       ("closed", text.replace(INTERNET_WEB, "")),
                       ("lint", (DATA / "lint-policy-head.zh").read_text(encoding="utf-8")
                        + LINT_RULES)):
        paths[name] = tmp_path / f"{name}.zh"
        paths[name].write_text(body, encoding="utf-8")
    return {k: str(v) for k, v in paths.items()}


def commands(p: dict[str, str]) -> dict[str, tuple[list[str], int]]:
    """Each command with output that has counterexamples or findings, and its exit."""
    return {
        "diff": (["diff", p["old"], p["opened"], "--format", "json"], 0),
        "diff-closed": (["diff", p["old"], p["closed"], "--format", "json",
                         "--fail-on", "changed"], 1),
        "query": (["query", p["old"], "--from", "internet", "--to", "host(portal)",
                   "--format", "json"], 0),
        "lint": (["lint", p["lint"], "--format", "json"], 0),
    }


def run(args: list[str], code: int, *extra: str) -> str:
    r = CliRunner().invoke(main, [*args, *extra])
    assert r.exit_code == code, r.output
    return r.stdout


@pytest.mark.parametrize("name", ["diff", "diff-closed", "query", "lint"])
def test_two_workers_and_a_cache_print_the_serial_bytes(policies, tmp_path, name):
    args, code = commands(policies)[name]
    serial = run(args, code, "--workers", "1")
    cache = str(tmp_path / "cache")
    assert run(args, code, "--workers", "2") == serial
    assert run(args, code, "--workers", "2", "--cache", cache) == serial  # cold
    assert run(args, code, "--cache", cache, "--workers", "1") == serial  # warm
    assert '"opened"' in serial or '"answer"' in serial or "shadowed" in serial


@pytest.fixture
def solved(monkeypatch) -> list:
    """Every question a solver answers in this process (serial runs)."""
    got: list = []
    real = questions.answer_text
    monkeypatch.setattr(questions, "answer_text",
                        lambda q, t: got.append(q) or real(q, t))
    return got


def test_a_warm_cache_solves_no_question_again(policies, tmp_path, solved):
    cache = tmp_path / "cache"
    old, new = (compile_file(policies[k]) for k in ("old", "opened"))
    linted = compile_file(policies["lint"])
    services = [{k: tuple(v) for k, v in c.plan.services.items()} for c in (old, new)]

    def everything() -> list:
        opts = Options(cache=cache)
        res = diff_networks(old.network, new.network, "old", "new", *services, options=opts)
        diags = lint(linted.network, None, options=opts)
        from zongheng.api import query
        ans = query(policies["old"], "internet", "host(portal)", workers=1, cache=cache)
        return [res, [d.format() for d in diags], ans]

    cold = everything()
    kinds = {q.procedure for q in solved}
    assert len(solved) > 10 and {None, "zongheng.verifier.diff:detail_of_text",
                                 "zongheng.verifier.lint:cover_of_text"} <= kinds
    solved.clear()
    assert everything() == cold
    assert solved == []


def test_after_a_one_rule_change_a_warm_cache_solves_only_what_it_touched(
        policies, tmp_path, solved):
    """The diff old -> opened, then old -> both changes: only the pairs the second
    change touched are asked again."""
    cache = tmp_path / "cache"
    text = MINIMAL.read_text(encoding="utf-8")
    both = tmp_path / "both.zh"
    rule = "allow horizontal(D) -> vertical(D)  service web, ping"
    assert rule in text
    both.write_text(text.replace(INTERNET_WEB, INTERNET_WEB + ", ping").replace(
        rule, "allow horizontal(D) -> vertical(D)  service web"), encoding="utf-8")
    old = compile_file(policies["old"]).network
    first = diff_networks(old, compile_file(policies["opened"]).network, "a", "b",
                          options=Options(cache=cache))
    cold = len(solved)
    solved.clear()
    second = diff_networks(old, compile_file(str(both)).network, "a", "b",
                           options=Options(cache=cache))
    assert len(second.closed) > len(first.closed)  # the second change closed ping
    assert 0 < len(solved) < second.solved_pairs * 2 + len(second.opened + second.closed)
    again = len(solved)
    solved.clear()
    diff_networks(old, compile_file(str(both)).network, "a", "b",
                  options=Options(cache=cache))
    assert solved == [] and cold > 0 and again > 0


def test_diff_on_a_dask_cluster_gives_the_serial_json(policies):
    distributed = pytest.importorskip("distributed", reason="the dask extra is not installed")
    args, code = commands(policies)["diff-closed"]
    serial = run(args, code, "--workers", "1")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        got = run(args, code, "--scheduler", cluster.scheduler_address)
    assert got == serial


@pytest.mark.parametrize("command", ["diff", "query", "lint"])
def test_an_unreachable_scheduler_is_bad_input(policies, command):
    pytest.importorskip("distributed", reason="the dask extra is not installed")
    args, _ = commands(policies)[command]
    r = CliRunner().invoke(main, [*args, "--scheduler", "tcp://127.0.0.1:9"])
    assert r.exit_code == 2, r.output
    assert "--scheduler" in r.output and "Traceback" not in r.output
