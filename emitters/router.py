"""The router-emitter base: what Cisco, Huawei and Junos configs share, computed once.

The three router targets render the same network from the same topology
facts (tunnels, underlay links, BGP peers, exported routes, DHCP clients,
static routes; see :mod:`zongheng.emitters._router`). :class:`RouterPlan`
holds them for one device, each computed on first use, and
:class:`RouterEmitter` turns the shared parts into template values through
a few naming hooks; a vendor subclass states only its names and its own
statements, as Aerleon's arista.py subclasses cisco.Cisco.
"""

from __future__ import annotations

import abc
import functools
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from zongheng.compiler.addresses import host
from zongheng.compiler.model import Device, Interface, Network
from zongheng.emitters import _router as rv
from zongheng.emitters.base import Emitter


class RouterPlan:
    """The topology facts of one device, each computed once and only when a vendor asks.

    Lazy, because a vendor that never asks for a fact must not fail on it
    (Cisco renders a device with both stateful and stateless ACLs, which
    :func:`~zongheng.emitters._router.is_firewall` refuses), and because the
    order a vendor asks in decides which of several problems it reports.
    """

    def __init__(self, network: Network, device: Device) -> None:
        self.network = network
        self.device = device

    @functools.cached_property
    def firewall(self) -> bool:
        return rv.is_firewall(self.device)

    @functools.cached_property
    def tunnels(self) -> list[rv.TunnelEnd]:
        return rv.tunnel_ends(self.network, self.device)

    @functools.cached_property
    def exported(self) -> dict[str, list[tuple[str, tuple[str, ...]]]]:
        """VRF -> [(prefix, route targets)] this PE originates into MP-BGP."""
        return rv.exported_routes(self.network, self.device)

    @functools.cached_property
    def export_plans(self) -> dict[str, rv.ExportPlan]:
        return rv.export_plans(self.network, self.device)

    @functools.cached_property
    def underlay(self) -> list[Interface]:
        return rv.underlay_interfaces(self.network, self.device)

    @functools.cached_property
    def neighbors(self) -> list[tuple[Device, str]]:
        return rv.bgp_neighbors(self.network, self.device)

    @functools.cached_property
    def dhcp(self) -> list[str]:
        return rv.dhcp_interfaces(self.device)

    @functools.cached_property
    def statics(self) -> list[rv.StaticRoute]:
        """The static routes, refused when one leaves an unaddressed Ethernet port."""
        return rv.checked_interface_routes(
            self.device, rv.static_routes(self.network, self.device), self.dhcp)


class RouterEmitter(Emitter, abc.ABC):
    """A router target: the shared view, and the hooks that name things the vendor's way."""

    suite: ClassVar[dict[str, str]] = {}  # the vendor's spelling of crypto_suite.SUITE
    discard: ClassVar[str | None] = None  # the discard interface (None: the ``discard`` word)
    # True: the DHCP client's default route is written too (VRP keeps it; IOS-XE and
    # Junos install it from the lease and would reject or duplicate it)
    writes_dhcp_route: ClassVar[bool] = False

    # the inventory's port names of the device being rendered (model ``eth3`` -> device
    # port), set by :meth:`view`: the naming hooks are called with a model name only
    ports: Mapping[str, str] = {}
    pki_name: str | None = None  # the inventory's PKI object name (trustpoint, realm, ...)
    ca_url: str | None = None  # the inventory's CA enrollment URL

    # ------------------------------------------------------------ naming hooks

    @abc.abstractmethod
    def ifname(self, name: str) -> str:
        """The vendor name of a model interface (``eth3.120``), after :attr:`ports`."""

    @classmethod
    @abc.abstractmethod
    def port_name(cls, port: str, ports: Mapping[str, str] | None = None) -> str:
        """The vendor name of a physical model port (``eth3``): ``ports``' name, else the
        default profile's (the inventory checks names against these for duplicates)."""

    def bound_filters(self) -> dict[str, Callable[..., Any]]:
        return {self.ifname_filter: self.ifname}

    ifname_filter: ClassVar[str] = "ifname"  # the templates' filter that names an interface

    @abc.abstractmethod
    def tunnel_ifname(self, index: int) -> str:
        """The vendor interface of the device's ``index``-th tunnel."""

    def static_vrf(self, vrf: str) -> str:
        """A VRF as a static route's view carries it (the template may name it further)."""
        return vrf

    # ------------------------------------------------------------ view

    def plan(self, device: Device) -> RouterPlan:
        return RouterPlan(self.network, device)

    def view(self, device: Device) -> dict[str, Any]:
        """The vendor's values, then what every router config opens with."""
        self.ports = self.inventory.ports_for(device.name, self.name) if self.inventory else {}
        pki = self.inventory.pki_for(device.name, self.name) if self.inventory else None
        self.pki_name, self.ca_url = (pki.name, pki.ca_url) if pki else (None, None)
        values = self.device_view(self.plan(device))
        return {"device": device,
                "ca_url": self.ca_url,
                "header": rv.header_lines(self.name, self.network, device),
                "loopback": host(device.loopback),
                "suite": self.suite,
                **values}

    @abc.abstractmethod
    def device_view(self, plan: RouterPlan) -> dict[str, Any]:
        """What the vendor's template needs beyond the device, header and loopback."""

    def statics(self, plan: RouterPlan) -> list[dict[str, Any]]:
        """Static routes named the vendor's way."""
        return [rv.static_view(s, plan.tunnels, discard=self.discard, ifname=self.ifname,
                               tunnel=self.tunnel_ifname, vrf_name=self.static_vrf)
                for s in plan.statics
                if self.writes_dhcp_route or not rv.learned_by_dhcp(s, plan.dhcp)]

    def bgp(self, plan: RouterPlan) -> dict[str, Any] | None:
        """MP-BGP of a PE as the Cisco and Huawei templates take it."""
        return rv.bgp_view(self.network, plan.device, plan.export_plans, plan.neighbors)
