"""Platform profiles (emitters/platforms.py): the registry, each profile's differences,
golden files, and the checks every router config passes, on every profile's output.

Golden files: ``tests/golden/platforms/<platform>/<device>.<ext>``, every device of
tests/data/features.zh the platform renders; regenerate with
``python -m pytest tests/emitters/test_platforms.py --update-golden``.
"""

from __future__ import annotations

import dataclasses
import re

import pytest

from tests.emitters.test_config_lines import _huawei_check, _packet
from tests.emitters.test_emit_vendor import check
from tests.support.compiled import compiled_network, render_all
from tests.support.refcheck import CHECKERS
from zongheng.compiler.model import Acl, AclLine, Network
from zongheng.emitters import REGISTRY
from zongheng.emitters.config_lines import vendor_lines
from zongheng.emitters.huawei_platforms import ICMP_CODES, HuaweiAr, HuaweiUsg
from zongheng.emitters.huawei_vrp import HuaweiVrp
from zongheng.emitters.platforms import (
    PLATFORMS,
    PlatformError,
    default_platform,
    emitter_class,
    platform,
)
from zongheng.importers.base import overlay
from zongheng.importers.huawei_vrp import parse
from zongheng.verifier.acl_diff import acl_differences

FEATURES = "tests/data/features.zh"
PROVINCE = "policies/heilongjiang.zh"
EXAMPLES = ("policies/minimal.zh", FEATURES, PROVINCE)


def rendered(policy: str, name: str) -> dict[str, str]:
    """Device -> config text of every device of ``policy`` the platform renders."""
    network = compiled_network(policy)
    p = platform(name)
    emitter = p.emitter(network)
    return {d.name: emitter.render(d) for d in network.devices
            if p.renders(d.role) and emitter.applies_to(d)}


# ------------------------------------------------------------------ the registry


def test_every_platform_names_its_target_and_a_subclass_of_its_emitter() -> None:
    assert sorted(PLATFORMS) == ["cisco-asr", "cisco-isr", "huawei-ar", "huawei-ne",
                                 "huawei-usg", "junos-mx", "junos-srx"]
    for name, p in PLATFORMS.items():
        assert p.name == name and p.roles
        assert issubclass(p.emitter, REGISTRY[p.target]), name
        assert p.emitter.name == p.target  # same templates, same file name
        assert emitter_class(name) is p.emitter


def test_profiles_are_not_targets_of_their_own() -> None:
    assert REGISTRY["huawei-vrp"] is HuaweiVrp
    assert all(REGISTRY[p.target] is not p.emitter for p in PLATFORMS.values())


def test_unknown_platform_and_wrong_role_are_input_errors() -> None:
    with pytest.raises(PlatformError, match=r"unknown platform 'huawei-s5700' \(known: "
                                            r"cisco-asr, .*junos-srx\)"):
        emitter_class("huawei-s5700")
    with pytest.raises(PlatformError, match="junos-mx does not render a exit device"):
        emitter_class("junos-mx", "exit")
    with pytest.raises(PlatformError, match="huawei-usg does not render a pe device"):
        emitter_class("huawei-usg", "pe")
    assert emitter_class("junos-srx", "inner") is PLATFORMS["junos-srx"].emitter
    with pytest.raises(PlatformError, match="no platform profiles for target 'nftables'"):
        default_platform("nftables", "pe")


@pytest.mark.parametrize("target", ["cisco-ios-xe", "huawei-vrp", "junos"])
@pytest.mark.parametrize("policy", ["policies/minimal.zh", FEATURES])
def test_the_default_platform_writes_todays_output(target: str, policy: str) -> None:
    network = compiled_network(policy)
    today = render_all(network, target)
    for d in network.devices:
        if d.name not in today:
            continue
        p = default_platform(target, d.role)
        assert p.target == target and p.renders(d.role)
        assert p.emitter(network).render(d) == today[d.name], (p.name, d.name)


@pytest.mark.parametrize("name", ["cisco-isr", "cisco-asr", "huawei-ne", "huawei-usg",
                                  "junos-mx", "junos-srx"])
def test_alias_profiles_write_exactly_their_target(name: str) -> None:
    """No invented differences: these profiles change nothing (their docstrings say why)."""
    network = compiled_network(FEATURES)
    target = REGISTRY[PLATFORMS[name].target](network)
    for device, text in rendered(FEATURES, name).items():
        assert text == target.render(network.device(device)), (name, device)


# ------------------------------------------------------------------ golden files


# (platform, device) by role, so that collecting this file renders nothing
GOLDEN_CASES = [(name, d.name) for name in sorted(PLATFORMS)
                for d in sorted(compiled_network(FEATURES).devices, key=lambda d: d.name)
                if PLATFORMS[name].renders(d.role) and d.role in PLATFORMS[name].emitter.roles]


@pytest.mark.parametrize(("name", "device"), GOLDEN_CASES)
def test_platform_golden(name: str, device: str, golden) -> None:
    ext = PLATFORMS[name].emitter.extension
    golden(f"platforms/{name}/{device}.{ext}", rendered(FEATURES, name)[device])


def test_every_platform_has_golden_files() -> None:
    assert {name for name, _ in GOLDEN_CASES} == set(PLATFORMS)


# ------------------------------------------------------------------ every check, every profile


# the alias profiles render their target's text (test above), which
# test_reference_integrity and test_emit_vendor check on every policy; the province
# is checked here for the profiles that change something
CHECKED = [(name, policy) for name in sorted(PLATFORMS) for policy in EXAMPLES
           if policy != PROVINCE or name in ("huawei-ar", "huawei-usg")]


@pytest.mark.parametrize(("name", "policy"), CHECKED)
def test_profile_output_passes_the_strict_and_reference_checkers(name: str, policy: str) -> None:
    target = PLATFORMS[name].target
    configs = rendered(policy, name)
    for device, text in configs.items():
        assert not check(target, text), (name, device, check(target, text)[:5])
        problems = CHECKERS[target](text)
        assert not problems, f"{name} {device}:\n" + "\n".join(map(str, problems))


# ------------------------------------------------------------------ Huawei AR


def test_ar_has_no_commit_and_ne_keeps_it() -> None:
    ar = rendered(FEATURES, "huawei-ar")
    ne = rendered(FEATURES, "huawei-ne")
    assert ar.keys() == ne.keys()  # neither renders the exit (its statements are the USG's)
    assert "exit-prov" not in ar
    for device in ar:
        assert "\ncommit\n" not in ar[device] and ar[device].endswith("\nreturn\n")
    for device in ne:
        assert ne[device].endswith("\ncommit\nreturn\n")


def test_ar_icmp_rules_name_a_type_and_every_registered_code() -> None:
    """V200R needs ``icmp-type T C``: a permit of type 3 becomes one rule per code 0-15."""
    text = rendered(FEATURES, "huawei-ar")["pe-prov"]
    rules = re.findall(r"^ rule (\d+) permit icmp .* icmp-type (\d+)(?: (\d+))?$", text, re.M)
    assert rules
    assert all(code for _rid, _typ, code in rules)  # never a type without a code
    by_type: dict[str, set[int]] = {}
    for _rid, typ, code in rules:
        by_type.setdefault(typ, set()).add(int(code))
    assert by_type == {"3": set(ICMP_CODES[3]), "11": set(ICMP_CODES[11])}
    for acl in text.split("\nacl number ")[1:]:
        ids = [int(m) for m in re.findall(r"^ rule (\d+) (?:permit|deny) ", acl, re.M)]
        assert ids == sorted(set(ids))  # unique, in the order the rules are matched
    # the NE (VRP8) form of the same ACL: one rule per type, every code
    ne = rendered(FEATURES, "huawei-ne")["pe-prov"]
    assert re.search(r" icmp-type 3$", ne, re.M) and not re.search(r" icmp-type 3 \d+$", ne, re.M)


def test_ar_counterexample_lines_name_the_ar_rule() -> None:
    """With the AR's codes, config_lines numbers the rules as the AR config does."""
    network = compiled_network(FEATURES)
    device = network.device("pe-prov")
    text = rendered(FEATURES, "huawei-ar")["pe-prov"]
    codes = HuaweiAr(network).icmp_codes
    checked = typed = 0
    for acl in device.acls:
        for line in acl.lines:
            pkt = _packet(line)
            where = vendor_lines(network, device, acl.name, line.seq, pkt, codes)["huawei-vrp"]
            _huawei_check(text, where, line, pkt)
            checked += 1
            typed += pkt.icmp_type is not None
    assert checked >= 5 and typed
    # without the AR's codes the default numbering names another rule there (type 11's
    # rules come after type 3's, which are 16 per address pair on an AR)
    acl, line = next((a, ln) for a in device.acls for ln in a.lines if ln.icmp_types)
    pkt = _packet(line)
    assert pkt.icmp_type == 11
    assert vendor_lines(network, device, acl.name, line.seq, pkt)["huawei-vrp"] != \
        vendor_lines(network, device, acl.name, line.seq, pkt, codes)["huawei-vrp"]


def test_ar_ike_proposal_names_aes_cbc_256_and_keeps_the_one_suite() -> None:
    """V200R spells the IKE AES-CBC-256 ``aes-cbc-256``; the suite is the same one."""
    from tests.emitters.test_crypto_suite import WANT, read_huawei

    ar = rendered(PROVINCE, "huawei-ar")
    ne = rendered(PROVINCE, "huawei-ne")
    inner = [d for d in ar if d.startswith("inner-")]
    assert inner
    for device in inner:
        assert re.search(r"^ encryption-algorithm aes-cbc-256$", ar[device], re.M)
        assert re.search(r"^ encryption-algorithm aes-256$", ne[device], re.M)
        assert read_huawei(ar[device]) == WANT, device


def _reads_back_equal(policy: str, name: str, text: str) -> int:
    """Import ``text`` as device ``name`` and compare every bound ACL with the model (z3)."""
    d = compiled_network(policy).device(name)
    back = overlay(d, parse(text, d, f"{name}.cfg"))
    acls = {a.name: a for a in d.acls}
    got = {a.name: a for a in back.acls}
    compared = 0
    for want_i, got_i in zip(d.interfaces, back.interfaces, strict=True):
        for direction in ("acl_in", "acl_out"):
            want = getattr(want_i, direction)
            if want:
                assert acl_differences(acls[want], got[getattr(got_i, direction)]) == [], \
                    (name, want_i.name, direction)
                compared += 1
    return compared


@pytest.mark.parametrize(("policy", "device"), [(FEATURES, "pe-prov"), (PROVINCE, "pe-hrb")])
def test_ar_config_reads_back_equal_to_the_compiled_one(policy: str, device: str) -> None:
    """The importer reads an AR's per-code ICMP rules back as whole ICMP types."""
    text = rendered(policy, "huawei-ar")[device]
    assert re.search(r" icmp-type 3 15$", text, re.M)
    assert _reads_back_equal(policy, device, text) > 0


def test_an_ar_permit_missing_a_registered_code_is_refused() -> None:
    from zongheng.importers.base import ConfigError

    text = rendered(FEATURES, "huawei-ar")["pe-prov"]
    first = re.search(r"^ rule (\d+) permit icmp .* icmp-type 3 7$", text, re.M)
    assert first
    cut = re.sub(rf"^ rule {first[1]} .*\n", "", text, count=2, flags=re.M)
    d = compiled_network(FEATURES).device("pe-prov")
    with pytest.raises(ConfigError, match=r"ICMP type 3 with codes 0-6, 8-15: .* every code IANA "
                                          r"registers \(missing 7\)"):
        parse(cut, d, "pe-prov.cfg")


def test_ar_icmp_deny_covers_every_code(hand_network) -> None:
    """A deny must not shrink to the registered codes: it is written for codes 0-255."""
    base: Network = hand_network()
    device = next(d for d in base.devices if d.role == "pe" and d.acls)
    acl = device.acls[0]
    deny = AclLine(1, "deny", "icmp", (), ("10.0.0.0/8",), icmp_types=(3,), rule="t.zh:1")
    acl2 = Acl(name=acl.name, comment=acl.comment, lines=(deny, *acl.lines))
    device2 = dataclasses.replace(device, acls=(acl2, *device.acls[1:]))
    network = dataclasses.replace(
        base, devices=tuple(device2 if d is device else d for d in base.devices))
    text = HuaweiAr(network).render(device2)
    codes = [int(c) for c in re.findall(r"^ rule \d+ deny icmp .* icmp-type 3 (\d+)$", text,
                                        re.M)]
    assert codes == list(range(256))
    # and the importer reads the 256 rules back as the model's one deny of type 3
    back = overlay(device2, parse(text, device2, "pe.cfg"))
    got = next(a for a in back.acls if a.name == acl2.name)
    assert acl_differences(acl2, got) == []


# ------------------------------------------------------------------ Huawei USG


def _exit(policy: str) -> str:
    return next(d.name for d in compiled_network(policy).devices if d.role == "exit")


def test_usg_writes_the_internet_group_once_as_an_address_set() -> None:
    """The default Huawei exit is the USG: its address lists are address sets."""
    exit_hlj = _exit(PROVINCE)
    usg = rendered(PROVINCE, "huawei-usg")[exit_hlj]
    assert render_all(compiled_network(PROVINCE), "huawei-vrp")[exit_hlj] == usg
    sets = re.findall(r"^ip address-set (\S+) type object$", usg, re.M)
    assert sets and len(sets) == len(set(sets))
    uses = re.findall(r"^  (?:source|destination)-address address-set (\S+)$", usg, re.M)
    assert set(uses) == set(sets)
    # the 64-prefix internet group: once in a set, not once per security-policy rule
    # (1192 lines when every rule listed its prefixes)
    members = re.findall(r"^ address \d+ (\S+ mask \S+)$", usg, re.M)
    assert len(members) > 64 and usg.count("\n") < 400
    assert "\ncommit\n" not in usg and usg.endswith("\nreturn\n")


@pytest.mark.parametrize("policy", [FEATURES, PROVINCE])
def test_usg_exit_reads_back_equal_to_the_compiled_one(policy: str) -> None:
    """The Huawei importer reads the address sets: every firewall ACL round-trips (z3)."""
    name = _exit(policy)
    d = compiled_network(policy).device(name)
    back = overlay(d, parse(rendered(policy, "huawei-usg")[name], d, f"{name}.cfg"))
    acls = {a.name: a for a in d.acls}
    got = {a.name: a for a in back.acls}
    bound = [i.acl_in for i in d.interfaces if i.acl_in]
    assert bound
    for want_i, got_i in zip(d.interfaces, back.interfaces, strict=True):
        if want_i.acl_in:
            assert acl_differences(acls[want_i.acl_in], got[got_i.acl_in]) == [], want_i.name


def test_address_sets_and_no_commit_on_every_huawei_exit_only() -> None:
    """Every platform's exit is the USG's; no router gets an address set."""
    network = compiled_network(FEATURES)
    for cls in (HuaweiVrp, HuaweiUsg):
        for d in network.devices:
            text = cls(network).render(d)
            if d.role == "exit":
                assert "\nip address-set " in text and "\ncommit\n" not in text
            else:
                assert "address-set" not in text


def test_reference_checker_knows_address_sets() -> None:
    """The Huawei reference checker sees an undefined or late ``ip address-set``."""
    use = ("security-policy\n rule name r\n  destination-address address-set zh-addr-1\n"
           " quit\nquit\n")
    late = use + "ip address-set zh-addr-1 type object\n address 0 1.0.0.0 mask 255.0.0.0\nquit\n"
    assert [p.why for p in CHECKERS["huawei-vrp"](use)] == ["address-set zh-addr-1 is never "
                                                            "defined"]
    assert any(p.why.startswith("address-set zh-addr-1 used before its definition")
               for p in CHECKERS["huawei-vrp"](late))


def test_an_address_list_larger_than_a_usg_address_set_is_refused() -> None:
    """A USG address object numbers its members 0-4095: 4097 prefixes cannot be one set."""
    from zongheng.emitters._router import VendorEmitError
    from zongheng.emitters.huawei_vrp import _address_sets

    prefixes = [f"10.{k // 256}.{k % 256}.0/24" for k in range(4097)]
    with pytest.raises(VendorEmitError, match=r"rule r1: 4097 prefixes, more than a USG "
                                              r"address set holds \(4096\)"):
        _address_sets([{"name": "r1", "src": prefixes, "dst": []}])
    sets = _address_sets([{"name": "r1", "src": prefixes[:4096], "dst": []}])
    assert len(sets[0]["prefixes"]) == 4096


@pytest.mark.parametrize(("name", "target"), [("huawei-usg", "huawei-vrp"),
                                              ("junos-srx", "junos"),
                                              ("cisco-asr", "cisco-ios-xe")])
def test_platform_lines_name_the_exit_line_in_the_platforms_config_only(
        name: str, target: str) -> None:
    """A firewall exit of a known platform: its security-policy rule (or ACL entry) only,
    and that line is in the platform's config and decides as the model line does."""
    from tests.emitters.test_config_lines import CHECK
    from zongheng.emitters.platforms import platform_lines

    network = compiled_network(FEATURES)
    device = network.device(_exit(FEATURES))
    text = rendered(FEATURES, name)[device.name]
    checked = 0
    for acl in device.acls:
        for line in acl.lines:
            pkt = _packet(line)
            found = platform_lines(network, device, acl.name, line.seq, pkt, name)
            assert set(found) == {target}
            CHECK[target](text, found[target], line, pkt)
            checked += 1
    assert checked
    acl = device.acls[0]
    line = acl.lines[0]
    assert set(platform_lines(network, device, acl.name, line.seq, _packet(line))) == {
        "cisco-ios-xe", "huawei-vrp", "junos"}
