"""Jinja2 filters shared by every target, and the one place environments are built.

Why one module: address arithmetic (netmask, wildcard, ranges) and, above all,
the escaping of user text must be identical in every target. Display names
come from the policy (Chinese, quotes, ``permit ip any any``, braces ...); the
only way they reach a config is through :func:`comment_text`, which keeps
letters, digits and a short list of harmless punctuation and nothing that can
end a line, a quoted string, a statement or a block in any target.

Defence in depth: :func:`make_env` installs a ``finalize`` hook that refuses
(raises :class:`TemplateValueError`) any interpolated value containing a line
break or control character, so a template that forgets the filter fails
loudly instead of emitting an injected line. Templates therefore produce
multi-line output only from literal template text and loops, never from a
value (``{{ lines | join("\\n") }}`` is rejected on purpose), with one
exception: a :class:`Lines` block, whole lines an emitter formatted in Python
for a hot per-rule loop, whose line feeds (and only those) pass.
"""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jinja2

from zongheng.compiler import addresses
from zongheng.compiler.addresses import (
    cidr,
    first_address,
    last_address,
    merge_prefixes,
    netmask,
    prefixlen,
    sort_prefixes,
    wildcard,
)
from zongheng.compiler.errors import InputError

TEMPLATE_ROOT = Path(__file__).parent / "templates"


class TemplateValueError(InputError):
    """A value that would break the config's line structure reached a template."""


# ---------------------------------------------------------------- addresses
# The arithmetic is compiler.addresses (one copy for compiler, emitters and
# verifier); templates reach it under these filter names.

network_address = addresses.network
host_address = addresses.host


def is_host(prefix: str) -> bool:
    """True for a single address (``/32``)."""
    return prefixlen(prefix) == 32


def ip_range(prefix: str, sep: str = "-") -> str:
    """``10.0.0.0/30`` -> ``10.0.0.0-10.0.0.3`` (NAT pools, address ranges)."""
    return f"{first_address(prefix)}{sep}{last_address(prefix)}"


def port_range(ports: Any, sep: str = "-") -> str:
    """A model PortRange as ``80`` or ``8080-8089``; ``""`` for None (every port)."""
    if ports is None:
        return ""
    low, high = int(ports.low), int(ports.high)
    return str(low) if low == high else f"{low}{sep}{high}"


def is_all_ports(ports: Any) -> bool:
    return ports is None or (int(ports.low) <= 1 and int(ports.high) >= 65535)


# ---------------------------------------------------------------- names

_NAME_OK = re.compile(r"[A-Za-z0-9_-]")


def short_hash(text: str, length: int = 6) -> str:
    """Stable hex digest (independent of PYTHONHASHSEED) for name disambiguation."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


@functools.lru_cache(maxsize=1 << 16)  # pure; asked for every filter, term and set name
def safe_name(
    text: str,
    max_len: int = 63,
    prefix: str = "",
    allowed: str = r"[A-Za-z0-9_-]",
    replacement: str = "_",
) -> str:
    """An identifier made only of ``allowed`` characters, at most ``max_len`` long.

    Unchanged when already safe and short enough. Otherwise unsafe runs become
    ``replacement`` and a 6-hex hash of the original text is appended, so two
    different inputs never collapse to the same name.
    """
    ok = re.compile(allowed)
    candidate = prefix + text
    if candidate and all(ok.fullmatch(c) for c in candidate) and len(candidate) <= max_len:
        return candidate
    cleaned = "".join(c if ok.fullmatch(c) else replacement for c in text)
    if replacement:
        cleaned = re.sub(re.escape(replacement) + "{2,}", replacement, cleaned)
    suffix = replacement + short_hash(text) if replacement else short_hash(text)
    room = max_len - len(prefix) - len(suffix)
    if room < 0:
        raise ValueError(f"max_len {max_len} too small for prefix {prefix!r}")
    return prefix + cleaned[:room] + suffix


def ident(text: str, max_len: int = 63, prefix: str = "zh_") -> str:
    """Generated object name: ``zh_`` + lower-case ``[a-z0-9_]`` (nftables-safe)."""
    return safe_name(text.lower().replace("-", "_").replace(".", "_"), max_len=max_len,
                     prefix=prefix, allowed=r"[a-z0-9_]")


# ---------------------------------------------------------------- user text

_SAFE_ASCII_PUNCT = set(" -_.,:/()@+=%&*")
# every C0/C1 control character except tab (category Cc), and the Unicode line breaks
_LINE_BREAKERS = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")


def _char_is_safe(c: str) -> bool:
    if c.isascii():
        return c.isalnum() or c in _SAFE_ASCII_PUNCT
    cat = unicodedata.category(c)
    if cat[0] in "LNM":
        return True
    # non-ASCII punctuation (，。、【】《》) is harmless in every target, except
    # quotation marks (Pi/Pf), which some CLIs fold into ASCII quotes
    return cat[0] == "P" and cat not in ("Pi", "Pf")


def comment_text(
    text: Any,
    max_len: int = 80,
    ascii_only: bool = False,
    max_bytes: int | None = None,
) -> str:
    """User text made safe for a comment/description in every target.

    NFKC-normalises first (a full-width ``；`` or ``＂`` becomes ASCII and is then
    removed), replaces every character that is not a letter, digit, mark,
    space, harmless ASCII punctuation (``-_.,:/()@+=%&*``) or non-quote
    non-ASCII punctuation by a space, collapses whitespace and trims to
    ``max_len`` characters (and ``max_bytes`` UTF-8 bytes if given). So no
    line break, control/bidi character, quote, backslash, ``;``, ``#``, ``!``,
    ``{``, ``}``, ``[``, ``]``, ``$``, ``<``, ``>`` or ``|`` survives.
    ``ascii_only`` writes non-ASCII characters as ``U+XXXX`` for devices that
    cannot store UTF-8.
    """
    s = unicodedata.normalize("NFKC", "" if text is None else str(text))
    out: list[str] = []
    for c in s:
        if not _char_is_safe(c):
            out.append(" ")
        elif ascii_only and not c.isascii():
            out.append(f" U+{ord(c):04X} ")
        else:
            out.append(c)
    result = " ".join("".join(out).split())
    if max_len is not None and len(result) > max_len:
        result = result[:max_len].rstrip()
    if max_bytes is not None:
        while len(result.encode("utf-8")) > max_bytes:
            result = result[:-1]
        result = result.rstrip()
    return result


# the same, less the line feed that separates the lines of a :class:`Lines` block
_BREAKERS_IN_LINES = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")


class Lines(str):
    """Whole config lines an emitter wrote in Python, interpolated as one value.

    For the per-rule loops of a province (millions of ACL rules or routes),
    where a Jinja loop costs more than everything else: the emitter formats
    each line from values it made safe itself (numbers, addresses, names
    through the naming functions, user text through :func:`comment_text`) and
    joins them with ``"\n"`` (no trailing one). :func:`check_value` lets those
    line feeds through and nothing else; the template writes ``{{ block }}``
    on a line of its own.
    """

    __slots__ = ()


def sort_prefixes_filter(prefixes: Any) -> list[str]:
    """The ``sort_prefixes`` filter: a tuple of prefixes (a tunnel's traffic selectors,
    written at both of its ends) is sorted once."""
    if isinstance(prefixes, tuple):
        return list(_sorted_prefixes(prefixes))
    return sort_prefixes(prefixes)


@functools.lru_cache(maxsize=1 << 14)
def _sorted_prefixes(prefixes: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(sort_prefixes(prefixes))


def check_value(value: Any) -> Any:
    """Jinja ``finalize`` hook: no interpolated value may break a line."""
    if isinstance(value, str):
        block = type(value) is Lines
        found = (_BREAKERS_IN_LINES if block else _LINE_BREAKERS).search(value)
        if found:
            shown = value[max(0, found.start() - 60):found.end() + 60] if block else value
            raise TemplateValueError(
                f"value with a line break or control character reached a template: {shown!r}"
            )
    return value


# ---------------------------------------------------------------- environments

FILTERS: dict[str, Callable[..., Any]] = {
    "network_address": network_address,
    "netmask": netmask,
    "wildcard": wildcard,
    "prefixlen": prefixlen,
    "cidr": cidr,
    "host_address": host_address,
    "is_host": is_host,
    "first_address": first_address,
    "last_address": last_address,
    "ip_range": ip_range,
    "merge_prefixes": merge_prefixes,
    "sort_prefixes": sort_prefixes_filter,
    "port_range": port_range,
    "is_all_ports": is_all_ports,
    "safe_name": safe_name,
    "ident": ident,
    "short_hash": short_hash,
    "comment_text": comment_text,
}


def make_env(
    target: str,
    template_dir_override: Path | str | None = None,
    extra_filters: dict[str, Callable[..., Any]] | None = None,
) -> jinja2.Environment:
    """The Jinja2 environment of one target.

    Templates are looked up first in ``template_dir_override/<target>/`` (the
    CLI's ``--templates DIR``), then in the packaged ``templates/<target>/``,
    then in ``templates/common/`` (shared macros): an operator overrides
    single files, the rest stay packaged. Undefined names are errors.
    """
    loaders: list[jinja2.BaseLoader] = []
    if template_dir_override is not None:
        loaders.append(jinja2.FileSystemLoader(str(Path(template_dir_override) / target)))
    loaders.append(jinja2.FileSystemLoader(str(TEMPLATE_ROOT / target)))
    loaders.append(jinja2.FileSystemLoader(str(TEMPLATE_ROOT / "common")))
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
        finalize=check_value,
    )
    env.filters.update(FILTERS)
    if extra_filters:
        env.filters.update(extra_filters)
    return env
