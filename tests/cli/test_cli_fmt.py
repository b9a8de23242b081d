"""`zongheng fmt FILE... [--check]` (shared/spec/cli.md): --check exits 0 when every file is
in the canonical layout, 1 naming each that is not, 2 on a syntax error; without it files
are rewritten in place atomically, and a file that does not parse is left untouched."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys

from support.paths import MINIMAL, REPO

MESSY = MINIMAL.read_text(encoding="utf-8").replace(
    "    allow horizontal    -> horizontal", "  allow   horizontal -> horizontal  # all")
BROKEN = "network {\n    levels province > city\n"


def zh(*args: str, input: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "zongheng", *args], cwd=REPO, input=input,
                          capture_output=True, text=True, timeout=60)


def test_check_exit_codes(tmp_path):
    tidy, messy, bad = tmp_path / "tidy.zh", tmp_path / "messy.zh", tmp_path / "bad.zh"
    tidy.write_bytes(MINIMAL.read_bytes())
    messy.write_text(MESSY, encoding="utf-8")
    bad.write_text(BROKEN, encoding="utf-8")
    ok = zh("fmt", "--check", str(tidy))
    assert ok.returncode == 0 and ok.stdout == "", ok.stderr
    one = zh("fmt", "--check", str(tidy), str(messy))
    assert one.returncode == 1
    assert one.stdout.splitlines() == [f"would reformat {messy}"]
    two = zh("fmt", "--check", str(messy), str(bad))
    assert two.returncode == 2
    assert re.search(rf"^{re.escape(str(bad))}:2:\d+: error: unexpected end of file",
                     two.stderr, re.M)
    assert "    ^" in two.stderr and "Traceback" not in two.stderr
    assert messy.read_text(encoding="utf-8") == MESSY  # --check writes nothing


def test_rewrites_in_place_keeping_mode_and_leaving_no_temporary(tmp_path):
    messy = tmp_path / "messy.zh"
    messy.write_text(MESSY, encoding="utf-8")
    messy.chmod(0o640)
    run = zh("fmt", str(messy))
    assert run.returncode == 0, run.stderr
    assert f"reformatted {messy}" in run.stderr
    text = messy.read_text(encoding="utf-8")
    assert "    allow horizontal    -> horizontal  # all\n" in text
    assert stat.S_IMODE(messy.stat().st_mode) == 0o640
    assert sorted(os.listdir(tmp_path)) == ["messy.zh"]
    assert zh("fmt", "--check", str(messy)).returncode == 0
    again = zh("fmt", str(messy))
    assert again.returncode == 0 and again.stderr == "" and messy.read_text("utf-8") == text


def test_a_symlink_stays_a_link(tmp_path):
    real = tmp_path / "real.zh"
    real.write_text(MESSY, encoding="utf-8")
    (tmp_path / "link.zh").symlink_to(real)
    assert zh("fmt", str(tmp_path / "link.zh")).returncode == 0
    assert (tmp_path / "link.zh").is_symlink()
    assert zh("fmt", "--check", str(real)).returncode == 0


def test_a_file_with_a_syntax_error_is_left_untouched(tmp_path):
    bad, messy = tmp_path / "bad.zh", tmp_path / "messy.zh"
    bad.write_text("# keep me   \n" + BROKEN, encoding="utf-8")
    messy.write_text(MESSY, encoding="utf-8")
    before = bad.stat()
    run = zh("fmt", str(bad), str(messy))
    assert run.returncode == 2
    assert f"{bad}:3:" in run.stderr and ": error: unexpected end of file" in run.stderr
    assert bad.read_text(encoding="utf-8") == "# keep me   \n" + BROKEN
    assert bad.stat().st_mtime_ns == before.st_mtime_ns
    assert zh("fmt", "--check", str(messy)).returncode == 0  # the good one is still done


def test_stdin_to_stdout():
    run = zh("fmt", "-", input=MESSY)
    assert run.returncode == 0, run.stderr
    assert run.stdout == MINIMAL.read_text(encoding="utf-8").replace(
        "    allow horizontal    -> horizontal", "    allow horizontal    -> horizontal"
        "  # all")
    assert zh("fmt", "--check", "-", input=MESSY).stdout == "would reformat <stdin>\n"
    assert zh("fmt", "--check", "-", input=MINIMAL.read_text("utf-8")).returncode == 0
    bad = zh("fmt", "-", input=BROKEN)
    assert bad.returncode == 2 and bad.stdout == "" and "<stdin>:2:" in bad.stderr


def test_unreadable_input_is_exit_2(tmp_path):
    run = zh("fmt", str(tmp_path / "missing.zh"))
    assert run.returncode == 2 and "no such file" in run.stderr
