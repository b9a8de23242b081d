"""strongSwan target: one ``swanctl.conf`` per tunnel endpoint (IKEv2, the one crypto suite).

Every model ``Tunnel`` (vertical nets between sites, inner-net links)
becomes one connection on each of its two devices. Proposals are the suite
every tunnel target states (``emitters/crypto_suite.py``: IKE
``aes256-sha256-prfsha256-modp2048``, ESP ``aes256gcm16``), so a Linux end
negotiates with a router end; a tunnel asking for another cipher is an
error. No secret is in the file: both ends authenticate with X.509
certificates of the network's CA, as the routers do: ``certs =
<device>.crt`` (swanctl's ``x509/``), the CA in ``x509ca/``, the device's
private key in ``private/`` (loaded by ``swanctl --load-creds``); each
certificate carries the end's IKE identities as subjectAltNames (the tunnel
address as an IP subjectAltName; per-VRF names for VRF tunnels). Traffic
selectors are exactly the tunnel's prefixes. Tunnels of a VRF set
``if_id_in/if_id_out`` to the VRF's table id: on Linux an XFRM interface
with that id placed in the VRF's table carries them (the ``iproute2``
target routes vertical tunnels over WireGuard).
"""

from __future__ import annotations

from zongheng.compiler.errors import InputError
from zongheng.compiler.model import Device, Tunnel
from zongheng.emitters import crypto_suite
from zongheng.emitters.base import Emitter
from zongheng.emitters.filters import safe_name
from zongheng.emitters.linux_plan import VRF_TABLE_BASE, vrf_names

IKE_PROPOSAL = crypto_suite.STRONGSWAN["ike"]
ESP_PROPOSAL = crypto_suite.STRONGSWAN["esp"]
CIPHER = crypto_suite.MODEL_CIPHER


class StrongswanError(InputError):
    """A tunnel strongSwan must not render (weak cipher, unknown end)."""


def ike_id(device: str, vrf: str | None, address: str) -> str:
    """IKE identity of one end: its tunnel address, as every router target sends.

    A tunnel in the global table (every inner-net tunnel, the only tunnels a
    router renders) is identified by the end's underlay address (ID_IPV4_ADDR),
    the identity Cisco (``identity local address``), Junos (``local-identity
    inet``) and Huawei (its default) use, so a Linux end and a router end agree
    (docs/vendor-syntax.md, IKE identities). A tunnel of a VRF (vertical nets:
    only the Linux targets render them, both ends strongSwan) keeps a per-VRF
    name: two VRFs' tunnels between the same two devices have the same addresses
    and may have overlapping traffic selectors; only the identity tells them
    apart, and with it the ``if_id`` (VRF) of the CHILD_SA.
    """
    return f"{vrf.lower()}.{device}" if vrf else address.split("/")[0]


def conn_name(tunnel: Tunnel) -> str:
    return safe_name(f"zh-{tunnel.name}", max_len=64)


class StrongswanEmitter(Emitter):
    """``strongswan.swanctl.conf`` per tunnel endpoint: install as /etc/swanctl/swanctl.conf."""

    name = "strongswan"
    extension = "swanctl.conf"

    def __init__(self, network, template_dir=None) -> None:
        super().__init__(network, template_dir)
        self.vrf_index = {v: i for i, v in enumerate(vrf_names(network))}

    def ends(self, device: Device) -> list[dict]:
        """This device's view of each of its tunnels: local and remote side."""
        out = []
        for t in self.network.tunnels:
            if device.name not in (t.a_device, t.b_device):
                continue
            if t.cipher != CIPHER:
                raise StrongswanError(f"tunnel {t.name}: cipher {t.cipher!r}, only {CIPHER}")
            if t.a_device == t.b_device:
                raise StrongswanError(f"tunnel {t.name} joins {t.a_device} to itself")
            a_side = device.name == t.a_device
            vrf = t.a_vrf if a_side else t.b_vrf
            remote_vrf = t.b_vrf if a_side else t.a_vrf
            local_device = t.a_device if a_side else t.b_device
            remote_device = t.b_device if a_side else t.a_device
            out.append({
                "tunnel": t,
                "conn": conn_name(t),
                "initiator": a_side,
                "local_device": t.a_device if a_side else t.b_device,
                "remote_device": t.b_device if a_side else t.a_device,
                "local_addr": t.a_address if a_side else t.b_address,
                "remote_addr": t.b_address if a_side else t.a_address,
                "local_ts": t.a_prefixes if a_side else t.b_prefixes,
                "remote_ts": t.b_prefixes if a_side else t.a_prefixes,
                "vrf": vrf,
                "local_id": ike_id(local_device, vrf, t.a_address if a_side else t.b_address),
                "remote_id": ike_id(remote_device, remote_vrf,
                                    t.b_address if a_side else t.a_address),
                "if_id": VRF_TABLE_BASE + self.vrf_index[vrf] if vrf else None,
            })
        return out

    def render(self, device: Device) -> str | None:
        ends = self.ends(device)
        if not ends:
            return None
        return self.env.get_template("swanctl.conf.j2").render(
            network=self.network, device=device, ends=ends,
            ike_proposal=IKE_PROPOSAL, esp_proposal=ESP_PROPOSAL,
        )
