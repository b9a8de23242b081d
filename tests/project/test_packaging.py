"""Packaging: `pip wheel .` and `pip install .` build without a setuptools warning, and the
wheel carries every template and the grammar (the data files the code opens at run time)."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from support.paths import REPO

DATA = sorted(str(p.relative_to(REPO)) for pattern in ("emitters/templates/*/*.j2",
                                                      "reports/templates/*.j2", "grammar/*.lark",
                                                      "locale/*/LC_MESSAGES/*.mo")
              for p in REPO.glob(pattern))
# every module of the package: a subfolder missing from pyproject's `packages` installs
# without warning and without its modules (an editable install hides it)
PACKAGES = ("grammar", "compiler", "verifier", "emitters", "importers", "reports", "emulation",
            "cli")
SOURCES = sorted([p.name for p in REPO.glob("*.py")] + [
    str(p.relative_to(REPO)) for top in PACKAGES for p in (REPO / top).rglob("*.py")])
# distutils says this of pip's own --no-compile: not about the project's configuration
HARMLESS = re.compile(r"byte-compiling is disabled")


def _pip(*args: str, cwd: Path) -> str:
    proc = subprocess.run([sys.executable, "-m", "pip", *args, "--no-deps",
                           "--no-build-isolation", "-v", str(REPO)],
                          capture_output=True, text=True, cwd=cwd, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def _warnings(log: str) -> list[str]:
    return [ln.strip() for ln in log.splitlines()
            if re.search(r"warning", ln, re.IGNORECASE) and not HARMLESS.search(ln)]


@pytest.fixture(scope="module")
def have_setuptools() -> None:
    pytest.importorskip("setuptools", minversion="70.1")


def test_wheel_builds_without_warnings_and_carries_the_data(tmp_path, have_setuptools):
    log = _pip("wheel", "-w", str(tmp_path), cwd=tmp_path)
    assert _warnings(log) == []
    [wheel] = tmp_path.glob("zongheng-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert DATA and {f"zongheng/{d}" for d in DATA} <= names
    assert "zongheng/api.py" in names and "zongheng/cli/__init__.py" in names
    assert {f"zongheng/{s}" for s in SOURCES} - names == set()
    assert not any(n.startswith("zongheng/tests/") for n in names)


def test_install_prints_no_warnings(tmp_path, have_setuptools):
    log = _pip("install", "--target", str(tmp_path / "site"), cwd=tmp_path)
    assert _warnings(log) == []
    assert (tmp_path / "site" / "zongheng" / "reports" / "templates" / "report.html.j2").is_file()


def test_the_check_sees_a_warning() -> None:
    """Not vacuous: the filter keeps what setuptools printed before the fix."""
    line = ("build_py.py:215: BuildBackendWarning: Package 'zongheng.emitters.templates' "
            "is absent from the `packages` configuration.")
    assert _warnings(line + "\n  warning: build_py: byte-compiling is disabled, skipping.") \
        == [line]
