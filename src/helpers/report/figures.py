"""The briefing's figures: each function takes the tables of :mod:`helpers.report.report_tables` and returns a
matplotlib :class:`~matplotlib.figure.Figure` (drawn with :mod:`helpers.report.charts`' style).

The title states the finding, computed from the data passed in; the caption and its number come
from the notebook cell's metadata at render time, never from here. In a notebook the returned
figure shows inline (as the cell's value); the project kernel sends it as SVG.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd
from matplotlib.figure import Figure

from helpers.report import charts
from helpers.report.findings import pct
from helpers.report.report_tables import ALL, OUTSIDE


def source_line(documents: pd.DataFrame, corpus: str, codebook: str) -> str:
    """The source line under every chart: "8 documents in data/manifest.csv, body paragraphs coded with codebook.yml"
    (a corpus mirrored from object storage is named by its URL: "... in s3://bucket/ungdc/manifest.csv")."""
    from helpers.corpus.remote import source_of
    from helpers.params import resolve_path

    folder = resolve_path(corpus)
    shown = source_of(folder)
    corpus = corpus if shown == str(folder) else shown
    n = len(documents)
    return (f"{n} document{'s' if n != 1 else ''} in {corpus}/manifest.csv, body paragraphs coded with "
            f"{codebook.rsplit('/', 1)[-1]} (see the methods appendix)")


def plot_theme_shares(shares: pd.DataFrame, *, order: Sequence[str], groups: Sequence[str], labels: Mapping[str, str],
                      title: str, source: str) -> Figure:
    """Small multiples: one panel per group of ``groups``, a bar per theme of ``order`` with its share of body
    paragraphs (%) and 95% Wilson interval, ``n=`` paragraphs carrying it. ``shares``: :func:`theme_shares` rows."""
    data = shares[shares["theme"].isin(order) & shares["group"].isin(groups)].assign(
        label=lambda d: d["theme"].map(lambda t: labels.get(t, t)), group=lambda d: d["group"].map(lambda g: OUTSIDE.get(g, g)))
    return charts.small_multiples(data, panel="group", category="label", value="share", low="ci_low", high="ci_high",
                                  count="paragraphs", category_order=[labels.get(x, x) for x in order], title=title,
                                  xlabel="Share of body paragraphs (%)", source=source, panel_order=[OUTSIDE.get(g, g) for g in groups])


def plot_theme_heatmap(shares: pd.DataFrame, pooled: pd.DataFrame, *, order: Sequence[str], groups: Sequence[str],
                       labels: Mapping[str, str], unit: str, source: str) -> Figure:
    """At scale: heatmap of the share (%) of each theme (columns) for the largest ``groups`` (rows) and the pooled selection."""
    matrix = shares[shares["theme"].isin(order) & shares["group"].isin(groups)].pivot_table(
        index="group", columns="theme", values="share", aggfunc="first").reindex(index=list(groups), columns=list(order))
    pooled_share = pooled.set_index("theme")["share"].reindex(order)
    matrix.loc[f"{ALL} ({shares['group'].nunique()})"] = pooled_share.to_numpy()
    matrix.columns = [labels.get(t, t) for t in matrix.columns]
    top = order[0]
    return charts.heatmap(matrix, title=f"{labels.get(top, top)} is the most frequent theme overall ({pct(pooled_share[top])} of body "
                          f"paragraphs); the {len(groups)} {unit}s with the most text, theme by theme", xlabel="Theme",
                          ylabel=unit.capitalize(), colorbar_label="Share of body paragraphs (%)", source=source,
                          vmax=float(max(matrix.max().max(), 0.01)))


def plot_document_themes(doc_shares: pd.DataFrame, documents: pd.DataFrame, *, order: Sequence[str],
                         labels: Mapping[str, str], source: str) -> Figure:
    """Document x theme heatmap: share (%) of each document's body paragraphs carrying each theme."""
    matrix = doc_shares[doc_shares["theme"].isin(order)].pivot_table(index="group", columns="theme", values="share", aggfunc="first")
    orgs = dict(zip(documents["doc_id"], documents["organization"]))
    matrix = matrix.reindex(index=documents["doc_id"], columns=list(order))
    matrix.index = [f"{d} ({orgs[d]})" for d in matrix.index]
    matrix.columns = [labels.get(t, t) for t in matrix.columns]
    present = doc_shares[doc_shares["theme"].isin(order)]
    leaders = present[(present["share"] == present.groupby("group")["share"].transform("max")) & (present["paragraphs"] > 0)]
    tops = leaders.groupby("theme")["group"].nunique().sort_values(ascending=False, kind="mergesort")
    best, n_docs = tops.index[0], int(tops.iloc[0])
    return charts.heatmap(matrix, title=f"{labels.get(best, best)} is the top theme (or level top) of {n_docs} of the {len(matrix)} documents",
                          xlabel="Theme", ylabel="Document", colorbar_label="Share of body paragraphs (%)", source=source, vmax=1.0)


def plot_trends(trends: pd.DataFrame, ranked: pd.DataFrame, *, order: Sequence[str], groups: Sequence[str],
                labels: Mapping[str, str], by_document: bool, unit: str, title: str, source: str) -> Figure:
    """Yearly share (%) with 95% bands for five themes (the clearest change first, then the most frequent), one line per group."""
    top = trend_themes(ranked, order)
    data = trends[trends["group"].isin(groups) & trends["theme"].isin(top)].assign(label=lambda d: d["theme"].map(lambda t: labels.get(t, t)))
    return charts.trend_panels(data, panel="label", x="year", series="group", value="share", low="ci_low", high="ci_high", title=title,
                               xlabel="Year of the document", ylabel="Share of documents (%)" if by_document else "Share of body ¶ (%)",
                               source=source, panel_order=[labels.get(x, x) for x in top], series_order=list(groups),
                               series_title=unit.capitalize() if list(groups) != [ALL] else None)


def trend_themes(ranked: pd.DataFrame, order: Sequence[str]) -> list[str]:
    """The five themes the trend chart draws: the clearest change (if it passes the test), then the most frequent."""
    moved = [ranked.iloc[0]["theme"]] if len(ranked) and bool(ranked.iloc[0]["clear"]) else []
    return (moved + [x for x in order if x not in moved])[:5]


def plot_year_dots(year_shares: pd.DataFrame, *, organization: str, order: Sequence[str], labels: Mapping[str, str],
                   source: str) -> Figure:
    """Fewer than three years: one organisation's top themes by year, points with 95% intervals; the title says which
    theme moved most between the first and last year and whether the intervals support it."""
    fy = year_shares.assign(label=lambda d: d["theme"].map(lambda t: labels.get(t, t)))
    seen = set(fy["theme"])
    top = [x for x in order if x in seen]
    yrs = sorted(fy["group"].unique())
    moved = []
    for th in top:
        r0 = fy[(fy["group"] == yrs[0]) & (fy["theme"] == th)].iloc[0]
        r1 = fy[(fy["group"] == yrs[-1]) & (fy["theme"] == th)].iloc[0]
        clear = r1["ci_low"] > r0["ci_high"] or r0["ci_low"] > r1["ci_high"]
        moved.append((not clear, -abs(r1["share"] - r0["share"]), th, r0, r1))
    moved.sort(key=lambda m: m[:3])
    unclear, _, th, r0, r1 = moved[0]
    verdict = "but the intervals overlap, so the change may be noise" if unclear else "a change the intervals support"
    return charts.interval_dots(fy, x="group", series="label", value="share", low="ci_low", high="ci_high",
                                title=f"{organization}: {labels.get(th, th)} went from {pct(r0['share'])} ({yrs[0]}) to "
                                      f"{pct(r1['share'])} ({yrs[-1]}), {verdict}",
                                xlabel="Year of the document", ylabel="Share of body paragraphs (%)", source=source,
                                series_order=[labels.get(x, x) for x in top])


def plot_cooccurrence(pairs: pd.DataFrame, *, labels: Mapping[str, str], source: str) -> Figure:
    """Bars of lift per theme pair (:func:`helpers.report.report_tables.top_pairs`), dashed line at chance (lift 1)."""
    best = pairs.iloc[0]
    data = pairs.assign(note=[f"{n} ¶, {e:.1f} expected" for n, e in zip(pairs["paragraphs"], pairs["expected"])])
    return charts.ranked_bars(data, label="pair", value="lift", note="note", reference=1.0,
                              title=f"{labels.get(best['theme_a'], best['theme_a'])} and {labels.get(best['theme_b'], best['theme_b'])} "
                                    f"co-occur {best['lift']:.1f} times as often as chance",
                              xlabel="Lift (paragraphs carrying both ÷ expected under independence)", source=source)


def plot_similarity(matrix: pd.DataFrame, *, what: str, source: str) -> Figure:
    """Heatmap of cosine similarity (``matrix`` of :func:`helpers.report.report_tables.similarity_matrix`); the title names the
    most and least alike pair. ``what``: "Document", "Organisation" or "Group"."""
    pairs = matrix.where(~pd.isna(matrix)).stack().rename("cosine").reset_index()
    pairs = pairs[pairs["level_0"] < pairs["level_1"]].sort_values(["cosine", "level_0", "level_1"], ascending=[False, True, True], kind="mergesort")
    best, low = pairs.iloc[0], pairs.iloc[-1]
    title = (f"Most alike in themes: {best['level_0']} and {best['level_1']} (cosine {best['cosine']:.2f}); "
             f"least alike: {low['level_0']} and {low['level_1']} ({low['cosine']:.2f})")
    return charts.heatmap(matrix, title=title, xlabel=what, ylabel=what, colorbar_label="Cosine similarity of theme shares",
                          source=source, percent=False, vmin=None if what != "Document" else 0.0, vmax=1.0)


def plot_document_sizes(docs_table: pd.DataFrame, *, source: str, top: int = 20) -> Figure:
    """Bars of body paragraphs per document (the ``top`` longest by words), words printed at the bar end."""
    d = docs_table.sort_values(["body", "doc_id"], ascending=[False, True], kind="mergesort").head(top)
    d = d.assign(label=[f"{i} ({o})" for i, o in zip(d["doc_id"], d["organization"])], note=[f"{w:,} words" for w in d["words"]])
    first = d.iloc[0]
    return charts.ranked_bars(d, label="label", value="body", note="note",
                              title=f"{first['doc_id']} has the most body paragraphs ({int(first['body'])} of {int(docs_table['body'].sum())})",
                              xlabel="Body paragraphs (coded)", source=source)


def plot_distinctive_terms(terms: pd.DataFrame, *, groups: Sequence[str], n: int, source: str) -> Figure:
    """Bars of G² for the ``n`` most distinctive terms of each of ``groups`` (label "term (group)")."""
    rows = []
    for g in groups:
        sub = terms[terms["group"] == g].sort_values(["ll", "term"], ascending=[False, True], kind="mergesort").head(n)
        rows.append(sub.assign(label=[f"{t} ({OUTSIDE.get(g, g)})" for t in sub["term"]],
                               note=[f"{int(c)}×, {p:.0f}/10k" for c, p in zip(sub["freq_group"], sub["per_10k_group"])]))
    data = pd.concat(rows, ignore_index=True)
    best = data.sort_values(["ll", "term"], ascending=[False, True], kind="mergesort").iloc[0]
    return charts.ranked_bars(data, label="label", value="ll", note="note",
                              title=f"'{best['term']}' is the most distinctive term of any group ({best['group']}, G² {best['ll']:.1f})",
                              xlabel="Log-likelihood G² against the others (10.83 = p < 0.001)", source=source, reference=10.83)


def plot_reuse_pairs(pairs: pd.DataFrame, *, titles: Mapping[str, str], source: str) -> Figure:
    """Bars of words reused per document pair (:func:`helpers.report.report_tables.top_reuse_pairs`), share of the later document."""
    data = pairs.assign(label=[f"{a} → {b}" for a, b in zip(pairs["doc_a"], pairs["doc_b"])],
                        words=pairs["words_reused_b"].astype(int),
                        note=[f"{pct(s)} of the later document" for s in pairs["share_b"]])
    best = data.iloc[0]
    return charts.ranked_bars(data, label="label", value="words", note="note",
                              title=f"{best['doc_b']} repeats {int(best['words'])} words of {best['doc_a']}",
                              xlabel="Words of the later document inside passages reused from the earlier", source=source)


def plot_agreement(table: pd.DataFrame, *, source: str) -> Figure:
    """Bars of F1 with 95% intervals per theme, one panel per sample split (``table``:
    :func:`helpers.report.report_tables.agreement_table`)."""
    data = table.dropna(subset=["f1"])
    data = data[~data["theme"].str.startswith("Mean")]
    overall = data[data["theme"] == "All decisions (micro)"].iloc[0]
    # The table's theme order over both splits (a theme scored in one split only keeps its place), the total last.
    shown = set(data["theme"]) - {overall["theme"]}
    themes = [t for t in dict.fromkeys(table["theme"]) if t in shown]
    return charts.small_multiples(data, panel="sample", category="theme", value="f1", low="f1_low", high="f1_high",
                                  category_order=[*themes, overall["theme"]], panel_order=list(dict.fromkeys(data["sample"])),
                                  title=f"The coding agrees with hand coding at F1 {overall['f1']:.2f} over all decisions ({overall['sample']})",
                                  xlabel="F1 of the final coding against hand coding (0–1)", source=source, percent=False)
