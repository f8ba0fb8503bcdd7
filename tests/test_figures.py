"""Figures of the briefing's sections (helpers.report.figures) on small purpose-built tables."""

from __future__ import annotations

import pandas as pd

from helpers.report import figures

LABELS = {"terrorism": "Terrorism and violent extremism", "un_system": "United Nations system"}


def test_document_heatmap_names_themes_by_their_labels_and_the_top_theme_in_its_title():
    doc_shares = pd.DataFrame({"group": ["d1", "d1", "d2", "d2"], "theme": ["terrorism", "un_system"] * 2,
                               "share": [0.5, 0.25, 0.0, 1.0], "paragraphs": [2, 1, 0, 3]})
    documents = pd.DataFrame({"doc_id": ["d1", "d2"], "organization": ["CSTO", "BRICS"]})
    fig = figures.plot_document_themes(doc_shares, documents, order=["terrorism", "un_system"], labels=LABELS, source="s")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["Terrorism and violent extremism", "United Nations system"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["d1 (CSTO)", "d2 (BRICS)"]
    # each theme leads one document: d1 terrorism (50%), d2 UN system (100%); the first in order is named
    assert fig._suptitle.get_text().replace("\n", " ").startswith(
        "Terrorism and violent extremism is the top theme (or level top) of 1 of the 2 documents")


def test_group_heatmap_names_themes_by_their_labels_with_the_pooled_row_last():
    shares = pd.DataFrame({"group": ["CSTO", "CSTO", "BRICS", "BRICS"], "theme": ["terrorism", "un_system"] * 2,
                           "share": [0.4, 0.2, 0.1, 0.3]})
    pooled = pd.DataFrame({"theme": ["terrorism", "un_system"], "share": [0.3, 0.25]})
    fig = figures.plot_theme_heatmap(shares, pooled, order=["terrorism", "un_system"], groups=["CSTO", "BRICS"], labels=LABELS,
                                     unit="organisation", source="s")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["Terrorism and violent extremism", "United Nations system"]
    assert [t.get_text() for t in ax.get_yticklabels()][-1].endswith("(2)")


def test_agreement_bars_keep_the_table_order_with_all_decisions_last_in_every_panel():
    # Drug trafficking has no held-out paragraph (F1 undefined there) but an in-sample F1: it keeps its place
    # between the two themes instead of following the total.
    nan = float("nan")
    table = pd.DataFrame({
        "sample": ["held-out"] * 4 + ["in-sample"] * 4,
        "theme": ["Terrorism", "Drug trafficking", "UN system", "All decisions (micro)"] * 2,
        "f1": [0.9, nan, 0.8, 0.85, 1.0, 0.5, 0.7, 0.75],
    })
    table["f1_low"], table["f1_high"] = table["f1"] - 0.1, table["f1"].clip(upper=1.0)
    fig = figures.plot_agreement(table, source="s")
    panels = [ax for ax in fig.axes if ax.get_visible() and ax.get_yticklabels()]
    labels = [t.get_text() for t in panels[0].get_yticklabels()]
    assert labels == ["Terrorism", "Drug trafficking", "UN system", "All decisions (micro)"]
    assert "0.85 over all decisions (held-out)" in fig._suptitle.get_text().replace("\n", " ")
