"""Huawei platform profiles: what AR writes differently from NE/CE (VRP8) and USG.

The ``huawei-vrp`` target's own class, :class:`~zongheng.emitters.huawei_vrp.HuaweiVrp`,
writes routers (PE, gw, inner) for NetEngine/CloudEngine on VRP8 and exits for
the USG firewall, each role for one real platform. Each profile here states
only where its platform differs, as a sqlglot dialect does;
``emitters/platforms.py`` names them. Every difference and its documentation:
docs/vendor-syntax.md, *Platform profiles*.
"""

from __future__ import annotations

from typing import ClassVar

from zongheng.emitters import crypto_suite
from zongheng.emitters.huawei_vrp import HuaweiVrp

# IANA *ICMP Type Numbers* registry: the codes registered for each type
# (https://www.iana.org/assignments/icmp-parameters/icmp-parameters.xhtml).
# A type missing here has no code list, and is written with every code 0-255.
ICMP_CODES: dict[int, tuple[int, ...]] = {
    0: (0,), 3: tuple(range(16)), 4: (0,), 5: (0, 1, 2, 3), 8: (0,), 9: (0, 16), 10: (0,),
    11: (0, 1), 12: (0, 1, 2), 13: (0,), 14: (0,), 15: (0,), 16: (0,), 17: (0,), 18: (0,),
    40: tuple(range(6)), 42: (0,), 43: tuple(range(5)),
}
ALL_CODES = tuple(range(256))


class HuaweiNe(HuaweiVrp):
    """NetEngine / CloudEngine on VRP8: the default router, exactly the target's output.

    Nothing differs: the ``huawei-vrp`` router statements were written and cited
    for VRP8 (two-stage ``commit``, ``icmp-type T`` for every code of a type).
    An NE renders no exit (its security-policy statements are the USG's).
    """


class HuaweiAr(HuaweiVrp):
    """AR routers on V200R (VRP5): immediate commit, ICMP rules with a code, AR IKE keyword.

    * no ``commit`` line: V200R applies each command as it is entered;
    * the IKE proposal's AES-CBC-256 is ``encryption-algorithm aes-cbc-256`` (an
      AR169 on VRP 5.160 shows it, and the AR500 V200R007 ``ike proposal`` page
      names the default so), where NE/CE and USG write ``aes-256``;
    * an advanced-ACL ICMP match names a type *and* a code (``icmp-type T C``,
      the code is required on V200R), so a rule for type T becomes one rule
      per code: the codes IANA registers for T when the rule permits (stricter
      than "every code" only for unregistered codes, so nothing opens), every
      code 0-255 when it denies (so the deny still covers the whole type).
      Rule IDs step 5 per code rule; ``config_lines.vendor_lines`` numbers
      them alike when given this ``icmp_codes``.
    """

    two_stage_commit: ClassVar[bool] = False
    suite: ClassVar[dict[str, str]] = {**crypto_suite.HUAWEI, "ike_encryption": "aes-cbc-256"}

    @classmethod
    def icmp_codes(cls, icmp_type: int, action: str) -> list[int | None]:
        if action != "permit":
            return list(ALL_CODES)
        return list(ICMP_CODES.get(icmp_type, ALL_CODES))


class HuaweiUsg(HuaweiVrp):
    """USG firewalls (USG6000): the default exit, exactly the target's exit output.

    Nothing differs: the target writes every exit (security zones, policies,
    NAT) for the USG: no ``commit`` line (the USG applies each command as it is
    entered), and every security-policy address list of two or more prefixes as
    one ``ip address-set NAME type object`` referenced by ``source-address |
    destination-address address-set NAME`` (the ``internet`` group once, not once
    per rule). Its IKE/IPsec keywords are the USG's own (cited from USG pages).
    """
