"""``--inventory`` on the command line: compile, audit-config, verify --from-configs.

A bad inventory is exit 2 with a located message and nothing written; configs
compiled with an inventory read back to the compiled intent only through the
same inventory; ``make demo``'s compile line works as written.
"""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path

from support.paths import REPO

from zongheng.emulation import lab

MINIMAL = "policies/minimal.zh"
INVENTORY = """\
[roles.pe]
platform = "huawei-ar"
ports = { eth0 = "GigabitEthernet0/0/8", eth1 = "GigabitEthernet0/0/5" }

[devices.pe-prov]
platform = "huawei-ne"
[devices.pe-prov.ports]
eth0 = "GigabitEthernet1/0/0"
eth1 = "GigabitEthernet1/0/1"
eth2 = "GigabitEthernet2/0/0"
eth3 = "GigabitEthernet3/0/0"

[roles.exit]
platform = "junos-srx"
ports = { eth0 = "ge-0/0/2", eth1 = "ge-0/0/3" }
"""


def _inventory(tmp_path: Path, text: str = INVENTORY) -> Path:
    path = tmp_path / "inv.toml"
    path.write_text(text)
    return path


def test_bad_inventory_exit_2_nothing_written(zh, tmp_path: Path) -> None:
    inv = _inventory(tmp_path, '[devices.pe-north]\nplatform = "huawei-ar"\n'
                               'ports = { eth9 = "GigabitEthernet0/0/9" }\n')
    out = tmp_path / "made" / "out"
    r = zh("compile", MINIMAL, "-o", str(out), "--inventory", str(inv))
    assert r.returncode == 2
    assert r.stderr.decode().startswith(f"{inv}:3: error: unknown port 'eth9' for "
                                        "devices.pe-north")
    assert "Traceback" not in r.stderr.decode()
    assert not (tmp_path / "made").exists()


def test_missing_inventory_file_exit_2(zh, tmp_path: Path) -> None:
    r = zh("compile", MINIMAL, "-o", str(tmp_path / "out"), "--inventory",
           str(tmp_path / "nope.toml"))
    assert r.returncode == 2
    assert r.stderr.decode().strip() == (f"{tmp_path / 'nope.toml'}: error: cannot read the "
                                         "inventory: no such file")
    assert not (tmp_path / "out").exists()


def test_target_not_matching_a_platform_exit_2(zh, tmp_path: Path) -> None:
    r = zh("compile", MINIMAL, "-o", str(tmp_path / "out"), "--target", "huawei-vrp",
           "--inventory", str(_inventory(tmp_path)))
    assert r.returncode == 2
    assert "exit-prov is a junos-srx (junos) but the target asked for is huawei-vrp" in \
        r.stderr.decode()
    assert not (tmp_path / "out").exists()


def test_inventory_needs_from_configs(zh, tmp_path: Path) -> None:
    """query and report read an inventory with configs only; verify also takes it alone
    (to name config lines by platform: test_cli_verify_lines.py)."""
    inv = str(_inventory(tmp_path))
    for args in (("query", MINIMAL, "--from", "internet", "--to", "host(portal)"),
                 ("report", MINIMAL, "-o", str(tmp_path / "r.html"))):
        r = zh(*args, "--inventory", inv)
        assert r.returncode == 2, args
        assert r.stderr.decode().strip() == (f"{inv}: error: an inventory is read with "
                                             "configs only (give --from-configs DIR)")
    assert not (tmp_path / "r.html").exists()
    assert zh("verify", MINIMAL, "--inventory", inv).returncode == 0


def test_configs_read_back_through_the_same_inventory(zh, tmp_path: Path) -> None:
    """Round trip: compile with the inventory, audit each router config with it (no drift)
    and without it (the model's ports are not in the config: its ACLs are unbound)."""
    inv = _inventory(tmp_path)
    out = tmp_path / "out"
    r = zh("compile", MINIMAL, "-o", str(out), "--inventory", str(inv))
    assert r.returncode == 0, r.stderr.decode()
    assert "interface GigabitEthernet3/0/0.102\n" in (out / "pe-prov/huawei-vrp.cfg").read_text()
    assert "set interfaces ge-0/0/3 unit 0" in (out / "exit-prov/junos.set").read_text()
    # without the inventory: Huawei ACLs read as unbound (drift, 1); the SRX's zones hold
    # no model port, which its importer refuses at the line (2)
    for device, config, status, says in (
            ("pe-prov", "huawei-vrp.cfg", 1, ": unbound: "),
            ("pe-north", "huawei-vrp.cfg", 1, ": unbound: "),
            ("exit-prov", "junos.set", 2, "error: zone 'untrust' has no interface")):
        path = str(out / device / config)
        r = zh("audit-config", path, "--policy", MINIMAL, "--device", device,
               "--inventory", str(inv))
        assert r.returncode == 0, r.stdout.decode() + r.stderr.decode()
        assert "no drift" in r.stdout.decode()
        r = zh("audit-config", path, "--policy", MINIMAL, "--device", device)
        assert r.returncode == status, r.stdout.decode() + r.stderr.decode()
        assert says in r.stdout.decode() + r.stderr.decode()
    r = zh("verify", MINIMAL, "--from-configs", str(out), "--inventory", str(inv))
    assert r.returncode == 0, r.stdout.decode() + r.stderr.decode()
    # the manifest names the inventory: reading the tree without it, or with another
    # one, is refused rather than proven on unbound ports
    r = zh("verify", MINIMAL, "--from-configs", str(out))
    assert r.returncode == 2
    assert r.stderr.decode().strip() == (f"{out}: error: these configs were compiled with the "
                                         f"device inventory {inv}; read them with "
                                         f"--inventory {inv}")
    if os.geteuid() == 0 and not lab.missing_tools():  # emulate gets this far as root
        r = zh("emulate", MINIMAL, "--from-configs", str(out))
        assert r.returncode == 2
        says = r.stderr.decode()
        assert f"compiled with the device inventory {inv}, whose port names" in says
        assert "read them with --inventory" not in says  # emulate has no --inventory
    other = tmp_path / "other.toml"
    other.write_text(inv.read_text() + "# edited\n")
    r = zh("verify", MINIMAL, "--from-configs", str(out), "--inventory", str(other))
    assert r.returncode == 2
    assert f"{other}: error: not the inventory {out} was compiled with" in r.stderr.decode()


def test_make_demo_compile_line_works(zh, tmp_path: Path) -> None:
    """The compile line of ``make demo``, run as the Makefile writes it (output elsewhere)."""
    make = (REPO / "Makefile").read_text().replace("\\\n", " ")
    line = next(ln for ln in make.splitlines() if "zongheng compile" in ln)
    args = shlex.split(line.split("zongheng", 1)[1])
    assert "--inventory" in args
    args[args.index("-o") + 1] = str(tmp_path / "hlj")
    r = zh(*args)
    assert r.returncode == 0, r.stderr.decode()
    assert re.search(r"wrote \d+ files", r.stdout.decode())
    text = (tmp_path / "hlj" / "pe-hlj" / "huawei-vrp.cfg").read_text()
    assert "interface GigabitEthernet3/0/0.10\n" in text
    assert not (tmp_path / "hlj" / "pe-hlj" / "cisco-ios-xe.cfg").exists()
