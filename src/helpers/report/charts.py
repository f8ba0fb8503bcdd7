"""Charts of the briefing: one matplotlib style, colour-blind-safe, reproducible SVG.

Every chart function takes a tidy DataFrame and explicit column names, returns a
:class:`matplotlib.figure.Figure`, and never reads files. Conventions shared by all charts:

- the Okabe-Ito palette (:data:`PALETTE`) for categories and ``cividis`` for quantities,
  both readable with the common colour-vision deficiencies and in greyscale;
- the title states the finding (the caller passes it, built from the data), axes are
  labelled with their unit, and a source line sits under the plot;
- shares are shown with their 95% interval when the caller gives the bounds.

No backend is forced: in a notebook the figures show inline (the project kernel sends them
as SVG, see :func:`helpers.report.render.ensure_kernel`), and the briefing numbers and captions them
from the cell's metadata. The SVG is byte-for-byte reproducible: fixed ``svg.hashsalt``, no
``Date`` metadata, text kept as text in the DejaVu Sans font that ships with matplotlib, the subset of it
the figure draws embedded in the SVG (:mod:`helpers.report.svg_text`, installed when this module is imported).
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Sequence

import matplotlib
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402,F401
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from helpers.report import svg_text

svg_text.install()  # SVG text stays text, with its fonts embedded (see helpers.report.svg_text)


#: Okabe-Ito colour-blind-safe palette (black last: kept for text and reference lines).
PALETTE: tuple[str, ...] = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
#: Sequential colour map for quantities (perceptually uniform, colour-blind-safe).
SEQUENTIAL = "cividis"
INK = "#222222"
#: Width of a full-width chart, in inches; narrower charts are shown proportionally narrower.
FULL_WIDTH_IN = 7.2
MUTED = "#666666"

STYLE: dict[str, object] = {
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.titlesize": 10.5,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.labelsize": 9,
    "axes.labelcolor": INK,
    "axes.edgecolor": MUTED,
    "axes.linewidth": 0.6,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.grid.axis": "x",
    "grid.color": "#dddddd",
    "grid.linewidth": 0.6,
    "axes.prop_cycle": matplotlib.cycler(color=list(PALETTE)),
    "xtick.color": INK,
    "ytick.color": INK,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.frameon": False,
    "legend.fontsize": 8,
    "figure.dpi": 100,
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
    "svg.fonttype": "path",
    "svg.hashsalt": "briefing",
    "path.simplify": True,
}


def apply_style() -> None:
    """Set the briefing's matplotlib style globally (idempotent)."""
    matplotlib.rcParams.update(STYLE)


def _finish(fig: Figure, title: str, source: str, xlabel: str | None = None) -> Figure:
    """Put the finding as the figure title (wrapped to the width), the source line at the bottom, lay out.

    ``xlabel``, when given, is one label shared by every panel (small multiples).
    """
    width_in, height_in = fig.get_size_inches()
    chars = max(40, int(width_in * 72 / (10.5 * 0.62)))
    lines = textwrap.wrap(title, chars) or [""]
    source_lines = textwrap.wrap(f"Source: {source}", int(width_in * 72 / (7 * 0.55)))
    fig.suptitle("\n".join(lines), x=0.01, y=0.995, ha="left", va="top", fontsize=10.5, fontweight="bold", color=INK)
    fig.text(0.01, 0.005, "\n".join(source_lines), ha="left", va="bottom", fontsize=7, color=MUTED)
    # tight_layout makes room for the suptitle and supxlabel itself; only the source line is reserved here.
    bottom = (0.13 * len(source_lines) + 0.06) / height_in
    if xlabel:  # one shared label, under the middle panel of the bottom row
        bottom_axes = [ax for ax in fig.axes if ax.get_visible() and ax.get_subplotspec() is not None and ax.get_subplotspec().is_last_row()]
        if bottom_axes:
            bottom_axes[(len(bottom_axes) - 1) // 2].set_xlabel(xlabel)
    fig.tight_layout(rect=(0, bottom, 1, 1))
    # Detached from pyplot: a notebook shows the returned figure once (as a cell's value), not a
    # second time when the inline backend flushes the open figures at the end of the cell.
    plt.close(fig)
    return fig


def _wrap(label: str, width: int) -> str:
    return "\n".join(textwrap.wrap(str(label), width)) or str(label)


def small_multiples(
    data: pd.DataFrame,
    *,
    panel: str,
    category: str,
    value: str,
    low: str | None = None,
    high: str | None = None,
    title: str,
    xlabel: str,
    source: str,
    category_order: Sequence[str] | None = None,
    panel_order: Sequence[str] | None = None,
    count: str | None = None,
    percent: bool = True,
) -> Figure:
    """Horizontal bars of ``value`` per ``category``, one panel per ``panel`` value, shared axes.

    Input: tidy ``data`` with one row per (panel, category): ``value`` (share 0-1 when
    ``percent``), optional ``low``/``high`` interval bounds (same unit) drawn as error bars,
    optional ``count`` printed at the bar end. ``category_order`` fixes the bar order (top
    first); default: by mean value. Output: the Figure (one panel per column, up to 4 a row).
    """
    apply_style()
    panels = list(panel_order) if panel_order is not None else sorted(data[panel].astype(str).unique())
    if category_order is None:
        category_order = data.groupby(category)[value].mean().sort_values(ascending=False).index.tolist()
    cats = list(category_order)
    ncols = min(len(panels), 4) or 1
    nrows = int(np.ceil(len(panels) / ncols)) or 1
    wrapped = [_wrap(c, 38) for c in cats]
    lines = sum(max(1, w.count("\n") + 1) for w in wrapped)
    height = max(2.6, 0.12 * lines + 0.1 * len(cats) + 0.7) * nrows + 0.9
    fig, axes = plt.subplots(nrows, ncols, figsize=(7.2, height), sharex=True, sharey=True, squeeze=False)
    scale = 100.0 if percent else 1.0
    xmax = float((data[high] if high else data[value]).max() or 0) * scale
    y = np.arange(len(cats))
    for i, ax in enumerate(axes.flat):
        if i >= len(panels):
            ax.set_visible(False)
            continue
        name = panels[i]
        sub = data[data[panel].astype(str) == name].set_index(category).reindex(cats)
        vals = sub[value].fillna(0).to_numpy(float) * scale
        ax.barh(y, vals, color=PALETTE[i % (len(PALETTE) - 1)], height=0.62, zorder=2)
        if low and high:
            lo = sub[low].fillna(0).to_numpy(float) * scale
            hi = sub[high].fillna(0).to_numpy(float) * scale
            err = np.vstack([np.clip(vals - lo, 0, None), np.clip(hi - vals, 0, None)])
            ax.errorbar(vals, y, xerr=err, fmt="none", ecolor=INK, elinewidth=0.8, capsize=2, zorder=3)
        if count:
            ends = sub[high].fillna(0).to_numpy(float) * scale if high else vals
            for yy, v, c in zip(y, np.maximum(ends, vals), sub[count].fillna(0).astype(int)):
                ax.text(v + xmax * 0.015, yy, f"n={c}", va="center", ha="left", fontsize=6.5, color=MUTED, zorder=4)
        ax.set_title(_wrap(name, 28), fontsize=9.5)
        ax.set_yticks(y, wrapped, fontsize=7.5)
        ax.invert_yaxis() if i == 0 else None
        ax.set_xlim(0, max(xmax * (1.22 if count else 1.08), 1e-9))
    return _finish(fig, title, source, xlabel=xlabel)


def heatmap(
    matrix: pd.DataFrame,
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    colorbar_label: str,
    source: str,
    percent: bool = True,
    vmin: float | None = 0.0,
    vmax: float | None = None,
    annotate: bool = True,
) -> Figure:
    """A labelled heatmap of ``matrix`` (rows × columns, numeric), each cell printed.

    Input: a DataFrame whose index labels the rows and columns label the columns, values as
    shares (0-1, printed as whole percentages when ``percent``) or plain numbers. Missing
    values are left blank. Output: the Figure with a colour bar labelled ``colorbar_label``.
    """
    apply_style()
    values = matrix.to_numpy(dtype=float)
    nrows, ncols = values.shape
    columns = [str(c) for c in matrix.columns]  # one line each: wrapped labels at an angle run into their neighbours
    longest = max((len(c) for c in columns), default=0)
    width = min(7.4, max(4.5, 0.34 * ncols + 2.8))
    # the column labels stand at 60 degrees under the grid: room for the longest (about 0.05 inch a character)
    height = max(2.4, 0.32 * nrows + 1.9 + 0.05 * max(longest - 12, 0))
    fig, ax = plt.subplots(figsize=(width, height))
    ax.grid(False)
    masked = np.ma.masked_invalid(values)
    top = vmax if vmax is not None else (float(np.nanmax(values)) if np.isfinite(values).any() else 1.0)
    image = ax.imshow(masked, cmap=SEQUENTIAL, aspect="auto", vmin=vmin, vmax=top or 1.0)
    ax.set_xticks(np.arange(ncols), columns, rotation=60, ha="right", rotation_mode="anchor")
    ax.set_yticks(np.arange(nrows), [_wrap(r, 34) for r in matrix.index])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    for spine in ax.spines.values():
        spine.set_visible(False)
    if annotate:
        norm = image.norm
        for r in range(nrows):
            for c in range(ncols):
                v = values[r, c]
                if not np.isfinite(v):
                    continue
                text = f"{v * 100:.0f}" if percent else (f"{v:.2f}" if abs(v) < 10 else f"{v:.0f}")
                colour = "white" if norm(v) < 0.55 else "black"
                ax.text(c, r, text, ha="center", va="center", fontsize=6.5, color=colour)
    bar = fig.colorbar(image, ax=ax, fraction=0.035, pad=0.02)
    bar.set_label(colorbar_label)
    bar.outline.set_visible(False)
    return _finish(fig, title, source)


def interval_dots(
    data: pd.DataFrame,
    *,
    x: str,
    series: str,
    value: str,
    low: str | None,
    high: str | None,
    title: str,
    xlabel: str,
    ylabel: str,
    source: str,
    series_order: Sequence[str] | None = None,
    percent: bool = True,
) -> Figure:
    """Points with interval bars of ``value`` along ``x`` (e.g. year), one colour per ``series``.

    Input: tidy ``data`` with one row per (x, series); ``x`` values are treated as ordered
    categories (sorted), points of a series are dodged sideways so intervals do not hide
    each other. Output: the Figure, legend at the right.
    """
    apply_style()
    xs = sorted(data[x].astype(str).unique())
    names = list(series_order) if series_order is not None else sorted(data[series].astype(str).unique())
    fig, ax = plt.subplots(figsize=(7.2, 3.4))
    ax.grid(True, axis="y")
    ax.grid(False, axis="x")
    scale = 100.0 if percent else 1.0
    width = 0.7
    step = width / max(len(names), 1)
    for i, name in enumerate(names):
        sub = data[data[series].astype(str) == name].set_index(data[data[series].astype(str) == name][x].astype(str))
        pos = np.array([xs.index(k) for k in sub.index]) - width / 2 + step * (i + 0.5)
        vals = sub[value].to_numpy(float) * scale
        colour = PALETTE[i % (len(PALETTE) - 1)]
        if low and high:
            err = np.vstack([np.clip(vals - sub[low].to_numpy(float) * scale, 0, None), np.clip(sub[high].to_numpy(float) * scale - vals, 0, None)])
            ax.errorbar(pos, vals, yerr=err, fmt="o", color=colour, ecolor=colour, elinewidth=1, capsize=2.5, markersize=4.5, label=name)
        else:
            ax.plot(pos, vals, "o", color=colour, markersize=4.5, label=name)
    ax.set_xticks(np.arange(len(xs)), xs)
    ax.set_xlim(-0.6, len(xs) - 0.4)
    ax.set_ylim(bottom=0)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return _finish(fig, title, source)


def trend_panels(
    data: pd.DataFrame,
    *,
    panel: str,
    x: str,
    series: str,
    value: str,
    low: str | None,
    high: str | None,
    title: str,
    xlabel: str,
    ylabel: str,
    source: str,
    panel_order: Sequence[str] | None = None,
    series_order: Sequence[str] | None = None,
    percent: bool = True,
    ncols: int = 3,
    series_title: str | None = None,
) -> Figure:
    """Lines of ``value`` along ``x`` (e.g. year), one panel per ``panel`` (e.g. theme), one line per ``series``
    (e.g. group), each with its interval drawn as a shaded band.

    Input: tidy ``data``, one row per (panel, series, x); ``x`` values must be numbers or
    numeric strings (years). Panels share both axes; the legend (titled ``series_title``) fills
    the first empty panel, or sits in the first panel when every slot is used.
    Output: the Figure.
    """
    apply_style()
    panels = list(panel_order) if panel_order is not None else sorted(data[panel].astype(str).unique())
    names = list(series_order) if series_order is not None else sorted(data[series].astype(str).unique())
    ncols = max(1, min(ncols, len(panels)))
    nrows = int(np.ceil(len(panels) / ncols)) or 1
    fig, axes = plt.subplots(nrows, ncols, figsize=(7.2, 2.1 * nrows + 1.3), sharex=True, sharey=True, squeeze=False)
    scale = 100.0 if percent else 1.0
    ymax = float((data[high] if high else data[value]).max() or 0) * scale
    handles: dict[str, object] = {}
    for i, ax in enumerate(axes.flat):
        if i >= len(panels):
            ax.set_visible(False)
            continue
        ax.grid(True, axis="y")
        ax.grid(False, axis="x")
        sub = data[data[panel].astype(str) == panels[i]]
        for j, name in enumerate(names):
            line = sub[sub[series].astype(str) == name].sort_values(x, key=lambda c: c.astype(float))
            if line.empty:
                continue
            xs = line[x].astype(float).to_numpy()
            colour = PALETTE[j % (len(PALETTE) - 1)]
            if low and high:
                ax.fill_between(xs, line[low].to_numpy(float) * scale, line[high].to_numpy(float) * scale, color=colour,
                                alpha=0.15, linewidth=0)
            (h,) = ax.plot(xs, line[value].to_numpy(float) * scale, "-o", color=colour, markersize=2.8, linewidth=1.3, label=name)
            handles.setdefault(name, h)
        ax.set_title(_wrap(panels[i], 28), fontsize=8.5)
        ax.set_ylim(0, max(ymax * 1.05, 1e-9))
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True, nbins=5))
        if i % ncols == 0:
            ax.set_ylabel(ylabel)
    _finish(fig, title, source, xlabel=xlabel)
    handles = [handles[n] for n in names if n in handles]
    if len(names) > 1:
        spare = [ax for ax in axes.flat if not ax.get_visible()]
        if spare:  # the first empty panel holds the legend
            spare[0].set_visible(True)
            spare[0].axis("off")
            spare[0].legend(handles=handles, labels=[h.get_label() for h in handles], loc="center", title=series_title)
        else:
            axes.flat[0].legend(handles=handles, labels=[h.get_label() for h in handles], loc="upper right", fontsize=7)
    return fig


def ranked_bars(
    data: pd.DataFrame,
    *,
    label: str,
    value: str,
    title: str,
    xlabel: str,
    source: str,
    note: str | None = None,
    reference: float | None = None,
) -> Figure:
    """Horizontal bars of ``value`` per ``label`` in the given row order (first on top).

    Input: ``data`` already sorted and cut to the rows to show; optional ``note`` column
    printed at the bar end (e.g. "n=4"); optional ``reference`` line (e.g. lift = 1).
    Output: the Figure.
    """
    apply_style()
    n = len(data)
    wrapped = [_wrap(v, 42) for v in data[label]]
    lines = sum(w.count("\n") + 1 for w in wrapped)
    fig, ax = plt.subplots(figsize=(7.2, max(2.2, 0.14 * lines + 0.14 * n + 1.4)))
    y = np.arange(n)
    vals = data[value].to_numpy(float)
    ax.barh(y, vals, color=PALETTE[0], height=0.62, zorder=2)
    ax.set_yticks(y, wrapped, fontsize=7.5)
    ax.invert_yaxis()
    top = float(np.nanmax(vals)) if n else 1.0
    if note:
        for yy, v, t in zip(y, vals, data[note].astype(str)):
            ax.text(v + top * 0.01, yy, t, va="center", ha="left", fontsize=7, color=MUTED)
    if reference is not None:
        ax.axvline(reference, color=INK, linewidth=0.8, linestyle="--", zorder=3)
    ax.set_xlim(0, top * 1.32 if top > 0 else 1)
    ax.set_xlabel(xlabel)
    return _finish(fig, title, source)


def svg_bytes(fig: Figure, close: bool = True) -> bytes:
    """The figure as reproducible SVG bytes (no date, fixed ids); closes the figure unless ``close=False``."""
    apply_style()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    if close:
        plt.close(fig)
    return buffer.getvalue()
