"""Ed25519 signatures over a bundle's manifest: who prepared the proofs, not only what.

The manifest holds the sha256 of every other file, so signing its bytes signs the
bundle. ``verify --bundle DIR --sign KEY`` writes ``manifest.json.sig`` (the
base64 signature); ``audit --trust PUBKEY`` requires it to verify with that key.
Keys are the usual files: PEM (``openssl genpkey -algorithm ed25519``) or OpenSSH
(``ssh-keygen -t ed25519``), public keys likewise (PEM or ``ssh-ed25519 AAAA...``).
The library is ``cryptography`` (the ``audit`` extra).
"""

from __future__ import annotations

import base64
import binascii
from pathlib import Path

from zongheng.compiler.errors import InputError

SIGNATURE = "manifest.json.sig"


class SigningError(InputError):
    """A key that cannot be used (exit 2)."""


def _serialization():
    try:
        from cryptography.hazmat.primitives import serialization
    except ImportError:
        raise SigningError("signing needs the cryptography package "
                           "(pip install 'zongheng[audit]')") from None
    return serialization


def load_private_key(path: Path):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    ser = _serialization()
    data = _read(path, "private key")
    try:
        key = (ser.load_ssh_private_key(data, password=None)
               if b"OPENSSH PRIVATE KEY" in data else
               ser.load_pem_private_key(data, password=None))
    except (ValueError, TypeError) as exc:
        raise SigningError(f"{path}: error: not an unencrypted private key ({exc})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningError(f"{path}: error: not an Ed25519 key")
    return key


def load_public_key(path: Path):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    ser = _serialization()
    data = _read(path, "public key")
    try:
        key = (ser.load_ssh_public_key(data) if data.lstrip().startswith(b"ssh-") else
               ser.load_pem_public_key(data))
    except (ValueError, TypeError) as exc:
        raise SigningError(f"{path}: error: not a public key ({exc})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise SigningError(f"{path}: error: not an Ed25519 public key")
    return key


def _read(path: Path, what: str) -> bytes:
    from zongheng.compiler.source import read_input

    try:
        return read_input(path, what)
    except InputError as exc:
        raise SigningError(f"{path}: error: {exc}") from None


def sign_manifest(manifest: Path, key) -> Path:
    """Write the signature of ``manifest`` (by a loaded private key) beside it."""
    signature = key.sign(manifest.read_bytes())
    out = manifest.parent / SIGNATURE
    out.write_text(base64.b64encode(signature).decode("ascii") + "\n", encoding="ascii")
    return out


def check_signature(manifest: Path, trusted: Path) -> list[str]:
    """Problems with the manifest's signature under ``trusted`` (empty: it verifies)."""
    from cryptography.exceptions import InvalidSignature

    key = load_public_key(trusted)
    sig_path = manifest.parent / SIGNATURE
    if not sig_path.is_file():
        return [f"signature: {SIGNATURE} is missing: the bundle is not signed"]
    try:
        signature = base64.b64decode(sig_path.read_text(encoding="ascii").strip(), validate=True)
        key.verify(signature, manifest.read_bytes())
    except (InvalidSignature, binascii.Error, ValueError, UnicodeDecodeError):
        return [f"signature: {SIGNATURE} does not verify manifest.json with {trusted.name}"]
    return []
