"""Fixtures of the report tests: the command line in fresh interpreters."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def report(zh):
    """``report(policy, out, *extra, env=None)``: `zongheng report` in a fresh interpreter."""
    def run(policy: Path | str, out: Path, *extra: str, env: dict[str, str] | None = None):
        return zh("report", str(policy), "-o", str(out), *extra, env=env)
    return run


@pytest.fixture(scope="session")
def verify_json(zh):
    """``verify_json(policy)``: `verify --format json --defence` in a fresh interpreter, as
    the report's process is.

    z3's models (so counterexamples) depend on what the process solved before,
    so the report is compared with another fresh run, not with this process.
    """
    def run(policy: Path) -> dict:
        proc = zh("verify", str(policy), "--format", "json", "--defence")
        assert proc.returncode in (0, 1), proc.stderr.decode()
        return json.loads(proc.stdout)
    return run
