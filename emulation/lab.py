"""Devices as network namespaces running the emitted Linux files (iproute2 + nftables,
wg-quick files through wireguard-go).

Shared by ``zongheng emulate`` and the Linux emitter tests. Every failure of
a tool raises :class:`LabError` (an ``AssertionError``, so tests read it as a
failed check) with the tool's output. A :class:`Lab` removes every namespace
and process it created when its ``with`` block ends, even on errors and
Ctrl-C. It knows its processes by id (:meth:`Lab.started`: the WireGuard
shells, the wireguard-go daemons they report, servers, leftovers it killed),
holds a pidfd on each and waits on those at the end, so the machine's other
processes (another lab, another wireguard-go) are neither touched nor counted.
"""

from __future__ import annotations

import ctypes
import ipaddress
import itertools
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from zongheng.compiler.errors import ZonghengError
from zongheng.emitters.linux_plan import linux_ifname

_counter = itertools.count()
_PR_SET_CHILD_SUBREAPER = 36
_libc = ctypes.CDLL(None, use_errno=True)


def _subreaper() -> None:
    """In the child before exec: orphaned descendants (daemons) become its children."""
    _libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (state first), None when gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


@dataclass(frozen=True)
class LabProcess:
    """A process a lab started (or found in its namespaces and killed).

    ``ticks`` is its start time (clock ticks after boot): with the pid it names
    this process and not a later one that was given the same pid.
    """

    pid: int
    ticks: int
    what: str  # "shell pe-north", "wireguard-go pe-north", "server h-tax", "leftover ..."

    def alive(self) -> bool:
        """Still running: a zombie no longer runs, a reused pid is another process."""
        fields = _stat(self.pid)
        return fields is not None and fields[0] != "Z" and int(fields[19]) == self.ticks


def _prime(initiate: list[str]) -> str:
    """Shell lines that make every peer handshake before the first probe.

    A probe then measures what the files let through, not how long a first
    handshake takes on a loaded machine. Of each pair of peers only one side
    (``initiate``: public keys) starts, with a keepalive every second: when both
    start at once, each drops the other's response (its own initiation was
    superseded) and wireguard-go was seen to stay without a session for half a
    minute. Once every peer has a handshake (or 30 s passed: the probes then
    show the broken tunnel) keepalives are off again, as the files leave them.
    """
    keys = " ".join(initiate)
    return ("wg show all peers | while read -r i p; do case \" " + keys + " \" in "
            "*\" $p \"*) wg set \"$i\" peer \"$p\" persistent-keepalive 1;; esac; done; "
            "n=0; while [ $n -lt 300 ] && wg show all latest-handshakes | "
            "awk '$3 == 0 {z=1} END {exit !z}'; do sleep 0.1; n=$((n+1)); done; "
            "wg show all peers | while read -r i p; do "
            "wg set \"$i\" peer \"$p\" persistent-keepalive 0; done")


class LabError(ZonghengError):
    """A tool rejected a file or a step of building the lab failed."""


def missing(*binaries: str) -> str | None:
    """The first binary not on PATH (None when all are there)."""
    for b in binaries:
        if shutil.which(b) is None and not Path(b).exists():
            return b
    return None


TOOLS = ("ip", "nft", "sysctl")

_CHARON = "/usr/lib/ipsec/charon"
_LIBIPSEC = Path("/usr/lib/ipsec/plugins/libstrongswan-kernel-libipsec.so")
IPSEC_TOOLS = (_CHARON, "swanctl", "openssl", str(_LIBIPSEC))
_LOCAL_ID = re.compile(r"local \{\s*auth = pubkey\s*id = (\S+)")
_IPV4 = re.compile(r"\d+\.\d+\.\d+\.\d+")
_LOCAL_TS = re.compile(r"^\s*local_ts = ([0-9./, ]+)$", re.M)
# charon with userspace ESP (kernel-libipsec needs kdf). It routes each policy's remote
# selector into its TUN device ipsec0 from a local address inside the local selector, and
# fails the CHILD_SA without one: a hub forwarding between spokes has none in the other
# spokes' nets, so the lab gives it one on lo (ADDRS: the last host of each such selector;
# kernel ESP needs no such route)
_PLUGINS = ("random nonce openssl pem pkcs1 pkcs8 pubkey x509 kdf kernel-libipsec "
            "kernel-netlink socket-default vici")
_STRONGSWAN_CONF = f"""charon {{
  load = {_PLUGINS}
  filelog {{
    zh {{
      path = LOG
      default = 1
      flush_line = yes
    }}
  }}
}}
swanctl {{
  load = random nonce openssl pem pkcs1 pkcs8 pubkey x509
}}
"""
# in the device's namespace, a private mount namespace: charon, the files, the SAs listed
# every 0.2 s into {d}/sas until {done} exists, then charon stopped
_CHARON_SCRIPT = """set -e
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /etc/swanctl
cp -r {d}/private {d}/x509 {d}/x509ca {d}/swanctl.conf /etc/swanctl/
export STRONGSWAN_CONF={d}/strongswan.conf
{charon} >/dev/null 2>&1 &
trap 'kill -9 $! 2>/dev/null' EXIT
for a in {addrs}; do ip address add "$a" dev lo; done
for i in $(seq 400); do [ -S /run/charon.vici ] && break; sleep 0.05; done
set +e
swanctl --load-all >{d}/load.out 2>&1
while [ ! -e {done} ]; do
  swanctl --list-sas --raw >{d}/sas.tmp 2>&1 && mv {d}/sas.tmp {d}/sas
  sleep 0.2
done
kill %1
for i in $(seq 20); do kill -0 %1 2>/dev/null || break; sleep 0.1; done
"""


def is_root() -> bool:
    """Network namespaces, veths and nftables need root (tests monkeypatch this)."""
    return os.geteuid() == 0


def missing_tools() -> list[str]:
    return [t for t in TOOLS if missing(t)]


def unique(prefix: str) -> str:
    """A name no other process or call uses: ``prefix``, the pid and a counter."""
    return f"{prefix}{os.getpid() % 100000}x{next(_counter)}"


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, **kw)


def _must(cmd: list[str]) -> None:
    r = run(cmd)
    if r.returncode != 0:
        raise LabError(f"{' '.join(cmd)}: {r.stderr}")


_SYSCTLS = ("net.ipv4.ip_forward=1", "net.ipv4.conf.all.rp_filter=0",
            "net.ipv4.conf.default.rp_filter=0", "net.ipv6.conf.all.disable_ipv6=1",
            "net.ipv6.conf.default.disable_ipv6=1")
_PING = r"""
import os, select, socket, struct, sys, time
dst = sys.argv[1]
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
ident = os.getpid() & 0xFFFF
def csum(b):
    b += b"\0" * (len(b) % 2)
    t = sum(struct.unpack(f"!{len(b) // 2}H", b))
    t = (t >> 16) + (t & 0xFFFF)
    return ~(t + (t >> 16)) & 0xFFFF
body = struct.pack("!BBHHH", 8, 0, 0, ident, 1) + b"zongheng"
s.sendto(body[:2] + struct.pack("!H", csum(body)) + body[4:], (dst, 0))
end = time.time() + 1.0
while time.time() < end:
    if not select.select([s], [], [], max(0.0, end - time.time()))[0]:
        break
    data, addr = s.recvfrom(2048)
    icmp = data[(data[0] & 0x0F) * 4:]
    if addr[0] == dst and icmp[0] == 0 and struct.unpack("!H", icmp[4:6])[0] == ident:
        sys.exit(0)
sys.exit(1)
"""


# a host's received IPv4 packets and broadcast ARP requests (Lab.rx)
_RX_COUNTER = """table netdev zh_rx {
	counter seen {
	}
	chain ingress {
		type filter hook ingress device "h0" priority 0; policy accept;
		meta protocol ip counter name "seen"
		meta protocol arp ether daddr ff:ff:ff:ff:ff:ff counter name "seen"
	}
}
"""


class Lab:
    """Devices as namespaces wired by the Linux plan, running the emitted files.

    ``devices``: device -> (iproute2 batch, nftables ruleset) bytes; ``plans``:
    :func:`linux_plan` output; ``hosts``: name -> (device, model interface,
    address/len, gateway). Links between two lab devices become veth pairs (a
    bridge in the sink namespace when a host sits on the link too: a gateway on
    a site LAN); every other interface gets a veth whose peer sits in the sink.
    A host without gateway is outside (the Internet): it routes to the device
    and answers for the next hops the device's routes name on that interface.
    Use as a context manager; ``ping`` and ``rx`` probe it.
    """

    def __init__(self, plans: dict, devices: dict[str, tuple[bytes, bytes]],
                 hosts: dict[str, tuple[str, str, str, str]], workdir: Path,
                 prefix: str = "zh-lab-") -> None:
        self.plans, self.devices, self.hosts, self.workdir = plans, devices, hosts, workdir
        self.ns = {name: unique(prefix) for name in [*devices, *hosts]}
        self.sink = unique(f"{prefix}sink-")
        self.created: list[str] = []  # namespaces that exist now, to delete on exit
        self._started: list[LabProcess] = []
        self._pidfds: dict[int, int] = {}  # pid -> pidfd, open until the lab ends
        self.wg_procs: list[subprocess.Popen] = []  # each device's WireGuard shell
        self.ipsec_procs: list[subprocess.Popen] = []  # each device's charon shell
        self.servers: list[subprocess.Popen] = []

    def started(self) -> tuple[LabProcess, ...]:
        """Every process this lab started or killed, in order: after the ``with`` block
        none of them is alive (tests check that instead of counting the machine's)."""
        return tuple(self._started)

    def _namespace_shell(self, dev: str, script: str, what: str) -> subprocess.Popen:
        """A bash ``script`` in ``dev``'s namespace with a private mount namespace (its
        own /run for the daemon it starts), tracked as ``what``."""
        shell = subprocess.Popen(
            ["ip", "netns", "exec", self.ns[dev], "unshare", "-m", "--propagation",
             "private", "bash", "-c", script], preexec_fn=_subreaper,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._track(shell.pid, what)
        return shell

    def _track(self, pid: int, what: str) -> None:
        """Hold a pidfd on ``pid``: signals and waits then reach this process even when
        it is not our child and even if its pid is reused later."""
        if pid in self._pidfds:
            return
        try:
            fd = os.pidfd_open(pid)
        except ProcessLookupError:  # already gone and reaped: nothing to stop
            return
        fields = _stat(pid)
        self._pidfds[pid] = fd
        self._started.append(LabProcess(pid, int(fields[19]) if fields else -1, what))

    def _signal(self, pids: list[int], sig: signal.Signals) -> None:
        for pid in pids:
            try:
                signal.pidfd_send_signal(self._pidfds[pid], sig)
            except ProcessLookupError:  # exited already
                pass

    def _wait(self, pids: list[int], timeout: float) -> list[int]:
        """Wait until every process has exited (its pidfd turns readable, zombie or
        reaped); the pids still running after ``timeout`` seconds."""
        poller = select.poll()
        left = {self._pidfds[pid]: pid for pid in pids}
        for fd in left:
            poller.register(fd, select.POLLIN)
        deadline = time.monotonic() + timeout
        while left and (rest := deadline - time.monotonic()) > 0:
            for fd, _ in poller.poll(rest * 1000):
                poller.unregister(fd)
                left.pop(fd, None)
        return sorted(left.values())

    def _stop(self, pids: list[int], grace: float = 5.0) -> None:
        """SIGTERM, wait up to ``grace`` seconds, SIGKILL the rest and wait for them too."""
        self._signal(pids, signal.SIGTERM)
        rest = self._wait(pids, grace)
        self._signal(rest, signal.SIGKILL)
        rest = self._wait(rest, 5.0)
        if rest:
            raise LabError(f"processes {rest} outlived SIGKILL for 5 s")

    def _ip(self, ns: str, lines: list[str]) -> None:
        r = run(["ip", "-n", ns, "-batch", "-"], input="\n".join(lines) + "\n")
        if r.returncode != 0:
            raise LabError(f"{ns}: {r.stderr}\n" + "\n".join(lines))

    def __enter__(self) -> Lab:
        try:
            self._build()
        except BaseException:
            self.__exit__()
            raise
        return self

    def _build(self) -> None:
        for ns in [*self.ns.values(), self.sink]:
            r = run(["ip", "netns", "add", ns])
            if r.returncode != 0:
                raise LabError(f"ip netns add {ns}: {r.stderr}")
            self.created.append(ns)
            run(["ip", "netns", "exec", ns, "sysctl", "-qw", *_SYSCTLS])
        attached = {(dev, ifname): host for host, (dev, ifname, _, _) in self.hosts.items()}
        model = {(dev, i.name): i.model for dev, plan in self.plans.items()
                 for i in plan.interfaces}
        done: set[frozenset] = set()
        sinks = 0
        later: dict[str, list[str]] = {}  # namespace -> lines to run after the devices'
        for dev, plan in sorted(self.plans.items()):
            if dev not in self.devices:
                continue
            lines = []
            for i in plan.interfaces:
                end = (dev, i.name)
                if i.peer_device in self.devices and i.peer_ifname:
                    pair = frozenset({end, (i.peer_device, i.peer_ifname)})
                    if pair in done:
                        continue
                    done.add(pair)
                    host = attached.get((dev, i.model)) or attached.get(
                        (i.peer_device, model.get((i.peer_device, i.peer_ifname))))
                    if host is None:
                        lines.append(f"link add name {i.name} type veth peer name "
                                     f"{i.peer_ifname} netns {self.ns[i.peer_device]}")
                        continue
                    # a shared segment (a gateway on a site LAN): a bridge in the sink
                    sinks += 1
                    b = f"b{sinks}"
                    lines.append(f"link add name {i.name} type veth peer name {b}a "
                                 f"netns {self.sink}")
                    later.setdefault(self.ns[i.peer_device], []).append(
                        f"link add name {i.peer_ifname} type veth peer name {b}b "
                        f"netns {self.sink}")
                    later.setdefault(self.ns[host], []).append(
                        f"link add name h0 type veth peer name {b}h netns {self.sink}")
                    later.setdefault(self.sink, []).extend(
                        [f"link add name br{sinks} type bridge", f"link set dev br{sinks} up"]
                        + [f"link set dev {b}{x} master br{sinks}" for x in "abh"]
                        + [f"link set dev {b}{x} up" for x in "abh"])
                elif (dev, i.model) in attached:
                    host = attached[(dev, i.model)]
                    lines.append(f"link add name {i.name} type veth peer name h0 "
                                 f"netns {self.ns[host]}")
                else:
                    sinks += 1
                    lines.append(f"link add name {i.name} type veth peer name s{sinks} "
                                 f"netns {self.sink}")
            self._ip(self.ns[dev], lines)
        for ns in sorted(later, key=lambda n: n == self.sink):  # the sink's bridges last
            self._ip(ns, later[ns])
        for dev, (batch, ruleset) in sorted(self.devices.items()):
            (self.workdir / f"{dev}.batch").write_bytes(batch)
            (self.workdir / f"{dev}.nft").write_bytes(ruleset)
            r = run(["ip", "-n", self.ns[dev], "-batch", str(self.workdir / f"{dev}.batch")])
            if r.returncode != 0:
                raise LabError(f"{dev}: ip -batch: {r.stderr}")
            r = run(["ip", "netns", "exec", self.ns[dev], "nft", "-f",
                     str(self.workdir / f"{dev}.nft")])
            if r.returncode != 0:
                raise LabError(f"{dev}: nft -f: {r.stderr}")
        for host, (dev, ifname, address, gateway) in self.hosts.items():
            lines = ["link set dev lo up", "link set dev h0 up", f"address add {address} dev h0"]
            if gateway:
                lines.append(f"route add default via {gateway} dev h0")
            elif hops := self._next_hops(dev, ifname):
                # a host outside (the Internet) that is also the device's next hop there
                mine, plen = hops
                lines += [f"address add {h}/{plen} dev h0" for h in mine[1:]]
                lines.append(f"route add default via {mine[0]} dev h0 src {address.split('/')[0]}")
            else:  # a host outside (the Internet): the device's interface has no address
                mac = json.loads(run(["ip", "-n", self.ns[dev], "-j", "link", "show", "dev",
                                      linux_ifname(ifname)]).stdout)[0]["address"]
                lines += [f"neighbour add 169.254.0.1 lladdr {mac} dev h0",
                          "route add default via 169.254.0.1 dev h0 onlink"]
            self._ip(self.ns[host], lines)
            r = run(["ip", "netns", "exec", self.ns[host], "nft", "-f", "-"], input=_RX_COUNTER)
            if r.returncode != 0:
                raise LabError(f"{host}: nft -f: {r.stderr}")

    def _next_hops(self, dev: str, ifname: str) -> tuple[list[str], str] | None:
        """The device's address on ``ifname`` then the next hops its routes name there
        (the host answers for them), and the prefix length; None without an address."""
        lif = linux_ifname(ifname)
        iface = next((i for i in self.plans[dev].interfaces if i.name == lif), None)
        if iface is None or not iface.address:
            return None
        own, plen = iface.address.split("/")
        hops = sorted({r.via for r in self.plans[dev].routes if r.dev == lif and r.via})
        return ([own, *hops], plen) if hops else None

    def __exit__(self, *exc: object) -> None:
        try:
            for proc in self.servers:
                proc.kill()
                proc.wait()
            try:
                self._stop_wireguard()
            finally:
                self._stop_ipsec()
        finally:
            try:
                self._kill_leftovers()
            finally:
                try:
                    while self.created:
                        run(["ip", "netns", "del", self.created.pop()])
                finally:
                    while self._pidfds:
                        os.close(self._pidfds.popitem()[1])

    def _stop_wireguard(self) -> None:
        """Stop the wireguard-go daemons the shells reported and wait for each to end,
        then let the shells exit and wait for them."""
        if not self.wg_procs:
            return
        try:
            self._stop([p.pid for p in self._started if p.what.startswith("wireguard-go ")])
        finally:
            _end_shells(self.workdir / "wg-done", self.wg_procs)

    def _kill_leftovers(self) -> None:
        """Kill what still runs in a lab namespace (a wireguard-go whose shell was killed
        before it reported it) and wait for it: the namespaces are ours, so is every
        process in them."""
        killed = []
        for ns in self.created:
            for pid in run(["ip", "netns", "pids", ns]).stdout.split():
                self._track(int(pid), f"leftover in {ns}")
                if int(pid) in self._pidfds:
                    killed.append(int(pid))
        self._signal(killed, signal.SIGKILL)
        rest = self._wait(killed, 5.0)
        if rest:
            raise LabError(f"processes {rest} outlived SIGKILL for 5 s")

    def wireguard(self, confs: dict[str, dict[str, bytes]], key_dir_in_file: str,
                  timeout: float | None = None) -> dict[str, list[int]]:
        """``wg-quick up`` every file of every device (device -> {file name: bytes}), as
        shipped: wg-quick falls back to wireguard-go (no kernel module) and runs the
        file's ``PostUp`` lines (peers, routes into the VRF's table).

        Each device runs one shell in a private mount namespace with its own /run, so
        same-named interfaces on two devices do not share wireguard-go's control socket.
        The shell is a child subreaper: the daemonised wireguard-go processes become its
        children, whose ids it reports as soon as its files are up (the lab then stops
        them and waits for each when it ends), and which it reaps. Keys: generated
        here; the files' key directory is replaced in memory by a temporary one.
        Returns device -> wireguard-go process ids.
        """
        keys = self.workdir / "wgkeys"
        keys.mkdir(exist_ok=True)
        os.chmod(keys, 0o700)
        for dev in self.devices:
            key = run(["wg", "genkey"]).stdout.strip()
            (keys / f"{dev}.key").write_text(key + "\n")
            (keys / f"{dev}.pub").write_text(run(["wg", "pubkey"], input=key).stdout)
        done, prime = self.workdir / "wg-done", self.workdir / "wg-prime"
        for dev, files in sorted(confs.items()):
            d = self.workdir / f"wg-{dev}"
            d.mkdir()
            for fname, data in files.items():
                text = data.decode().replace(key_dir_in_file, str(keys))
                (d / fname).write_text(text)
                os.chmod(d / fname, 0o600)
            # the device whose name sorts first starts each pair's handshake
            prime_lines = _prime([(keys / f"{peer}.pub").read_text().strip()
                                  for peer in sorted(self.devices) if peer > dev])
            ups = " ".join(f"wg-quick up {d / f} >>{d}/up.log 2>&1 || echo FAIL >>{d}/up.log;"
                           for f in sorted(files))
            # the shell's own wireguard-go children (its process ids, not their name
            # machine-wide); the lab waits for them. On a signal of its own (Ctrl-C
            # reaches the whole process group) or when the lab missed some, the shell
            # stops what it has; the lab's pidfds still see those end.
            stop = "p=$(pgrep -P $$ -x wireguard-go); [ -z \"$p\" ] || kill -TERM $p"
            script = (f"trap '{stop}; exit' INT TERM; mount -t tmpfs tmpfs /run; {ups} "
                      f"pgrep -P $$ -x wireguard-go >{d}/pids; touch {d}/up; "
                      f"while [ ! -e {prime} ] && [ ! -e {done} ]; do sleep 0.05; "
                      f"done; [ -e {done} ] || {{ {prime_lines}; }} >>{d}/up.log 2>&1; "
                      f"touch {d}/ready; while [ ! -e {done} ]; do sleep 0.1; done; {stop}")
            self.wg_procs.append(self._namespace_shell(dev, script, f"shell {dev}"))
        if timeout is None:
            timeout = 45.0 + 0.5 * sum(len(f) for f in confs.values())
        deadline = time.time() + timeout
        pids: dict[str, list[int]] = {}
        # every file up (or a refusal reported) before any device waits for handshakes
        for marker in ("up", "ready"):
            for dev in sorted(confs):
                d = self.workdir / f"wg-{dev}"
                while not (d / marker).exists() and time.time() < deadline:
                    time.sleep(0.05)
            for dev in sorted(confs):
                d = self.workdir / f"wg-{dev}"
                if marker == "up" and (d / "up").exists():  # its pids file is written first
                    pids[dev] = [int(x) for x in (d / "pids").read_text().split()]
                    for pid in pids[dev]:
                        self._track(pid, f"wireguard-go {dev}")
            for dev in sorted(confs):
                d = self.workdir / f"wg-{dev}"
                log = (d / "up.log").read_text() if (d / "up.log").exists() else ""
                if not (d / marker).exists() or "FAIL" in log:
                    raise LabError(f"wg-quick up on {dev}:\n{log}")
            prime.touch()
        return pids

    def ipsec(self, confs: dict[str, bytes], timeout: float | None = None) -> dict[str, str]:
        """Run every device's swanctl file (device -> bytes) in a charon of its own, with
        strongSwan's userspace ESP (``kernel-libipsec``: this kernel has no ESP), until
        every connection has an installed CHILD_SA; device -> ``swanctl --list-sas``.

        Each charon runs in the device's namespace under a private mount namespace
        (its own /run for the fixed pid and socket paths, its own /etc/swanctl). The
        credentials the files reference are made here: a throwaway CA, and per device
        a key and a certificate whose subjectAltNames are the file's local IKE ids (an
        IP subjectAltName for an address id). Decrypted packets come out of charon's
        TUN device ``ipsec0``, so nftables sees them as the kernel would forward them.
        """
        have = missing(*IPSEC_TOOLS)
        if have:
            raise LabError(f"IPsec: {have} not installed")
        base = self.workdir / "ipsec"
        base.mkdir()
        _must(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
               str(base / "ca.key"), "-subj", "/CN=zongheng emulate CA", "-days", "2", "-out",
               str(base / "ca.crt")])
        done = base / "done"
        want: dict[str, int] = {}
        for k, (dev, data) in enumerate(sorted(confs.items())):
            d = base / dev
            for sub in ("private", "x509", "x509ca"):
                (d / sub).mkdir(parents=True)
            text = data.decode()
            ids = sorted(set(_LOCAL_ID.findall(text)))
            sans = ",".join(f"IP:{i}" if _IPV4.fullmatch(i) else f"DNS:{i}" for i in ids)
            (d / "san.ext").write_text(f"subjectAltName={sans or 'DNS:none'}\n")
            _must(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout",
                   str(d / "private" / f"{dev}.pem"), "-subj", f"/CN={dev}", "-out",
                   str(d / "req.csr")])
            _must(["openssl", "x509", "-req", "-in", str(d / "req.csr"), "-CA",
                   str(base / "ca.crt"), "-CAkey", str(base / "ca.key"), "-set_serial",
                   str(k + 1), "-days", "2", "-extfile", str(d / "san.ext"), "-out",
                   str(d / "x509" / f"{dev}.crt")])
            shutil.copy(base / "ca.crt", d / "x509ca" / "zh-ca.crt")
            (d / "swanctl.conf").write_bytes(data)
            (d / "strongswan.conf").write_text(_STRONGSWAN_CONF.replace("LOG",
                                                                       str(d / "charon.log")))
            want[dev] = text.count("mode = tunnel")
            script = _CHARON_SCRIPT.format(d=d, done=done, charon=_CHARON,
                                           addrs=" ".join(self._sources(dev, text)))
            self.ipsec_procs.append(self._namespace_shell(dev, script, f"charon shell {dev}"))
        deadline = time.time() + (timeout or 30.0 + 2.0 * len(confs))
        sas: dict[str, str] = {}
        while time.time() < deadline:
            for dev in want:
                f = base / dev / "sas"
                sas[dev] = f.read_text(errors="replace") if f.exists() else ""
            if all(sas[dev].count("state=INSTALLED") >= n for dev, n in want.items()):
                return sas
            time.sleep(0.2)
        logs = "\n".join(f"{dev}: {line}" for dev in want
                         for f in ("load.out", "charon.log") if (base / dev / f).exists()
                         for line in (base / dev / f).read_text(errors="replace").splitlines()
                         if any(w in line for w in ("failed", "error", "unable", "CHILD"))
                         and "opening directory" not in line)
        raise LabError(f"IPsec: not every CHILD_SA came up in time\n{logs}\n"
                       + "\n".join(f"{d}: {s}" for d, s in sas.items()))

    def _sources(self, dev: str, conf: str) -> list[str]:
        """``A/32`` for each local selector of ``conf`` holding none of the device's
        addresses: A is its last host (see _STRONGSWAN_CONF)."""
        own = [ipaddress.ip_interface(i.address).ip for i in self.plans[dev].interfaces
               if i.address]
        out = []
        for p in sorted({p.strip() for line in _LOCAL_TS.findall(conf) for p in line.split(",")}):
            net = ipaddress.ip_network(p, strict=False)
            if not any(a in net for a in own):
                out.append(f"{net.broadcast_address - 1 if net.prefixlen < 31 else net[0]}/32")
        return out

    def _stop_ipsec(self) -> None:
        """Let the charon shells stop their charon, and wait for them."""
        if not self.ipsec_procs:
            return
        _end_shells(self.workdir / "ipsec" / "done", self.ipsec_procs)

    def ping(self, host: str, dst: str) -> bool:
        """One ICMP echo from the host; True when the matching reply comes back (1 s)."""
        r = run(["ip", "netns", "exec", self.ns[host], sys.executable, "-c", _PING, dst])
        if r.returncode not in (0, 1):
            raise LabError(r.stderr)
        return r.returncode == 0

    def serve_tcp(self, host: str, address: str, port: int) -> subprocess.Popen:
        """A TCP server on the host that answers ``zongheng`` to every connection."""
        code = ("import socket\n"
                "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
                f"s.bind(({address!r}, {port})); s.listen(8)\n"
                "while True:\n"
                "    c, _ = s.accept(); c.sendall(b'zongheng'); c.close()\n")
        proc = subprocess.Popen(["ip", "netns", "exec", self.ns[host], sys.executable, "-c",
                                 code], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.servers.append(proc)
        self._track(proc.pid, f"server {host}")
        time.sleep(0.3)
        return proc

    def connect(self, host: str, dst: str, port: int) -> bool:
        """A TCP connection from the host; True when the server's greeting arrives (2 s)."""
        code = ("import socket, sys\n"
                f"c = socket.create_connection(({dst!r}, {port}), timeout=2)\n"
                "sys.exit(0 if c.recv(16) == b'zongheng' else 1)\n")
        r = run(["ip", "netns", "exec", self.ns[host], sys.executable, "-c", code])
        return r.returncode == 0

    def rx(self, host: str) -> int:
        """IPv4 packets and broadcast ARP requests received so far on the host's only
        interface. Not the link's counter: the unicast ARP probes that re-confirm a
        neighbour a few seconds after it was used arrive whenever the kernel's timers
        say, and would make a test that counts packets depend on the machine's speed."""
        r = run(["ip", "netns", "exec", self.ns[host], "nft", "-j", "list", "counter",
                 "netdev", "zh_rx", "seen"])
        if r.returncode != 0:
            raise LabError(f"{host}: nft list counter: {r.stderr}")
        [counter] = [x["counter"] for x in json.loads(r.stdout)["nftables"] if "counter" in x]
        return int(counter["packets"])


def _end_shells(done: Path, procs: list[subprocess.Popen]) -> None:
    """Tell a lab's waiting shells to finish (they watch for ``done``) and wait for
    each; one still running after 10 s is killed."""
    done.touch()
    for p in procs:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
