"""write_outputs: the output tree, its manifest, and all-or-nothing replacement."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
from pathlib import Path

import pytest

import zongheng
from zongheng.compiler.model import from_json, to_json
from zongheng.emitters import target_names
from zongheng.emitters import writer as writer_mod
from zongheng.emitters.writer import OutputError, parse_targets, write_outputs

TARGETS = ["iproute2", "nftables", "strongswan", "wireguard"]


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def leftovers(parent: Path, name: str) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith(f".{name}."))


def test_tree_manifest_and_model(tmp_path: Path, small_network) -> None:
    net = small_network()
    out = tmp_path / "out"
    manifest = write_outputs(net, out, TARGETS)
    files = snapshot(out)
    assert set(files) == set(manifest["files"]) | {"manifest.json"}
    for rel, digest in manifest["files"].items():
        assert hashlib.sha256(files[rel]).hexdigest() == digest
    assert json.loads(files["manifest.json"]) == manifest
    assert set(manifest) == {"files", "policy", "policy_sha256", "targets", "zongheng_version"}
    assert manifest["targets"] == TARGETS
    assert manifest["zongheng_version"] == zongheng.__version__
    assert manifest["policy_sha256"] == net.policy_sha256
    assert from_json(files["model.json"].decode()) == net
    assert files["model.json"].decode() == to_json(net)
    for device in net.devices:
        assert f"{device.name}/nftables.nft" in files
        assert f"{device.name}/iproute2.batch" in files
    assert "pe-hlj/wireguard/wg-v-tax.conf" in files
    assert "inner-hlj/strongswan.swanctl.conf" in files
    assert "exit-hlj/strongswan.swanctl.conf" not in files  # no tunnel there
    assert leftovers(tmp_path, "out") == []


def test_second_write_replaces_the_whole_tree(tmp_path: Path, small_network) -> None:
    out = tmp_path / "out"
    write_outputs(small_network(), out, TARGETS)
    write_outputs(small_network(), out, ["nftables"])
    files = snapshot(out)
    assert not any(rel.endswith(".batch") for rel in files)
    assert leftovers(tmp_path, "out") == []


def test_files_a_compile_did_not_write_are_kept_and_named(tmp_path: Path, small_network) -> None:
    out = tmp_path / "out"
    write_outputs(small_network(), out, TARGETS)
    (out / "stale.txt").write_text("mine")
    (out / "pe-hlj" / "notes.md").write_text("mine too")
    before = snapshot(out)
    with pytest.raises(OutputError, match=r"did not write \(pe-hlj/notes.md, stale.txt\)"):
        write_outputs(small_network(), out, ["nftables"])
    assert snapshot(out) == before
    write_outputs(small_network(), out, ["nftables"], force=True)  # --force replaces
    assert "stale.txt" not in snapshot(out)


def test_a_directory_of_the_engineer_s_own_is_refused(tmp_path: Path, small_network) -> None:
    own = tmp_path / "configs"
    own.mkdir()
    (own / "router1.cfg").write_text("hostname r1")
    with pytest.raises(OutputError, match="router1.cfg"):
        write_outputs(small_network(), own, TARGETS)
    assert snapshot(own) == {"router1.cfg": b"hostname r1"}
    empty = tmp_path / "empty"
    empty.mkdir()
    write_outputs(small_network(), empty, ["nftables"])  # an empty directory is fine
    assert (empty / "manifest.json").is_file()


def test_the_current_directory_and_its_parents_are_refused(tmp_path: Path, monkeypatch,
                                                           small_network) -> None:
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    for path in (".", "..", str(work), "/"):
        with pytest.raises(OutputError, match="current directory|mount point"):
            write_outputs(small_network(), path, ["nftables"])
    assert list(work.iterdir()) == []


def test_a_symlink_is_followed_never_replaced(tmp_path: Path, small_network) -> None:
    real = tmp_path / "real"
    write_outputs(small_network(), real, ["nftables"])
    link = tmp_path / "link"
    link.symlink_to(real, target_is_directory=True)
    write_outputs(small_network(), link, ["nftables", "iproute2"])
    assert link.is_symlink() and link.resolve() == real.resolve()
    assert any(rel.endswith(".batch") for rel in snapshot(real))
    assert leftovers(tmp_path, "real") == [] and leftovers(tmp_path, "link") == []
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "nowhere")
    with pytest.raises(OutputError, match="does not exist"):
        write_outputs(small_network(), dangling, ["nftables"])
    assert dangling.is_symlink()


@pytest.fixture
def old_tree(tmp_path: Path, small_network) -> tuple[Path, dict[str, bytes]]:
    """A tree written before the test: (its directory, its snapshot)."""
    out = tmp_path / "out"
    write_outputs(small_network(), out, ["nftables"])
    return out, snapshot(out)


def _broken_template(tmp_path: Path, target: str, name: str) -> Path:
    """A --templates directory whose one template names an undefined variable."""
    broken = tmp_path / "tpl" / target
    broken.mkdir(parents=True)
    (broken / name).write_text("{{ no_such_variable }}\n")
    return tmp_path / "tpl"


def test_render_error_leaves_previous_tree_untouched(tmp_path: Path, small_network,
                                                     old_tree) -> None:
    out, before = old_tree
    with pytest.raises(Exception, match="no_such_variable"):
        write_outputs(small_network(), out, TARGETS,
                      template_dir=_broken_template(tmp_path, "iproute2", "device.batch.j2"))
    assert snapshot(out) == before
    assert leftovers(tmp_path, "out") == []


def test_write_error_midway_leaves_previous_tree_untouched(tmp_path: Path, monkeypatch,
                                                           small_network, old_tree) -> None:
    out, before = old_tree
    real = writer_mod._write_tree

    def half(root: Path, files) -> dict[str, str]:
        real(root, itertools.islice(files, 3))
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(writer_mod, "_write_tree", half)
    with pytest.raises(OSError, match="No space"):
        write_outputs(small_network(), out, TARGETS)
    assert snapshot(out) == before
    assert leftovers(tmp_path, "out") == []


def test_interrupt_midway_leaves_previous_tree_untouched(tmp_path: Path, monkeypatch,
                                                         small_network, old_tree) -> None:
    """Ctrl-C (or SIGTERM, which the command turns into the same) while writing."""
    out, before = old_tree
    real = writer_mod._write_tree

    def interrupted(root: Path, files) -> dict[str, str]:
        real(root, itertools.islice(files, 5))
        raise KeyboardInterrupt

    monkeypatch.setattr(writer_mod, "_write_tree", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_outputs(small_network(), out, TARGETS)
    assert snapshot(out) == before
    assert leftovers(tmp_path, "out") == []


def test_exchange_error_restores_previous_tree(tmp_path: Path, monkeypatch, small_network,
                                               old_tree) -> None:
    out, before = old_tree

    def broken(a, b):
        raise OSError(5, "I/O error")

    monkeypatch.setattr(writer_mod, "exchange", broken)
    with pytest.raises(OSError, match="I/O error"):
        write_outputs(small_network(), out, TARGETS)
    assert snapshot(out) == before
    assert leftovers(tmp_path, "out") == []


def test_swap_error_restores_previous_tree(tmp_path: Path, monkeypatch, small_network,
                                           old_tree) -> None:
    """Without renameat2 (another kernel or filesystem): two renames, undone on failure."""
    out, before = old_tree
    monkeypatch.setattr(writer_mod, "exchange", lambda a, b: False)
    real = os.rename
    calls = []

    def flaky(src, dst):
        calls.append((src, dst))
        if len(calls) == 2:  # moving the new tree in
            raise OSError(5, "I/O error")
        return real(src, dst)

    monkeypatch.setattr(writer_mod.os, "rename", flaky)
    with pytest.raises(OSError, match="I/O error"):
        write_outputs(small_network(), out, TARGETS)
    monkeypatch.undo()
    assert snapshot(out) == before
    assert leftovers(tmp_path, "out") == []


def test_bad_targets_and_paths_write_nothing(tmp_path: Path, small_network) -> None:
    with pytest.raises(OutputError, match="unknown target"):
        write_outputs(small_network(), tmp_path / "out", ["nftables", "ios-classic"])
    assert not (tmp_path / "out").exists()
    afile = tmp_path / "file"
    afile.write_text("x")
    with pytest.raises(OutputError, match="not a directory"):
        write_outputs(small_network(), afile, TARGETS)
    assert afile.read_text() == "x"
    with pytest.raises(OutputError, match="cannot create"):
        write_outputs(small_network(), afile / "under-a-file" / "out", TARGETS)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_missing_parent_directories_are_created(tmp_path: Path, small_network) -> None:
    """`-o out/heilongjiang` on a fresh checkout works like `mkdir -p`."""
    manifest = write_outputs(small_network(), tmp_path / "a" / "b" / "out", TARGETS)
    out = tmp_path / "a" / "b" / "out"
    assert sorted(manifest["files"]) == sorted(
        str(p.relative_to(out)) for p in out.rglob("*") if p.is_file() and
        p.name != "manifest.json")


def test_parse_targets() -> None:
    assert parse_targets("all") == target_names()
    assert set(TARGETS) <= set(target_names())
    assert parse_targets("wireguard, nftables,nftables") == ["nftables", "wireguard"]
    with pytest.raises(OutputError):
        parse_targets("")
    with pytest.raises(OutputError):
        parse_targets(["nope"])


def test_same_input_same_bytes(tmp_path: Path, small_network) -> None:
    write_outputs(small_network(), tmp_path / "a", TARGETS)
    write_outputs(small_network(), tmp_path / "b", TARGETS)
    assert snapshot(tmp_path / "a") == snapshot(tmp_path / "b")


@pytest.mark.parametrize("template", ["{{ no_such_variable }}\n", "{% for x in %}\n"])
def test_cli_broken_override_template_is_exit_2_and_writes_nothing(tmp_path: Path, zh,
                                                                   template: str) -> None:
    out = tmp_path / "out"
    assert zh("compile", "policies/minimal.zh", "-o", str(out), "--target", "iproute2"
              ).returncode == 0
    previous = snapshot(out)
    tpl = tmp_path / "tpl" / "nftables"
    tpl.mkdir(parents=True)
    (tpl / "device.nft.j2").write_text(template)
    r = zh("compile", "policies/minimal.zh", "-o", str(out), "--target", "nftables,iproute2",
           "--templates", str(tmp_path / "tpl"))
    assert r.returncode == 2, r.stderr
    assert b"Traceback" not in r.stderr
    assert b"target nftables: template error" in r.stderr
    assert snapshot(out) == previous
    assert leftovers(tmp_path, "out") == []


def test_cli_compile_writes_the_tree(tmp_path: Path, zh) -> None:
    out = tmp_path / "out"
    r = zh("compile", "policies/minimal.zh", "-o", str(out), "--target", ",".join(TARGETS))
    assert r.returncode == 0, r.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["targets"] == TARGETS
    assert set(snapshot(out)) == set(manifest["files"]) | {"manifest.json"}


def test_files_are_written_as_they_are_rendered(tmp_path: Path, monkeypatch,
                                                small_network) -> None:
    """compile streams: each file is on disk before the next one is rendered, so a
    province's tree is never held in memory whole."""
    real = writer_mod.iter_files
    on_disk: list[bool] = []

    def watched(network, names, tdir, *rest):
        previous = None
        for rel, data in real(network, names, tdir, *rest):
            if previous is not None:  # the file yielded before this one is written now
                on_disk.append(any(p.name == previous.split("/")[-1]
                                   for p in tmp_path.rglob("*") if p.is_file()))
            previous = rel
            yield rel, data

    monkeypatch.setattr(writer_mod, "iter_files", watched)
    write_outputs(small_network(), tmp_path / "out", TARGETS)
    assert len(on_disk) > 3 and all(on_disk)


def test_model_json_is_written_in_pieces_or_left_out(tmp_path: Path, small_network) -> None:
    """model.json reaches the writer as pieces (never one string), is the compact
    ``to_json`` byte for byte, and ``model=False`` leaves it out of tree and manifest."""
    net = small_network()
    items = dict(writer_mod.iter_files(net, ["nftables"], None))
    assert not isinstance(items["model.json"], bytes)  # a generator of pieces
    assert b"".join(items["model.json"]) == to_json(net).encode()
    with_model = write_outputs(net, tmp_path / "a", ["nftables"])
    without = write_outputs(net, tmp_path / "b", ["nftables"], model=False)
    assert (tmp_path / "a" / "model.json").read_text() == to_json(net)
    assert not (tmp_path / "b" / "model.json").exists()
    assert "model.json" not in without["files"]
    assert {k: v for k, v in with_model["files"].items() if k != "model.json"} == \
        without["files"]


def test_cli_compile_no_model(tmp_path: Path, zh) -> None:
    out = tmp_path / "out"
    r = zh("compile", "policies/minimal.zh", "-o", str(out), "--target", "nftables",
           "--no-model")
    assert r.returncode == 0, r.stderr
    assert not (out / "model.json").exists()
    assert "model.json" not in json.loads((out / "manifest.json").read_text())["files"]


# ------------------------------------------------------------------ --workers
def test_workers_write_the_serial_bytes(tmp_path: Path, zh) -> None:
    """compile --workers 2 (forked processes, each writing its own files) and --workers 1
    write the same tree byte for byte, manifest included."""
    trees = {}
    for n in ("1", "2", "3"):
        out = tmp_path / f"w{n}"
        r = zh("compile", "policies/heilongjiang.zh", "-o", str(out), "--workers", n)
        assert r.returncode == 0, r.stderr
        trees[n] = snapshot(out)
    assert len(trees["1"]) > 100
    assert trees["2"] == trees["1"] and trees["3"] == trees["1"]
    assert leftovers(tmp_path, "w2") == []


def test_workers_units_cover_every_device_once(small_network) -> None:
    """Each target's devices are cut in slices (iproute2, with its network-wide plan,
    is one), then model.json: in serial order."""
    net = small_network()
    units = writer_mod._units(net, TARGETS, 2, True)
    assert [u.order for u in units] == list(range(len(units)))
    for name in TARGETS:
        mine = [u for u in units if u.target == name]
        covered = [i for u in mine for i in range(u.start, u.stop)]
        assert covered == list(range(len(net.devices)))
        assert len(mine) == 1 if name == "iproute2" else len(mine) > 1
    assert units[-1].target is None  # model.json


def test_workers_error_is_the_serial_one_and_leaves_the_tree(tmp_path: Path, monkeypatch,
                                                             small_network, old_tree) -> None:
    """A worker's error reaches the caller as the serial write's first error; the previous
    tree stays, no temporary directory remains."""
    out, before = old_tree
    from zongheng.emitters.nftables import NftablesEmitter

    real = NftablesEmitter.render
    net = small_network()
    late = net.devices[-1].name

    def failing(self, device):
        if device.name in (net.devices[1].name, late):
            raise OSError(28, f"No space left for {device.name}")
        return real(self, device)

    monkeypatch.setattr(NftablesEmitter, "render", failing)  # the forked workers inherit it
    messages = []
    for workers in (1, 2):
        with pytest.raises(OSError, match="No space") as info:
            write_outputs(net, out, TARGETS, workers=workers)
        messages.append(str(info.value))
        assert snapshot(out) == before
        assert leftovers(tmp_path, "out") == []
    assert messages[0] == messages[1] and net.devices[1].name in messages[0]


def test_workers_template_error_names_the_target(tmp_path: Path, small_network,
                                                 old_tree) -> None:
    out, before = old_tree
    with pytest.raises(OutputError, match="target nftables: template error.*no_such_variable"):
        write_outputs(small_network(), out, TARGETS, workers=2,
                      template_dir=_broken_template(tmp_path, "nftables", "device.nft.j2"))
    assert snapshot(out) == before
    assert leftovers(tmp_path, "out") == []


def test_workers_interrupt_leaves_the_previous_tree(tmp_path: Path, monkeypatch,
                                                    small_network, old_tree) -> None:
    """Ctrl-C in the parent while workers write: they are stopped, the tree stays."""
    out, before = old_tree
    real = writer_mod.as_completed

    def interrupted(futures):
        for i, f in enumerate(real(futures)):
            if i == 2:
                raise KeyboardInterrupt
            yield f

    monkeypatch.setattr(writer_mod, "as_completed", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_outputs(small_network(), out, TARGETS, workers=2)
    assert snapshot(out) == before
    assert leftovers(tmp_path, "out") == []


def test_workers_a_killed_worker_is_an_error_and_leaves_the_tree(tmp_path: Path, monkeypatch,
                                                                 small_network,
                                                                 old_tree) -> None:
    """A worker the kernel kills (the OOM killer) ends the compile with one clear error;
    the previous tree stays."""
    out, before = old_tree
    from zongheng.emitters.nftables import NftablesEmitter

    def killed(self, device):
        os.kill(os.getpid(), 9)

    monkeypatch.setattr(NftablesEmitter, "render", killed)
    with pytest.raises(OutputError, match="worker process ended abruptly"):
        write_outputs(small_network(), out, TARGETS, workers=2)
    assert snapshot(out) == before
    assert leftovers(tmp_path, "out") == []
