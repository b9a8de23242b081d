"""The operator's device inventory: each device's platform, real port names and PKI names.

The compiled model names ports ``eth0``, ``eth3.120``; a real router has
``GigabitEthernet0/1/0`` or ``ge-1/0/2`` there, and is one platform of its vendor
(a Huawei AR is not an NE). ``compile --inventory INV.toml`` reads both from a
TOML file (format and defaults: docs/inventory.md)::

    [roles.pe]                      # every PE ...
    platform = "huawei-ne"
    [devices.pe-acheng]             # ... but this one, which overrides its role
    platform = "huawei-ar"
    ports = { eth0 = "GigabitEthernet0/0/1", eth3 = "GigabitEthernet0/0/2" }
    pki = { name = "hlj-ca", ca_url = "http://ca.hlj.example/certsrv" }

Everything is checked against the compiled network before anything is
written: an unknown device, role, port or platform, a port name used twice on
a device, ports without a platform, or a platform of another target than the
one asked for is an :class:`InventoryError` naming the file and, where the
TOML text shows it, the line. Without an inventory nothing changes.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zongheng.compiler.errors import InputError
from zongheng.compiler.model import Network
from zongheng.compiler.source import read_input
from zongheng.emitters.base import REGISTRY, Emitter
from zongheng.emitters.naming import split_ifname
from zongheng.emitters.router import RouterEmitter

ROLES = ("pe", "exit", "inner", "gw")
# a Linux router: written by the Linux targets only, with its ports' Linux names
LINUX = "linux"
LINUX_TARGETS = frozenset({"iproute2", "nftables", "strongswan", "wireguard"})
# a Linux port: no dot (a VLAN sub-interface follows its parent: ens3.102), 10 characters
# at most, so that every sub-interface zongheng adds (NAME.4094) fits the 15 of Linux
_LINUX_PORT = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,9}")
# names zongheng gives Linux interfaces itself (loopback, WireGuard, charon's TUN device)
_RESERVED_LINUX = re.compile(r"lo|wg-.*|ipsec\d+")
_ENTRY_KEYS = ("platform", "ports", "pki")
_PKI_KEYS = ("name", "ca_url")
# a physical port as a vendor names it: no spaces, no quotes, no unit/VLAN suffix
_PORT_NAME = re.compile(r"[A-Za-z][A-Za-z0-9/:_-]*")
# names zongheng itself gives non-port interfaces (loopback, tunnels, discard): a port
# called so would be configured twice
_RESERVED_PORT = re.compile(r"(?i)(?:loopback|tunnel|null|lo0|st0)")
_PKI_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,30}")
_CA_URL = re.compile(r"http://[^\s\"'#;?]{1,121}")  # VRP: http://, 128 characters at most


class InventoryError(InputError):
    """A bad inventory: the message names the file and, where known, the line."""


@dataclass(frozen=True)
class Pki:
    """The operator's PKI object name (trustpoint, realm, ca-profile) and CA enrollment URL."""

    name: str | None = None
    ca_url: str | None = None


@dataclass(frozen=True)
class Entry:
    """What the inventory says of one device (its role's entry, then its own on top)."""

    platform: str | None = None
    ports: Mapping[str, str] = field(default_factory=dict)  # model ``eth3`` -> device port
    pki: Pki = Pki()


@dataclass(frozen=True)
class Inventory:
    """A checked inventory: the entry of every device it speaks of."""

    file: str
    sha256: str
    entries: Mapping[str, Entry]
    lines: Mapping[str, int]  # device -> line of its platform (for target errors)

    def platform_for(self, device: str) -> str | None:
        """The device's platform profile name; None: the default emitter of each target."""
        entry = self.entries.get(device)
        return entry.platform if entry else None

    def target_for(self, device: str) -> str | None:
        """The vendor target of the device's platform (``huawei-vrp`` for ``huawei-ar``;
        ``linux`` for a Linux router, which the four Linux targets write)."""
        platform = self.platform_for(device)
        return None if platform is None else platform_target(platform)

    def ports_for(self, device: str, target: str) -> Mapping[str, str]:
        """The device's port names, when ``target`` is its platform's (else the defaults)."""
        entry = self.entries.get(device)
        mine = self.target_for(device)
        if mine == LINUX:
            mine = target if target in LINUX_TARGETS else None
        return entry.ports if entry and mine == target else {}

    def linux_ports(self) -> dict[str, Mapping[str, str]]:
        """device -> its port names, for every Linux router that names ports."""
        return {d: e.ports for d, e in self.entries.items() if e.platform == LINUX and e.ports}

    def pki_for(self, device: str, target: str) -> Pki:
        entry = self.entries.get(device)
        return entry.pki if entry and self.target_for(device) == target else Pki()

    def emitter_class(self, device: str, target: str) -> type[Emitter] | None:
        """The class that writes ``target`` for ``device``: its platform's for its own
        vendor, none for the other router vendors, the target's own otherwise."""
        default = REGISTRY[target]
        platform = self.platform_for(device)
        if platform is None:
            return default
        if platform == LINUX:
            return None if issubclass(default, RouterEmitter) else default
        if platform_target(platform) == target:
            return _platform_class(platform)
        return None if issubclass(default, RouterEmitter) else default

    def check_targets(self, targets: Iterable[str]) -> None:
        """Refuse router targets that leave out a device's platform's target."""
        routers = sorted(t for t in targets if issubclass(REGISTRY[t], RouterEmitter))
        if not routers:
            return
        linux = LINUX_TARGETS & set(targets)
        for device in sorted(self.entries):
            platform = self.platform_for(device)
            if platform == LINUX and not linux:
                raise _error(self.file, self.lines.get(device),
                             f"{device} is a Linux router (platform linux: targets "
                             f"{', '.join(sorted(LINUX_TARGETS))}) but the target asked "
                             f"for is {', '.join(routers)}")
            if platform is not None and platform != LINUX and \
                    platform_target(platform) not in routers:
                raise _error(self.file, self.lines.get(device),
                             f"{device} is a {platform} ({platform_target(platform)}) "
                             f"but the target asked for is {', '.join(routers)}")


def platform_target(platform: str) -> str:
    """The vendor target a platform profile belongs to (``linux``: the Linux targets)."""
    from zongheng.emitters.platforms import PLATFORMS

    return LINUX if platform == LINUX else PLATFORMS[platform].target


def _platform_class(platform: str) -> type[Emitter]:
    from zongheng.emitters.platforms import emitter_class

    return emitter_class(platform)


def _role_error(platform: str, role: str) -> str | None:
    """Why ``platform`` cannot write a ``role`` device (an AR is no exit), or None."""
    from zongheng.emitters.platforms import PlatformError, emitter_class

    if platform == LINUX:
        return None  # the Linux targets write every role
    try:
        emitter_class(platform, role)
    except PlatformError as exc:
        return str(exc)
    return None


def _platform_names() -> list[str]:
    from zongheng.emitters.platforms import PLATFORMS

    return sorted({*PLATFORMS, LINUX})


def _error(file: str, line: int | None, message: str) -> InventoryError:
    where = f"{file}:{line}" if line else file
    return InventoryError(f"{where}: error: {message}")


def load_inventory(path: str | Path, network: Network) -> Inventory:
    """Read and check ``path`` against ``network`` (:class:`InventoryError` when bad)."""
    try:
        data = read_input(path, "inventory file")
    except InputError as exc:
        raise _error(str(path), None, f"cannot read the inventory: {exc}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _error(str(path), None, f"the inventory is not UTF-8 ({exc.reason})") from None
    return parse_inventory(text, str(path), network)


def parse_inventory(text: str, file: str, network: Network) -> Inventory:
    """Check an inventory's TOML text against the compiled network."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        msg = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        raise _error(file, int(m.group(1)) if m else None, f"bad TOML: {msg}") from None
    return _Reader(file, text, network).read(doc)


class _Reader:
    """One inventory being checked: the TOML document against the compiled devices."""

    def __init__(self, file: str, text: str, network: Network) -> None:
        self.file = file
        self.text = text
        self.where = _key_lines(text)
        self.devices = {d.name: d for d in network.devices}
        self.ports = {d.name: sorted({f"eth{split_ifname(i.name)[0]}" for i in d.interfaces},
                                     key=lambda p: int(p[3:]))
                      for d in network.devices}

    def fail(self, path: tuple[str, ...], message: str) -> InventoryError:
        return _error(self.file, _line_of(self.where, path), message)

    def read(self, doc: dict[str, Any]) -> Inventory:
        for key in doc:
            if key not in ("roles", "devices"):
                raise self.fail((key,), f"unknown table {key!r}; an inventory has "
                                        "[roles.ROLE] and [devices.DEVICE] entries")
        roles = self.table(doc, ("roles",))
        devices = self.table(doc, ("devices",))
        for role in roles:
            if role not in ROLES:
                raise self.fail(("roles", role), f"unknown role {role!r}; roles: "
                                                 f"{', '.join(ROLES)}")
        for name in devices:
            if name not in self.devices:
                raise self.fail(("devices", name), f"unknown device {name!r}; the policy's "
                                                   f"devices: {', '.join(sorted(self.devices))}")
        role_entries = {r: self.entry(roles[r], ("roles", r), self.role_ports(r))
                        for r in roles}
        entries: dict[str, Entry] = {}
        lines: dict[str, int] = {}
        for name, dev in self.devices.items():
            own = (self.entry(devices[name], ("devices", name), set(self.ports[name]))
                   if name in devices else None)
            base = role_entries.get(str(dev.role))
            if own is None and base is None:
                continue
            entry = _merge(base, own, set(self.ports[name]))
            from_device = own is not None and own.platform is not None
            src = ("devices", name) if from_device else ("roles", str(dev.role))
            line = _line_of(self.where, (*src, "platform"))
            if line:
                lines[name] = line
            if entry.platform is not None:
                why = _role_error(entry.platform, str(dev.role))
                if why:
                    raise self.fail((*src, "platform"), f"{name}: {why}")
            self.check_ports(name, entry, own, str(dev.role))
            entries[name] = entry
        digest = hashlib.sha256(self.text.encode("utf-8")).hexdigest()
        return Inventory(self.file, digest, entries, lines)

    def role_ports(self, role: str) -> set[str]:
        return {p for d in self.devices.values() if str(d.role) == role
                for p in self.ports[d.name]}

    def table(self, doc: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
        value = doc.get(path[-1], {})
        if not isinstance(value, dict):
            raise self.fail(path, f"{'.'.join(path)} must be a table")
        for key, sub in value.items():
            if not isinstance(sub, dict):
                raise self.fail((*path, key), f"{'.'.join((*path, key))} must be a table")
        return value

    def entry(self, raw: dict[str, Any], path: tuple[str, ...], known: set[str]) -> Entry:
        for key in raw:
            if key not in _ENTRY_KEYS:
                raise self.fail((*path, key), f"unknown key {key!r} in {'.'.join(path)}; "
                                              f"keys: {', '.join(_ENTRY_KEYS)}")
        platform = raw.get("platform")
        if platform is not None:
            names = _platform_names()
            if not isinstance(platform, str) or platform not in names:
                raise self.fail((*path, "platform"), f"unknown platform {platform!r}; "
                                                     f"platforms: {', '.join(names)}")
        ports = raw.get("ports", {})
        if not isinstance(ports, dict):
            raise self.fail((*path, "ports"), "ports must be a table of MODEL = \"NAME\"")
        for port, name in ports.items():
            where = (*path, "ports", port)
            if port not in known:
                raise self.fail(where, f"unknown port {port!r} for {'.'.join(path)}; its "
                                       f"ports: {', '.join(sorted(known, key=_port_key))}")
            if isinstance(name, str) and raw.get("platform") == LINUX:
                if not _LINUX_PORT.fullmatch(name) or _RESERVED_LINUX.fullmatch(name):
                    raise self.fail(where, f"port name {name!r} of {port} is not a Linux "
                                           "port name zongheng can use: a letter, then up to "
                                           "9 letters, digits, '_' or '-' (its VLAN "
                                           "sub-interfaces NAME.VLAN must fit 15 characters; "
                                           "not lo, wg-..., ipsecN)")
                continue
            if not isinstance(name, str) or not _PORT_NAME.fullmatch(name):
                raise self.fail(where, f"port name {name!r} of {port} is not a physical "
                                       "interface name (VLAN subinterfaces follow their "
                                       "parent: name eth3, not eth3.120)")
            if _RESERVED_PORT.match(name):
                raise self.fail(where, f"port name {name!r} of {port} is a loopback, tunnel "
                                       "or discard interface's name, which zongheng writes "
                                       "itself")
        pki = raw.get("pki", {})
        if not isinstance(pki, dict):
            raise self.fail((*path, "pki"), "pki must be a table with name and ca_url")
        for key, value in pki.items():
            where = (*path, "pki", key)
            if key not in _PKI_KEYS:
                raise self.fail(where, f"unknown key {key!r} in pki; keys: "
                                       f"{', '.join(_PKI_KEYS)}")
            pattern = _PKI_NAME if key == "name" else _CA_URL
            if not isinstance(value, str) or not pattern.fullmatch(value):
                wanted = ("a letter, then letters, digits, '-' or '_' (31 at most)"
                          if key == "name" else "an http:// URL of 128 characters at most, "
                          "without '?'")
                raise self.fail(where, f"pki {key} {value!r} must be {wanted}")
        return Entry(platform, dict(ports), Pki(pki.get("name"), pki.get("ca_url")))

    def check_ports(self, device: str, entry: Entry, own: Entry | None, role: str) -> None:
        """Ports need a platform (they are its vendor's names), and no two may share one."""
        if not entry.ports:
            return
        def src(port: str) -> tuple[str, ...]:
            if own is not None and port in own.ports:
                return ("devices", device, "ports", port)
            return ("roles", role, "ports", port)
        if entry.platform is None:
            first = sorted(entry.ports, key=_port_key)[0]
            raise self.fail(src(first), f"{device}: port names without a platform; give "
                                        "platform = ... (port names are a vendor's)")
        if entry.platform == LINUX:
            if any(not _LINUX_PORT.fullmatch(n) for n in entry.ports.values()):
                bad = next(p for p, n in entry.ports.items() if not _LINUX_PORT.fullmatch(n))
                raise self.fail(src(bad), f"{device}: port name {entry.ports[bad]!r} of "
                                          f"{bad} is a vendor's, not a Linux port name")
            names = {p: entry.ports.get(p, p) for p in self.ports[device]}
        else:
            cls = _platform_class(entry.platform)
            if not issubclass(cls, RouterEmitter):
                return
            names = {p: cls.port_name(p, entry.ports) for p in self.ports[device]}
        seen: dict[str, str] = {}
        for port in self.ports[device]:
            name = names[port]
            other = seen.setdefault(name.lower(), port)
            if other != port:
                blame = port if port in entry.ports else other
                raise self.fail(src(blame), f"{device}: port name {name} is used twice "
                                            f"(for {other} and {port})")


def _merge(base: Entry | None, own: Entry | None, ports: set[str]) -> Entry:
    """The device's own entry over its role's; role ports apply where the device has them."""
    base = base or Entry()
    own = own or Entry()
    merged = {p: n for p, n in base.ports.items() if p in ports}
    merged.update(own.ports)
    return Entry(platform=own.platform or base.platform,
                 ports=dict(sorted(merged.items(), key=lambda kv: _port_key(kv[0]))),
                 pki=Pki(own.pki.name or base.pki.name, own.pki.ca_url or base.pki.ca_url))


def _port_key(port: str) -> int:
    return int(port[3:]) if port[3:].isdigit() else -1


_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-.\"' ]+?)\s*=")
_INLINE_KEY = re.compile(r"([A-Za-z0-9_\-\"']+)\s*=")


def _split_key(key: str) -> tuple[str, ...]:
    return tuple(part.strip().strip("\"'") for part in key.split("."))


def _key_lines(text: str) -> dict[tuple[str, ...], int]:
    """Where each key path first appears (table headers, ``key =`` lines, inline tables):
    tomllib gives no positions, and the messages should say which line is wrong."""
    where: dict[tuple[str, ...], int] = {}
    table: tuple[str, ...] = ()
    for no, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header:
            table = _split_key(header.group(1))
            for k in range(1, len(table) + 1):
                where.setdefault(table[:k], no)
            continue
        key = _KEY.match(line)
        if not key:
            continue
        path = (*table, *_split_key(key.group(1)))
        for k in range(len(table) + 1, len(path) + 1):
            where.setdefault(path[:k], no)
        rest = line[key.end():]
        if "{" in rest:
            for inner in _INLINE_KEY.finditer(rest.split("{", 1)[1]):
                where.setdefault((*path, inner.group(1).strip("\"'")), no)
    return where


def _line_of(where: Mapping[tuple[str, ...], int], path: tuple[str, ...]) -> int | None:
    """The line of ``path``, else of its nearest enclosing key that has one."""
    for k in range(len(path), 0, -1):
        if path[:k] in where:
            return where[path[:k]]
    return None
