"""Shared helpers: where the repo is and how to run the real command line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
POLICIES = REPO / "policies"


def run_zongheng(*args: str, cwd: Path = REPO, env: dict[str, str] | None = None,
                 stdin: bytes | None = None) -> subprocess.CompletedProcess:
    """`python -m zongheng ARGS` in a fresh interpreter (text mode off: exact bytes)."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "zongheng", *args], cwd=cwd, env=full_env,
                          input=stdin, capture_output=True, timeout=120, check=False)


@pytest.fixture
def zh():
    """The command line as a fixture: ``zh("check", path)`` -> CompletedProcess (bytes)."""
    return run_zongheng
