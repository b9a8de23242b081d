"""Real packets from one process: sockets made inside namespaces with ``setns(2)``.

A socket stays in the network namespace it was created in, so this process
enters a namespace, opens its sockets and comes back; asyncio then runs every
probe at once (a subprocess per probe would cost seconds per hundred probes,
and a dropped TCP connection waits for its whole timeout). Listeners answer
with a label naming their host, and sniffers in the destination hosts see
packets that arrive even when no answer gets back (one-way delivery).
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import socket
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

CLONE_NEWNET = 0x40000000
GREETING = b"zongheng"

_libc = ctypes.CDLL(None, use_errno=True)


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns: {os.strerror(err)}")


@contextmanager
def inside(netns: str) -> Iterator[None]:
    """Run the block in network namespace ``netns`` (``ip netns`` name), then come back."""
    home = os.open("/proc/self/ns/net", os.O_RDONLY)
    try:
        target = os.open(f"/run/netns/{netns}", os.O_RDONLY)
        try:
            _setns(target)
            try:
                yield
            finally:
                _setns(home)
        finally:
            os.close(target)
    finally:
        os.close(home)


DELIVERED, ONE_WAY, DROPPED, ELSEWHERE = "delivered", "one-way", "dropped", "elsewhere"


@dataclass(frozen=True)
class Attempt:
    """One real connection attempt from namespace ``netns`` to ``dst``.

    ``dst_netns``/``dst_label``: the hosts that stand for the intended
    destination and the greeting their listeners send: an answer from any
    other host (an overlapping address in another realm) is ``elsewhere``.
    """

    netns: str
    dst: str
    protocol: str  # tcp | udp | icmp
    port: int | None
    ident: int  # ICMP echo identifier (unique per attempt)
    dst_netns: tuple[str, ...]
    dst_label: str
    src_seen: str | None = None  # the source address as the destination sees it (None: NAT)


@dataclass(frozen=True)
class Listener:
    netns: str
    protocol: str  # tcp | udp
    port: int
    label: str  # sent to every connection or datagram: who answered


def _checksum(data: bytes) -> int:
    data += b"\0" * (len(data) % 2)
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    return ~(total + (total >> 16)) & 0xFFFF


def greeting(label: str) -> bytes:
    return GREETING + b" " + label.encode() + b"\n"


class _Sniffer:
    """Every TCP SYN, UDP datagram and ICMP echo request arriving in a host namespace:
    one-way delivery (a reply lost on the way back) shows here even when the
    connection fails."""

    def __init__(self, netns: str) -> None:
        with inside(netns):
            self.tcp = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
            self.udp = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP)
            self.icmp = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
        # (protocol, source address, sport, dport)
        self.opens: set[tuple[str, str, int, int]] = set()
        self.echoes: set[int] = set()  # identifiers
        self.tasks: list[asyncio.Task] = []

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        for sock in (self.tcp, self.udp, self.icmp):
            sock.setblocking(False)
        self.tasks = [loop.create_task(self._read(self.tcp, self._tcp)),
                      loop.create_task(self._read(self.udp, self._udp)),
                      loop.create_task(self._read(self.icmp, self._icmp))]

    async def _read(self, sock: socket.socket, handle) -> None:
        loop = asyncio.get_running_loop()
        while True:
            data = await loop.sock_recv(sock, 4096)
            if data:
                handle(socket.inet_ntoa(data[12:16]), data[(data[0] & 0x0F) * 4:])

    def _tcp(self, src: str, seg: bytes) -> None:
        if len(seg) >= 14 and seg[13] & 0x02 and not seg[13] & 0x10:  # SYN without ACK
            self.opens.add(("tcp", src, *struct.unpack("!HH", seg[:4])))

    def _udp(self, src: str, dgram: bytes) -> None:
        if len(dgram) >= 8:
            self.opens.add(("udp", src, *struct.unpack("!HH", dgram[:4])))

    def arrived(self, proto: str, src: str | None, sport: int, dport: int) -> bool:
        if src is not None:
            return (proto, src, sport, dport) in self.opens
        return any(o[0] == proto and o[2:] == (sport, dport) for o in self.opens)

    def _icmp(self, src: str, msg: bytes) -> None:
        if len(msg) >= 6 and msg[0] == 8:
            self.echoes.add(struct.unpack("!H", msg[4:6])[0])

    def close(self) -> None:
        for t in self.tasks:
            t.cancel()
        for sock in (self.tcp, self.udp, self.icmp):
            sock.close()


async def _tcp(sock: socket.socket, dst: str, port: int, timeout: float) -> str | None:
    """The greeting label of the listener that answered, None when nothing did."""
    loop = asyncio.get_running_loop()
    try:
        await asyncio.wait_for(loop.sock_connect(sock, (dst, port)), timeout)
        data = b""
        while not data.endswith(b"\n") and len(data) < 256:
            chunk = await asyncio.wait_for(loop.sock_recv(sock, 256), timeout)
            if not chunk:
                break
            data += chunk
        if not data.startswith(GREETING + b" "):
            return None
        return data[len(GREETING) + 1:].rstrip(b"\n").decode(errors="replace")
    except OSError:  # TimeoutError (asyncio.wait_for) is an OSError too
        return None
    finally:
        sock.close()


async def _udp(sock: socket.socket, dst: str, port: int, timeout: float) -> str | None:
    """One datagram; the label of the responder whose answer came back, None without."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    try:
        await loop.sock_sendto(sock, GREETING, (dst, port))
        while (left := end - loop.time()) > 0:
            data, addr = await asyncio.wait_for(loop.sock_recvfrom(sock, 512), left)
            if addr == (dst, port) and data.startswith(GREETING + b" "):
                return data[len(GREETING) + 1:].rstrip(b"\n").decode(errors="replace")
        return None
    except OSError:  # TimeoutError (asyncio.wait_for) is an OSError too
        return None
    finally:
        sock.close()


async def _icmp(sock: socket.socket, dst: str, ident: int, timeout: float) -> bool:
    """An echo request; True when its echo reply (same identifier) comes back from ``dst``."""
    loop = asyncio.get_running_loop()
    body = struct.pack("!BBHHH", 8, 0, 0, ident, 1) + GREETING
    packet = body[:2] + struct.pack("!H", _checksum(body)) + body[4:]
    end = loop.time() + timeout
    try:
        await loop.sock_sendto(sock, packet, (dst, 0))
        while (left := end - loop.time()) > 0:
            data, addr = await asyncio.wait_for(loop.sock_recvfrom(sock, 2048), left)
            icmp = data[(data[0] & 0x0F) * 4:]
            if addr[0] == dst and icmp[:1] == b"\0" and \
                    struct.unpack("!H", icmp[4:6])[0] == ident:
                return True
        return False
    except OSError:  # TimeoutError (asyncio.wait_for) is an OSError too
        return False
    finally:
        sock.close()


class _Greeter(asyncio.Protocol):
    def __init__(self, label: str) -> None:
        self.label = label

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        transport.write(greeting(self.label))
        transport.close()


class _Responder(asyncio.DatagramProtocol):
    def __init__(self, label: str) -> None:
        self.label = label
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        if self.transport is not None:
            self.transport.sendto(greeting(self.label), addr)


def _open(attempt: Attempt) -> socket.socket:
    with inside(attempt.netns):
        if attempt.protocol in ("tcp", "udp"):
            kind = socket.SOCK_STREAM if attempt.protocol == "tcp" else socket.SOCK_DGRAM
            sock = socket.socket(socket.AF_INET, kind)
            sock.bind(("0.0.0.0", 0))  # the source port is known before anything leaves
        else:
            sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    sock.setblocking(False)
    return sock


def _listener(ln: Listener) -> socket.socket:
    with inside(ln.netns):
        sock = socket.socket(socket.AF_INET,
                             socket.SOCK_STREAM if ln.protocol == "tcp" else socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("0.0.0.0", ln.port))
    if ln.protocol == "tcp":
        sock.listen(128)
    sock.setblocking(False)
    return sock


async def _run_all(listeners: list[Listener], attempts: list[Attempt], timeout: float,
                   parallel: int) -> list[tuple[str, str | None]]:
    loop = asyncio.get_running_loop()
    servers = []
    sniffers: dict[str, _Sniffer] = {}
    try:
        for ln in listeners:
            if ln.protocol == "tcp":
                servers.append(await loop.create_server(lambda ln=ln: _Greeter(ln.label),
                                                        sock=_listener(ln)))
            else:
                transport, _ = await loop.create_datagram_endpoint(
                    lambda ln=ln: _Responder(ln.label), sock=_listener(ln))
                servers.append(transport)
        for ns in sorted({ns for a in attempts for ns in a.dst_netns}):
            sniffers[ns] = _Sniffer(ns)
            sniffers[ns].start()
        gate = asyncio.Semaphore(parallel)

        async def one(a: Attempt) -> tuple[bool, str | None, int]:
            async with gate:
                sock = _open(a)
                if a.protocol in ("tcp", "udp"):
                    assert a.port is not None
                    sport = sock.getsockname()[1]
                    talk = _tcp if a.protocol == "tcp" else _udp
                    return True, await talk(sock, a.dst, a.port, timeout), sport
                return await _icmp(sock, a.dst, a.ident, timeout), None, 0

        raw = await asyncio.gather(*(one(a) for a in attempts))
        await asyncio.sleep(0.1)  # let the sniffers read what is still queued
    finally:
        for s in servers:
            s.close()
        for sn in sniffers.values():
            sn.close()
    out: list[tuple[str, str | None]] = []
    for a, (answered, label, sport) in zip(attempts, raw, strict=True):
        if a.protocol in ("tcp", "udp"):
            assert a.port is not None
            arrived = any(sniffers[ns].arrived(a.protocol, a.src_seen, sport, a.port)
                          for ns in a.dst_netns)
            if label is not None and label != a.dst_label:
                out.append((ELSEWHERE, label))
            elif label is not None:
                out.append((DELIVERED, None))
            else:
                out.append((ONE_WAY if arrived else DROPPED, None))
        else:
            arrived = any(a.ident in sniffers[ns].echoes for ns in a.dst_netns)
            if answered:
                out.append((DELIVERED, None) if arrived else (ELSEWHERE, None))
            else:
                out.append((ONE_WAY if arrived else DROPPED, None))
    return out


def run_attempts(listeners: list[Listener], attempts: list[Attempt], timeout: float = 1.0,
                 parallel: int = 128) -> list[tuple[str, str | None]]:
    """Start the listeners, then every attempt at once (``parallel`` at a time).

    Per attempt: (``delivered`` answered by the intended host, ``one-way`` it
    arrived there but no answer came back, ``dropped`` it never arrived, or
    ``elsewhere`` another host answered; and that host's label when known).
    """
    return asyncio.run(_run_all(listeners, attempts, timeout, parallel))
