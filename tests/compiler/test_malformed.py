"""Bad input never gives a Python traceback: exit 2 and a located `FILE:LINE:COL: error:`.

Truncations of real policies at many cut points, random mutations and random
bytes (hypothesis), and a list of classic malformed files, fed to the command
line in-process (click's CliRunner with catch_exceptions=False, so any
exception fails the test) and, for a few, as a real subprocess. The fuzz tests
are derandomized so CI sees the same inputs every run.
"""

from __future__ import annotations

import random
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.paths import POLICIES

from zongheng.cli import main

LOCATED = re.compile(r"^(\S+):(\d+):(\d+): error: ")
MINIMAL = (POLICIES / "minimal.zh").read_bytes()
HEILONGJIANG = (POLICIES / "heilongjiang.zh").read_bytes()
FUZZ = settings(max_examples=150, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


def run_check(data: bytes, directory: Path, name: str = "bad.zh"):
    """`zongheng check FILE` in-process; an uncaught exception propagates into the test."""
    path = directory / name
    path.write_bytes(data)
    result = CliRunner().invoke(main, ["check", str(path)], catch_exceptions=False)
    return path, result


def assert_located_error(data: bytes, directory: Path) -> None:
    path, result = run_check(data, directory)
    assert result.exit_code == 2, (result.exit_code, result.output[:500])
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    first = next((ln for ln in result.stderr.splitlines() if ": error: " in ln),
                 result.stderr.splitlines()[0])
    m = LOCATED.match(first)
    assert m, first[:300]
    assert m.group(1) == str(path)
    line, col = int(m.group(2)), int(m.group(3))
    lines = data.split(b"\n")
    assert 1 <= line <= len(lines) + 1
    assert 1 <= col <= len(lines[line - 1]) + 2 if line <= len(lines) else col == 1


def assert_ok_or_located(data: bytes, directory: Path) -> None:
    """A cut or mutated file may still be a valid policy; if not, a located error."""
    path, result = run_check(data, directory)
    if result.exit_code == 0:
        assert result.stdout.startswith(f"{path}: ok (")
        return
    assert_located_error(data, directory)


# ---------------------------------------------------------------- truncations


@pytest.mark.parametrize("cut", range(0, len(MINIMAL), 7))
def test_truncated_minimal(cut, tmp_path):
    assert_ok_or_located(MINIMAL[:cut], tmp_path)


@pytest.mark.parametrize("cut", range(1, len(HEILONGJIANG), 97))
def test_truncated_heilongjiang(cut, tmp_path):
    """Cuts land anywhere, also inside multi-byte UTF-8 characters of the Chinese names."""
    assert_ok_or_located(HEILONGJIANG[:cut], tmp_path)


# ---------------------------------------------------------------- named cases

rng = random.Random(20261125)
DEEP = 2000

CASES = {
    "empty": b"",
    "whitespace": b"  \n\t\n\n",
    "comment-only": b"# nothing here\n",
    "bom-only": b"\xef\xbb\xbf",
    "binary-garbage": bytes(rng.randrange(256) for _ in range(4096)),
    "elf-header": b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 4,
    "invalid-utf8-start": b"\xff\xfe" + MINIMAL,
    "invalid-utf8-in-comment": MINIMAL.replace(b"# The smallest", b"# The \xc3\x28smallest"),
    "invalid-utf8-in-string": MINIMAL.replace(b"Tax bureau", b"Tax b\xfcreau"),
    "utf16": MINIMAL.decode().encode("utf-16"),
    "unbalanced-open-brace": MINIMAL.replace(b'"North city" city', b'"North city" city {'),
    "unbalanced-close-brace": MINIMAL + b"}\n",
    "missing-close-brace": MINIMAL.rstrip().rstrip(b"}"),
    "lone-close-brace": b"}",
    "nul-in-keyword": MINIMAL.replace(b"network", b"net\x00work", 1),
    "nul-in-string": MINIMAL.replace(b'"Minimal', b'"Min\x00imal'),
    "nul-only": b"\x00" * 100,
    "huge-line": b"x" * 1_000_000,
    "huge-line-of-braces": b"{" * 200_000,
    "huge-number": MINIMAL.replace(b"site /24", b"site /" + b"9" * 5000, 1),
    "vertical-tab": MINIMAL.replace(b"network", b"\x0bnetwork", 1),
    "unicode-line-separator": MINIMAL.replace(b"network", "\u2028network".encode(), 1),
    "chinese-identifier": MINIMAL.replace(b"department tax", "department 税务".encode()),
    "unterminated-string": MINIMAL.replace(b'"Minimal province"', b'"Minimal province'),
    "string-with-newline": MINIMAL.replace(b'"Minimal province"', b'"Minimal\nprovince"'),
    "bad-escape": MINIMAL.replace(b'"Minimal province"', b'"Minimal \\q province"'),
    "leading-zero-octets": MINIMAL.replace(b"10.0.0.0/16 ", b"010.0.0.0/16 ", 1),
    "leading-zero-host": MINIMAL.replace(b"59.64.0.10 at", b"059.64.0.10 at"),
    "ipv6-everywhere": MINIMAL.replace(b"59.64.0.0/16", b"2001:db8::/32"),
    "only-colons": MINIMAL.replace(b"59.64.0.0/16", b":::::"),
    "keywords-only": b"network region service platform department host private inner policy",
    "uppercase-identifier": MINIMAL.replace(b"department tax", b"department Tax"),
    "deeply-nested-regions": (b"network {\n  levels a > b\n  horizontal 59.64.0.0/16\n}\n"
                              + b"".join(b"region r%d b {\n" % i for i in range(DEEP))
                              + b"}\n" * DEEP),
    "policy-twice": MINIMAL + b"policy {\n}\n",
    "network-twice": MINIMAL + MINIMAL[MINIMAL.index(b"network"):MINIMAL.index(b"region")],
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_malformed_file(name, tmp_path):
    assert_located_error(CASES[name], tmp_path)


def test_huge_line_message_stays_short(tmp_path):
    """The message quotes the offending token; a 1 MB token must not become a 1 MB line."""
    _, result = run_check(CASES["huge-line"], tmp_path)
    assert result.exit_code == 2
    assert max(len(line) for line in result.stderr.splitlines()) < 1000


@pytest.mark.parametrize("name", ["binary-garbage", "deeply-nested-regions",
                                  "leading-zero-octets", "invalid-utf8-in-string"])
def test_real_process_never_prints_a_traceback(name, tmp_path, zh):
    path = tmp_path / "bad.zh"
    path.write_bytes(CASES[name])
    for command in (["check", str(path)], ["show", str(path)],
                    ["compile", str(path), "-o", str(tmp_path / "out")]):
        proc = zh(*command)
        stderr = proc.stderr.decode("utf-8", "replace")
        assert proc.returncode == 2, stderr[-2000:]
        assert "Traceback" not in stderr
        assert any(LOCATED.match(ln) for ln in stderr.splitlines()), stderr[:300]
        assert proc.stdout == b""
        assert not (tmp_path / "out").exists()


def test_huge_nat_pool_finishes_quickly(tmp_path):
    """A /10 NAT pool is legal; static NAT must not enumerate its four million addresses."""
    path = tmp_path / "pool.zh"
    path.write_bytes(MINIMAL.replace(b"202.97.10.0/29", b"104.0.0.0/10"))
    try:
        proc = subprocess.run([sys.executable, "-m", "zongheng", "check", str(path)],
                              capture_output=True, timeout=10, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail("check of a policy with a /10 NAT pool took more than 10 s")
    assert proc.returncode == 0, proc.stderr


def test_crlf_line_endings_are_accepted(tmp_path):
    path, result = run_check(MINIMAL.replace(b"\n", b"\r\n"), tmp_path)
    assert result.exit_code == 0, result.stderr


# ---------------------------------------------------------------- hypothesis

TOKENS = [b"{", b"}", b"(", b")", b"->", b"<->", b",", b"/", b"*", b"D", b"at", b"all",
          b"site", b"sites", b"vertical", b"horizontal", b"inner", b"internet", b"host", b"0",
          b"99999", b"1.2.3.4", b"1.2.3.4/33", b"::1", b'"', b"\\", b"#", b"\n", b"where",
          b"forall", b":", b"service", b"tcp/0-1", b"region", b"\x00", b"\xff", "纵".encode()]


@st.composite
def mutated(draw, source: bytes = MINIMAL) -> bytes:
    data = bytearray(source)
    for _ in range(draw(st.integers(1, 4))):
        pos = draw(st.integers(0, len(data)))
        op = draw(st.sampled_from(["delete", "insert", "replace", "duplicate"]))
        if op == "delete":
            del data[pos:pos + draw(st.integers(1, 40))]
        elif op == "insert":
            data[pos:pos] = draw(st.sampled_from(TOKENS))
        elif op == "replace":
            data[pos:pos + draw(st.integers(1, 8))] = draw(st.sampled_from(TOKENS))
        else:
            start = draw(st.integers(0, len(data)))
            data[pos:pos] = data[start:start + draw(st.integers(1, 80))]
    return bytes(data)


@FUZZ
@given(mutated())
def test_mutated_minimal(tmp_path, data):
    assert_ok_or_located(data, tmp_path)


@FUZZ
@given(st.binary(max_size=300))
def test_random_bytes(tmp_path, data):
    assert_located_error(data, tmp_path)


@FUZZ
@given(st.text(max_size=200))
def test_random_text(tmp_path, text):
    assert_located_error(text.encode("utf-8", "surrogatepass"), tmp_path)
