"""A minimal Language Server Protocol client for tests: ``zongheng lsp`` in a subprocess,
spoken to over its stdin and stdout with real JSON-RPC framing (``Content-Length``
headers), as an editor does. A reader thread files responses by id and keeps every
notification, so a test can wait for the one it expects."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from support.paths import REPO


def frame(message: dict) -> bytes:
    body = json.dumps(message).encode("utf-8")
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def read_message(stream) -> dict | None:
    """One framed message from ``stream``, or None at its end."""
    length = None
    while True:
        line = stream.readline()
        if not line:
            return None
        if line in (b"\r\n", b"\n"):
            break
        name, _, value = line.decode("ascii").partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    if length is None:
        raise ValueError("a message without Content-Length")
    return json.loads(stream.read(length))


class LspError(Exception):
    """The server answered a request with a JSON-RPC error."""


class Client:
    def __init__(self, *args: str, cwd: Path = REPO) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "zongheng", "lsp", *args], cwd=cwd,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.next_id = 0
        self.responses: dict[int, dict] = {}
        self.notifications: list[dict] = []
        self.arrived = threading.Condition()
        self.stderr: queue.SimpleQueue[bytes] = queue.SimpleQueue()
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._drain_stderr, daemon=True).start()

    def _read(self) -> None:
        while (msg := read_message(self.proc.stdout)) is not None:
            with self.arrived:
                if "id" in msg and "method" not in msg:
                    self.responses[msg["id"]] = msg
                elif "id" in msg:  # a request from the server: answer it, as an editor would
                    self.send({"jsonrpc": "2.0", "id": msg["id"], "result": None})
                else:
                    self.notifications.append(msg)
                self.arrived.notify_all()

    def _drain_stderr(self) -> None:
        for line in self.proc.stderr:
            self.stderr.put(line)

    def send(self, message: dict) -> None:
        self.proc.stdin.write(frame(message))
        self.proc.stdin.flush()

    def notify(self, method: str, params: Any = None) -> None:
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def request(self, method: str, params: Any = None, timeout: float = 60) -> Any:
        self.next_id += 1
        rid = self.next_id
        self.send({"jsonrpc": "2.0", "id": rid, "method": method, "params": params})
        with self.arrived:
            if not self.arrived.wait_for(lambda: rid in self.responses, timeout):
                raise TimeoutError(f"no answer to {method} in {timeout}s")
            msg = self.responses.pop(rid)
        if "error" in msg:
            raise LspError(msg["error"])
        return msg.get("result")

    def wait_for(self, method: str, where=lambda params: True, timeout: float = 60) -> dict:
        """The params of the first ``method`` notification (not yet taken) that ``where``
        accepts; it and those before it are taken."""
        deadline = time.monotonic() + timeout
        with self.arrived:
            while True:
                for i, msg in enumerate(self.notifications):
                    if msg.get("method") == method and where(msg.get("params")):
                        del self.notifications[:i + 1]
                        return msg["params"]
                left = deadline - time.monotonic()
                if left <= 0 or not self.arrived.wait(left):
                    raise TimeoutError(f"no {method} in {timeout}s: {self.notifications}")

    # -- the usual conversation
    def initialize(self, options: dict | None = None) -> dict:
        result = self.request("initialize", {
            "processId": None, "rootUri": REPO.as_uri(), "capabilities": {},
            "initializationOptions": options})
        self.notify("initialized", {})
        return result

    def open(self, uri: str, text: str, version: int = 1) -> None:
        self.notify("textDocument/didOpen", {"textDocument": {
            "uri": uri, "languageId": "zongheng", "version": version, "text": text}})

    def change(self, uri: str, text: str, version: int) -> None:
        self.notify("textDocument/didChange", {
            "textDocument": {"uri": uri, "version": version},
            "contentChanges": [{"text": text}]})

    def diagnostics(self, uri: str, where=lambda diags: True, timeout: float = 60) -> list:
        return self.wait_for("textDocument/publishDiagnostics",
                             lambda p: p["uri"] == uri and where(p["diagnostics"]),
                             timeout)["diagnostics"]

    def at(self, method: str, uri: str, line: int, character: int, **extra: Any) -> Any:
        return self.request(method, {"textDocument": {"uri": uri},
                                     "position": {"line": line, "character": character},
                                     **extra})

    def close(self, timeout: float = 30) -> int:
        """shutdown, exit, and the server's exit status."""
        if self.proc.poll() is None:
            self.request("shutdown")
            self.notify("exit")
        try:
            return self.proc.wait(timeout)
        finally:
            self.kill()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            stream.close()
