"""Every exit status of the command line, in one place (contract: shared/spec/cli.md).

Libraries never choose an exit status: they report an :class:`Outcome` (holds,
broken, unknown) or raise an :class:`InputError`; this module maps those, and
nothing else decides what a CI gate reads.
"""

from __future__ import annotations

from zongheng.verifier.results import Outcome

OK = 0  # success; verify: every assertion proven
BROKEN = 1  # violated, drift, a gate tripped, a mismatch
BAD_INPUT = 2  # syntax or semantic error, unreadable file, bad option
UNKNOWN = 3  # a solver answered unknown or timed out: never proven
INTERNAL = 4  # a bug in zongheng: never 1, which a gate reads as "violated"

_BY_OUTCOME = {Outcome.HOLDS: OK, Outcome.BROKEN: BROKEN, Outcome.UNKNOWN: UNKNOWN}


def of(outcome: Outcome) -> int:
    """The exit status of a run that ended with ``outcome``."""
    return _BY_OUTCOME[outcome]
