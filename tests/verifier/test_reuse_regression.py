"""Regression: ACL-only reuse kept one disjunction per walk key for ingress classes
of different owners at one device (found by the brute-force oracle,
test_acl_only_defence_equals_brute_force_with_leaked_routes): the second owner got
the first one's parts, filtered to the first owner's target, and a delivery to another
owner was missed (proven where the leaked network delivers). The network is the
oracle's minimal example, as its repr."""

from __future__ import annotations

import pytest

import zongheng.compiler.model as model
from zongheng.verifier.engine import defence_status
from zongheng.verifier.obligations import Encoder
from zongheng.verifier.results import VIOLATED

NETWORK = (
    "Network(name='rand', display_name='rand', asn=65000, policy_file='r.zh', policy_"
    "sha256='', levels=('l',), regions=(), departments=(), classes=(EndpointClass(nam"
    "e='h(b)@r0', kind='horizontal', owner=None, region=None, realm='horizontal', pre"
    "fixes=('10.0.0.0/30',), device='pe-b', interface='eth1.0'), EndpointClass(name='"
    "h(a)@r1', kind='horizontal', owner=None, region=None, realm='horizontal', prefix"
    "es=('10.0.0.0/30',), device='pe-b', interface='eth1.1'), EndpointClass(name='h(a"
    ")@r2', kind='horizontal', owner=None, region=None, realm='horizontal', prefixes="
    "('10.0.0.0/30',), device='pe-b', interface='eth1.2'), EndpointClass(name='intern"
    "et', kind='internet', owner=None, region=None, realm='internet', prefixes=('10.0"
    ".0.0/30',), device='', interface=''), EndpointClass(name='private(p)', kind='pri"
    "vate', owner='p', region=None, realm='horizontal', prefixes=('10.0.0.0/30',), de"
    "vice='gw-p', interface='eth1')), blocks=(), hosts=(), devices=(Device(name='pe-a"
    "', role='pe', region=None, loopback='1.1.1.1', vrfs=(Vrf(name='H', rd='1:1', rt_"
    "export=(), rt_import=(), routes=(), realm='horizontal', description=''), Vrf(nam"
    "e='V', rd='1:1', rt_export=(), rt_import=(), routes=(), realm='horizontal', desc"
    "ription='')), interfaces=(Interface(name='eth0', vrf=None, address=None, acl_in="
    "None, acl_out=None, description='', peer_device='pe-b', peer_interface=None, att"
    "ached_class=None), Interface(name='eth9', vrf='H', address=None, acl_in='acl1', "
    "acl_out=None, description='', peer_device='exit-x', peer_interface='eth0', attac"
    "hed_class=None), Interface(name='eth8', vrf='H', address=None, acl_in='acl1', ac"
    "l_out=None, description='', peer_device='gw-p', peer_interface='eth0', attached_"
    "class=None)), acls=(Acl(name='acl1', lines=(), stateful=False, comment=''), Acl("
    "name='acl2', lines=(AclLine(seq=10, action='permit', protocol='ip', src=(), dst="
    '(), sport=None, dport=None, icmp_types=None, established=False, reply=False, rul'
    "e='r.zh:1', src_group=None, dst_group=None), AclLine(seq=20, action='permit', pr"
    "otocol='ip', src=(), dst=(), sport=None, dport=None, icmp_types=None, establishe"
    "d=False, reply=False, rule='r.zh:2', src_group=None, dst_group=None), AclLine(se"
    "q=30, action='permit', protocol='ip', src=(), dst=(), sport=None, dport=None, ic"
    "mp_types=None, established=False, reply=False, rule='r.zh:3', src_group=None, ds"
    "t_group=None)), stateful=False, comment='')), nat=(), routes=(), description='',"
    " tunnel_acl_in=()), Device(name='pe-b', role='pe', region=None, loopback='1.1.1."
    "1', vrfs=(Vrf(name='H', rd='1:1', rt_export=(), rt_import=(), routes=(Route(pref"
    "ix='10.0.0.0/30', kind='local', egress_device='pe-b', egress_interface='eth1.2',"
    " egress_vrf='H', route_target=None, origin_class=None, entry_interface=None, nex"
    "t_hop=None),), realm='horizontal', description=''), Vrf(name='V', rd='1:1', rt_e"
    "xport=(), rt_import=(), routes=(Route(prefix='10.0.0.0/30', kind='local', egress"
    "_device='pe-b', egress_interface='eth1.0', egress_vrf='H', route_target=None, or"
    "igin_class=None, entry_interface=None, next_hop=None), Route(prefix='10.0.0.0/30"
    "', kind='exit', egress_device='exit-x', egress_interface='eth1', egress_vrf=None"
    ", route_target=None, origin_class=None, entry_interface='eth0', next_hop=None), "
    "Route(prefix='10.0.0.0/30', kind='exit', egress_device='exit-x', egress_interfac"
    "e='eth1', egress_vrf=None, route_target=None, origin_class=None, entry_interface"
    "='eth0', next_hop=None), Route(prefix='10.0.0.0/30', kind='exit', egress_device="
    "'exit-x', egress_interface='eth1', egress_vrf=None, route_target=None, origin_cl"
    "ass=None, entry_interface='eth0', next_hop=None)), realm='horizontal', descripti"
    "on='')), interfaces=(Interface(name='eth1.0', vrf='H', address=None, acl_in='acl"
    "1', acl_out=None, description='', peer_device=None, peer_interface=None, attache"
    "d_class='h(b)@r0'), Interface(name='eth1.1', vrf='H', address=None, acl_in='acl1"
    "', acl_out=None, description='', peer_device=None, peer_interface=None, attached"
    "_class='h(a)@r1'), Interface(name='eth1.2', vrf='H', address=None, acl_in=None, "
    "acl_out=None, description='', peer_device=None, peer_interface=None, attached_cl"
    "ass='h(a)@r2'), Interface(name='eth0', vrf=None, address=None, acl_in=None, acl_"
    "out=None, description='', peer_device='pe-a', peer_interface=None, attached_clas"
    "s=None)), acls=(Acl(name='acl1', lines=(AclLine(seq=10, action='permit', protoco"
    "l='ip', src=(), dst=(), sport=None, dport=None, icmp_types=None, established=Fal"
    "se, reply=False, rule='r.zh:1', src_group=None, dst_group=None),), stateful=Fals"
    "e, comment=''), Acl(name='acl2', lines=(), stateful=False, comment='')), nat=(),"
    " routes=(), description='', tunnel_acl_in=()), Device(name='exit-x', role='exit'"
    ", region=None, loopback='1.1.1.2', vrfs=(), interfaces=(Interface(name='eth0', v"
    "rf=None, address=None, acl_in='in', acl_out=None, description='', peer_device='p"
    "e-a', peer_interface='eth9', attached_class=None), Interface(name='eth1', vrf=No"
    "ne, address=None, acl_in='out', acl_out=None, description='', peer_device=None, "
    "peer_interface=None, attached_class='internet')), acls=(Acl(name='in', lines=(),"
    " stateful=True, comment=''), Acl(name='out', lines=(), stateful=True, comment=''"
    ")), nat=(), routes=(Route(prefix='0.0.0.0/0', kind='local', egress_device='exit-"
    "x', egress_interface='eth1', egress_vrf=None, route_target=None, origin_class=No"
    "ne, entry_interface=None, next_hop=None),), description='', tunnel_acl_in=()), D"
    "evice(name='gw-p', role='gw', region=None, loopback='1.1.1.3', vrfs=(), interfac"
    "es=(Interface(name='eth0', vrf=None, address=None, acl_in='o', acl_out=None, des"
    "cription='', peer_device='pe-a', peer_interface='eth8', attached_class=None), In"
    "terface(name='eth1', vrf=None, address=None, acl_in='i', acl_out=None, descripti"
    "on='', peer_device=None, peer_interface=None, attached_class='private(p)')), acl"
    "s=(Acl(name='o', lines=(), stateful=False, comment=''), Acl(name='i', lines=(), "
    "stateful=False, comment='')), nat=(), routes=(Route(prefix='10.0.0.0/30', kind='"
    "local', egress_device='gw-p', egress_interface='eth1', egress_vrf=None, route_ta"
    'rget=None, origin_class=None, entry_interface=None, next_hop=None), Route(prefix'
    "='0.0.0.0/0', kind='uplink', egress_device='pe-a', egress_interface='eth8', egre"
    "ss_vrf='H', route_target=None, origin_class=None, entry_interface='eth8', next_h"
    "op=None)), description='', tunnel_acl_in=())), links=(), tunnels=(), rules=(), a"
    "ssertions=(AssertionSpec(name='a', builtin=False, statements=(Statement(kind='vi"
    "a-exit', src=(('h(b)@r0', ('10.0.0.0/30',)), ('h(a)@r1', ('10.0.0.0/30',)), ('h("
    "a)@r2', ('10.0.0.0/30',)), ('private(p)', ('10.0.0.0/30',))), dst=(('internet', "
    "('10.0.0.0/30',)),), services=(Service(protocol='ip', ports=None),), text='s0', "
    "location='r.zh:0', bindings=(), distinct_owners=False),), location='r.zh:0', wai"
    "vers=()), AssertionSpec(name='a1', builtin=True, statements=(Statement(kind='den"
    "y', src=(('h(b)@r0', ('10.0.0.0/30',)), ('h(a)@r1', ('10.0.0.0/30',))), dst=(('i"
    "nternet', ('10.0.0.0/30',)), ('h(a)@r2', ('10.0.0.0/30',))), services=(Service(p"
    "rotocol='ip', ports=None),), text='s1', location='r.zh:1', bindings=(), distinct"
    "_owners=True),), location='r.zh:1', waivers=())), route_targets=(RouteTargetTabl"
    "e(rt='65000:1', routes=(Route(prefix='10.0.0.0/30', kind='remote', egress_device"
    "='pe-b', egress_interface='eth1.0', egress_vrf='H', route_target='65000:1', orig"
    "in_class=None, entry_interface=None, next_hop=None),)), RouteTargetTable(rt='650"
    "00:2', routes=(Route(prefix='10.0.0.0/30', kind='remote', egress_device='pe-b', "
    "egress_interface='eth1.0', egress_vrf='H', route_target='65000:2', origin_class="
    "None, entry_interface=None, next_hop=None), Route(prefix='10.0.0.0/30', kind='re"
    "mote', egress_device='pe-b', egress_interface='eth1.0', egress_vrf='H', route_ta"
    "rget='65000:2', origin_class=None, entry_interface=None, next_hop=None)))), meta"
    '=())'
)


def test_two_owners_at_one_device_keep_their_own_targets():
    net = eval(NETWORK, {k: getattr(model, k) for k in dir(model)})  # noqa: S307
    spec = next(s for s in net.assertions  # the oracle's failing one
                if [c for c, _ in s.statements[0].src] == ["h(b)@r0", "h(a)@r1"])
    reused = defence_status(net, spec, 30_000)
    assert reused["acl_only"] == VIOLATED
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Encoder, "REUSE_LEAKED", False)
        assert defence_status(net, spec, 30_000) == reused
