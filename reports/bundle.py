"""Proof bundles: write what `verify` proved so an auditor can re-check it without zongheng.

A bundle directory holds the policy, the compiled model (``model.json``), the
emitted configs when given, one self-contained commented SMT-LIB 2 script per
proof obligation, ``expected-answers.txt`` and ``manifest.json`` with the
sha256 of every other file. :func:`audit_bundle` checks the hashes and re-runs
every script with z3 and/or cvc5; a proof needs every solver to say ``unsat``.

Hashes catch accidents, not a preparer who rewrites the manifest too. So the
audit also *regenerates*: it compiles the bundled policy again (reading the
bundled configs back for a ``--from-configs`` bundle), requires the bundled
model to be what that gives, encodes every assertion with its own encoder and
requires every bundled obligation to be that formula (compared as terms, in
z3's normal form: let-bindings expanded, structurally identical; the names of
let-bindings depend on the solver's internal ids) and none missing or added.
A signature (:mod:`zongheng.reports.signing`) ties the manifest to a key.
docs/proof-bundle.md states what each check proves and what it does not.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import zongheng
from zongheng.compiler.errors import InputError
from zongheng.compiler.model import Network, to_json
from zongheng.reports.signing import SIGNATURE
from zongheng.verifier.results import (
    PROVEN,
    UNKNOWN,
    VIOLATED,
    AssertionResult,
    ObligationResult,
    Outcome,
)

BUNDLE_FORMAT = "zongheng-proof-bundle/1"
MANIFEST = "manifest.json"
ANSWERS = "expected-answers.txt"
SOLVERS = ("z3", "cvc5")

VERIFY_ANSWER = {PROVEN: "unsat", VIOLATED: "sat", UNKNOWN: "unknown"}


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    return sha256_bytes(path.read_bytes())


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:48] or "assertion"


def _comment(text: str) -> str:
    """One safe comment line body (no newlines or control characters)."""
    return re.sub(r"[\x00-\x1f\x7f]+", " ", text).strip()


def smt_logic(body: str) -> str:
    """QF_BV when the script only uses bit-vectors and Booleans without quantifiers, else ALL."""
    if re.search(r"\(\s*(forall|exists)\b|\bArray\b|\bInt\b|\bReal\b|\bString\b", body):
        return "ALL"
    return "QF_BV"


def obligation_script(ob: ObligationResult, index: int, total: int, network: Network,
                      builtin: bool, file_name: str = "FILE.smt2") -> str:
    """The SMT-LIB 2 text of one obligation with a header an auditor can read."""
    body = ob.smt2 if ob.smt2.endswith("\n") else ob.smt2 + "\n"
    kind = "built-in assertion" if builtin else "policy assertion"
    header = [
        f"; zongheng proof obligation {index} of {total}: {_comment(ob.name)}",
        f"; policy:     {_comment(network.policy_file)} (sha256 {network.policy_sha256})",
        f"; assertion:  {_comment(ob.assertion)} ({kind})",
        f"; statement:  {_comment(ob.statement_text)}",
        f"; asks for:   {_comment(ob.description or ob.statement_text)}",
        ";",
        "; The script encodes the compiled network's forwarding (routes, route-target",
        "; imports, ACLs, NAT, tunnels) and asks for a packet that breaks the statement.",
        "; expected answer: unsat  (no such packet exists, so the statement holds)",
        f"; verify answered: {VERIFY_ANSWER.get(ob.status, ob.status)}",
        f"; re-check with:  z3 {file_name}   or   cvc5 {file_name}",
        "",
    ]
    prefix = "\n".join(header) + "\n"
    if "(set-logic" not in body:
        prefix += f"(set-logic {smt_logic(body)})\n"
    if "(check-sat)" not in body:
        body += "(check-sat)\n"
    return prefix + body


def _obligation_path(index: int, ob: ObligationResult) -> str:
    return f"obligations/{index:04d}-{_slug(ob.assertion)}.smt2"


def solver_versions() -> dict[str, str]:
    import z3

    versions = {"z3": z3.get_version_string()}
    try:
        import cvc5

        versions["cvc5"] = str(getattr(cvc5, "__version__", "unknown"))
    except ImportError:
        pass
    return versions


def _created() -> str:
    """Creation time, UTC; ``SOURCE_DATE_EPOCH`` pins it for byte-reproducible bundles."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "")
    when = (datetime.datetime.fromtimestamp(int(epoch), datetime.UTC) if epoch.isdigit()
            else datetime.datetime.now(datetime.UTC))
    return when.isoformat(timespec="seconds")


class BundleError(InputError):
    """The bundle cannot be written where asked."""


def _is_bundle(directory: Path) -> bool:
    try:
        manifest = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and manifest.get("format") == BUNDLE_FORMAT


def write_bundle(
    directory: Path, network: Network, results: list[AssertionResult], policy_path: Path,
    configs_dir: Path | None = None, from_configs_notes: list[str] | None = None,
) -> Path:
    """Write the bundle of ``results`` into ``directory``; returns the manifest path.

    ``from_configs_notes``: the model was parsed back from the configs (``verify
    --from-configs``); the notes say what of them it left out or kept as compiled,
    so an auditor reads them with the proofs.

    An existing bundle there is replaced; any other non-empty directory is refused
    (raises :class:`BundleError`) so no user file is deleted or mixed in.
    """
    if directory.exists():
        if not directory.is_dir():
            raise BundleError("exists and is not a directory")
        if any(directory.iterdir()):
            if not _is_bundle(directory):
                raise BundleError("directory is not empty and holds no proof bundle; "
                                  "choose a new or empty directory")
            shutil.rmtree(directory)
    directory.mkdir(parents=True, exist_ok=True)
    files: dict[str, str] = {}

    def put(rel: str, data: bytes) -> None:
        target = directory / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        files[rel] = sha256_bytes(data)

    policy_rel = f"policy/{policy_path.name}"
    put(policy_rel, policy_path.read_bytes())
    put("model.json", to_json(network).encode("utf-8"))
    if configs_dir is not None:
        for path in sorted(p for p in configs_dir.rglob("*") if p.is_file()):
            put("configs/" + path.relative_to(configs_dir).as_posix(), path.read_bytes())

    pairs = [(r, ob) for r in results for ob in r.obligations]
    obligations = []
    answer_lines = ["# file  expected  verify-answer  assertion"]
    for i, (r, ob) in enumerate(pairs, 1):
        rel = _obligation_path(i, ob)
        script = obligation_script(ob, i, len(pairs), network, r.builtin, Path(rel).name)
        put(rel, script.encode("utf-8"))
        answer = VERIFY_ANSWER.get(ob.status, ob.status)
        obligations.append({
            "file": rel,
            "name": ob.name,
            "assertion": ob.assertion,
            "builtin": r.builtin,
            "statement": ob.statement_text,
            "flows": ob.description,
            "expected": ob.expected,
            "verify_answer": answer,
        })
        answer_lines.append(f"{rel}  {ob.expected}  {answer}  {ob.assertion}")
    put(ANSWERS, ("\n".join(answer_lines) + "\n").encode("utf-8"))

    manifest = {
        "format": BUNDLE_FORMAT,
        "created": _created(),
        "tool": {"name": "zongheng", "version": zongheng.__version__},
        "solvers": solver_versions(),
        "policy": {"path": str(policy_path), "file": policy_rel,
                   "sha256": files[policy_rel]},
        "model": {"file": "model.json", "sha256": files["model.json"],
                  **({"from_configs": True, "notes": from_configs_notes}
                     if from_configs_notes is not None else {})},
        "configs": {k: v for k, v in files.items() if k.startswith("configs/")},
        "assertions": [
            {"name": r.name, "builtin": r.builtin, "status": r.status, "waivers": r.waivers}
            for r in results
        ],
        "obligations": obligations,
        "files": dict(sorted(files.items())),
    }
    path = directory / MANIFEST
    path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


# ---------------------------------------------------------------- audit

class SolverMissing(InputError):
    """The requested solver is not installed."""


def run_z3(text: str, timeout_ms: int) -> str:
    import z3

    solver = z3.Solver()
    solver.set("timeout", timeout_ms)
    try:
        solver.from_string(text)
    except z3.Z3Exception as exc:
        return "error: " + _comment(str(exc))
    return str(solver.check())


def run_cvc5(text: str, timeout_ms: int) -> str:
    try:
        import cvc5
    except ImportError as exc:
        raise SolverMissing("cvc5 is not installed (pip install 'zongheng[audit]')") from exc
    tm = cvc5.TermManager()
    solver = cvc5.Solver(tm)
    solver.setOption("tlimit-per", str(timeout_ms))
    parser = cvc5.InputParser(solver)
    parser.setStringInput(cvc5.InputLanguage.SMT_LIB_2_6, text, "obligation")
    symbols = parser.getSymbolManager()
    answers = []
    try:
        while True:
            cmd = parser.nextCommand()
            if cmd.isNull():
                break
            out = cmd.invoke(solver, symbols).strip()
            if out.startswith("(error"):
                return "error: " + _comment(out)
            if out in ("sat", "unsat", "unknown"):
                answers.append(out)
    except RuntimeError as exc:  # cvc5 reports parse errors as RuntimeError (CVC5ApiException)
        return "error: " + _comment(str(exc))
    if len(answers) != 1:
        return f"error: expected one check-sat answer, got {len(answers)}"
    return answers[0]


RUNNERS = {"z3": run_z3, "cvc5": run_cvc5}


def available_solvers() -> dict[str, bool]:
    present = {"z3": True}
    try:
        import cvc5  # noqa: F401

        present["cvc5"] = True
    except ImportError:
        present["cvc5"] = False
    return present


@dataclass
class ObligationAudit:
    file: str
    assertion: str
    expected: str
    verify_answer: str
    answers: dict[str, str] = field(default_factory=dict)

    @property
    def agrees(self) -> bool:
        return all(a == self.expected for a in self.answers.values())


@dataclass
class AuditReport:
    bundle: str
    solvers: list[str]
    missing_solvers: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # hash/manifest problems
    files_checked: int = 0
    obligations: list[ObligationAudit] = field(default_factory=list)
    manifest: dict = field(default_factory=dict)
    recompiled: bool = False
    regenerated: bool = False  # every obligation re-encoded and compared
    signed: bool = False  # the manifest's signature was checked against a trusted key

    @property
    def outcome(self) -> Outcome:
        """Holds: every hash and every answer as expected; broken: any mismatch;
        unknown: only unknowns besides matches."""
        if self.problems:
            return Outcome.BROKEN
        answers = [a for ob in self.obligations for a in ob.answers.values()]
        if any(a != "unknown" and a != ob.expected
               for ob in self.obligations for a in ob.answers.values()):
            return Outcome.BROKEN
        if "unknown" in answers:
            return Outcome.UNKNOWN
        return Outcome.HOLDS


def outside_paths(manifest: dict) -> list[str]:
    """Every path the manifest names that is not relative and inside the bundle."""
    named = list((manifest.get("files") or {}).keys()) if isinstance(
        manifest.get("files"), dict) else []
    named += [e.get("file", "") for e in manifest.get("obligations", []) if isinstance(e, dict)]
    named += [(manifest.get(k) or {}).get("file", "") for k in ("policy", "model")]
    bad = []
    for rel in named:
        if not isinstance(rel, str) or not rel:
            continue
        path = Path(rel)
        if path.is_absolute() or ".." in path.parts or rel.startswith("~") or "\\" in rel:
            bad.append(rel)
    return sorted(set(bad))


def _escapes(directory: Path, rel: str) -> bool:
    """A listed file that is a symlink or resolves outside the bundle."""
    path = directory / rel
    root = directory.resolve()
    return path.is_symlink() or (path.exists() and root not in path.resolve().parents)


def _check_hashes(directory: Path, manifest: dict, report: AuditReport) -> None:
    files = manifest.get("files")
    if not isinstance(files, dict):
        report.problems.append("manifest.json lists no files")
        return
    for rel, digest in sorted(files.items()):
        path = directory / rel
        if _escapes(directory, rel):
            report.problems.append(f"{rel}: a link or a path leading outside the bundle")
        elif not path.is_file():
            report.problems.append(f"{rel}: missing")
        elif sha256_file(path) != digest:
            report.problems.append(f"{rel}: changed (sha256 differs from the manifest)")
        report.files_checked += 1
    listed = set(files) | {MANIFEST, SIGNATURE}
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        rel = path.relative_to(directory).as_posix()
        if rel not in listed:
            report.problems.append(f"{rel}: not listed in the manifest")
    for key in ("policy", "model"):
        entry = manifest.get(key) or {}
        if files.get(entry.get("file")) != entry.get("sha256"):
            report.problems.append(f"manifest: {key} hash disagrees with its file entry")
    model_file = directory / "model.json"
    policy_entry = manifest.get("policy") or {}
    if model_file.is_file():
        try:
            model_sha = json.loads(model_file.read_text(encoding="utf-8")).get("policy_sha256")
        except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
            report.problems.append("model.json: not valid JSON")
            return
        if model_sha and model_sha != policy_entry.get("sha256"):
            report.problems.append("model.json: compiled from a different policy (policy_sha256)")


def _check_configs(directory: Path, report: AuditReport, from_configs: bool) -> None:
    """Bundled configs against `zongheng compile`'s own manifest and model, when present.

    A config edited after compilation, or configs compiled from another model,
    would otherwise pass: their hashes were taken when the bundle was written.
    Not for a model parsed back from the configs (``verify --from-configs``):
    there the configs as found are the evidence, edits included, and
    ``--recompile`` reads them back to check the proven model.
    """
    if from_configs:
        return
    configs = directory / "configs"
    compiled_model = configs / "model.json"
    if compiled_model.is_file() and (directory / "model.json").is_file():
        if sha256_file(compiled_model) != sha256_file(directory / "model.json"):
            report.problems.append("configs/model.json: the configs were compiled from a "
                                   "different model than the one proven")
    try:
        listed = json.loads((configs / MANIFEST).read_text(encoding="utf-8")).get("files")
    except (OSError, ValueError, AttributeError):
        return
    if not isinstance(listed, dict):
        return
    for rel, digest in sorted(listed.items()):
        path = configs / rel
        if ".." in Path(rel).parts or not path.is_file():
            report.problems.append(f"configs/{rel}: listed by the compile manifest but missing")
        elif sha256_file(path) != digest:
            report.problems.append(f"configs/{rel}: differs from what zongheng compile wrote")


def resolve_solvers(choice: str) -> tuple[list[str], list[str]]:
    """(solvers to run, requested-but-missing solvers). ``all`` runs every installed one."""
    present = available_solvers()
    wanted = list(SOLVERS) if choice == "all" else [choice]
    return [s for s in wanted if present.get(s)], [s for s in wanted if not present.get(s)]


def rebuild(directory: Path, manifest: dict, report: AuditReport) -> Network | None:
    """The network the bundled policy compiles to (read back through the bundled configs
    for a ``--from-configs`` bundle), required to be the bundled model byte for byte."""
    from zongheng.compiler.errors import PolicyError
    from zongheng.compiler.pipeline import compile_text

    entry = manifest.get("policy") or {}
    try:
        data = (directory / entry.get("file", "")).read_bytes()
        model = (directory / "model.json").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        report.problems.append(f"recompile: cannot read the bundled policy or model ({exc})")
        return None
    try:
        network = compile_text(entry.get("path", entry.get("file", "")), data).network
    except PolicyError as exc:
        report.problems.append(f"recompile: the bundled policy does not compile: {exc}")
        return None
    source = "compiles the bundled policy to"
    if (manifest.get("model") or {}).get("from_configs"):
        from zongheng.importers import network_from_configs

        try:
            network, _notes = network_from_configs(network, directory / "configs")
        except InputError as exc:
            report.problems.append(f"recompile: the bundled configs cannot be read back: {exc}")
            return None
        source = "builds from the bundled policy and configs"
    report.recompiled = True
    if to_json(network) != model:
        report.problems.append(
            f"recompile: model.json differs from what zongheng {zongheng.__version__} {source}"
            + _version_hint(manifest))
        return None
    return network


def _version_hint(manifest: dict) -> str:
    made = (manifest.get("tool") or {}).get("version")
    return "" if made == zongheng.__version__ else \
        f" (the bundle was made by zongheng {made}: audit it with that version)"


def regenerate(directory: Path, manifest: dict, network: Network, report: AuditReport) -> None:
    """Every obligation encoded again from ``network`` and compared with the bundled file:
    the same obligations, in the same order, each the same formula."""
    import z3

    from zongheng.verifier.obligations import Encoder, smt2_text

    enc = Encoder(network)
    ours = [ob for spec in network.assertions for ob in enc.iter_obligations(spec)]
    listed = [e for e in manifest.get("obligations", []) if isinstance(e, dict)]
    theirs = [(e.get("name"), e.get("file", "")) for e in listed]
    want = [ob.name for ob in ours]
    if [n for n, _ in theirs] != want:
        missing = [n for n in want if n not in {t for t, _ in theirs}]
        extra = [n for n, _ in theirs if n not in set(want)]
        report.problems.append(
            "regenerate: the bundle's obligations are not the policy's assertions "
            f"(missing {missing or 'none'}, not from the policy {extra or 'none'})"
            + _version_hint(manifest))
    files = dict(theirs)
    for ob in ours:
        rel = files.get(ob.name)
        if rel is None or not (directory / rel).is_file() or _escapes(directory, rel):
            continue
        ctx = z3.Context()  # one context per pair: hash-consing makes equal terms one term
        try:
            bundled = z3.parse_smt2_string(
                (directory / rel).read_text(encoding="utf-8", errors="replace"), ctx=ctx)
        except z3.Z3Exception as exc:
            report.problems.append(f"{rel}: not SMT-LIB z3 can read ({exc})")
            continue
        regenerated = z3.parse_smt2_string(smt2_text(ob), ctx=ctx)
        if not z3.And(list(bundled), ctx).eq(z3.And(list(regenerated), ctx)):
            report.problems.append(
                f"{rel}: does not encode {ob.name} as the bundled policy gives it "
                "(forged, or made by another encoder)" + _version_hint(manifest))
    report.regenerated = True


def audit_bundle(directory: Path, solver: str = "z3", timeout_ms: int = 300_000,
                 recompile: bool = True, trust: Path | None = None) -> AuditReport:
    """Check every hash of a bundle, regenerate every obligation from the bundled policy
    (``recompile``, the default; it needs the zongheng version named in the manifest),
    check the signature against ``trust`` (a public key), then re-run every obligation
    with the chosen solvers. A manifest naming a path outside the bundle is refused
    before any file is read."""
    run, missing = resolve_solvers(solver)
    report = AuditReport(str(directory), run, missing)
    try:
        manifest = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        report.problems.append("manifest.json: missing")
        return report
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        report.problems.append(f"manifest.json: not valid JSON ({exc})")
        return report
    if not isinstance(manifest, dict) or manifest.get("format") != BUNDLE_FORMAT:
        report.problems.append(f"manifest.json: not a {BUNDLE_FORMAT} manifest")
        return report
    report.manifest = manifest
    outside = outside_paths(manifest)
    if outside:
        report.problems.append(f"manifest.json: names paths outside the bundle "
                               f"({', '.join(outside)}); refused, nothing was read")
        return report
    if trust is not None:
        from zongheng.reports.signing import check_signature

        report.problems += check_signature(directory / MANIFEST, trust)
        report.signed = True
    _check_hashes(directory, manifest, report)
    _check_configs(directory, report, bool((manifest.get("model") or {}).get("from_configs")))
    if recompile:
        network = rebuild(directory, manifest, report)
        if network is not None:
            regenerate(directory, manifest, network, report)
    for entry in manifest.get("obligations", []):
        ob = ObligationAudit(entry.get("file", "?"), entry.get("assertion", "?"),
                             entry.get("expected", "unsat"), entry.get("verify_answer", "?"))
        report.obligations.append(ob)
        path = directory / ob.file
        if not path.is_file() or _escapes(directory, ob.file):
            continue  # already reported
        text = path.read_text(encoding="utf-8", errors="replace")
        for name in run:
            ob.answers[name] = RUNNERS[name](text, timeout_ms)
    return report


def format_audit(report: AuditReport) -> str:
    """The audit as plain text lines, one per obligation, and a verdict."""
    m = report.manifest
    lines = [f"bundle:  {report.bundle}"]
    if m:
        tool = m.get("tool", {})
        made = ", ".join(f"{k} {v}" for k, v in sorted(m.get("solvers", {}).items()))
        lines.append(f"made by: {tool.get('name')} {tool.get('version')} with {made}"
                     f" at {m.get('created')}")
        lines.append(f"policy:  {m.get('policy', {}).get('path')}"
                     f" sha256 {m.get('policy', {}).get('sha256')}")
        model = m.get("model", {})
        if model.get("from_configs"):
            notes = model.get("notes") or []
            lines.append(f"model:   parsed back from the bundled configs, {len(notes)} "
                         f"note{'s' if len(notes) != 1 else ''}")
            lines += [f"  note: {n}" for n in notes]
    versions = solver_versions()
    ran = ", ".join(f"{s} {versions.get(s, '')}".strip() for s in report.solvers) or "none"
    lines.append(f"solvers: {ran}")
    for s in report.missing_solvers:
        lines.append(f"solvers: {s} is NOT installed, so it did not run"
                     " (pip install 'zongheng[audit]')")
    lines.append(f"hashes:  {report.files_checked} files checked, {len(report.problems)} problems")
    if report.signed:
        bad = any(p.startswith("signature") for p in report.problems)
        lines.append("signed:  " + ("the signature does NOT verify with the trusted key" if bad
                                    else "manifest.json verifies with the trusted key"))
    regen_bad = [p for p in report.problems if ": does not encode " in p or
                 p.startswith(("regenerate:", "recompile:"))]
    if report.regenerated and not regen_bad:
        lines.append(f"encoded: every obligation is what this zongheng encodes from the bundled "
                     f"policy ({len(report.obligations)} compared as terms)")
    elif not report.recompiled:
        lines.append("encoded: NOT regenerated (--no-regenerate): the hashes show the files "
                     "are those the preparer listed, not that they encode the policy")
    if report.recompiled and not any(p.startswith("recompile:") for p in report.problems):
        lines.append("model:   recompiling the bundled policy and reading its configs back "
                     "gives the bundled model.json" if (m.get("model") or {}).get("from_configs")
                     else "model:   recompiling the bundled policy gives the bundled model.json")
    lines += [f"  PROBLEM {p}" for p in report.problems]
    width = max([len(ob.file) for ob in report.obligations] + [10])
    if report.obligations:
        head = f"  {'obligation'.ljust(width)}  expected  " + "  ".join(
            s.ljust(8) for s in report.solvers)
        lines.append(head.rstrip())
    for ob in report.obligations:
        cells = "  ".join(ob.answers.get(s, "missing").ljust(8) for s in report.solvers)
        mark = "ok" if ob.agrees and ob.answers else "MISMATCH"
        if ob.answers and all(a == "unknown" for a in ob.answers.values()):
            mark = "UNKNOWN"
        lines.append(f"  {ob.file.ljust(width)}  {ob.expected.ljust(8)}  {cells}  {mark}".rstrip())
    verdict = {
        Outcome.HOLDS: f"OK: every hash matches and every obligation is unsat with {ran}",
        Outcome.BROKEN: "FAILED: the bundle does not check (see PROBLEM / MISMATCH lines)",
        Outcome.UNKNOWN: "UNKNOWN: a solver gave no answer for some obligation; not proven",
    }[report.outcome]
    lines.append(verdict)
    return "\n".join(lines) + "\n"

