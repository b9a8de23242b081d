"""Run emitted Linux/VPN configs through the real tools, in throwaway namespaces.

Each validator raises ``AssertionError`` with the tool's output when the
tool rejects the file, and returns what the tool reports back (routes,
loaded connections, peers) so tests can compare it with the model.

A library, not fixtures: a test calls a validator on the files it has just
written, several times with different files; whether the tools are there is
the ``need`` fixture's business (tests/conftest.py).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from zongheng.emulation.lab import Lab, missing, run, unique

__all__ = ["LIBIPSEC", "Lab", "ip_batch_apply", "ipsec_pair", "missing", "nft_check", "run",
           "swanctl_load", "unique", "wg_apply"]


# ---------------------------------------------------------------- nftables

def nft_check(path: Path) -> None:
    """``nft -c -f`` in a fresh user+network namespace."""
    r = run(["unshare", "-Urn", "nft", "-c", "-f", str(path)])
    assert r.returncode == 0, f"nft -c -f {path} failed:\n{r.stderr}"


# ---------------------------------------------------------------- iproute2

def ip_batch_apply(batch: Path, interfaces: list[str]) -> dict:
    """Create ``interfaces`` (veth, peers in a sink namespace), apply ``batch``.

    Returns ``{"rules": ip -j rule, "routes": ip -j route show table all}``.
    """
    ns, sink = unique("zh-test-"), unique("zh-sink-")
    for n in (ns, sink):
        r = run(["ip", "netns", "add", n])
        assert r.returncode == 0, r.stderr
    try:
        links = "".join(f"link add name {name} type veth peer name p{k} netns {sink}\n"
                        for k, name in enumerate(interfaces))
        r = run(["ip", "-n", ns, "-batch", "-"], input=links)
        assert r.returncode == 0, f"creating the interfaces: {r.stderr}"
        r = run(["ip", "-n", ns, "-batch", str(batch)])
        assert r.returncode == 0, f"ip -batch {batch} failed:\n{r.stderr}"
        rules = json.loads(run(["ip", "-n", ns, "-j", "rule"]).stdout)
        routes = json.loads(run(["ip", "-n", ns, "-j", "route", "show", "table", "all"]).stdout)
        return {"rules": rules, "routes": routes}
    finally:
        run(["ip", "netns", "del", ns])
        run(["ip", "netns", "del", sink])


# ---------------------------------------------------------------- strongSwan

_CHARON = "/usr/lib/ipsec/charon"

_SWAN_SCRIPT = r"""
set -e
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /etc/swanctl
mkdir -p /etc/swanctl/private /etc/swanctl/x509 /etc/swanctl/x509ca
CERTS
cat > /run/strongswan.conf <<EOC
charon {
  load = random nonce openssl pem pkcs1 pkcs8 pubkey x509 kdf kernel-netlink socket-default vici
  install_routes = no
}
swanctl {
  load = random nonce openssl pem pkcs1 pkcs8 pubkey x509
}
EOC
export STRONGSWAN_CONF=/run/strongswan.conf
ip link set lo up
CHARON >/run/charon.log 2>&1 &
trap 'kill -9 $! 2>/dev/null' EXIT
for i in $(seq 400); do [ -S /run/charon.vici ] && break; sleep 0.05; done
cp "$CONF" /etc/swanctl/swanctl.conf
set +e
swanctl --load-all >/run/load.out 2>&1
echo "load-rc=$?"
cat /run/load.out
echo "=== conns"
swanctl --list-conns --raw
kill %1
for i in $(seq 20); do kill -0 %1 2>/dev/null || break; sleep 0.1; done
kill -9 %1 2>/dev/null || true
"""


_LOCAL_ID = re.compile(r"local \{\s*auth = pubkey\s*id = (\S+)")


def _sans(conf: Path) -> str:
    """subjectAltName of the device's certificate: every IKE id its file states as local."""
    ids = sorted(set(_LOCAL_ID.findall(conf.read_text())))
    return ",".join(f"DNS:{i}" for i in ids) or "DNS:none"


def _cert_script(ca_dir: str, swanctl: str) -> str:
    """Shell lines: a throwaway CA in ``ca_dir`` (kept if present) and $SELF's key and
    certificate (subjectAltNames $SANS) under ``swanctl``, as the emitted file expects."""
    return f"""
[ -e {ca_dir}/ca.crt ] || openssl req -x509 -newkey rsa:2048 -nodes -keyout {ca_dir}/ca.key \\
  -subj /CN=zh-test-ca -days 2 -out {ca_dir}/ca.crt 2>/dev/null
cp {ca_dir}/ca.crt {swanctl}/x509ca/zh-ca.crt
openssl req -newkey rsa:2048 -nodes -keyout {swanctl}/private/$SELF.pem -subj /CN=$SELF \\
  -out /tmp/zh-$SELF-$$.csr 2>/dev/null
printf 'subjectAltName=%s\\n' "$SANS" > /tmp/zh-$SELF-$$.ext
openssl x509 -req -in /tmp/zh-$SELF-$$.csr -CA {ca_dir}/ca.crt -CAkey {ca_dir}/ca.key \\
  -set_serial $$ -days 2 -extfile /tmp/zh-$SELF-$$.ext -out {swanctl}/x509/$SELF.crt 2>/dev/null
rm -f /tmp/zh-$SELF-$$.csr /tmp/zh-$SELF-$$.ext
"""


def swanctl_load(conf: Path, device: str, peers: list[str]) -> tuple[str, str]:
    """Load ``conf`` into a throwaway charon (private /run and /etc/swanctl).

    Returns (load output, ``swanctl --list-conns --raw`` output). Fails on a
    non-zero exit and on "invalid config file" / "failed" in the output
    (``--load-conns`` exits 0 on syntax errors).
    """
    script = _SWAN_SCRIPT.replace("CHARON", _CHARON).replace(
        "CERTS", _cert_script("/run", "/etc/swanctl"))
    env = dict(os.environ, DEVICES=" ".join([device, *peers]), SELF=device,
               CONF=str(conf.resolve()), SANS=_sans(conf))
    r = run(["unshare", "-m", "-n", "--propagation", "private", "bash", "-c", script], env=env)
    out = r.stdout + r.stderr
    load, _, conns = out.partition("=== conns")
    assert r.returncode == 0, out
    assert "load-rc=0" in load, load
    for bad in ("invalid config file", "failed", "unknown", "error"):
        hits = [ln for ln in load.splitlines()
                if bad in ln.lower() and not ln.startswith("opening directory")]
        assert not hits, f"swanctl reported {bad!r}:\n{load}"
    return load, conns


# ---------------------------------------------------------------- WireGuard

def wg_apply(conf: Path, key_dir_in_file: str, keys: dict[str, str]) -> dict:
    """Validate a wg-quick file on a throwaway wireguard-go interface.

    1. ``wg-quick strip`` then ``wg setconf`` (rejects bad keys/values);
    2. the file's ``PostUp`` lines, run as wg-quick would (``%i`` = the
       interface, after link up), with the key directory replaced by a
       temporary one holding ``keys`` (device -> private key).
    Returns ``{"dump": wg show dump lines, "routes": ip -j route show table all}``.
    """
    tmp = Path(tempfile.mkdtemp(prefix="zh-wg-"))
    ns, ifname = unique("zh-wg-"), unique("zw")
    os.chmod(tmp, 0o700)
    for dev, key in keys.items():
        (tmp / f"{dev}.key").write_text(key + "\n")
        pub = run(["wg", "pubkey"], input=key).stdout.strip()
        (tmp / f"{dev}.pub").write_text(pub + "\n")
    r = run(["ip", "netns", "add", ns])
    assert r.returncode == 0, r.stderr
    proc = None
    try:
        strip = run(["wg-quick", "strip", str(conf)])
        assert strip.returncode == 0, strip.stderr
        (tmp / "stripped.conf").write_text(strip.stdout)
        proc = subprocess.Popen(["ip", "netns", "exec", ns, "wireguard-go", ifname],
                                env=dict(os.environ, WG_PROCESS_FOREGROUND="1"),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            if Path(f"/var/run/wireguard/{ifname}.sock").exists():
                break
            time.sleep(0.05)
        r = run(["ip", "netns", "exec", ns, "wg", "setconf", ifname, str(tmp / "stripped.conf")])
        assert r.returncode == 0, f"wg setconf rejected {conf}:\n{r.stderr}"
        r = run(["ip", "-n", ns, "link", "set", "dev", ifname, "up"])
        assert r.returncode == 0, r.stderr
        for line in conf.read_text().splitlines():
            key, sep, value = line.partition("=")
            if not sep or key.strip() != "PostUp":
                continue
            cmd = value.strip().replace("%i", ifname).replace(key_dir_in_file, str(tmp))
            r = run(["ip", "netns", "exec", ns, "bash", "-c", cmd])
            assert r.returncode == 0, f"PostUp {cmd!r} failed:\n{r.stderr}"
        dump = run(["ip", "netns", "exec", ns, "wg", "show", ifname, "dump"]).stdout
        routes = json.loads(run(["ip", "-n", ns, "-j", "route", "show", "table", "all"]).stdout)
        return {"dump": dump.splitlines(), "routes": routes, "ifname": ifname}
    finally:
        run(["ip", "-n", ns, "link", "del", ifname])
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
        run(["ip", "netns", "del", ns])
        sock = Path(f"/var/run/wireguard/{ifname}.sock")
        if sock.exists():
            sock.unlink()
        shutil.rmtree(tmp, ignore_errors=True)


# ---------------------------------------------------------------- IPsec end to end

LIBIPSEC = Path("/usr/lib/ipsec/plugins/libstrongswan-kernel-libipsec.so")

_PAIR_SCRIPT = r"""
set -e
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /etc/swanctl
mkdir -p /etc/swanctl/private /etc/swanctl/x509 /etc/swanctl/x509ca
cp "$KEYS/ca.crt" /etc/swanctl/x509ca/zh-ca.crt
cp "$KEYS/$SELF.pem" /etc/swanctl/private/
cp "$KEYS/$SELF.crt" /etc/swanctl/x509/
cp "$CONF" /etc/swanctl/swanctl.conf
cat > /run/strongswan.conf <<EOC
charon {
  load = PLUGINS
  filelog {
    zh {
      path = $KEYS/$SELF.log
      default = 1
      flush_line = yes
    }
  }
}
swanctl {
  load = random nonce openssl pem pkcs1 pkcs8 pubkey x509
}
EOC
export STRONGSWAN_CONF=/run/strongswan.conf
CHARON >/dev/null 2>&1 &
trap 'kill -9 $! 2>/dev/null' EXIT
for i in $(seq 400); do [ -S /run/charon.vici ] && break; sleep 0.05; done
swanctl --load-all >"$KEYS/$SELF.load" 2>&1
for i in $(seq 300); do
  [ -e "$KEYS/done" ] && break
  swanctl --list-sas --raw >"$KEYS/$SELF.sas.tmp" 2>&1 && mv "$KEYS/$SELF.sas.tmp" "$KEYS/$SELF.sas"
  sleep 0.2
done
kill %1
for i in $(seq 20); do kill -0 %1 2>/dev/null || break; sleep 0.1; done
kill -9 %1 2>/dev/null || true
"""


def ipsec_pair(ends: list[dict], want_children: int, others: tuple[str, ...] = (),
               timeout: float = 45.0) -> dict[str, str]:
    """Two charons (kernel-libipsec) in two namespaces joined by a veth; their SAs.

    ``ends``: initiator then responder, dicts with ``device``, ``conf`` (Path),
    ``loopback`` and ``addresses`` (one address inside each local traffic
    selector: libipsec routes need a local source). ``others``: devices the
    files also name (they get public keys only). The responder is up with its
    connections loaded before the initiator starts. Returns device ->
    ``swanctl --list-sas --raw`` once the initiator lists ``want_children``
    installed CHILD_SAs (or at timeout), and ``"logs"``.
    """
    tmp = Path(tempfile.mkdtemp(prefix="zh-ipsec-"))
    names = [unique("zh-ike-"), unique("zh-ike-")]
    procs = []
    try:
        del others  # certificates: the far ends need nothing but the CA
        for e in ends:
            script = ("set -e\nmkdir -p $T/sw/private $T/sw/x509 $T/sw/x509ca\n"
                      + _cert_script("$T", "$T/sw")
                      + "mv $T/sw/private/$SELF.pem $T/sw/x509/$SELF.crt $T/\n")
            r = run(["bash", "-c", script], env=dict(os.environ, T=str(tmp), SELF=e["device"],
                                                     SANS=_sans(Path(e["conf"]))))
            assert r.returncode == 0, r.stderr
        for n in names:
            assert run(["ip", "netns", "add", n]).returncode == 0
        link = ["ip", "-n", names[0], "link", "add", "name", "u0", "type", "veth",
                "peer", "name", "u0", "netns", names[1]]
        assert run(link).returncode == 0
        for k, (n, e) in enumerate(zip(names, ends, strict=True)):
            other = ends[1 - k]
            cmds = ["link set dev lo up", "link set dev u0 up",
                    f"address add 192.0.2.{k + 1}/30 dev u0",
                    f"address add {e['loopback']}/32 dev lo",
                    f"route add {other['loopback']}/32 via 192.0.2.{2 - k} dev u0"]
            cmds += [f"address add {a}/32 dev lo" for a in e["addresses"]]
            r = run(["ip", "-n", n, "-batch", "-"], input="\n".join(cmds) + "\n")
            assert r.returncode == 0, r.stderr
        plugins = ("random nonce openssl pem pkcs1 pkcs8 pubkey x509 kdf kernel-libipsec "
                   "kernel-netlink socket-default vici")
        script = _PAIR_SCRIPT.replace("CHARON", _CHARON).replace("PLUGINS", plugins)
        deadline = time.time() + timeout
        for n, e in reversed(list(zip(names, ends, strict=True))):
            env = dict(os.environ, KEYS=str(tmp), SELF=e["device"], CONF=str(e["conf"]))
            procs.append(subprocess.Popen(
                ["ip", "netns", "exec", n, "unshare", "-m", "--propagation", "private",
                 "bash", "-c", script], env=env,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            while not (tmp / f"{e['device']}.sas").exists() and time.time() < deadline:
                time.sleep(0.05)  # its connections are loaded
        initiator = tmp / f"{ends[0]['device']}.sas"
        while time.time() < deadline:
            if initiator.exists() and initiator.read_text().count("state=INSTALLED") >= (
                    want_children):
                break
            time.sleep(0.2)
        time.sleep(0.5)
        return {e["device"]: (tmp / f"{e['device']}.sas").read_text()
                if (tmp / f"{e['device']}.sas").exists() else "" for e in ends} | {
            "logs": "\n".join((tmp / f"{e['device']}.log").read_text(errors="replace")
                              for e in ends if (tmp / f"{e['device']}.log").exists())}
    finally:
        (tmp / "done").touch()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        for n in names:
            run(["ip", "netns", "del", n])
        shutil.rmtree(tmp, ignore_errors=True)
