"""Small edits of a compiled model (``dataclasses.replace`` deep inside): planted faults.

Plain functions of a Network, so a library: a test calls several of them in a
row to corrupt the fixture network exactly where it wants.
"""

from __future__ import annotations

import dataclasses

from zongheng.compiler.model import Acl, AclLine, Network, Vrf


def replace_device(network: Network, name: str, **changes) -> Network:
    devs = tuple(dataclasses.replace(d, **changes) if d.name == name else d
                 for d in network.devices)
    return dataclasses.replace(network, devices=devs)


def replace_vrf(network: Network, device: str, vrf: str, **changes) -> Network:
    d = network.device(device)
    vrfs = tuple(dataclasses.replace(v, **changes) if v.name == vrf else v for v in d.vrfs)
    return replace_device(network, device, vrfs=vrfs)


def replace_acl(network: Network, device: str, acl: str, lines: tuple[AclLine, ...]) -> Network:
    d = network.device(device)
    acls = tuple(dataclasses.replace(a, lines=lines) if a.name == acl else a for a in d.acls)
    return replace_device(network, device, acls=acls)


def vrf(network: Network, device: str, name: str) -> Vrf:
    return next(v for v in network.device(device).vrfs if v.name == name)


def acl(network: Network, device: str, name: str) -> Acl:
    return next(a for a in network.device(device).acls if a.name == name)


def only_assertion(network: Network, name: str) -> Network:
    return dataclasses.replace(network, assertions=tuple(
        a for a in network.assertions if a.name == name))
