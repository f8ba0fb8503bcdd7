"""SVG text kept as text with the fonts it uses embedded (helpers.report.svg_text)."""

import base64
import io
import re

import matplotlib
import matplotlib.pyplot as plt
from fontTools.ttLib import TTFont

from helpers.report import charts, svg_text  # noqa: F401 -- charts installs the SVG canvas


def _figure():
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.bar(["Россия", "Chad"], [1, 2])
    ax.set_title("Bold & <x>", fontweight="bold")
    ax.set_yticks([])
    plt.close(fig)
    return fig


def _svg(fig) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None})
    return buffer.getvalue().decode("utf-8")


def _embedded(svg: str) -> dict[tuple[str, str], set[str]]:
    """{(weight, style): characters the embedded font maps} for each @font-face of ``svg``."""
    out = {}
    for weight, style, data in re.findall(r"font-weight: (\w+); font-style: (\w+); src: url\(data:font/ttf;base64,([^)]+)\)", svg):
        font = TTFont(io.BytesIO(base64.b64decode(data)))
        out[(weight, style)] = {chr(c) for c in font.getBestCmap()}
    return out


def test_text_faces_lists_each_face_and_the_characters_it_draws():
    svg = ('<svg><text style="font-size: 8px; font-family: \'DejaVu Sans\', sans-serif" x="1">b&amp;a</text>'
           '<text style="font-weight: 700; font-family: \'DejaVu Sans\'" x="2">ab</text>'
           '<text style="font-style: italic; font-family: \'DejaVu Sans\'">c</text><text style="fill: red">z</text></svg>')
    assert svg_text.text_faces(svg) == {("DejaVu Sans", "700", "normal"): "ab", ("DejaVu Sans", "normal", "italic"): "c",
                                        ("DejaVu Sans", "normal", "normal"): "&ab"}


def test_a_saved_svg_keeps_its_text_and_carries_exactly_the_glyphs_it_draws():
    svg = _svg(_figure())
    assert "<text" in svg and 'xlink:href="#DejaVuSans-' not in svg  # text, not glyph outlines
    assert "Bold &amp; &lt;x&gt;</text>" in svg
    fonts = _embedded(svg)
    assert set(fonts) == {("700", "normal"), ("normal", "normal")}
    assert set("Bold &<x>") <= fonts[("700", "normal")] and "R" not in fonts[("700", "normal")]
    assert set("РоссияChad") <= fonts[("normal", "normal")] and "B" not in fonts[("normal", "normal")]


def test_the_svg_is_the_same_bytes_each_time():
    with matplotlib.rc_context({"svg.hashsalt": "briefing"}):  # as the project kernel's matplotlibrc sets it
        assert _svg(_figure()) == _svg(_figure())


def test_without_install_matplotlib_draws_glyph_outlines(monkeypatch):
    from matplotlib import backend_bases

    monkeypatch.setitem(backend_bases._default_backends, "svg", "matplotlib.backends.backend_svg")
    with matplotlib.rc_context({"svg.fonttype": "path"}):
        svg = _svg(_figure())
    assert "@font-face" not in svg and 'xlink:href="#DejaVuSans-' in svg
