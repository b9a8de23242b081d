"""Where the repository, its shipped policies and the test data are.

Constants, not fixtures: module-level ``parametrize`` lists and file-reading
constants need them at import time. Every path is absolute, so a test file
can move between subfolders without changing them.
"""

from __future__ import annotations

from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent
REPO = TESTS.parent
POLICIES = REPO / "policies"
MINIMAL = POLICIES / "minimal.zh"
HEILONGJIANG = POLICIES / "heilongjiang.zh"
DATA = TESTS / "data"
GOLDEN = TESTS / "golden"
