"""zongheng.emitters: one small module per target, found automatically.

Every module of this package except the shared ones (``base``, ``filters``,
``writer``, ``router``, the ``naming`` package) is imported here, so each
``Emitter`` subclass registers itself in :data:`REGISTRY`. Adding a target =
a template folder + a small module.
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
