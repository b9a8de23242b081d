"""ICMP errors about a permitted connection pass the stateless ACLs and open nothing.

A rule with a service used to answer only its own replies (TCP ACK/RST, UDP from
the service port, echo reply): an ICMP "fragmentation needed" or "time exceeded"
sent back by a host or router on the far side was dropped, so path-MTU discovery and
traceroute broke. Every reply side now passes ICMP destination unreachable (3) and
time exceeded (11) from the destination back to the source. The verifier counts
those types as replies, never as the first packet of a connection, so the
isolation assertions still hold: here the vertical net may not open anything
towards the horizontal net, and the proof goes through with the error lines in
(no UDP service here: a UDP reply line is a packet the other side could send
first, which ``verify`` reports, see docs/language.md).
"""

from __future__ import annotations

from support.paths import REPO

from zongheng import api
from zongheng.compiler.pipeline import compile_text

POLICY = (REPO / "tests" / "data" / "icmp-errors.zh").read_text(encoding="utf-8")


def test_the_reply_side_passes_icmp_errors_of_a_serviced_rule() -> None:
    net = compile_text("icmp.zh", POLICY).network
    pe = next(d for d in net.devices if d.name == "pe-prov")
    acl = next(a for a in pe.acls if any(ln.reply for ln in a.lines)
               and any(ln.src and ln.src[0].startswith("10.") for ln in a.lines))
    errors = [ln for ln in acl.lines if ln.reply and ln.protocol == "icmp"]
    # ping: the echo reply; both services: the errors, once
    assert sorted(ln.icmp_types for ln in errors) == [(0,), (3, 11)]
    assert all(ln.src[0].startswith("10.") and ln.dst[0].startswith("59.64.16.")
               for ln in errors)


def test_the_error_lines_open_nothing(tmp_path) -> None:
    path = tmp_path / "icmp.zh"
    path.write_text(POLICY, encoding="utf-8")
    run = api.verify(str(path), workers=1)
    outcomes = {r.name: r.status for r in run.results}
    assert outcomes["the vertical net opens nothing towards the horizontal net"] == "proven", \
        outcomes
    assert set(outcomes.values()) == {"proven"}, outcomes
