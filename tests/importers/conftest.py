"""Fixtures of the importer tests: hand-written configs kept as files, and the check
that the nftables importer can run here.

A config of more than a few lines that a test reads is a file in
``tests/importers/data/`` (named ``<dialect>-<what>.<ext>``), so it reads as what an
operator would paste and diffs as one; one-line and templated cases stay inline.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def importer_input():
    """``importer_input("cisco-hand.cfg")`` -> the text of tests/importers/data/<name>."""
    def read(name: str) -> str:
        return (DATA / name).read_text(encoding="utf-8")
    return read


@pytest.fixture(scope="session")
def nft_namespace() -> None:
    """Skip unless the nftables importer can run: it loads a ruleset with the real ``nft``
    in a throwaway user+network namespace (``unshare -Urn``). Modules that need it say
    ``pytestmark = pytest.mark.usefixtures("nft_namespace")``."""
    if shutil.which("nft") is None or shutil.which("unshare") is None:
        pytest.skip("nft/unshare not installed (the nftables importer)")
    r = subprocess.run(["unshare", "-Urn", "nft", "list", "ruleset"], capture_output=True,
                       timeout=30, check=False)
    if r.returncode != 0:
        pytest.skip("unshare -Urn fails here: no unprivileged user namespaces for nft")
