"""The one IKE/IPsec suite every tunnel target states, and each vendor's spelling of it.

A tunnel's two ends may be rendered by different targets (a Linux inner
router facing an SRX, a Cisco PE facing a Huawei one); they negotiate only
if both offer the same transforms and authenticate the same way. So the
suite is stated once, here, and every emitter (Cisco, Huawei, Junos,
strongSwan) takes its keywords from :data:`SUITE`; ``tests/emitters/
test_crypto_suite.py`` reads the suite back from every rendered config.

The suite is the intersection the four targets document (``docs/vendor-
syntax.md``): IKEv2 only; IKE SA AES-256-CBC, HMAC-SHA-256 integrity,
PRF HMAC-SHA-256, Diffie-Hellman group 14 (MODP 2048); authentication by
RSA signatures with X.509 certificates from one CA, installed out of band;
ESP AES-256-GCM with a 16-octet ICV in tunnel mode. No PFS group on the
CHILD_SA: CHILD_SA keys come from the IKE SA's (fresh) DH exchange, and a
PFS group is not yet cited for every router target, so none states one
(strongSwan's ESP proposal therefore names no DH group: a rekey proposing
one would fail against a router end that has none).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Suite:
    """The transforms of the suite, named neutrally (IANA IKEv2 transform names)."""

    ike_version: int = 2
    ike_encryption: str = "ENCR_AES_CBC-256"
    ike_integrity: str = "AUTH_HMAC_SHA2_256_128"
    ike_prf: str = "PRF_HMAC_SHA2_256"
    ike_dh_group: int = 14  # MODP 2048
    authentication: str = "rsa-signature-x509"
    esp_encryption: str = "ENCR_AES_GCM_16-256"
    esp_pfs_group: int | None = None
    esp_mode: str = "tunnel"


SUITE = Suite()

# ------------------------------------------------------------ vendor spellings
# Each table spells exactly SUITE; test_crypto_suite parses the configs back.

CISCO = {
    "ike_encryption": "aes-cbc-256",
    "ike_integrity": "sha256",
    "ike_prf": "sha256",
    "ike_group": str(SUITE.ike_dh_group),
    "auth": "rsa-sig",
    "esp_transform": "esp-gcm 256",
    "esp_mode": "tunnel",
}

HUAWEI = {
    "ike_encryption": "aes-256",
    "ike_dh": f"group{SUITE.ike_dh_group}",
    "auth": "rsa-signature",
    "ike_authentication": "sha2-256",
    "ike_integrity": "hmac-sha2-256",
    "ike_prf": "hmac-sha2-256",
    "esp_encryption": "aes-256-gcm-128",
    "esp_mode": "tunnel",
}

JUNOS = {
    "ike_encryption": "aes-256-cbc",
    "ike_authentication": "sha-256",
    "ike_dh": f"group{SUITE.ike_dh_group}",
    "auth": "rsa-signatures",
    "esp_encryption": "aes-256-gcm",
    "version": "v2-only",
}

# strongSwan proposal keywords (swanctl.conf ``proposals`` / ``esp_proposals``)
STRONGSWAN = {
    "ike": "aes256-sha256-prfsha256-modp2048",
    "esp": "aes256gcm16",
    "auth": "pubkey",  # certificate-based signature authentication (certs = ...)
}

# the cipher name the model gives a tunnel (Tunnel.cipher) that this suite renders
MODEL_CIPHER = "aes256gcm16"
