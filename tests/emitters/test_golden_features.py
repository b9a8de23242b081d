"""Per-feature golden files: one short fragment of one device's config per target.

The whole-province golden files (tests/golden/<target>/heilongjiang...) catch every
change, but a diff there is thousands of lines. These files hold only what one
feature renders to, from the tiny policy tests/data/features.zh:

- ``acl-service``: pe-north's ACL for horizontal(tax), one rule with ``service web``;
- ``nat-exit``: exit-prov's source NAT (pool, rule, inside/outside marks);
- ``inner-tunnel``: inner-north's encrypted inner-net tunnel to inner-prov.

Each is ``tests/golden/<target>/features/<feature>.ref``; regenerate with
``python -m pytest tests/emitters/test_golden_features.py --update-golden``.
"""

from __future__ import annotations

import re

import pytest

from zongheng.emitters import REGISTRY

POLICY = "tests/data/features.zh"

# feature -> (device, {target: line patterns}). A line matching a pattern is kept; when it
# is unindented its block comes with it (the indented lines below it, or up to the
# closing brace of a block it opens). A pattern starting with "~" keeps every unindented
# block one of whose lines matches the rest.
FEATURES: dict[str, tuple[str, dict[str, tuple[str, ...]]]] = {
    "acl-service": ("pe-north", {
        "cisco-ios-xe": (r"^object-group network (horizontal-tax-north|host-portal)$",
                         r"^ip access-list extended zh-h-tax-in$",
                         r"~^ ip access-group zh-h-tax-in "),
        "huawei-vrp": (r"~^ description zh-h-tax-in ", r"~^ description horizontal\(tax\)@north$"),
        "junos": (r"prefix-list (horizontal-tax-north|host-portal) ", r"filter zh-h-tax-in\b"),
        "nftables": (r"# ACL zh-h-tax-in:", r"^\tchain zh_acl_h_tax_in \{$"),
    }),
    "nat-exit": ("exit-prov", {
        "cisco-ios-xe": (r"^ip access-list standard NAT-SRC-", r"~^ ip nat (inside|outside)$",
                         r"^ip nat "),
        "huawei-vrp": (r"^nat address-group ", r"^nat-policy$"),
        "junos": (r"^set security nat ",),
        "nftables": (r"^table ip zh_nat \{$",),
    }),
    "inner-tunnel": ("inner-north", {
        "cisco-ios-xe": (r"^crypto ", r"^interface Tunnel", r" Tunnel\d+$"),
        "huawei-vrp": (r"^ike ", r"^ipsec ", r"^interface Tunnel", r" Tunnel[\d/]+$"),
        "junos": (r"\bst0\b", r"^set security (ike|ipsec) "),
        "strongswan": (r"^connections \{$",),
    }),
}


def _block_end(lines: list[str], i: int) -> int:
    """The index after the indented lines below unindented line ``i``."""
    j = i + 1
    while j < len(lines) and lines[j][:1].isspace():
        j += 1
    return j


def fragment(text: str, patterns: tuple[str, ...]) -> str:
    """The lines of ``text`` matching a pattern, each unindented one with its block."""
    lines = text.splitlines()
    plain = [p for p in patterns if not p.startswith("~")]
    inside = [p[1:] for p in patterns if p.startswith("~")]
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if inside and not line[:1].isspace():
            end = _block_end(lines, i)
            if any(re.search(p, ln) for p in inside for ln in lines[i + 1:end]):
                out.extend(lines[i:end])
                i = end
                continue
        if any(re.search(p, line) for p in plain):
            out.append(line)
            if line.rstrip().endswith("{"):
                depth = line.count("{") - line.count("}")
                while depth > 0 and i + 1 < len(lines):
                    i += 1
                    out.append(lines[i])
                    depth += lines[i].count("{") - lines[i].count("}")
            elif not line[:1].isspace():
                while i + 1 < len(lines) and lines[i + 1][:1].isspace():
                    i += 1
                    out.append(lines[i])
        i += 1
    return "\n".join(out) + "\n"


CASES = [(feature, target) for feature, (_, by_target) in FEATURES.items()
         for target in by_target]


@pytest.mark.parametrize(("feature", "target"), CASES)
def test_feature_fragment(feature: str, target: str, compiled, golden) -> None:
    device, by_target = FEATURES[feature]
    network = compiled(POLICY)
    text = REGISTRY[target](network).render(network.device(device))
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    got = fragment(text, by_target[target])
    assert got.strip(), f"{target} {device}: nothing of {feature} rendered"
    golden(f"{target}/features/{feature}.ref", got)
