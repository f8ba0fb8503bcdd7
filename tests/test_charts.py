"""Charts: one style, titles and labels as given, reproducible SVG, numbered accessible figures."""

from __future__ import annotations


import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex

from helpers.report import charts


@pytest.fixture()
def freq() -> pd.DataFrame:
    return pd.DataFrame({
        "org": ["BRICS", "BRICS", "CSTO", "CSTO"],
        "theme": ["terrorism", "cyber", "terrorism", "cyber"],
        "share": [0.5, 0.25, 0.1, 0.4],
        "lo": [0.3, 0.1, 0.05, 0.2],
        "hi": [0.7, 0.5, 0.3, 0.6],
        "n": [5, 2, 1, 4],
    })


def _texts(fig) -> list[str]:
    return [t.get_text() for t in fig.findobj(matplotlib.text.Text) if t.get_text()]


def test_small_multiples_panels_title_source_and_intervals(freq):
    fig = charts.small_multiples(freq, panel="org", category="theme", value="share", low="lo", high="hi", count="n",
                                 title="BRICS raises terrorism most", xlabel="Share of body paragraphs (%)", source="test corpus")
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title(loc="left") for ax in visible] == ["BRICS", "CSTO"]
    assert fig._suptitle.get_text() == "BRICS raises terrorism most"
    assert "Source: test corpus" in _texts(fig)
    assert sum(ax.get_xlabel() == "Share of body paragraphs (%)" for ax in visible) == 1
    # bars are drawn in percent
    widths = sorted(round(p.get_width(), 6) for p in visible[0].patches)
    assert widths == [25.0, 50.0]
    assert "n=5" in _texts(fig) and "n=4" in _texts(fig)
    # the interval bars: one errorbar collection per panel spanning lo..hi
    segs = visible[0].collections[0].get_segments()
    spans = sorted((round(s[0][0], 6), round(s[1][0], 6)) for s in segs)
    assert spans == [(10.0, 50.0), (30.0, 70.0)]
    colours = {to_hex(visible[i].patches[0].get_facecolor()) for i in range(2)}
    assert colours == {charts.PALETTE[0].lower(), charts.PALETTE[1].lower()}


def test_heatmap_prints_every_cell(freq):
    matrix = freq.pivot(index="org", columns="theme", values="share")
    fig = charts.heatmap(matrix, title="Cells", xlabel="Theme", ylabel="Organisation", colorbar_label="Share (%)", source="s")
    ax = fig.axes[0]
    cell_texts = sorted(t.get_text() for t in ax.texts)
    assert cell_texts == ["10", "25", "40", "50"]
    assert ax.get_xlabel() == "Theme" and ax.get_ylabel() == "Organisation"
    assert fig.axes[1].get_ylabel() == "Share (%)"
    assert ax.images[0].get_cmap().name == charts.SEQUENTIAL


def test_heatmap_skips_missing_values():
    matrix = pd.DataFrame([[0.5, np.nan], [np.nan, 1.2]], index=["a", "b"], columns=["x", "y"])
    fig = charts.heatmap(matrix, title="t", xlabel="x", ylabel="y", colorbar_label="c", source="s", percent=False)
    assert sorted(t.get_text() for t in fig.axes[0].texts) == ["0.50", "1.20"]


def test_interval_dots_and_ranked_bars():
    data = pd.DataFrame({"year": ["2020", "2024", "2020", "2024"], "theme": ["a", "a", "b", "b"],
                         "share": [0.2, 0.4, 0.1, 0.1], "lo": [0.1, 0.3, 0.05, 0.05], "hi": [0.3, 0.5, 0.2, 0.2]})
    fig = charts.interval_dots(data, x="year", series="theme", value="share", low="lo", high="hi", title="a rose",
                               xlabel="Year", ylabel="Share (%)", source="s")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["2020", "2024"]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "b"]
    bars = pd.DataFrame({"pair": ["x + y", "y + z"], "lift": [3.0, 1.5], "note": ["4 ¶", "2 ¶"]})
    fig = charts.ranked_bars(bars, label="pair", value="lift", note="note", reference=1.0, title="x and y", xlabel="Lift", source="s")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["x + y", "y + z"]
    assert [round(p.get_width(), 6) for p in ax.patches] == [3.0, 1.5]
    assert ax.get_xlabel() == "Lift"


def test_svg_is_reproducible_and_dateless(freq):
    make = lambda: charts.small_multiples(freq, panel="org", category="theme", value="share", title="t", xlabel="x", source="s")  # noqa: E731
    one, two = charts.svg_bytes(make()), charts.svg_bytes(make())
    assert one == two
    assert b"<dc:date>" not in one
    assert b"<svg" in one


def test_charts_leave_the_backend_to_the_caller_and_return_detached_figures(freq):
    """No forced Agg: in a notebook figures show inline; a returned figure is shown once, as the cell's value."""
    import inspect

    import matplotlib.pyplot as plt

    assert "matplotlib.use(" not in inspect.getsource(charts)
    fig = charts.heatmap(freq.pivot(index="org", columns="theme", values="share"), title="t", xlabel="x", ylabel="y",
                         colorbar_label="c", source="s")
    assert fig.number not in plt.get_fignums()


def test_trend_panels_one_panel_per_theme_legend_in_the_spare_panel():
    rows = [{"theme": t, "group": g, "year": y, "share": s, "lo": s - 0.05, "hi": s + 0.05}
            for t in ("a", "b", "c", "d") for g, s in (("CSTO", 0.4), ("SCO", 0.2)) for y in ("2016", "2020", "2024")]
    data = pd.DataFrame(rows)
    fig = charts.trend_panels(data, panel="theme", x="year", series="group", value="share", low="lo", high="hi", title="a fell",
                              xlabel="Year", ylabel="Share (%)", source="s", series_title="Group")
    visible = [ax for ax in fig.axes if ax.get_visible()]
    panels = [ax for ax in visible if ax.axison]
    assert [ax.get_title(loc="left") for ax in panels] == ["a", "b", "c", "d"]
    assert [round(v, 6) for v in panels[0].lines[0].get_ydata()] == [40.0, 40.0, 40.0]
    assert list(panels[0].lines[0].get_xdata()) == [2016.0, 2020.0, 2024.0]
    assert len(panels[0].collections) == 2                    # one shaded 95% band per series
    legend = [ax for ax in visible if not ax.axison][0].get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["CSTO", "SCO"] and legend.get_title().get_text() == "Group"
    assert panels[0].get_ylabel() == "Share (%)"
