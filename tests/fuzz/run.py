"""Run one fuzz target under atheris (libFuzzer): ``python tests/fuzz/run.py TARGET [ARGS]``.

``ARGS`` go to libFuzzer: corpus directories (new inputs go into the first),
``-max_total_time=60``, ``-artifact_prefix=DIR/``. ``make fuzz`` runs every
target for a bounded time into ``out/fuzz/`` (the shipped corpus is read, not
written). zongheng and lark are instrumented for coverage; a crash is saved
by libFuzzer, goes into ``regressions/TARGET/`` and gets fixed, so the replay
test keeps it fixed.
"""

from __future__ import annotations

import importlib
import sys

import atheris

with atheris.instrument_imports(include=["zongheng", "lark"]):
    import fuzz_targets

    import zongheng.emitters  # noqa: F401  (imported lazily by the iproute2 check)
    from zongheng.importers.registry import TARGET_MODULES

    # import_config imports its module lazily: instrument each here, or no coverage
    for _module in TARGET_MODULES.values():
        importlib.import_module(f"zongheng.importers.{_module}")


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in fuzz_targets.TARGETS:
        sys.exit(f"usage: run.py TARGET [libFuzzer args]; targets: "
                 f"{', '.join(fuzz_targets.TARGETS)}")
    target = fuzz_targets.TARGETS[sys.argv[1]]
    fuzz_targets.network()  # compile the importers' network before the clock starts
    atheris.Setup([sys.argv[0], *sys.argv[2:]], target)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
