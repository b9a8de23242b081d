"""Fixtures of the importer tests: hand-written configs kept as files.

A config of more than a few lines that a test reads is a file in
``tests/importers/data/`` (named ``<dialect>-<what>.<ext>``), so it reads as what an
operator would paste and diffs as one; one-line and templated cases stay inline.
"""

from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def importer_input():
    """``importer_input("cisco-hand.cfg")`` -> the text of tests/importers/data/<name>."""
    def read(name: str) -> str:
        return (DATA / name).read_text(encoding="utf-8")
    return read
