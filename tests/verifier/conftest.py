"""Fixtures of the verifier tests: the compiled verifier fixture policy.

``tests/data/verifier-fixture.zh`` has every feature the verifier encodes: two
departments sharing a vertical range, platform, exit with source and static
NAT, a private net behind a gateway, an inner net.
"""

from __future__ import annotations

import pytest
from support.paths import DATA

from zongheng.compiler.model import Network
from zongheng.compiler.pipeline import compile_text

FIXTURE_FILE = DATA / "verifier-fixture.zh"


@pytest.fixture(scope="session")
def verifier_policy() -> str:
    """The text of tests/data/verifier-fixture.zh."""
    return FIXTURE_FILE.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def verifier_network(verifier_policy: str) -> Network:
    """verifier-fixture.zh compiled (under the name ``fixture.zh``), once per run."""
    return compile_text("fixture.zh", verifier_policy).network
