"""WireGuard target: wg-quick files for the vertical-net tunnels of a device.

One WireGuard interface per VRF with vertical tunnels (``wg-<vrf>``, listen
port ``51820 + i``; see ``linux_plan``), one peer per remote device, its
``allowed-ips`` exactly the department prefixes behind that peer. Files are
``<device>/wireguard/<interface>.conf`` because wg-quick takes the interface
name from the file name: ``wg-quick up DIR/pe-hrb/wireguard/wg-v-tax.conf``.

Keys are never in the files. wg-quick's ``PrivateKey`` and ``PublicKey``
take only literal keys, so the interface gets its private key and its peers
from ``PostUp = wg set %i ...`` lines (the pattern of wg-quick(8)) reading
the operator's key directory :data:`KEY_DIR`: ``<device>.key`` (private, this
device only) and ``<device>.pub`` (every peer). ``Table = off`` because the
peers exist only after ``PostUp``: the routes into the VRF's table are
``PostUp`` lines too, and the ``iproute2`` target's ``ip rule iif wg-<vrf>``
sends decrypted packets to the same table. That table already holds a
blackhole (largest metric) for each of these prefixes: the tunnel's routes
win while it is up, and when it is down nothing goes in clear.
"""

from __future__ import annotations

from zongheng.compiler.errors import InputError
from zongheng.compiler.model import Device
from zongheng.emitters.base import Emitter
from zongheng.emitters.filters import Lines, cidr, sort_prefixes
from zongheng.emitters.linux_plan import (
    VRF_TABLE_BASE,
    WG_PORT_BASE,
    vrf_names,
    wg_ifname,
)

KEY_DIR = "/etc/zongheng/wireguard"


class WireguardError(InputError):
    """A tunnel the WireGuard target cannot render."""


class WireguardEmitter(Emitter):
    """``wireguard/<interface>.conf`` per VRF with vertical tunnels."""

    name = "wireguard"
    extension = "conf"

    def __init__(self, network, template_dir=None) -> None:
        super().__init__(network, template_dir)
        self.vrf_index = {v: i for i, v in enumerate(vrf_names(network))}
        self.loopbacks = {d.name: d.loopback for d in network.devices}
        # device -> its vertical tunnels, in model order: asked per device, and a province
        # has thousands of tunnels
        self.vertical: dict[str, list] = {}
        for t in network.tunnels:
            if t.kind == "vertical":
                for end in dict.fromkeys((t.a_device, t.b_device)):
                    self.vertical.setdefault(end, []).append(t)

    def interfaces(self, device: Device) -> dict[str, dict]:
        """VRF -> {ifname, port, table, peers: {remote device: (endpoint, prefixes)}}."""
        out: dict[str, dict] = {}
        for t in self.vertical.get(device.name, ()):
            a_side = device.name == t.a_device
            vrf = t.a_vrf if a_side else t.b_vrf
            remote = t.b_device if a_side else t.a_device
            if vrf is None:
                raise WireguardError(f"vertical tunnel {t.name} has no VRF on {device.name}")
            if remote == device.name:
                raise WireguardError(f"tunnel {t.name} joins {remote} to itself")
            i = self.vrf_index[vrf]
            entry = out.setdefault(vrf, {
                "vrf": vrf, "ifname": wg_ifname(vrf), "port": WG_PORT_BASE + i,
                "table": VRF_TABLE_BASE + i, "peers": {}, "tunnels": [],
            })
            addr = t.b_address if a_side else t.a_address
            prefixes = t.b_prefixes if a_side else t.a_prefixes
            old = entry["peers"].get(remote)
            if old is not None and old[0] != addr:
                raise WireguardError(f"{device.name}: two endpoints for peer {remote} in {vrf}")
            # exactly the tunnels' prefixes, not merged: each route below must replace
            # the VRF table's fail-closed blackhole of the same prefix
            exact = sort_prefixes({*(old[1] if old else ()), *(cidr(p) for p in prefixes)})
            entry["peers"][remote] = (addr, exact)
            entry["tunnels"].append(t.name)
        return out

    def render_files(self, device: Device) -> dict[str, str]:
        template = self.env.get_template("interface.conf.j2")
        files = {}
        for vrf, entry in sorted(self.interfaces(device).items()):
            # each peer's routes formatted here (a hub has thousands): a Lines block
            routes = f" dev %i table {entry['table']}"
            peers = [
                {"device": name, "endpoint": addr, "port": entry["port"], "allowed": prefixes,
                 "route_lines": Lines("\n".join(f"PostUp = ip route replace {p}{routes}"
                                                 for p in prefixes))}
                for name, (addr, prefixes) in sorted(entry["peers"].items())
            ]
            files[f"wireguard/{entry['ifname']}.conf"] = template.render(
                network=self.network, device=device, vrf=vrf, iface=entry, peers=peers,
                key_dir=KEY_DIR,
            )
        return files

    def render(self, device: Device) -> str | None:
        files = self.render_files(device)
        return "".join(files[k] for k in sorted(files)) or None
