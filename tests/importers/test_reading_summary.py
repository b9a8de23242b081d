"""``--from-configs DIR`` says in one line what it read and what it left out."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from zongheng.cli import main

MINIMAL = "policies/minimal.zh"


def test_from_configs_states_devices_dialects_and_files_left_out(compile_into) -> None:
    out: Path = compile_into("cisco-ios-xe,huawei-vrp,nftables,iproute2")
    (out / "pe-south" / "cisco-ios-xe.cfg").unlink()  # pe-south is read as huawei-vrp
    for name in ("cisco-ios-xe.cfg", "huawei-vrp.cfg", "nftables.nft", "iproute2.batch"):
        (out / "pe-north" / name).unlink()  # pe-north: no config, its compiled form
    (out / "notes.txt").write_text("operator's notes\n", encoding="utf-8")
    r = CliRunner().invoke(main, ["verify", MINIMAL, "--from-configs", str(out),
                                  "--format", "json"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert r.stdout.startswith("{")  # the line is on stderr: JSON stays clean
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith(f"configs {out}:")]
    assert lines == [
        f"configs {out}: read 3 of 4 devices (cisco-ios-xe 2, huawei-vrp 1); 1 without a "
        "config kept its compiled form; 9 files left out (huawei-vrp 2, iproute2 3, "
        "nftables 3, notes 1)"], r.stderr
    assert f"{out}: no config for pe-north; its compiled form is used" in r.stderr
