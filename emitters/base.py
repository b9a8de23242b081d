"""The emitter contract: one small class per target, templates do the rest.

Like a sqlglot dialect, a target class says only how it differs: its name,
file extension, which device roles it renders, and any extra filters. The
compiled model goes in, text comes out; emitters never look at the policy.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar, Protocol

import jinja2

from zongheng.compiler.errors import InputError
from zongheng.compiler.model import Device, Network

TEMPLATE_ROOT = Path(__file__).parent / "templates"

REGISTRY: dict[str, type[Emitter]] = {}


class VendorEmitError(InputError):
    """The model holds something a vendor config cannot express (a compiler bug)."""


class DeviceInventory(Protocol):
    """What an emitter asks of a device inventory (``emitters/inventory.py``)."""

    def ports_for(self, device: str, target: str) -> Mapping[str, str]: ...

    def pki_for(self, device: str, target: str) -> Any: ...


class Emitter:
    """Base class of every target. A subclass that sets ``name`` registers itself by it."""

    name: ClassVar[str] = ""
    extension: ClassVar[str] = "txt"
    roles: ClassVar[frozenset[str]] = frozenset({"pe", "exit", "gw", "inner"})
    template: ClassVar[str] = "device.j2"  # rendered with view(device) by the default render
    filters: ClassVar[dict[str, Callable[..., Any]]] = {}  # target-specific Jinja filters
    # True: rendering the first device builds a plan of the whole network (iproute2's
    # transport plan), so ``compile --workers`` keeps all its devices in one process
    whole_network: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        # only a class naming its own target registers: a platform profile
        # (emitters/platforms.py) inherits its vendor's name and must not replace it
        if cls.__dict__.get("name"):
            REGISTRY[cls.name] = cls

    # the operator's device inventory (compile --inventory), set by whoever builds the
    # emitter (emitters/writer.py); None: every device gets the default names
    inventory: DeviceInventory | None = None

    def __init__(self, network: Network, template_dir: Path | None = None) -> None:
        self.network = network
        self.template_dir = template_dir

    def bound_filters(self) -> dict[str, Callable[..., Any]]:
        """Jinja filters that need this emitter (the device's port names), beside ``filters``."""
        return {}

    @functools.cached_property
    def env(self) -> jinja2.Environment:
        """The target's templates (packaged, or overridden by ``--templates DIR``)."""
        from zongheng.emitters.filters import make_env

        return make_env(self.name, self.template_dir,
                        {**self.filters, **self.bound_filters()} or None)

    def applies_to(self, device: Device) -> bool:
        return device.role in self.roles

    def view(self, device: Device) -> dict[str, Any]:
        """What the template sees for one device."""
        raise TypeError(f"{type(self).__name__} defines neither view() nor render()")

    def render(self, device: Device) -> str | None:
        """Config text for one device, or None when the target has nothing for it."""
        return self.env.get_template(self.template).render(**self.view(device))
