"""Generated valid policies through the whole pipeline: every command ends in 0-3 without a
traceback, every emitted nftables file passes `nft -c`, and the verifier agrees with the
brute-force simulator (a proof: no sampled packet breaks the assertion; a violation: its
counterexample replays)."""

from __future__ import annotations

import ipaddress
import os
import shutil
import subprocess
import warnings

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from support.oracle import Oracle, replay
from support.policies import policies
from support.simulator import Pkt, inside, ip
from support.strategies import SHAPES

from zongheng import api
from zongheng.cli import main
from zongheng.compiler.errors import PolicyError
from zongheng.verifier.results import PROVEN, VIOLATED

OUTSIDE = "8.8.8.8"
# Kept small for `make test`; `make fuzz` raises it (ZONGHENG_FUZZ_EXAMPLES=200).
SAMPLE = int(os.environ.get("ZONGHENG_FUZZ_SAMPLE", "16"))
EXAMPLES = int(os.environ.get("ZONGHENG_FUZZ_EXAMPLES", "6"))


class PolicyOracle(Oracle):
    """The simulator's oracle, with packets drawn from the compiled classes' own addresses
    (first and last host of each class's first two prefixes) instead of the hand-built
    models' fixed list."""

    def __init__(self, net, **kw):
        super().__init__(net, **kw)
        sample = {OUTSIDE}
        for c in net.classes:
            for p in c.prefixes[:2]:
                n = ipaddress.ip_network(p)
                if n.prefixlen >= 8:
                    sample |= {str(n.network_address + 1), str(n.broadcast_address - 1)}
        ordered = sorted(ip(a) for a in sample)
        # The simulator walks sample x sample x shapes per statement: thin a large sample
        # evenly (deterministically) so one example stays in seconds, not minutes.
        step = max(1, len(ordered) // SAMPLE)
        self.sample = sorted(set(ordered[::step]) | {ip(OUTSIDE)})

    def packets(self, srcs):
        for s in (a for a in self.sample if inside(a, srcs)):
            for d in self.sample:
                for proto, sp, dp, syn, ack, rst, icmp, new in SHAPES:
                    yield Pkt(s, d, proto, sp, dp, syn, ack, rst, icmp, new)


def _run(*args: str):
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code in (0, 1, 2, 3), (args, result.exit_code, result.output)
    assert "Traceback" not in result.output and "internal error" not in result.output
    return result


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(policies())
def test_generated_policies_end_cleanly_and_emit_valid_nftables(tmp_path_factory, text):
    work = tmp_path_factory.mktemp("fuzz")
    policy = work / "p.zh"
    policy.write_text(text, encoding="utf-8")
    check = _run("check", str(policy))
    if check.exit_code == 2:
        assert ": error: " in check.output
        return
    assert _run("compile", str(policy), "-o", str(work / "out")).exit_code == 0
    assert _run("verify", str(policy), "--timeout", "60").exit_code in (0, 1)
    nft = shutil.which("nft")
    if nft is None:
        return
    for ruleset in sorted((work / "out").glob("*/nftables.nft")):
        cmd = [nft, "-c", "-f", str(ruleset)]
        if shutil.which("unshare"):
            cmd = ["unshare", "-Urn", *cmd]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        assert proc.returncode == 0, (ruleset, proc.stderr)


@settings(max_examples=max(2, EXAMPLES // 2), deadline=None,
          suppress_health_check=list(HealthCheck))
@given(policies())
def test_generated_policies_verdicts_agree_with_the_simulator(text):
    from zongheng.compiler.pipeline import compile_text

    try:
        compiled = compile_text("fuzz.zh", text)
    except PolicyError:
        return
    net = compiled.network
    oracle = PolicyOracle(net)
    for spec, res in zip(net.assertions, api.verify(compiled).results, strict=True):
        assert res.status in (PROVEN, VIOLATED), (spec.name, res.status)
        if res.status == PROVEN:
            broken = [st.text for st in spec.statements if oracle.violated(spec, st)]
            assert broken == [], (spec.name, broken)
        else:
            cx = res.counterexample
            st = next(s for s in spec.statements if s.text == cx.statement)
            assert replay(oracle, spec, st, cx), (spec.name, cx)


def test_the_strategy_makes_policies_that_compile():
    """Not vacuous: the generator mostly yields policies the compiler accepts."""
    from zongheng.compiler.pipeline import compile_text

    ok = 0
    for _ in range(20):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # .example() is meant for exploring: so is this
                text = policies().example()
            compile_text("g.zh", text)
            ok += 1
        except PolicyError:
            pass
    assert ok >= 15

