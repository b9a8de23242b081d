"""Click commands `verify`, `audit`, `lint`, `query` and `report`; cli.py registers them
with add_command.

Bad input (a policy with errors, an unreadable file, a missing bundle) prints a
located message to stderr and exits 2 without a traceback; see cli.md.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

import click
from zongheng.compiler.errors import PolicyError
from zongheng.compiler.model import Network
from zongheng.verifier.lint_report import LINT_FORMATS
from zongheng.verifier.report_formats import (
    EXIT_BAD_INPUT,
    FORMATS,
    exit_status,
    render,
    render_text,
)


def fail_input(message: str) -> NoReturn:
    """Report bad input on stderr and exit 2."""
    click.echo(message, err=True)
    sys.exit(EXIT_BAD_INPUT)


def load_compiled(path: str):
    """Compile a policy file (model, plan, resolver); bad input of any kind exits 2."""
    from zongheng.compiler.pipeline import compile_file

    try:
        return compile_file(path)
    except PolicyError as exc:
        fail_input(str(exc))
    except OSError as exc:
        fail_input(f"{path}: error: cannot read the policy: {exc.strerror or exc}")


def load_network(path: str) -> Network:
    return load_compiled(path).network


def load_ast(path: str):
    """The policy's AST (for lint's name checks and columns); the file is known to compile."""
    from zongheng.compiler.parser import decode, parse

    try:
        return parse(path, decode(path, Path(path).read_bytes()))
    except (PolicyError, OSError) as exc:
        fail_input(str(exc))


@click.command("verify")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True,
              help="Output format of the results.")
@click.option("--bundle", "bundle_dir", type=click.Path(file_okay=False),
              help="Write a proof bundle (manifest, SMT-LIB obligations) into DIR.")
@click.option("--configs", "configs_dir", type=click.Path(exists=True, file_okay=False),
              help="Emitted-config directory whose files the bundle hashes and carries.")
@click.option("--from-configs", "from_configs", type=click.Path(exists=True, file_okay=False),
              help="Verify configs parsed back from DIR instead of the compiled model.")
@click.option("--timeout", type=click.IntRange(min=1), default=60, show_default=True,
              help="Seconds per proof obligation; a timeout is reported as unknown.")
@click.option("--defence", is_flag=True,
              help="Also check isolation with ACLs removed and with routing leaked.")
def verify_command(file: str, fmt: str, bundle_dir: str | None, configs_dir: str | None,
                   from_configs: str | None, timeout: int, defence: bool) -> None:
    """Prove every built-in and policy assertion on the compiled network.

    Exit 0: all proven; 1: an assertion is violated (this wins over unknown);
    3: some assertion is unknown (solver timeout) and none violated; 2: bad input.
    """
    network = load_network(file)
    notes: list[str] | None = None
    if from_configs is not None:
        network, notes = _network_from_configs(network, Path(from_configs))
    from zongheng.verifier.results import verify_network

    results = verify_network(network, timeout_ms=timeout * 1000, defence=defence,
                             with_smt2=bundle_dir is not None)
    sha = network.policy_sha256
    if fmt == "text":
        click.echo(render_text(results, file, sha, color=sys.stdout.isatty()), nl=False)
    else:
        columns = {inst.rule: inst.col for inst in network.rules}
        click.echo(render(fmt, results, file, sha, columns), nl=False)
    if bundle_dir is not None:
        from zongheng.verifier.bundle import BundleError, write_bundle

        configs = configs_dir or from_configs
        try:
            manifest = write_bundle(Path(bundle_dir), network, results, Path(file),
                                    Path(configs) if configs else None, notes)
        except BundleError as exc:
            fail_input(f"{bundle_dir}: error: {exc}")
        click.echo(f"proof bundle written: {manifest}", err=True)
    sys.exit(exit_status(results))


def _network_from_configs(network: Network, directory: Path) -> tuple[Network, list[str]]:
    """The network the configs under DIR build (``DIR/<device>/<target>.<ext>``).

    A config that cannot be read is bad input (exit 2); a device without one
    keeps its compiled form and is named on stderr, never silently.
    """
    from zongheng.importers import ConfigError, network_from_configs

    try:
        rebuilt, notes = network_from_configs(network, directory)
    except ConfigError as exc:
        fail_input(str(exc))
    except ValueError as exc:
        fail_input(f"{directory}: error: {exc}")
    for note in notes:
        click.echo(f"warning: {note}", err=True)
    return rebuilt, notes


@click.command("audit")
@click.argument("bundle", type=click.Path(file_okay=False))
@click.option("--solver", type=click.Choice(["z3", "cvc5", "all"]), default="z3",
              show_default=True, help="Solver(s) to re-run every obligation with.")
@click.option("--timeout", type=click.IntRange(min=1), default=300, show_default=True,
              help="Seconds per obligation and solver.")
@click.option("--recompile", is_flag=True,
              help="Also compile the bundled policy and compare it with the bundled model.")
def audit_command(bundle: str, solver: str, timeout: int, recompile: bool) -> None:
    """Re-check a proof bundle: every hash, then every obligation with each solver.

    Exit 0: every file matches and every solver answers unsat; 1: a changed,
    missing or unlisted file or a disagreeing answer; 3: only unknown answers
    besides matches; 2: no such bundle or the requested solver is not installed.
    `--solver all` runs every installed solver and names any that is missing.
    """
    from zongheng.verifier.bundle import audit_bundle, format_audit, resolve_solvers

    path = Path(bundle)
    if not path.is_dir():
        fail_input(f"{bundle}: error: no such bundle directory")
    run, missing = resolve_solvers(solver)
    if not run:
        fail_input(f"error: {', '.join(missing)} is not installed "
                   "(pip install 'zongheng[audit]' for cvc5)")
    report = audit_bundle(path, solver, timeout * 1000, recompile=recompile)
    click.echo(format_audit(report), nl=False)
    sys.exit(report.exit_status)


@click.command("lint")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(LINT_FORMATS), default="text",
              show_default=True, help="Output format of the warnings.")
@click.option("--timeout", type=click.IntRange(min=1), default=10, show_default=True,
              help="Seconds per solver query.")
def lint_command(file: str, fmt: str, timeout: int) -> None:
    """Shadowed rules (by one earlier rule or several together), rules with no effect,
    unused services and hosts, as FILE:LINE:COL: warning: MESSAGE (or JSON, SARIF).

    Exit 0 whatever the warnings (a solver timeout is a warning too), 2 on bad input.
    """
    from zongheng.verifier.lint import lint
    from zongheng.verifier.lint_report import render_lint

    network = load_network(file)
    policy = load_ast(file)
    diags = lint(network, policy, timeout_ms=timeout * 1000)
    click.echo(render_lint(fmt, diags, file, network.policy_sha256), nl=False)
    click.echo(f"{len(diags)} warning{'s' if len(diags) != 1 else ''}", err=True)


@click.command("query")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--from", "src", required=True, metavar="EXPR",
              help="Source endpoint expression, e.g. 'horizontal(tax) at hrb'.")
@click.option("--to", "dst", required=True, metavar="EXPR",
              help="Destination endpoint expression, e.g. 'host(portal)'.")
@click.option("--service", "services", multiple=True, metavar="S",
              help="A declared service (repeatable); default: any.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@click.option("--timeout", type=click.IntRange(min=1), default=60, show_default=True,
              help="Seconds per solver query.")
@click.option("--from-configs", "from_configs", type=click.Path(file_okay=False), default=None,
              help="Ask the network the configs in DIR build, as verify --from-configs.")
def query_command(file: str, src: str, dst: str, services: tuple[str, ...], fmt: str,
                  timeout: int, from_configs: str | None) -> None:
    """Can these endpoints connect? An example delivered packet and its path, and an
    example dropped packet with the line that drops it.

    Exit 0: some connection is delivered; 1: none is; 3: the solver gave no
    answer; 2: bad input (policy, expression or service).
    """
    from zongheng.verifier.query_answer import answer_query, format_answer

    compiled = load_compiled(file)
    from zongheng.verifier.query import resolve_expression

    try:
        src_pairs = resolve_expression(compiled, "--from", src)
        dst_pairs = resolve_expression(compiled, "--to", dst)
    except PolicyError as exc:
        fail_input(str(exc))
    unknown = [s for s in services if s not in compiled.plan.services and s != "any"]
    if unknown:
        fail_input(f"error: unknown service {', '.join(repr(u) for u in unknown)}"
                   f" (declared: {', '.join(sorted(compiled.plan.services))})")
    network = compiled.network
    if from_configs is not None:
        network, _notes = _network_from_configs(network, Path(from_configs))
    answer = answer_query(network, src, src_pairs, dst, dst_pairs, services,
                          {k: tuple(v) for k, v in compiled.plan.services.items()},
                          timeout_ms=timeout * 1000)
    click.echo(format_answer(answer, fmt), nl=False)
    sys.exit(answer.exit_status)


@click.command("report")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("-o", "--output", "out", required=True, type=click.Path(dir_okay=False),
              help="The HTML file to write (replaced atomically).")
@click.option("--timeout", type=click.IntRange(min=1), default=60, show_default=True,
              help="Seconds per proof obligation; a timeout is reported as unknown.")
@click.option("--from-configs", "from_configs", type=click.Path(file_okay=False), default=None,
              help="Report on the network the configs in DIR build "
                   "(DIR/<device>/<target>.<ext>), as verify --from-configs.")
def report_command(file: str, out: str, timeout: int, from_configs: str | None) -> None:
    """Write the auditor's report of policy FILE: one self-contained HTML file.

    It states what was proven about the compiled network: every assertion with
    its statements, status, waivers and counterexample, the defence-in-depth
    table, the network at a glance and how to re-check. No date: the same
    policy gives the same bytes.

    Exit 0 when the report is written, WHATEVER IT FINDS: violated and unknown
    assertions are stated in the report (gate on `zongheng verify`, whose exit
    status is 1 / 3 for them). 2: bad input (policy, output path); nothing is
    written then.
    """
    from zongheng.verifier.audit_report import ReportError, render_report, write_report
    from zongheng.verifier.results import summary, verify_network

    if Path(out).is_dir():
        fail_input(f"{out}: error: is a directory, not a file to write the report to")
    compiled = load_compiled(file)
    network = compiled.network
    notes = None
    if from_configs is not None:
        network, notes = _network_from_configs(network, Path(from_configs))
    results = verify_network(network, timeout_ms=timeout * 1000, defence=True,
                             with_smt2=False)
    source = _policy_source(file, network.policy_sha256)
    plan = compiled.plan
    html = render_report(
        network, results, file, timeout_s=timeout, source=source,
        region_display=dict(plan.region_display),
        department_display={k: d.display for k, d in plan.departments.items()},
        configs=from_configs, config_notes=notes,
    )
    try:
        write_report(out, html)
    except ReportError as exc:
        fail_input(f"{out}: error: {exc}")
    counts = summary(results)
    click.echo(f"wrote {out}: {counts['proven']} proven, {counts['violated']} violated, "
               f"{counts['unknown']} unknown")


def _policy_source(path: str, sha256: str) -> str | None:
    """The policy text for the report's appendix, only if it is still the compiled bytes."""
    import hashlib

    from zongheng.compiler.parser import decode

    try:
        data = Path(path).read_bytes()
        if hashlib.sha256(data).hexdigest() != sha256:
            return None
        return decode(path, data)
    except (OSError, PolicyError):
        return None
