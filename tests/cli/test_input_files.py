"""Inputs are regular files (or `-` for stdin) within a size limit: a FIFO, a device, a
directory or an oversized file is a clear exit 2 within a second, never a hang or a
memory blow-up."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from support.paths import REPO

MINIMAL = REPO / "policies" / "minimal.zh"


def _zh(*args: str, stdin: bytes | None = None, env: dict | None = None, timeout: float = 20):
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "zongheng", *args], cwd=REPO, input=stdin,
                          capture_output=True, timeout=timeout,
                          env={**os.environ, **(env or {})})
    return proc, time.monotonic() - start


@pytest.mark.parametrize(("path", "kind"), [("/dev/zero", "a device"),
                                            ("/dev/urandom", "a device"),
                                            ("/dev/null", "a device")])
def test_devices_are_refused_at_once(path, kind):
    proc, _ = _zh("check", path)
    assert proc.returncode == 2 and f"{path}:1:1: error: is {kind}" in proc.stderr.decode()


def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "policy.zh"
    os.mkfifo(fifo)
    proc, _ = _zh("check", str(fifo), timeout=10)
    assert proc.returncode == 2 and "is a FIFO" in proc.stderr.decode()


def test_a_directory_is_refused(tmp_path):
    proc, _ = _zh("verify", str(tmp_path))
    assert proc.returncode == 2 and "is a directory" in proc.stderr.decode()


def test_an_oversized_file_is_refused_and_the_limit_is_settable(tmp_path):
    big = tmp_path / "big.zh"
    big.write_bytes(MINIMAL.read_bytes() + b"#" * 5000 + b"\n")
    proc, _ = _zh("check", str(big), env={"ZONGHENG_MAX_INPUT_BYTES": "4096"})
    assert proc.returncode == 2 and "larger than 4096 bytes" in proc.stderr.decode()
    assert _zh("check", str(big))[0].returncode == 0
    proc, _ = _zh("check", str(big), env={"ZONGHENG_MAX_INPUT_BYTES": "lots"})
    assert proc.returncode == 2 and "not a number" in proc.stderr.decode()


def test_stdin_is_a_policy(tmp_path):
    proc, _ = _zh("check", "-", stdin=MINIMAL.read_bytes())
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout.decode().startswith("-: ok")
    proc, _ = _zh("lint", "-", stdin=MINIMAL.read_bytes())
    assert proc.returncode == 0, proc.stderr.decode()
    proc, _ = _zh("check", "-", stdin=b"network {")
    assert proc.returncode == 2 and proc.stderr.decode().startswith("<stdin>:1:")


def test_stdin_within_the_limit_only():
    proc, _ = _zh("check", "-", stdin=b"#" * 9000, env={"ZONGHENG_MAX_INPUT_BYTES": "8192"})
    assert proc.returncode == 2 and "larger than 8192 bytes" in proc.stderr.decode()


def test_a_config_that_is_a_device_is_refused():
    proc, _ = _zh("audit-config", "/dev/zero", "--policy", str(MINIMAL), "--device",
                  "pe-north", "--target", "nftables")
    assert proc.returncode == 2 and "is a device" in proc.stderr.decode()
