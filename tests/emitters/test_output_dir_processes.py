"""`compile -o DIR` with real processes: two compiles into one directory are serialised by a
lock, and SIGTERM at any moment leaves the previous tree or the new one, whole."""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from support.paths import REPO

MINIMAL = REPO / "policies" / "minimal.zh"


def _start(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "zongheng", *args], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _consistent(out: Path) -> dict:
    """The tree is exactly what its manifest lists, byte for byte."""
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    files = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()}
    assert files == set(manifest["files"]) | {"manifest.json"}
    for rel, digest in manifest["files"].items():
        assert hashlib.sha256((out / rel).read_bytes()).hexdigest() == digest, rel
    return manifest


def _no_leftovers(parent: Path) -> None:
    assert [p.name for p in parent.iterdir() if p.name.startswith(".")] == []


def test_concurrent_compiles_into_one_directory_are_serialised(tmp_path):
    out = tmp_path / "out"
    procs = [_start("compile", str(MINIMAL), "-o", str(out), "--target", t)
             for t in ("nftables,iproute2", "cisco-ios-xe,junos", "huawei-vrp", "all")]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err.decode()
    assert _consistent(out)["targets"]
    _no_leftovers(tmp_path)


def test_sigterm_at_any_moment_leaves_a_whole_tree(tmp_path):
    big = tmp_path / "big.zh"
    made = subprocess.run([sys.executable, "-m", "zongheng", "scaffold", "--departments", "8",
                           "--cities", "4", "--counties-per-city", "3"], cwd=REPO,
                          capture_output=True, check=True)
    big.write_bytes(made.stdout)
    out = tmp_path / "out"
    first = subprocess.run([sys.executable, "-m", "zongheng", "compile", str(MINIMAL), "-o",
                            str(out), "--target", "nftables"], cwd=REPO, capture_output=True)
    assert first.returncode == 0
    old = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    outcomes = set()
    for delay in (0.3, 0.8, 1.3, 1.8, 2.5):
        proc = _start("compile", str(big), "-o", str(out), "--target", "all")
        time.sleep(delay)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
        assert "Traceback" not in err.decode(), err.decode()
        assert proc.returncode in (0, 130, -signal.SIGTERM)  # -15: killed before it began
        manifest = _consistent(out)
        if manifest["policy"] == str(MINIMAL):
            assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == old
            outcomes.add("old")
        else:
            outcomes.add("new")
            break  # the new tree landed whole; later signals would only race with it
        _no_leftovers(tmp_path)
    assert outcomes  # each round left one whole tree
