"""zongheng.emitters: one small module per target, found automatically.

Every module of this package except the shared ones (``base``, ``filters``,
``writer``, ``router``, the ``naming`` package) is imported here, so each
``Emitter`` subclass registers itself in :data:`REGISTRY`. Adding a target =
a template folder + a small module.

Adding a target
---------------
1. ``emitters/<module>.py`` with a subclass of :class:`~zongheng.emitters.base.Emitter`.
   Defining it with a non-empty ``name`` registers it (``__init_subclass__``): the
   name is what ``compile --target`` takes, and ``--target all`` and
   :func:`target_names` include it at once. The class says only how it differs:
   ``name``; ``extension`` (the writer writes ``DIR/<device>/<name>.<extension>``);
   ``roles`` (the device roles it renders, of ``pe``, ``exit``, ``gw``, ``inner``;
   or override ``applies_to(device)``); ``template`` (default ``device.j2``);
   ``filters`` (target-specific Jinja filters, the shared ones are in
   ``filters.py``). Then either ``view(device) -> dict``, what the template sees
   (the default ``render`` renders ``template`` with it), or ``render(device) ->
   str | None`` itself (``None``: nothing for this device), or ``render_files(device)
   -> {file name: text}`` for several files per device (names may have one
   sub-directory, as ``wireguard/wg-v-tax.conf``). An emitter reads only the
   compiled model (``compiler.model``), never the policy or the verifier
   (tests/project/test_layers.py), and must be deterministic. A model it cannot express is
   an ``InputError`` subclass with a clear message (``writer`` turns it into exit 2).
2. ``emitters/templates/<name>/*.j2``: the packaged templates, overridable file by
   file with ``compile --templates DIR``. The wheel takes them through the
   ``"zongheng.emitters.templates" = ["*/*.j2"]`` package-data glob in
   pyproject.toml; a folder whose name is a Python identifier is also listed
   there as a data-only package (tests/project/test_packaging.py fails on setuptools'
   warning otherwise).
3. Tests. Router targets: add the name to ``TARGETS`` in tests/emitters/test_emit_vendor.py
   with a strict line checker (a regex per statement shape, each documented with
   its source in docs/vendor-syntax.md); Linux targets: ``TARGETS`` in
   tests/emitters/test_emit_linux.py, where the real tool loads every file. Golden files:
   ``tests/golden/<name>/`` (vendor targets: ``<device>.<extension>`` of
   policies/heilongjiang.zh; Linux targets: ``<policy>/<device>/<file>`` of
   heilongjiang and minimal), written by ``ZONGHENG_UPDATE_GOLDEN=1 python -m
   pytest tests/emitters/test_emit_vendor.py tests/emitters/test_emit_linux.py -k golden`` and
   reviewed before committing. benchmarks/bench_emit.py times every registered
   target by itself (tests/emitters/test_bench_emit.py checks it lists them all).

Adding a platform profile
-------------------------
A product family of a router target (Huawei AR vs NE, Junos SRX vs MX) is a
subclass of the target's emitter that keeps its ``name`` (so it is not a
target of its own: only a class setting ``name`` itself registers) and states
only its differences through the vendor class's hooks; list it in
``PLATFORMS`` of ``emitters/platforms.py`` with its target and roles, add it
to tests/emitters/test_platforms.py's expectations and write its golden files
(``tests/golden/platforms/<platform>/``).

Adding the paired importer (reading that target's configs back)
---------------------------------------------------------------
1. ``importers/<module>.py`` exposing ``parse(text, device, file) ->
   ImportedConfig`` (contract in importers/base.py): ACLs and their bindings, and
   optionally VRF route targets, interface VRFs, NAT and static routes (``None``
   means "not read": the compiled value stays). Map vendor names back through this
   emitter's own naming functions applied to the compiled ``device``, and raise
   ``ConfigError`` (``config_error(file, text, line, col, message)``) for any line
   it cannot read faithfully.
2. Register it in ``TARGET_MODULES`` in importers/registry.py (target name ->
   module; the order is the order a device directory is searched). That is what
   ``verify --from-configs``, ``report``/``query``/``emulate --from-configs`` and
   ``audit-config --target`` use; ``audit-config`` guesses the dialect from the
   emitted file name by itself, and from content in ``guess_target``
   (importers/drift.py). If it reads static routes, ``_STATIC_LINE`` in
   importers/statics.py may name the lines that hold them.
3. ``tests/importers/test_import_<module>.py``: every emitted config of both shipped policies
   (tests/conftest.py fixtures) imports with every bound ACL semantically equal (z3,
   ``verifier.acl_diff``) to the compiled one; tampered configs show the expected
   opened/closed packet; unreadable lines are errors at their ``FILE:LINE:COL``.
"""

from __future__ import annotations

import importlib
import pkgutil

from zongheng.emitters.base import REGISTRY, Emitter

_SHARED = frozenset({"base", "filters", "writer", "router", "naming"})

for _mod in sorted(m.name for m in pkgutil.iter_modules(__path__)):
    if _mod not in _SHARED and not _mod.startswith("_"):
        importlib.import_module(f"{__name__}.{_mod}")


def target_names() -> list[str]:
    """Every registered target name, sorted (what ``--target all`` means)."""
    return sorted(REGISTRY)


__all__ = ["REGISTRY", "Emitter", "target_names"]
