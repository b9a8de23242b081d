"""zongheng's Python entry point: what every command does, without printing or exiting.

Use it from a notebook or a script the way pybatfish is used::

    from zongheng import api

    compiled = api.load("policies/heilongjiang.zh")      # parse, check, allocate, compile
    run = api.verify(compiled)                            # prove every assertion
    run.outcome, [(r.name, r.status) for r in run.results]
    api.compile(compiled, "out/hlj", targets="cisco-ios-xe,junos")
    api.query(compiled, "horizontal(tax) at hrb", "vertical(tax)").verdict
    api.diff("old.zh", "new.zh").opened

Every function takes a policy as a path or as an already loaded :class:`Compiled`.
Bad input raises :class:`~zongheng.compiler.errors.InputError` (the command line
prints it and exits 2; a :class:`PolicyError` carries located diagnostics);
results are typed objects from the libraries below, each with an ``outcome``
(holds, broken, unknown) that ``cli.exits`` turns into the exit status. The
policy's warnings are on ``Compiled.warnings``; printing them is the caller's
choice.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from zongheng.compiler.errors import Diagnostic, InputError, PolicyError
from zongheng.compiler.model import Network
from zongheng.compiler.pipeline import Compiled, compile_file
from zongheng.compiler.source import read_input
from zongheng.verifier.results import AssertionResult, Outcome, outcome

if TYPE_CHECKING:

    from zongheng.emitters.inventory import Inventory
    from zongheng.emulation.core import Report as EmulateReport
    from zongheng.importers.drift import Finding
    from zongheng.reports.bundle import AuditReport
    from zongheng.verifier.diff import DiffResult
    from zongheng.verifier.query import QueryAnswer

Policy = "str | Path | Compiled | Subject"
Progress = "Callable[[int, int], None]"  # (obligations done, total)

__all__ = [
    "Compiled", "Drift", "Policy", "Subject", "Verification", "audit", "audit_config",
    "check", "compile", "diff", "emulate", "format_file", "format_policy", "lint", "load",
    "query", "report", "subject", "verify", "write_bundle",
]


def load(policy: Policy) -> Compiled:
    """The compiled network model of a policy (parse, check, allocate, compile).

    Raises :class:`PolicyError` with every located error of the file."""
    if isinstance(policy, Compiled):
        return policy
    if isinstance(policy, Subject):
        return policy.compiled
    return compile_file(policy)


def check(policy: Policy) -> Compiled:
    """Parse and check a policy; its warnings are on ``.warnings``."""
    return load(policy)


@dataclass(frozen=True)
class Subject:
    """The network a proving command reasons about: the compiled model, or the one the
    configs in ``configs`` build (``notes``: what reading them left out)."""

    compiled: Compiled
    network: Network
    configs: str | None = None
    notes: tuple[str, ...] = ()
    reading: str = ""  # with configs: one line on what was read and what left out
    # the device inventory (each device's platform): the configs' port names, and
    # which platform's config a counterexample's ACL line is named in
    inventory: Inventory | None = None


def subject(policy: Policy, from_configs: str | Path | None = None,
            inventory: str | Path | None = None, reads_inventory: bool = True) -> Subject:
    """The compiled network, or the network the configs under ``from_configs`` build
    (``DIR/<device>/<target>.<ext>``; a device without a config keeps its compiled form
    and is named in ``notes``). ``inventory``: the device inventory the configs were
    compiled with, whose port names are read back to the model's; without configs it
    only says each device's platform (``verify`` names config lines by it).
    ``reads_inventory``: the caller can be given one (``emulate`` cannot: its lab
    names ports as the model does)."""
    if isinstance(policy, Subject):
        return policy
    compiled = load(policy)
    if from_configs is None:
        return Subject(compiled, compiled.network,
                       inventory=load_inventory(inventory, compiled.network))
    from zongheng.importers import network_from_configs, reading_summary

    directory = Path(from_configs)
    if not directory.is_dir():
        raise InputError(f"{directory}: error: no such directory of configs")
    inv = load_inventory(inventory, compiled.network)
    _check_compiled_inventory(directory, inv, reads_inventory)
    try:
        network, notes = network_from_configs(compiled.network, directory, inv)
    except PolicyError:
        raise
    except InputError as exc:
        raise InputError(f"{directory}: error: {exc}") from exc
    return Subject(compiled, network, str(from_configs), tuple(notes),
                   reading_summary(compiled.network, directory), inv)


def _check_compiled_inventory(directory: Path, inventory: Inventory | None,
                              reads_inventory: bool = True) -> None:
    """Configs a compile wrote with an inventory are read with that inventory: its port
    names are not the model's, so without it every renamed port would read as unbound."""
    import json

    try:
        manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return  # not a compile's tree (an operator's export): nothing to hold it to
    used = manifest.get("inventory") if isinstance(manifest, dict) else None
    if used is None:
        return
    if inventory is None and not reads_inventory:
        raise InputError(f"{directory}: error: these configs were compiled with the device "
                         f"inventory {used}, whose port names the lab does not emulate; "
                         "compile them again without --inventory")
    if inventory is None:
        raise InputError(f"{directory}: error: these configs were compiled with the device "
                         f"inventory {used}; read them with --inventory {used}")
    if manifest.get("inventory_sha256") != inventory.sha256:
        raise InputError(f"{inventory.file}: error: not the inventory {directory} was "
                         f"compiled with ({used}, sha256 {manifest.get('inventory_sha256')})")


@dataclass(frozen=True)
class Verification:
    """Every assertion's result on one subject, in the policy's order."""

    subject: Subject
    results: list[AssertionResult]

    @property
    def outcome(self) -> Outcome:
        return outcome(r.status for r in self.results)


def verify(policy: Policy, *, timeout_s: int = 60, defence: bool = False,
           from_configs: str | Path | None = None, with_smt2: bool = False,
           workers: int | None = None, scheduler: str | None = None,
           cache: str | Path | None = None, progress: Progress | None = None) -> Verification:
    """Prove every built-in and policy assertion (``defence``: also with ACLs removed and
    with routing leaked; ``with_smt2``: keep each obligation's SMT-LIB text for a bundle).

    ``workers``: local processes (default: the machine's cores); ``scheduler``: a Dask
    scheduler address to solve on instead; ``cache``: a directory of earlier answers,
    so a re-run solves only obligations whose formula changed. ``progress(done, total)``
    is called as obligations finish. The results are the same bytes however it runs.
    """
    from zongheng.verifier.engine import verify_network

    subj = subject(policy, from_configs)
    opts = _engine_options(workers, scheduler, cache)
    results = verify_network(subj.network, timeout_ms=timeout_s * 1000, defence=defence,
                             with_smt2=with_smt2, options=opts, progress=progress)
    return Verification(subj, results)


def _engine_options(workers: int | None, scheduler: str | None, cache: str | Path | None):
    """How the proof engine runs (verify, report, diff, query, lint alike)."""
    from zongheng.verifier.engine import default_workers
    from zongheng.verifier.solving import Options

    return Options(workers=default_workers() if workers is None else workers,
                   scheduler=scheduler, cache=Path(cache) if cache is not None else None)


def write_bundle(run: Verification, directory: str | Path, policy_path: str | Path,
                 configs: str | Path | None = None, sign: str | Path | None = None) -> Path:
    """Write the proof bundle of a verification made ``with_smt2``; returns the manifest.
    ``sign``: an Ed25519 private key; its signature of the manifest goes beside it."""
    from zongheng.reports.bundle import BundleError
    from zongheng.reports.bundle import write_bundle as write
    from zongheng.reports.signing import load_private_key, sign_manifest

    subj = run.subject
    configs = configs or subj.configs
    key = load_private_key(Path(sign)) if sign is not None else None  # refused before writing
    try:
        manifest = write(Path(directory), subj.network, run.results, Path(policy_path),
                         Path(configs) if configs else None,
                         list(subj.notes) if subj.configs else None)
    except BundleError as exc:
        raise InputError(f"{directory}: error: {exc}") from exc
    if key is not None:
        sign_manifest(manifest, key)
    return manifest


def compile(policy: Policy, out: str | Path | None = None, targets: str = "all",
            templates: str | Path | None = None, force: bool = False,
            inventory: str | Path | None = None, model: bool = True,
            workers: int | None = None) -> dict:
    """Render the configs of every device; with ``out``, write them (replacing the
    directory atomically; one holding files no compile wrote only with ``force``) and
    return the manifest, else return ``{path: bytes}``. ``inventory``: a device
    inventory (TOML: platforms, port names, PKI; docs/inventory.md), checked against
    the compiled devices before anything is written. ``model``: False leaves
    ``model.json`` out. ``workers``: processes writing the files (default: the machine's
    cores); the bytes are the same however many."""
    from zongheng.emitters.writer import (
        default_workers,
        parse_targets,
        render_tree,
        write_outputs,
    )

    network = load(policy).network
    inv = load_inventory(inventory, network)
    if out is None:
        return render_tree(network, parse_targets(targets), templates, inv, model=model)
    return write_outputs(network, str(out), targets, templates, force=force, inventory=inv,
                         model=model,
                         workers=default_workers() if workers is None else workers)


def load_inventory(path: str | Path | None, network: Network) -> Inventory | None:
    """The device inventory at ``path`` checked against ``network`` (None: no inventory)."""
    if path is None:
        return None
    from zongheng.emitters.inventory import load_inventory as read

    return read(path, network)


def format_policy(text: str, path: str = "<policy>") -> str:
    """``text`` in the one canonical layout (``zongheng fmt``): comments kept, the same
    tokens, so the same compiled network. Raises :class:`PolicyError` with every located
    syntax error (the policy's meaning is not checked: ``check`` does that)."""
    from zongheng.compiler.parser import parse
    from zongheng.grammar.formatter import format_source

    parse(path, text)
    return format_source(text, path)


def format_file(path: str | Path, write: bool = False) -> tuple[bool, str]:
    """Whether the policy at ``path`` (``-``: standard input) is not in the canonical
    layout, and that layout. With ``write``, a changed file is replaced atomically (a
    temporary file beside it, renamed over it, its mode kept): never half-written, and
    untouched on any error."""
    from zongheng.compiler.parser import decode
    from zongheng.compiler.pipeline import read_policy

    file, data = read_policy(path)
    formatted = format_policy(decode(file, data), file)
    changed = formatted.encode("utf-8") != data
    if write and changed and str(path) != "-":
        target = Path(path).resolve()  # through a symlink: the link stays a link
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(formatted.encode("utf-8"))
                out.flush()
                os.fsync(out.fileno())
            os.chmod(tmp, target.stat().st_mode & 0o7777)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return changed, formatted


def lint(policy: Policy, timeout_s: int = 10, *, workers: int | None = None,
         scheduler: str | None = None, cache: str | Path | None = None
         ) -> list[Diagnostic]:
    """Shadowed rules, rules with no effect, unused names (warnings, proven with z3;
    ``workers``, ``scheduler``, ``cache`` as for :func:`verify`)."""
    from zongheng.compiler.parser import decode, parse
    from zongheng.verifier.lint import lint as run_lint

    compiled = load(policy)
    path = compiled.network.policy_file
    ast = parse(path, decode(path, compiled.source))
    return run_lint(compiled.network, ast, timeout_ms=timeout_s * 1000,
                    options=_engine_options(workers, scheduler, cache))


def query(policy: Policy, src: str, dst: str, services: tuple[str, ...] = (),
          timeout_s: int = 60, from_configs: str | Path | None = None, *,
          workers: int | None = None, scheduler: str | None = None,
          cache: str | Path | None = None) -> QueryAnswer:
    """Can ``src`` reach ``dst`` (endpoint expressions, as in rules)? An example delivered
    packet with its path and an example dropped one with the line that drops it
    (``workers``, ``scheduler``, ``cache`` as for :func:`verify`)."""
    from zongheng.verifier.query import answer_query, resolve_expression

    compiled = load(policy)
    src_pairs = resolve_expression(compiled, "--from", src)
    dst_pairs = resolve_expression(compiled, "--to", dst)
    unknown = [s for s in services if s not in compiled.plan.services and s != "any"]
    if unknown:
        raise InputError(f"error: unknown service {', '.join(repr(u) for u in unknown)}"
                         f" (declared: {', '.join(sorted(compiled.plan.services))})")
    network = subject(policy, from_configs).network
    return answer_query(network, src, src_pairs, dst, dst_pairs, services,
                        {k: tuple(v) for k, v in compiled.plan.services.items()},
                        timeout_ms=timeout_s * 1000,
                        options=_engine_options(workers, scheduler, cache))


def diff(old: Policy, new: Policy, timeout_s: int = 60, *, workers: int | None = None,
         scheduler: str | None = None, cache: str | Path | None = None,
         progress: Progress | None = None) -> DiffResult:
    """What the change from ``old`` to ``new`` opens and closes, per endpoint class pair
    (``workers``, ``scheduler``, ``cache``, ``progress`` as for :func:`verify`)."""
    from zongheng.verifier.diff import diff_networks

    compiled: list[Compiled] = []
    errors: list[Diagnostic] = []
    for p in (old, new):
        try:
            compiled.append(load(p))
        except PolicyError as exc:
            errors += exc.diagnostics
    if errors:
        raise PolicyError(errors)
    a, b = compiled
    return diff_networks(a.network, b.network, str(_name(old)), str(_name(new)),
                         {k: tuple(v) for k, v in a.plan.services.items()},
                         {k: tuple(v) for k, v in b.plan.services.items()},
                         timeout_ms=timeout_s * 1000,
                         options=_engine_options(workers, scheduler, cache), progress=progress)


def _name(policy: Policy) -> str:
    return str(policy) if isinstance(policy, str | Path) else load(policy).network.policy_file


@dataclass(frozen=True)
class Report:
    """The auditor's HTML page and the verification it states."""

    html: str
    verification: Verification


def report(policy: Policy, timeout_s: int = 60,
           from_configs: str | Path | None = None, workers: int | None = None,
           scheduler: str | None = None, cache: str | Path | None = None,
           progress: Progress | None = None) -> Report:
    """The auditor's report: one self-contained HTML page (no date: same input, same bytes)."""
    from zongheng.reports.html_report import render_report

    run = verify(subject(policy, from_configs), timeout_s=timeout_s, defence=True,
                 workers=workers, scheduler=scheduler, cache=cache, progress=progress)
    subj = run.subject
    network, plan = subj.network, subj.compiled.plan
    file = subj.compiled.network.policy_file
    html = render_report(
        network, run.results, file, timeout_s=timeout_s,
        source=_policy_source(file, network.policy_sha256),
        region_display=dict(plan.region_display),
        department_display={k: d.display for k, d in plan.departments.items()},
        configs=subj.configs, config_notes=list(subj.notes) if subj.configs else None,
    )
    return Report(html, run)


def _policy_source(path: str, sha256: str) -> str | None:
    """The policy text for the report's appendix, only if it is still the compiled bytes."""
    from zongheng.compiler.parser import decode

    try:
        data = Path(path).read_bytes()
        if hashlib.sha256(data).hexdigest() != sha256:
            return None
        return decode(path, data)
    except (OSError, PolicyError):
        return None


def audit(bundle: str | Path, solver: str = "z3", timeout_s: int = 300,
          regenerate: bool = True, trust: str | Path | None = None) -> AuditReport:
    """Re-check a proof bundle: paths and hashes, the signature against ``trust`` (a
    public key), every obligation regenerated from the bundled policy and compared
    (``regenerate``), then every obligation with each solver."""
    from zongheng.reports.bundle import audit_bundle, resolve_solvers

    path = Path(bundle)
    if not path.is_dir():
        raise InputError(f"{bundle}: error: no such bundle directory")
    run, missing = resolve_solvers(solver)
    if not run:
        raise InputError(f"error: {', '.join(missing)} is not installed "
                         "(pip install 'zongheng[audit]' for cvc5)")
    if trust is not None:
        from zongheng.reports.signing import load_public_key

        load_public_key(Path(trust))  # a bad key is bad input, not a failed audit
    return audit_bundle(path, solver, timeout_s * 1000, recompile=regenerate,
                        trust=Path(trust) if trust is not None else None)


@dataclass(frozen=True)
class Drift:
    """What one device's config does differently from the compiled intent."""

    config: str
    device: str
    target: str
    findings: list[Finding]

    @property
    def outcome(self) -> Outcome:
        return Outcome.BROKEN if self.findings else Outcome.HOLDS


def audit_config(config: str | Path, policy: Policy, device: str, target: str | None = None,
                 timeout_s: int = 30, inventory: str | Path | None = None) -> Drift:
    """Compare one device's real config with its compiled intent (``target``: the
    config's dialect, guessed from its name and content when omitted; ``inventory``:
    the device inventory, whose port names the config uses). Raises
    ``TimeoutError`` when z3 cannot decide a comparison (never "no drift")."""
    from zongheng.compiler.model import Device
    from zongheng.importers import ConfigError, import_config
    from zongheng.importers.drift import batch_findings, compare, guess_target
    from zongheng.importers.iproute2_batch import BATCH, batch_beside

    compiled = load(policy)
    network = compiled.network
    dev: Device | None = next((d for d in network.devices if d.name == device), None)
    if dev is None:
        raise InputError(f"{compiled.network.policy_file}: error: no device {device!r}; "
                         f"devices: {', '.join(d.name for d in network.devices)}")
    inv = load_inventory(inventory, network)
    path = Path(config)
    try:
        text = read_input(path, "config file").decode("utf-8", errors="replace")
    except InputError as exc:
        raise InputError(f"{config}: error: cannot read the config: {exc}") from exc
    if target is None and (path.name == BATCH or path.suffix == ".batch"):
        target = "iproute2"
    target = target or guess_target(path, text)
    if target is None:
        raise InputError(f"{config}: error: cannot tell the config's dialect; give --target")
    try:
        if target == "iproute2":  # the Linux routing alone: compared, not imported
            findings = batch_findings(network, dev, path, inv)
        else:
            ports = inv.ports_for(dev.name, target) if inv else None
            imported = import_config(target, text, dev, str(config), ports, network)
            findings = compare(dev, imported, timeout_s * 1000, network, inv)
            batch = batch_beside(path) if target == "nftables" else None
            if batch is not None:
                findings += batch_findings(network, dev, batch, inv)
    except ConfigError:
        raise
    except InputError as exc:  # the compiled device cannot be rendered in that dialect
        raise InputError(f"{config}: error: {exc}") from exc
    return Drift(str(config), device, target, findings)


def emulate(policy: Policy, max_probes: int = 1000, timeout: float = 1.0,
            solver_timeout_s: int = 60,
            from_configs: str | Path | None = None) -> EmulateReport:
    """Run the Linux rendering in network namespaces (root) and compare real packets with
    the verifier's verdicts; with ``from_configs``, the Linux files found there."""
    from zongheng.emulation.core import emulate as run
    from zongheng.emulation.core import emulate_files, files_from_configs, probe_ports

    subj = subject(policy, from_configs)
    services = {k: tuple(v) for k, v in subj.compiled.plan.services.items()}
    if from_configs is None:
        return run(subj.network, services, max_probes=max_probes, timeout=timeout,
                   timeout_ms=solver_timeout_s * 1000)
    files, missing = files_from_configs(subj.compiled.network, Path(from_configs))
    report = emulate_files(subj.network, files, probe_ports(services), max_probes, timeout,
                           solver_timeout_s * 1000)
    report.notes = list(subj.notes) + missing + report.notes
    return report
