"""Every fuzz seed and every saved crash through its target, without atheris.

A crash ``make fuzz`` found is saved under ``tests/fuzz/regressions/TARGET/``
and fixed; replaying it here keeps it fixed. The seeds must pass too: a
target that fails on its own corpus cannot be fuzzed.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fuzz_targets import REPO, TARGETS, inputs

CASES = [(t, p) for t in TARGETS for p in inputs(t)]


def test_every_target_has_seeds() -> None:
    assert {t for t, _ in CASES} == set(TARGETS)


@pytest.mark.parametrize(("target", "path"), CASES,
                         ids=[f"{t}/{p.parent.parent.name}/{p.name}" for t, p in CASES])
def test_replay(target: str, path: Path) -> None:
    # raises only on a crash (without nft the nftables importer refuses: a ConfigError)
    TARGETS[target](path.read_bytes())


def test_make_fuzz_runs_every_target() -> None:
    make = (REPO / "Makefile").read_text()
    line = next(ln for ln in make.splitlines() if ln.startswith("FUZZ_TARGETS ?="))
    assert line.split("=", 1)[1].split() == list(TARGETS)
