"""Every tunnel target states the one IKE/IPsec suite of ``emitters/crypto_suite.py``.

Each rendered config is read back into the suite's neutral names (IANA
IKEv2 transform names) by a small per-vendor reader; a Linux end and a
router end of one tunnel negotiate only if these agree.
"""

from __future__ import annotations

import re

import pytest

from tests.support.compiled import rendered_configs
from zongheng.emitters.crypto_suite import SUITE

POLICY = "policies/heilongjiang.zh"

# vendor keyword -> neutral name, per field
ENCR = {"aes-cbc-256": "ENCR_AES_CBC-256", "aes-256": "ENCR_AES_CBC-256",
        "aes-256-cbc": "ENCR_AES_CBC-256", "aes256": "ENCR_AES_CBC-256"}
INTEG = {"sha256": "AUTH_HMAC_SHA2_256_128", "hmac-sha2-256": "AUTH_HMAC_SHA2_256_128",
         "sha-256": "AUTH_HMAC_SHA2_256_128"}
PRF = {"sha256": "PRF_HMAC_SHA2_256", "hmac-sha2-256": "PRF_HMAC_SHA2_256",
       "prfsha256": "PRF_HMAC_SHA2_256", "sha-256": "PRF_HMAC_SHA2_256"}
DH = {"14": 14, "group14": 14, "modp2048": 14}
ESP = {"esp-gcm 256": "ENCR_AES_GCM_16-256", "aes-256-gcm-128": "ENCR_AES_GCM_16-256",
       "aes-256-gcm": "ENCR_AES_GCM_16-256", "aes256gcm16": "ENCR_AES_GCM_16-256"}
AUTH = {"rsa-sig": "rsa-signature-x509", "rsa-signature": "rsa-signature-x509",
        "rsa-signatures": "rsa-signature-x509"}


def _one(pattern: str, text: str) -> str:
    found = set(re.findall(pattern, text, re.M))
    assert len(found) == 1, (pattern, found)
    return found.pop()


def read_cisco(text: str) -> dict:
    return {
        "ike_encryption": ENCR[_one(r"^ encryption (\S+)$", text)],
        "ike_integrity": INTEG[_one(r"^ integrity (\S+)$", text)],
        # IOS-XE derives the PRF from the integrity algorithm when no prf is given
        "ike_prf": PRF[_one(r"^ integrity (\S+)$", text)],
        "ike_dh_group": DH[_one(r"^ group (\d+)$", text)],
        "authentication": AUTH[_one(r"^ authentication (?:local|remote) (\S+)$", text)],
        "esp_encryption": ESP[_one(r"^crypto ipsec transform-set \S+ (esp-gcm \d+)$", text)],
        "esp_pfs_group": None if "set pfs" not in text else "?",
        "ike_version": 2 if "crypto ikev2 profile" in text else 1,
        "trustpoint_defined": "crypto pki trustpoint" in text,
    }


def read_huawei(text: str) -> dict:
    return {
        "ike_encryption": ENCR[_one(r"^ encryption-algorithm (\S+)$", text)],
        "ike_integrity": INTEG[_one(r"^ integrity-algorithm (\S+)$", text)],
        "ike_prf": PRF[_one(r"^ prf (\S+)$", text)],
        "ike_dh_group": DH[_one(r"^ dh (\S+)$", text)],
        "authentication": AUTH[_one(r"^ authentication-method (\S+)$", text)],
        "esp_encryption": ESP[_one(r"^ esp encryption-algorithm (\S+)$", text)],
        "esp_pfs_group": None if re.search(r"^ pfs ", text, re.M) is None else "?",
        "ike_version": 2 if re.search(r"^ undo version 1$", text, re.M) else 1,
        "trustpoint_defined": re.search(r"^pki realm ", text, re.M) is not None,
    }


def read_junos(text: str) -> dict:
    p = r"^set security ike proposal \S+ "
    return {
        "ike_encryption": ENCR[_one(p + r"encryption-algorithm (\S+)$", text)],
        "ike_integrity": INTEG[_one(p + r"authentication-algorithm (\S+)$", text)],
        # Junos IKEv2 derives the PRF from the authentication algorithm
        "ike_prf": PRF[_one(p + r"authentication-algorithm (\S+)$", text)],
        "ike_dh_group": DH[_one(p + r"dh-group (\S+)$", text)],
        "authentication": AUTH[_one(p + r"authentication-method (\S+)$", text)],
        "esp_encryption": ESP[_one(r"^set security ipsec proposal \S+ encryption-algorithm "
                                   r"(\S+)$", text)],
        "esp_pfs_group": None if "perfect-forward-secrecy" not in text else "?",
        "ike_version": 2 if _one(r" version (\S+)$", text) == "v2-only" else 1,
        "trustpoint_defined": "set security pki ca-profile" in text,
    }


def read_strongswan(text: str) -> dict:
    ike = _one(r"^\s+proposals = (\S+)$", text).split("-")
    esp = _one(r"^\s+esp_proposals = (\S+)$", text).split("-")
    assert len(ike) == 4 and len(esp) == 1, (ike, esp)  # no DH group on ESP: no PFS
    return {
        "ike_encryption": ENCR[ike[0]],
        "ike_integrity": INTEG[ike[1]],
        "ike_prf": PRF[ike[2]],
        "ike_dh_group": DH[ike[3]],
        # auth = pubkey with a certificate (certs = ...) is certificate signature auth
        "authentication": "rsa-signature-x509" if re.search(r"^\s+certs = \S+\.crt$", text,
                                                            re.M) else "raw-public-key",
        "esp_encryption": ESP[esp[0]],
        "esp_pfs_group": None,
        "ike_version": int(_one(r"^\s+version = (\d)$", text)),
        "trustpoint_defined": True,  # the CA is a file in x509ca/, not a statement
    }


READERS = {"cisco-ios-xe": read_cisco, "huawei-vrp": read_huawei, "junos": read_junos,
           "strongswan": read_strongswan}
WANT = {"ike_encryption": SUITE.ike_encryption, "ike_integrity": SUITE.ike_integrity,
        "ike_prf": SUITE.ike_prf, "ike_dh_group": SUITE.ike_dh_group,
        "authentication": SUITE.authentication, "esp_encryption": SUITE.esp_encryption,
        "esp_pfs_group": SUITE.esp_pfs_group, "ike_version": SUITE.ike_version,
        "trustpoint_defined": True}


@pytest.mark.parametrize("target", sorted(READERS))
def test_every_tunnel_config_states_the_one_suite(target: str) -> None:
    configs = rendered_configs(POLICY, target)
    inner = {d: t for d, t in configs.items() if d.startswith("inner-")}
    assert inner, f"no inner-router config of {target}"
    for device, text in inner.items():
        assert READERS[target](text) == WANT, (target, device)
