"""SVG figures whose text stays text, carrying the subset of each font it uses.

matplotlib can write a figure's text into SVG in two ways. As paths (``svg.fonttype: path``),
every character is a ``<use>`` of a glyph outline: the file is self-contained, but a chart has
about a thousand of them, and WeasyPrint draws each one by parsing its outline again (six of the
briefing's PDF seconds went there on the UN General Debate slice). As text (``none``), the
viewer must have the same font, or labels overflow the space matplotlib measured for them.

This module writes text, and embeds in the SVG an ``@font-face`` for each font face the figure
uses (DejaVu Sans, which ships with matplotlib, regular and bold), subset by fontTools to the
characters drawn and given as ``data:`` URLs, so the browser and WeasyPrint lay the labels out
in the font matplotlib measured. The PDF's figure text is then text: it can be searched and
copied. The file is byte-for-byte reproducible (no timestamps in the subset fonts).

:func:`install` registers :class:`FigureCanvasSVGText` for the ``svg`` format, so every
``savefig(format="svg")`` in the process (the notebook's inline figures included) goes through
it; :mod:`helpers.report.charts` calls it on import. Without it, matplotlibrc's
``svg.fonttype: path`` still gives self-contained SVG.
"""

from __future__ import annotations

import base64
import functools
import html
import io
import logging
import re

import matplotlib
from matplotlib import cbook
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.font_manager import FontProperties, findfont

#: A ``<text>`` element as matplotlib writes it (``style`` first, the characters as its content).
_TEXT = re.compile(r'<text style="([^"]*)"[^>]*>(.*?)</text>', re.S)
_FAMILY = re.compile(r"font-family:\s*'([^']+)'")
_WEIGHT = re.compile(r"font-weight:\s*(\w+)")
_STYLE = re.compile(r"font-style:\s*(\w+)")


def text_faces(svg: str) -> dict[tuple[str, str, str], str]:
    """The font faces of an SVG's ``<text>`` elements: ``{(family, weight, style): characters}``.

    ``family`` is the first of each element's ``font-family`` list; ``weight`` as written
    (``normal``, ``700``) and ``style`` (``normal``, ``italic``, ``oblique``); the characters
    are those the face draws, sorted, with XML entities resolved.
    """
    faces: dict[tuple[str, str, str], set[str]] = {}
    for style, content in _TEXT.findall(svg):
        family = _FAMILY.search(style)
        if family is None:
            continue
        weight = _WEIGHT.search(style)
        slant = _STYLE.search(style)
        key = (family.group(1), weight.group(1) if weight else "normal", slant.group(1) if slant else "normal")
        faces.setdefault(key, set()).update(html.unescape(re.sub(r"<[^>]+>", "", content)))
    return {key: "".join(sorted(chars)) for key, chars in sorted(faces.items())}


@functools.lru_cache(maxsize=256)
def font_subset(path: str, characters: str) -> bytes:
    """The TrueType font at ``path`` cut down to ``characters`` (and the glyphs their shaping needs)."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    logging.getLogger("fontTools").setLevel(logging.ERROR)  # "FFTM NOT subset": a table nobody reads
    options = subset.Options()
    options.name_IDs = ["*"]  # keep the font's names and its licence notice
    options.notdef_outline = True
    font = TTFont(path, recalcTimestamp=False)
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=characters)
    subsetter.subset(font)
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


def embed_fonts(svg: str) -> str:
    """``svg`` with an ``@font-face`` rule for each face its text uses (:func:`text_faces`), the font
    subset to the characters drawn. A face matplotlib cannot find a file for is left to the viewer."""
    rules = []
    for (family, weight, slant), characters in text_faces(svg).items():
        try:
            path = findfont(FontProperties(family=family, weight=weight, style=slant), fallback_to_default=False)
        except ValueError:
            continue
        if not str(path).lower().endswith((".ttf", ".otf")):
            continue
        data = base64.b64encode(font_subset(str(path), characters)).decode("ascii")
        rules.append(f"@font-face {{font-family: '{family}'; font-weight: {weight}; font-style: {slant}; "
                     f"src: url(data:font/ttf;base64,{data})}}")
    if not rules:
        return svg
    style = ' <defs>\n  <style type="text/css">' + "\n".join(rules) + "</style>\n </defs>\n"
    start = re.search(r"<svg\b[^>]*>\n?", svg)
    if start is None:
        return svg
    return svg[:start.end()] + style + svg[start.end():]


class FigureCanvasSVGText(FigureCanvasSVG):
    """matplotlib's SVG canvas writing text as text, with the fonts embedded (:func:`embed_fonts`)."""

    def print_svg(self, filename, **kwargs):  # noqa: D102 -- matplotlib's
        # savefig hands a canvas outside matplotlib every keyword; the SVG canvas takes only these of its own
        for ignored in ("dpi", "facecolor", "edgecolor", "orientation"):
            kwargs.pop(ignored, None)
        buffer = io.StringIO()
        with matplotlib.rc_context({"svg.fonttype": "none"}):
            super().print_svg(buffer, **kwargs)
        text = embed_fonts(buffer.getvalue())
        with cbook.open_file_cm(filename, "w", encoding="utf-8") as fh:
            if cbook.file_requires_unicode(fh):
                fh.write(text)
            else:
                fh.write(text.encode("utf-8"))


def install() -> None:
    """Write every SVG of this process with :class:`FigureCanvasSVGText` (idempotent)."""
    from matplotlib.backend_bases import register_backend

    register_backend("svg", FigureCanvasSVGText, "Scalable Vector Graphics")
