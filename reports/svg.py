"""Inline SVG built with xml.etree: well-formed and escaped by construction, deterministic.

The report's pictures are plain SVG inside the HTML page: no script, no
external font or image, fills as presentation attributes so they print,
and a CJK-capable font stack on every root so Chinese names render even
when the SVG is copied out of the page.
"""

from __future__ import annotations

import unicodedata
import xml.etree.ElementTree as ET

SVG_NS = "http://www.w3.org/2000/svg"

# The same fallbacks as the page's stylesheet: a CJK font first, then any sans-serif.
FONT_STACK = ('"Noto Sans CJK SC", "WenQuanYi Zen Hei", "Source Han Sans SC", '
              '"Source Han Sans", sans-serif')


def num(x: float) -> str:
    """A coordinate with at most one decimal, no trailing zeros (stable text, small file)."""
    text = f"{x:.1f}"
    return text[:-2] if text.endswith(".0") else text


def root(width: float, height: float, css_class: str, label: str) -> ET.Element:
    """An ``<svg>`` of that natural size, scalable (viewBox), with a title for screen readers."""
    el = ET.Element("svg", {
        "xmlns": SVG_NS, "class": css_class, "role": "img", "aria-label": label,
        "width": num(width), "height": num(height),
        "viewBox": f"0 0 {num(width)} {num(height)}",
        "font-family": FONT_STACK, "font-size": "12",
    })
    ET.SubElement(el, "title").text = label
    return el


def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: object) -> ET.Element:
    """A child element; ``font_size=12`` becomes ``font-size="12"``, floats go through num()."""
    el = ET.SubElement(parent, tag, {k.rstrip("_").replace("_", "-"):
                                     num(v) if isinstance(v, float) else str(v)
                                     for k, v in attrs.items() if v is not None})
    if text is not None:
        el.text = text
    return el


def title(parent: ET.Element, text: str) -> None:
    """A ``<title>`` child: the browser shows it as the element's tooltip."""
    ET.SubElement(parent, "title").text = text


def text_width(text: str, size: float) -> float:
    """Estimated advance width: CJK and other wide characters take 1 em, the rest 0.62 em."""
    return sum(size if unicodedata.east_asian_width(ch) in ("W", "F") else size * 0.62
               for ch in text)


def clip(text: str, width: float, size: float) -> str:
    """``text`` shortened with an ellipsis to fit ``width`` (the full text goes in a title)."""
    if text_width(text, size) <= width:
        return text
    out = ""
    for ch in text:
        if text_width(out + ch + "…", size) > width:
            break
        out += ch
    return out + "…"


def to_string(el: ET.Element) -> str:
    return ET.tostring(el, encoding="unicode", short_empty_elements=True)
