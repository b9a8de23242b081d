"""Fixtures shared by every test folder; each folder's conftest.py adds its own.

- ``zh``: the real command line in a fresh interpreter, ``zh("check", path)``.
- ``need``: ``need("nft", "unshare")`` skips the test unless every tool is installed.
- ``compiled`` / ``rendered`` / ``render_all``: shipped policies compiled and rendered once.
- ``compile_into``: ``zongheng compile`` of a shipped policy into the test's tmp_path.
- ``hand_network``: the hand-built network of every device role and ACL feature.
- ``golden``: compare bytes with a file under tests/golden, or rewrite it when asked.

Plain libraries (the simulator, hypothesis strategies, paths) are in ``support/``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from support import compiled as _compiled
from support.paths import GOLDEN, REPO

from zongheng.compiler.model import (
    Acl,
    AclLine,
    Device,
    EndpointClass,
    Interface,
    Link,
    NatRule,
    Network,
    PortRange,
    Route,
    Tunnel,
    Vrf,
)
from zongheng.emulation.lab import missing

# ---------------------------------------------------------------- options

UPDATE_GOLDEN_ENV = "ZONGHENG_UPDATE_GOLDEN"
LOCALE_VARS = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")


@pytest.fixture(autouse=True)
def english(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test starts in English, whatever the machine's locale or an earlier test
    (``--lang zh`` holds for the rest of a process) chose."""
    from zongheng.compiler import i18n

    for var in LOCALE_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")
    i18n.set_language("en")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="rewrite tests/golden/ from what the code renders now (or "
                          f"{UPDATE_GOLDEN_ENV}=1); review the diff before committing")


# ---------------------------------------------------------------- the command line


def run_zongheng(*args: str, cwd: Path = REPO, env: dict[str, str] | None = None,
                 stdin: bytes | None = None) -> subprocess.CompletedProcess:
    """`python -m zongheng ARGS` in a fresh interpreter (text mode off: exact bytes), in
    English unless ``env`` names a locale (the tests' own LANG does not leak in)."""
    base = {k: v for k, v in os.environ.items() if k not in LOCALE_VARS}
    full_env = {**base, "LANG": "C.UTF-8", **(env or {})}
    return subprocess.run([sys.executable, "-m", "zongheng", *args], cwd=cwd, env=full_env,
                          input=stdin, capture_output=True, timeout=120, check=False)


@pytest.fixture(scope="session")
def zh():
    """The command line as a fixture: ``zh("check", path, cwd=..., env=..., stdin=...)``
    -> CompletedProcess (bytes). Session-scoped, so hypothesis tests may use it."""
    return run_zongheng


@pytest.fixture(scope="session")
def need():
    """``need(*tools)``: skip the calling test, naming the first tool (a name on PATH or
    an absolute path) that is not installed."""
    def check(*tools: str) -> None:
        gone = missing(*tools)
        if gone:
            pytest.skip(f"{gone} not installed")
    return check


# ---------------------------------------------------------------- compiled policies


@pytest.fixture(scope="session")
def compiled():
    """``compiled("policies/minimal.zh")`` -> the Network, compiled once per run."""
    return _compiled.compiled_network


@pytest.fixture(scope="session")
def rendered():
    """``rendered("policies/minimal.zh", target)`` -> {device: config text}, once per run."""
    return _compiled.rendered_configs


@pytest.fixture(scope="session")
def render_all():
    """``render_all(network, target)`` -> {device: config text} of every rendered device."""
    return _compiled.render_all


@pytest.fixture
def compile_into(tmp_path: Path):
    """``compile_into(targets, policy="policies/minimal.zh")``: ``zongheng compile POLICY
    -o TMP/out --target TARGETS`` in-process; the output directory."""
    from click.testing import CliRunner

    from zongheng.cli import main

    def run(targets: str, policy: str = "policies/minimal.zh") -> Path:
        out = tmp_path / "out"
        r = CliRunner().invoke(main, ["compile", str(REPO / policy), "-o", str(out),
                                      "--target", targets], catch_exceptions=False)
        assert r.exit_code == 0, r.output
        return out
    return run


# ---------------------------------------------------------------- the hand-built network

NASTY = 'Tax "bureau"; permit ip any any {x} [y] #z !w 税务局\\ `rm` $HOME <a>|b'


def _line(seq, action, proto, src=(), dst=(), sport=None, dport=None, icmp=None,
          est=False, reply=False, rule="policies/t.zh:10", sg=None, dg=None):
    return AclLine(seq=seq, action=action, protocol=proto, src=tuple(src), dst=tuple(dst),
                   sport=PortRange(*sport) if sport else None,
                   dport=PortRange(*dport) if dport else None,
                   icmp_types=icmp, established=est, reply=reply, rule=rule,
                   src_group=sg, dst_group=dg)


def attach_acl(name: str, own_v: str, own_h: str, display: str = NASTY) -> Acl:
    """A PE attachment ACL using every ACL feature the model has."""
    return Acl(name=name, comment=f"{name} {display}", lines=(
        _line(10, "deny", "icmp", [own_v], ["59.64.32.0/20"], icmp=(8,),
              rule="policies/t.zh:3"),
        _line(20, "permit", "tcp", [own_v], ["59.64.16.0/28", "59.64.0.10/32"],
              dport=(8080, 8089), rule="policies/t.zh:7", dg="OG-TAX-H"),
        _line(30, "permit", "tcp", [own_v], ["59.64.16.0/28", "59.64.0.10/32"],
              sport=(443, 443), est=True, reply=True, rule="policies/t.zh:8",
              dg="OG-TAX-H"),
        _line(40, "permit", "udp", [own_v], [], dport=(53, 53), rule="policies/t.zh:9"),
        _line(50, "permit", "udp", [], [own_v], sport=(53, 53), reply=True,
              rule="policies/t.zh:9"),
        _line(60, "permit", "icmp", [own_v], [own_h], icmp=(0, 8), rule="policies/t.zh:11"),
        _line(70, "permit", "ip", [own_v], ["10.0.0.0/8"], rule="policies/t.zh:12"),
        _line(80, "deny", "ip", [], [], rule=None),
    ))


def pe(name, region, lo, trunks, attachments, vrfs, extra_ifaces=(), display=NASTY):
    ifaces = list(trunks) + list(extra_ifaces)
    acls = []
    for ifname, vrf, addr, cls, v, h in attachments:
        acl = f"ACL-{vrf}-{region}"
        acls.append(attach_acl(acl, v, h, display))
        ifaces.append(Interface(name=ifname, vrf=vrf, address=addr, acl_in=acl,
                                description=f"{cls} {display}", attached_class=cls))
    return Device(name=name, role="pe", region=region, loopback=lo, vrfs=tuple(vrfs),
                  interfaces=tuple(ifaces), acls=tuple(acls), description=display)


def vrf(name, lo, n, exp, imp, routes=(), realm="horizontal", display=NASTY):
    return Vrf(name=name, rd=f"{lo}:{n}", rt_export=tuple(exp), rt_import=tuple(imp),
               routes=tuple(routes), realm=realm, description=f"{name} {display}")


def build_hand_network(display: str | None = None) -> Network:
    """Every device role and ACL feature by hand; ``display`` (default :data:`NASTY`)
    is every display name and description."""
    display = NASTY if display is None else display
    asn = 65000
    v_tax, h_tax, plat = f"{asn}:1001", f"{asn}:2001", f"{asn}:2"
    shared = f"{asn}:1"
    pe_hlj = pe(
        "pe-hlj", "hlj", "10.255.0.1",
        trunks=[Interface("eth0", None, "172.16.0.1/30", description="trunk pe-hrb",
                          peer_device="pe-hrb", peer_interface="eth0")],
        attachments=[
            ("eth2.101", "V-tax", "10.0.0.1/24", "vertical(tax)@hlj", "10.0.0.0/24",
             "59.64.16.0/28"),
            ("eth2.201", "H-tax", "59.64.16.1/28", "horizontal(tax)@hlj", "59.64.16.0/28",
             "59.64.16.0/28"),
        ],
        vrfs=[
            vrf("V-tax", "10.255.0.1", 1, [v_tax], [v_tax, h_tax],
                realm="vertical(tax)", display=display),
            vrf("H-tax", "10.255.0.1", 2, [h_tax, shared], [shared, plat, h_tax, v_tax],
                display=display),
            vrf("H-platform", "10.255.0.1", 3, [plat, shared], [shared, plat],
                routes=[Route("0.0.0.0/0", "exit", "exit-hlj", "eth0", None),
                        Route("198.51.100.0/24", "blackhole", "pe-hlj", "", None)],
                display=display),
        ],
        extra_ifaces=[Interface("eth1", "H-platform", "172.16.1.1/30",
                                description="to exit-hlj", peer_device="exit-hlj",
                                peer_interface="eth0")],
        display=display,
    )
    pe_hrb = pe(
        "pe-hrb", "hrb", "10.255.0.2",
        trunks=[Interface("eth0", None, "172.16.0.2/30", description="trunk pe-hlj",
                          peer_device="pe-hlj", peer_interface="eth0")],
        attachments=[
            ("eth1.101", "V-tax", "10.0.1.1/24", "vertical(tax)@hrb", "10.0.1.0/24",
             "59.64.16.16/28"),
        ],
        vrfs=[vrf("V-tax", "10.255.0.2", 1, [v_tax], [v_tax, h_tax], realm="vertical(tax)",
                  display=display)],
        display=display,
    )
    exit_acl_in = Acl("EXIT-FROM-EXTRANET", stateful=True, comment=display, lines=(
        _line(10, "permit", "tcp", ["59.64.0.0/14"], [], dport=(80, 80), rule="policies/t.zh:20"),
        _line(20, "permit", "udp", ["59.64.0.0/14"], [], dport=(53, 53), rule="policies/t.zh:21"),
        _line(25, "permit", "icmp", ["59.64.0.0/14"], [], icmp=(8,), rule="policies/t.zh:23"),
        _line(30, "deny", "ip", [], [], rule=None),
    ))
    exit_acl_out = Acl("EXIT-FROM-INTERNET", stateful=True, lines=(
        _line(10, "deny", "ip", ["10.0.0.0/8"], [], rule="policies/t.zh:2"),
        _line(20, "permit", "tcp", [], ["59.64.0.10/32"], dport=(443, 443),
              rule="policies/t.zh:22"),
        _line(30, "deny", "ip", [], [], rule=None),
    ))
    exit_hlj = Device(
        name="exit-hlj", role="exit", region="hlj", loopback="10.255.1.1",
        interfaces=(
            Interface("eth0", None, "172.16.1.2/30", acl_in="EXIT-FROM-EXTRANET",
                      description=display, peer_device="pe-hlj", peer_interface="eth1"),
            Interface("eth1", None, "202.97.10.1/28", acl_in="EXIT-FROM-INTERNET",
                      description="internet"),
        ),
        acls=(exit_acl_in, exit_acl_out),
        nat=(NatRule("source", "59.64.0.0/14", "202.97.10.0/28", "eth1"),
             NatRule("static", "59.64.0.10", "202.97.10.2", "eth1", host="portal")),
        routes=(Route("59.64.0.0/14", "exit", "pe-hlj", "eth1", "H-platform"),),
    )
    inner_a = Device(
        name="inner-hlj", role="inner", region="hlj", loopback="172.31.255.1",
        interfaces=(Interface("eth0", None, "172.31.0.1/30", peer_device="inner-hrb",
                              peer_interface="eth0", description="inner link"),
                    Interface("eth1.10", None, "172.20.0.1/24", description=display,
                              attached_class="inner@hlj")),
        routes=(Route("172.20.1.0/24", "tunnel", "inner-hrb", "eth1.10", None),),
    )
    inner_b = Device(
        name="inner-hrb", role="inner", region="hrb", loopback="172.31.255.2",
        interfaces=(Interface("eth0", None, "172.31.0.2/30", peer_device="inner-hlj",
                              peer_interface="eth0"),
                    Interface("eth1.10", None, "172.20.1.1/24", attached_class="inner@hrb")),
        routes=(Route("172.20.0.0/24", "tunnel", "inner-hlj", "eth1.10", None),),
    )
    classes = (
        EndpointClass("vertical(tax)@hlj", "vertical", "tax", "hlj", "vertical(tax)",
                      ("10.0.0.0/24",), "pe-hlj", "eth2.101"),
    )
    return Network(
        name="fixture", display_name=display, asn=asn, policy_file="policies/t.zh",
        policy_sha256="0" * 64, levels=("province", "city"),
        regions=(("hlj", None, "province"), ("hrb", "hlj", "city")),
        departments=("tax",), classes=classes, blocks=(), hosts=(),
        devices=(pe_hlj, pe_hrb, exit_hlj, inner_a, inner_b),
        links=(Link("trunk", "pe-hlj", "eth0", "pe-hrb", "eth0"),
               Link("exit", "pe-hlj", "eth1", "exit-hlj", "eth0"),
               Link("inner", "inner-hlj", "eth0", "inner-hrb", "eth0", encrypted=True)),
        tunnels=(Tunnel("inner-hlj-hrb", "inner", None, "inner-hlj", None, "172.31.255.1",
                        ("172.20.0.0/24",), "inner-hrb", None, "172.31.255.2",
                        ("172.20.1.0/24",), secret="ZH-INNER-CA"),),
        rules=(),
    )


@pytest.fixture(scope="session")
def hand_network():
    """The builder: ``hand_network()`` or ``hand_network(display="...")`` -> Network."""
    return build_hand_network


# ---------------------------------------------------------------- golden files


class Golden:
    """Byte-for-byte comparison with files under tests/golden/, or their rewriting.

    ``golden(rel, data)`` compares one file; ``golden.tree(rel, files, pattern)`` a whole
    folder: the same names (those matching ``pattern``, ``**/*`` for every file below it)
    and the same bytes. When updating (``--update-golden`` or ZONGHENG_UPDATE_GOLDEN=1) the
    files are written, and a folder's files no longer rendered are removed.
    """

    def __init__(self, root: Path, update: bool) -> None:
        self.root, self.update = root, update

    @staticmethod
    def _bytes(data: bytes | str) -> bytes:
        return data.encode("utf-8") if isinstance(data, str) else data

    def _hint(self) -> str:
        return f"(--update-golden or {UPDATE_GOLDEN_ENV}=1 to regenerate, then review the diff)"

    def __call__(self, rel: str, data: bytes | str) -> None:
        path, want = self.root / rel, self._bytes(data)
        if self.update:
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.exists() or path.read_bytes() != want:
                path.write_bytes(want)
        assert path.is_file(), f"tests/golden/{rel} is missing {self._hint()}"
        assert path.read_bytes() == want, f"tests/golden/{rel} differs {self._hint()}"

    def tree(self, rel: str, files: dict[str, bytes | str], pattern: str = "**/*") -> None:
        folder = self.root / rel

        def present() -> set[str]:
            return {str(p.relative_to(folder)) for p in folder.glob(pattern) if p.is_file()}

        if self.update and folder.exists():
            for name in present() - set(files):
                (folder / name).unlink()
            for d in sorted((p for p in folder.rglob("*") if p.is_dir()), reverse=True):
                if not any(d.iterdir()):
                    d.rmdir()
        if self.update:
            for name, data in files.items():
                self(f"{rel}/{name}", data)
        have = present() if folder.exists() else set()
        assert have == set(files), (
            f"tests/golden/{rel}: missing {sorted(set(files) - have)}, "
            f"extra {sorted(have - set(files))} {self._hint()}")
        for name, data in sorted(files.items()):
            self(f"{rel}/{name}", data)


@pytest.fixture(scope="session")
def golden(pytestconfig: pytest.Config) -> Golden:
    """Compare rendered output with tests/golden/ (see :class:`Golden`)."""
    update = (pytestconfig.getoption("--update-golden")
              or os.environ.get(UPDATE_GOLDEN_ENV) == "1")
    return Golden(GOLDEN, update)
