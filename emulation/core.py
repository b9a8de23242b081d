"""Real traffic through the emitted Linux configs, compared with the verifier's verdicts.

One namespace per device runs its iproute2 batch and nftables ruleset; one
host namespace per endpoint class sits behind the class's attachment, at one
address inside the class (the Internet: a host behind the exit's outside
interface). For each probe (ordered class pair; a TCP or UDP port, or ICMP
echo) the verifier answers with the same engine as ``zongheng query``: is a
new connection from this source address to this destination address
delivered and answered? The lab then tries it: a TCP connection to a
listener in the destination host, a UDP datagram its responder answers, or
a ping. Vertical nets between sites ride WireGuard: the emitted wg-quick
files come up with wireguard-go (userspace; this kernel has no WireGuard
module) and throwaway keys, so those paths are tried like any other.
Inner-net links ride IPsec: the emitted swanctl files of the inner routers
run in a charon each with strongSwan's userspace ESP (``kernel-libipsec``;
this kernel has no ESP) and throwaway certificates, so those paths (and the
tunnels' inbound ACLs, which nftables applies) are tried too; without
strongSwan they are skipped with the reason, never counted as agreeing.
"""

from __future__ import annotations

import random
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import netaddr
import z3

from zongheng.compiler.addresses import host
from zongheng.compiler.errors import InputError
from zongheng.compiler.model import Network, PortRange, Service
from zongheng.emitters.linux_plan import linux_plan
from zongheng.emitters.wireguard import KEY_DIR
from zongheng.emitters.writer import render_tree
from zongheng.emulation.lab import IPSEC_TOOLS, Lab, LabError, missing
from zongheng.emulation.probe import (
    DELIVERED,
    DROPPED,
    ELSEWHERE,
    ONE_WAY,
    Attempt,
    Listener,
    run_attempts,
)
from zongheng.verifier.forwarding import Forwarding
from zongheng.verifier.obligations import Encoder
from zongheng.verifier.query import query
from zongheng.verifier.results import Counterexample, Outcome

INTERNET_HOST = "198.51.100.10"  # TEST-NET-2: never inside a plan
UNUSED_CANDIDATES = (22, 23, 3389, 5900, 6000)
SAMPLE_SEED = "zongheng emulate"
LINUX_TARGETS = ["iproute2", "nftables", "wireguard", "strongswan"]
AGREE, MISMATCH, SKIPPED, UNKNOWN = "agree", "mismatch", "skipped", "unknown"
_ORDER = {MISMATCH: 0, UNKNOWN: 1, AGREE: 2, SKIPPED: 3}


class EmulateError(InputError):
    """The lab could not be built or the input cannot be emulated (exit 2)."""


@dataclass(frozen=True)
class LabHost:
    """The host standing for one endpoint class (the Internet: one per exit)."""

    name: str
    cls: str
    device: str
    interface: str  # model interface name
    address: str
    prefixlen: int
    gateway: str | None  # None: outside, the device's interface has no address


@dataclass(frozen=True)
class Probe:
    src: str  # endpoint class
    dst: str
    src_address: str
    dst_address: str  # as the source addresses it (the Internet: a static NAT address)
    dst_inside: str  # the destination host's own address
    protocol: str  # tcp | udp | icmp
    port: int | None

    @property
    def label(self) -> str:
        return f"{self.protocol}/{self.port}" if self.port is not None else "icmp echo"


@dataclass
class ProbeResult:
    probe: Probe
    verdict: str  # the verifier: all | none | some | unknown (of these connections)
    expected: str | None  # delivered | dropped | None (nothing definite)
    real: str | None  # delivered | dropped | None (not tried)
    status: str  # agree | mismatch | skipped | unknown
    reason: str = ""  # why skipped, or the verifier's evidence (rule, drop point)

    def to_json(self) -> dict:
        p = self.probe
        return {"status": self.status, "src_class": p.src, "dst_class": p.dst,
                "src": p.src_address, "dst": p.dst_address, "protocol": p.protocol,
                "port": p.port, "verifier": self.verdict, "expected": self.expected,
                "real": self.real, "reason": self.reason}


@dataclass
class Report:
    policy: str
    policy_sha256: str
    results: list[ProbeResult]
    notes: list[str] = field(default_factory=list)
    pairs_total: int = 0
    pairs_probed: int = 0
    seconds: float = 0.0

    def count(self, status: str) -> int:
        return sum(1 for r in self.results if r.status == status)

    @property
    def outcome(self) -> Outcome:
        """Broken on a mismatch, unknown where the solver gave no answer for a probe."""
        if self.count(MISMATCH):
            return Outcome.BROKEN
        return Outcome.UNKNOWN if self.count(UNKNOWN) else Outcome.HOLDS


# ---------------------------------------------------------------- what to probe

def probe_ports(services: dict[str, tuple[Service, ...]]) -> list[tuple[str, int]]:
    """(protocol, port): each TCP and UDP port a declared service names (a range: its
    first port), then per protocol one port no service uses (``any`` aside): it must be
    refused wherever only services are allowed."""
    out: list[tuple[str, int]] = []
    for proto in ("tcp", "udp"):
        ranges = [s.ports or PortRange(1, 65535) for name, terms in services.items()
                  if name != "any" for s in terms if s.protocol == proto]

        def free(port: int, ranges: list[PortRange] = ranges) -> bool:
            return not any(r.low <= port <= r.high for r in ranges)

        unused = next((p for p in UNUSED_CANDIDATES if free(p)), None)
        if unused is None:
            unused = next((p for p in range(1, 65536) if free(p)), None)
        out += [(proto, p) for p in sorted({r.low for r in ranges})]
        out += [(proto, unused)] if unused is not None else []
    return out


def _pick_address(iface_net: netaddr.IPNetwork, prefixes: tuple[str, ...], avoid: set[str],
                  prefer: list[str]) -> str | None:
    inside = netaddr.IPSet(prefixes) & netaddr.IPSet([iface_net.cidr])
    for a in prefer:
        if a in inside and a not in avoid:
            return a
    first, last = iface_net.first + 1, iface_net.last - 1
    for k in [10, *range(2, 10), *range(11, 64)]:
        a = first - 1 + k
        if first <= a <= last and netaddr.IPAddress(a) in inside and \
                str(netaddr.IPAddress(a)) not in avoid:
            return str(netaddr.IPAddress(a))
    return None


def lab_hosts(network: Network) -> tuple[dict[str, LabHost], list[str]]:
    """One host per attached class (address 10 of the attachment's subnet, or the
    published host it holds), the Internet behind every exit; and notes on classes
    that cannot have one."""
    hosts: dict[str, LabHost] = {}
    notes: list[str] = []
    published = [host(r.inside) for d in network.devices for r in d.nat
                 if r.kind == "static"]
    for c in network.classes:
        if c.kind == "internet":
            continue
        if not c.device or not c.interface:
            notes.append(f"{c.name}: no attachment, not emulated")
            continue
        iface = next((i for i in network.device(c.device).interfaces if i.name == c.interface),
                     None)
        if iface is None or not iface.address:
            notes.append(f"{c.name}: its attachment has no address, not emulated")
            continue
        gw = host(iface.address)
        addr = _pick_address(netaddr.IPNetwork(iface.address), c.prefixes, {gw}, published)
        if addr is None:
            notes.append(f"{c.name}: no free address inside the class, not emulated")
            continue
        hosts[c.name] = LabHost(c.name, c.name, c.device, c.interface, addr,
                                netaddr.IPNetwork(iface.address).prefixlen, gw)
    internet = next((c for c in network.classes if c.kind == "internet"), None)
    exits = sorted(d.name for d in network.devices if d.role == "exit")
    if internet is not None and exits:
        if netaddr.IPAddress(INTERNET_HOST) not in netaddr.IPSet(internet.prefixes):
            notes.append(f"internet: {INTERNET_HOST} is inside the plan, not emulated")
        else:
            for k, dev in enumerate(exits):
                outside = next((i for i in network.device(dev).interfaces
                                if i.attached_class == internet.name), None)
                if outside is None:
                    continue
                name = internet.name if k == 0 else f"{internet.name}@{dev}"
                hosts[name] = LabHost(name, internet.name, dev, outside.name, INTERNET_HOST, 24,
                                      None)
    return hosts, notes


def plan_probes(network: Network, hosts: dict[str, LabHost], ports: list[tuple[str, int]],
                max_probes: int, enc: Encoder,
                only: list[tuple[str, str]] | None = None) -> tuple[list[Probe], int, int]:
    """Probes for every ordered class pair (or the pairs ``only`` names), a deterministic
    sample of pairs when there are more than ``max_probes``; (probes, pairs, pairs probed)."""
    classes = sorted({h.cls for h in hosts.values()})
    pairs = [(a, b) for a in classes for b in classes if a != b]
    if only is not None:
        wanted = set(only)
        pairs = [p for p in pairs if p in wanted]
    kinds: list[tuple[str, int | None]] = [*ports, ("icmp", None)]
    total = len(pairs)
    if len(pairs) * len(kinds) > max_probes:
        k = max(1, max_probes // len(kinds))
        pairs = sorted(random.Random(SAMPLE_SEED).sample(pairs, min(k, len(pairs))))
    probes = []
    for a, b in pairs:
        src, dst = hosts.get(a), hosts.get(b)
        if src is None or dst is None:
            continue
        addressed = enc.allow_addresses(a, {b: (f"{dst.address}/32",)})
        dst_addr = addressed[0].split("/")[0] if addressed else dst.address
        for proto, port in kinds:
            probes.append(Probe(a, b, src.address, dst_addr, dst.address, proto, port))
    return probes[:max_probes], total, len(pairs)


# ---------------------------------------------------------------- the verifier

def _tunnel(cx: Counterexample | None) -> str | None:
    if cx is None:
        return None
    for hop in cx.path:
        for part in hop.note.split(";"):
            part = part.strip()
            if part.startswith("tunnel "):
                return part.removeprefix("tunnel ")
    return None


def _tunnel_kinds(network: Network, names: str) -> set[str]:
    kinds = {t.name: t.kind for t in network.tunnels}
    return {kinds.get(n, "vertical") for n in names.split(",")}


def wireguard_unavailable(files: dict[str, bytes]) -> str | None:
    """Why WireGuard paths cannot run (None: they can): the tools, or no wg-quick file
    among the rendered files."""
    gone = missing("wg", "wg-quick", "wireguard-go")
    if gone:
        return f"{gone} not installed"
    if not any("/wireguard/" in rel for rel in files):
        return "no WireGuard files rendered"
    return None


def ipsec_unavailable(network: Network, files: dict[str, bytes]) -> str | None:
    """Why inner-net (IPsec) paths cannot run (None: they can): strongSwan's tools and
    userspace ESP plugin, or an inner router's swanctl file missing among ``files``."""
    gone = missing(*IPSEC_TOOLS)
    if gone:
        return f"{gone} not installed"
    ends = sorted(inner_ends(network))
    lacking = [d for d in ends if f"{d}/strongswan.swanctl.conf" not in files]
    return f"no swanctl file for {', '.join(lacking)}" if lacking else None


def inner_ends(network: Network) -> set[str]:
    """The devices at either end of an inner-net tunnel (they run a charon)."""
    return {d for t in network.tunnels if t.kind == "inner" for d in (t.a_device, t.b_device)}


def _tunnel_reason(network: Network, names: str, wg_missing: str | None,
                   ipsec_missing: str | None) -> str:
    """Why a path over these tunnels cannot run here: vertical tunnels WireGuard,
    inner-net links IPsec, when the tools or the files are missing."""
    used = _tunnel_kinds(network, names)
    why = []
    if "vertical" in used and wg_missing:
        why.append(f"WireGuard: {wg_missing}")
    if "inner" in used and ipsec_missing:
        why.append(f"IPsec: {ipsec_missing}")
    return f"the path rides tunnel {names} ({'; '.join(why)})"


def _evidence(verdict: str, delivered: Counterexample | None,
              dropped: Counterexample | None) -> str:
    if verdict == "some" and delivered is not None and dropped is not None:
        # addresses, protocol and port are fixed: the source port (or the reply) decides
        how = _evidence("none", None, dropped)
        if (dropped.drop_reason or "").startswith("reply"):
            return f"arrives, but the reply (source port {dropped.sport}) is dropped: {how}"
        return f"depends on the source port: {delivered.sport} delivered, {dropped.sport} {how}"
    if verdict == "all" and delivered is not None and delivered.rule:
        return f"allowed by {delivered.rule}"
    if dropped is not None and dropped.path:
        last = dropped.path[-1]
        where = f"{last.device}" + (f" {last.acl}" if last.acl else "") + \
            (f" line {last.line}" if last.line is not None else "")
        return f"{dropped.drop_reason or last.action} at {where}"
    return ""


def judge(network: Network, probe: Probe, enc: Encoder, bare: Encoder,
          timeout_ms: int, tunnels: dict | None = None
          ) -> tuple[str, str | None, str, str | None]:
    """(verdict, expected real outcome, evidence, tunnel names when the path needs one).

    ``bare`` is the network without ACLs: a dropped probe whose path would ride a
    tunnel is as untestable here as a delivered one. Without ACLs the path does
    not depend on the port: ``tunnels`` caches it per class pair."""
    service = Service("icmp") if probe.port is None else \
        Service(probe.protocol, PortRange(probe.port, probe.port))
    src = ((probe.src, (f"{probe.src_address}/32",)),)
    dst = ((probe.dst, (f"{probe.dst_inside}/32",)),)
    q = query(network, src, dst, (service,), timeout_ms=timeout_ms, encoder=enc)
    tunnel = _tunnel(q.delivered)
    if tunnel is None and q.verdict != "all":
        cache = tunnels if tunnels is not None else {}
        key = (probe.src, probe.dst)
        if key not in cache:
            b = query(network, src, dst, (Service("ip"),), timeout_ms=timeout_ms,
                      encoder=bare)
            cache[key] = _tunnel(b.delivered)
        tunnel = cache[key]
    expected = {"all": "delivered", "none": "dropped"}.get(q.verdict)
    return q.verdict, expected, _evidence(q.verdict, q.delivered,
                                          q.dropped), tunnel


# ---------------------------------------------------------------- the run

def emulate_files(network: Network, files: dict[str, bytes], ports: list[tuple[str, int]],
                  max_probes: int = 1000, timeout: float = 1.0, timeout_ms: int = 60_000,
                  prefix: str = "zh-emu-", only: list[tuple[str, str]] | None = None
                  ) -> Report:
    """Build the lab from rendered ``files`` (``<device>/iproute2.batch``,
    ``<device>/nftables.nft``, ``<device>/wireguard/*.conf``) and compare every probe;
    everything is removed after. Without wg-quick files (or wireguard-go), probes over
    vertical tunnels are skipped."""
    started = time.monotonic()
    hosts, notes = lab_hosts(network)
    enc = Encoder(network)
    bare = Encoder(network, Forwarding(network, no_acl=True))
    probes, pairs_total, pairs_probed = plan_probes(network, hosts, ports, max_probes, enc,
                                                    only)
    results: list[ProbeResult] = []
    to_try: list[int] = []
    tunnels: dict[tuple[str, str], str | None] = {}
    verdicts = []
    # z3 turns Ctrl-C into an "unknown" answer and swallows it: let Python see it
    ctrl_c = z3.get_param("ctrl_c")
    z3.set_param("ctrl_c", False)
    try:
        for p in probes:
            verdicts.append(judge(network, p, enc, bare, timeout_ms, tunnels))
    finally:
        z3.set_param("ctrl_c", ctrl_c)
    wg_missing = wireguard_unavailable(files)
    ipsec_missing = ipsec_unavailable(network, files)
    available = {k for k, gone in (("vertical", wg_missing), ("inner", ipsec_missing))
                 if gone is None}
    for p, (verdict, expected, evidence, tunnel) in zip(probes, verdicts, strict=True):
        runnable = tunnel is None or _tunnel_kinds(network, tunnel) <= available
        if not runnable:
            r = ProbeResult(p, verdict, expected, None, SKIPPED,
                            _tunnel_reason(network, tunnel, wg_missing, ipsec_missing))
        elif verdict == "unknown":
            r = ProbeResult(p, verdict, None, None, UNKNOWN, "the solver gave no answer")
        elif expected is None:
            r = ProbeResult(p, verdict, None, None, SKIPPED, evidence)
        else:  # status and real outcome: set when tried
            r = ProbeResult(p, verdict, expected, None, AGREE, evidence)
            to_try.append(len(results))
        results.append(r)
    if to_try:
        used = {h.cls for k in to_try for h in hosts.values()
                if h.cls in (results[k].probe.src, results[k].probe.dst)}
        lab_hosts_used = {n: h for n, h in hosts.items() if h.cls in used}
        # every tunnel up, not only those the verifier's paths use: a leak into a
        # tunnel shows only when the tunnel runs
        _try(network, files, lab_hosts_used, [results[k] for k in to_try], timeout, prefix,
             wg_missing is None, ipsec_missing is None)
    results.sort(key=lambda r: _ORDER[r.status])
    return Report(network.policy_file, network.policy_sha256, results, notes, pairs_total,
                  pairs_probed, time.monotonic() - started)


def _try(network: Network, files: dict[str, bytes], hosts: dict[str, LabHost],
         results: list[ProbeResult], timeout: float, prefix: str, wireguard: bool,
         ipsec: bool = False) -> None:
    """Run the lab (with ``wireguard``: every wg-quick file up; with ``ipsec``: every
    inner router's swanctl file in a charon) and set ``real`` and ``status`` of each
    result."""
    devices = {}
    for d in network.devices:
        batch, ruleset = files.get(f"{d.name}/iproute2.batch"), files.get(f"{d.name}/nftables.nft")
        if batch is None or ruleset is None:
            raise EmulateError(f"no iproute2 batch or nftables ruleset for device {d.name}")
        devices[d.name] = (batch, ruleset)
    lab_spec = {n: (h.device, h.interface, f"{h.address}/{h.prefixlen}", h.gateway)
                for n, h in hosts.items()}
    workdir = Path(tempfile.mkdtemp(prefix="zh-emulate-"))
    try:
        with Lab(linux_plan(network), devices, lab_spec, workdir, prefix=prefix) as lab:
            if wireguard:
                confs: dict[str, dict[str, bytes]] = {}
                for rel, data in sorted(files.items()):
                    parts = rel.split("/")
                    if len(parts) == 3 and parts[1] == "wireguard" and rel.endswith(".conf"):
                        confs.setdefault(parts[0], {})[parts[2]] = data
                lab.wireguard(confs, KEY_DIR)
            if ipsec:
                lab.ipsec({d: files[f"{d}/strongswan.swanctl.conf"]
                           for d in sorted(inner_ends(network))})
            by_cls: dict[str, list[str]] = {}
            for n, h in sorted(hosts.items()):
                by_cls.setdefault(h.cls, []).append(n)
            listeners = sorted({Listener(lab.ns[n], r.probe.protocol, r.probe.port,
                                         r.probe.dst)
                                for r in results if r.probe.port is not None
                                for n in by_cls[r.probe.dst]},
                               key=lambda x: (x.netns, x.protocol, x.port))
            # the source is the class's own host (the Internet: the one behind the first exit)
            attempts = [Attempt(lab.ns[r.probe.src], r.probe.dst_address, r.probe.protocol,
                                r.probe.port, (k % 65535) + 1,
                                tuple(lab.ns[n] for n in by_cls[r.probe.dst]), r.probe.dst,
                                None if hosts[r.probe.dst].gateway is None else r.probe.src_address)
                        for k, r in enumerate(results)]
            outcomes = run_attempts(listeners, attempts, timeout)
            # The tunnels have handshaken (Lab.wireguard), but a loaded machine can still
            # outlast the timeout: an expected delivery that failed is tried once more,
            # slower. Never the other way: a packet that got through
            # where the verifier says it cannot stays a mismatch.
            again = [k for k, r in enumerate(results)
                     if r.expected == "delivered" and outcomes[k][0] in (DROPPED, ONE_WAY)]
            if again:
                retried = run_attempts(listeners, [attempts[k] for k in again], 3 * timeout)
                for k, outcome in zip(again, retried, strict=True):
                    outcomes[k] = outcome
    except LabError as exc:  # a tool rejected a file
        raise EmulateError(f"building the lab failed: {exc}") from exc
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    for r, (outcome, by) in zip(results, outcomes, strict=True):
        r.real = outcome if by is None else f"{outcome} ({by})"
        if outcome == ONE_WAY:
            r.reason = "arrived, the reply did not come back" + (
                f"; verifier: {r.reason}" if r.reason else "")
        ok = outcome == DELIVERED if r.expected == "delivered" else outcome in (DROPPED, ELSEWHERE)
        r.status = AGREE if ok else MISMATCH


def files_from_configs(network: Network, directory: Path) -> tuple[dict[str, bytes], list[str]]:
    """The Linux files under ``directory`` (``<device>/iproute2.batch``,
    ``<device>/nftables.nft``, ``<device>/wireguard/*.conf``), a device's missing
    ones rendered from ``network`` (the compiled model) and named in the notes."""
    rendered = render_tree(network, LINUX_TARGETS)
    files: dict[str, bytes] = {}
    notes: list[str] = []
    for d in network.devices:
        for name in ("iproute2.batch", "nftables.nft", "strongswan.swanctl.conf"):
            if f"{d.name}/{name}" not in rendered:
                continue  # no tunnel, no swanctl file
            path = directory / d.name / name
            if path.is_file():
                files[f"{d.name}/{name}"] = path.read_bytes()
            else:
                files[f"{d.name}/{name}"] = rendered[f"{d.name}/{name}"]
                notes.append(f"{directory}: no {d.name}/{name}; the compiled one is run")
        wg = directory / d.name / "wireguard"
        ours = {k: v for k, v in rendered.items() if k.startswith(f"{d.name}/wireguard/")}
        if wg.is_dir():
            files.update({f"{d.name}/wireguard/{p.name}": p.read_bytes()
                          for p in sorted(wg.glob("*.conf"))})
        elif ours:
            files.update(ours)
            notes.append(f"{directory}: no {d.name}/wireguard/; the compiled files are run")
    return files, notes


def emulate(network: Network, services: dict[str, tuple[Service, ...]], max_probes: int = 1000,
            timeout: float = 1.0, timeout_ms: int = 60_000) -> Report:
    """Render the Linux targets in memory, then :func:`emulate_files`."""
    files = render_tree(network, LINUX_TARGETS)
    return emulate_files(network, files, probe_ports(services), max_probes, timeout, timeout_ms)
