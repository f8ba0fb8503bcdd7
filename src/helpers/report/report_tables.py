"""The briefing's tables: small functions that take the loaded DataFrames and return DataFrames.

They call the analysis modules (:mod:`helpers.analysis.frequencies`, :mod:`helpers.analysis.cooccurrence`,
:mod:`helpers.analysis.overlap`, :mod:`helpers.analysis.keyness`, :mod:`helpers.analysis.evidence`, :mod:`helpers.analysis.trends`,
:mod:`helpers.analysis.reuse_summary`) with the same arguments as ``make analyse``, so a number a notebook
shows for the whole corpus equals the one in the reports folder's CSV. Nothing here writes a file
except :func:`write_report_tables`, which the make stage ``report-tables`` runs (never a notebook).

Conventions: ``paragraphs`` is :func:`helpers.report.load.load_paragraphs`, ``evidence``
:func:`helpers.report.load.load_evidence`, ``documents`` :func:`helpers.report.load.load_documents`,
``assignments`` :func:`helpers.report.load.load_assignments`. Shares are fractions 0-1 with 95% Wilson
intervals ``ci_low``/``ci_high``; ``group`` is an organisation or a group of ``group_by``.
"""

from __future__ import annotations

import argparse
import difflib
import html
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from helpers.report import findings
from helpers.report.findings import held_out_scorings
from helpers.analysis.cooccurrence import theme_cooccurrence
from helpers.analysis.evidence import evidence_quotes
from helpers.analysis.frequencies import rank_themes, theme_frequencies
from helpers.analysis.keyness import keyness
from helpers.analysis.overlap import document_similarity, find_reuse, reuse_by_document_pair, similar_paragraphs, stem_tokens
from helpers.params import Selection, resolve_path
from helpers.analysis.reuse_clusters import MAX_PAIRS_PER_CLUSTER, MAX_SAME_ORGANIZATION_PAIRS, reuse_clusters
from helpers.analysis.reuse_summary import passage_families, reuse_between_groups, reuse_cross_vs_self, reuse_kind_totals
from helpers.corpus.text import WORD_RE, fold
from helpers.analysis.trends import members_vs_rest, theme_changes, theme_trends
from helpers.annotation.split_agreement import READING_ORDER, reference_sample

#: Minimum paragraphs a theme pair must share to be reported (as ``make analyse``).
MIN_SUPPORT = 2
#: Paragraph pairs kept per document pair for similar paragraphs (as ``make analyse``).
TOP_SIMILAR = 3
#: Minimum occurrences of a term in a group for keyness (as ``make analyse``).
KEYNESS_MIN_FREQ = 3
#: Name of the whole selection pooled.
ALL = "All organisations"
#: Labels of :func:`helpers.corpus.groups.assign_groups` for speakers outside the chosen group(s).
OUTSIDE = {"rest": "rest (non-members)", "none": "none (in no group)"}
#: Organisation given by the ingest to documents whose manifest row has none.
UNKNOWN = "unknown"
#: Most groups drawn as small multiples or listed one by one; beyond this, the largest.
MAX_GROUPS = 12
#: Most documents drawn one by one (document x theme and similarity maps); beyond, a group view.
MAX_DOCUMENTS = 20
#: Fewest distinct years for the trend test (Cochran-Armitage across years).
MIN_TREND_YEARS = 3
#: Shortest paragraph (words) shown among the most similar pairs at scale.
MIN_SIMILAR_WORDS = 30
#: Fewest body paragraphs for a group or document to be ranked by share at scale.
MIN_PARAGRAPHS_RANKED = 30
#: Largest ratio between the years' mean words per body paragraph for which paragraph shares are compared across years.
MAX_PARAGRAPH_LENGTH_RATIO = 2.0
#: Tables :func:`write_report_tables` writes to the reports folder (make's ``report-tables`` stage).
REPORT_CSV = ("theme_trends.csv", "theme_changes.csv", "members_vs_rest.csv", "reuse_cross_vs_self.csv",
              "reused_passages.csv", "group_frequencies.csv", "briefing_documents.csv", "input_files.csv")
VERSUS_COLUMNS = ["group", "theme", "members_carrying", "members_total", "members_share", "rest_carrying", "rest_total",
                  "rest_share", "difference", "diff_low", "diff_high", "z", "p_value", "q_value"]


# ------------------------------------------------------------------ groups

def group_paragraphs(paragraphs: pd.DataFrame, evidence: pd.DataFrame | None,
                     assignments: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The paragraphs relabelled by group, so the frequency functions count per group.

    Each paragraph appears once per group of its document with ``organization`` set to the
    group; when a document is in several groups, ``para_id`` becomes ``<para_id>@<group>`` (in
    the evidence too) so that each copy counts once in its own group. Returns the relabelled
    paragraphs (same columns) and evidence (or ``None``).
    """
    multi = assignments["doc_id"].duplicated().any()
    merged = paragraphs.drop(columns=["organization"]).merge(assignments.astype(str), on="doc_id", how="inner", sort=False)
    merged = merged.rename(columns={"group": "organization"})
    if not multi:
        return merged[paragraphs.columns], evidence
    merged["para_key"] = merged["para_id"]
    merged["para_id"] = merged["para_id"].astype(str) + "@" + merged["organization"].astype(str)
    ev = None
    if evidence is not None:
        ev = evidence.merge(merged[["para_key", "para_id"]].rename(columns={"para_id": "new_id"}), left_on="para_id",
                            right_on="para_key", how="inner").drop(columns=["para_id", "para_key"]).rename(columns={"new_id": "para_id"})
    return merged[paragraphs.columns], ev


def shown_groups(assignments: pd.DataFrame, paragraphs: pd.DataFrame) -> list[str]:
    """The groups drawn and listed one by one: all when there are at most :data:`MAX_GROUPS`, else the
    largest by body paragraphs (ties by name); ``rest``/``none`` come last."""
    sizes = assignments.merge(paragraphs.groupby("doc_id").size().rename("n").reset_index(), on="doc_id")
    sizes = sizes.groupby("group")["n"].sum()
    if len(sizes) > MAX_GROUPS:  # at scale, the catch-all of documents with no organisation is not one speaker
        sizes = sizes.drop(index=UNKNOWN, errors="ignore")
    many = len(sizes) > MAX_GROUPS
    order = sorted(sizes.index, key=lambda g: (g in ("rest", "none"), -int(sizes[g]) if many else 0, g))
    return order[:MAX_GROUPS]


def group_sizes(assignments: pd.DataFrame, shown: Sequence[str]) -> pd.DataFrame:
    """Documents per group: ``group`` (str), ``documents`` (int), shown groups first, then the others by name."""
    n = assignments.groupby("group")["doc_id"].nunique()
    order = list(shown) + sorted(set(n.index) - set(shown))
    return pd.DataFrame({"group": order, "documents": [int(n[g]) for g in order]})


def grouping_text(selection: Selection) -> str:
    """How documents are grouped, in words (for narrative): "by organisation" or the groups of ``group_by``."""
    from helpers.corpus.groups import load_groups

    if selection.group_by == "organization":
        return "by organisation"
    groups = load_groups(resolve_path(selection.groups))
    ids = groups.sets.get(selection.group_by, (selection.group_by,))
    other = "rest" if selection.group_by in groups.groups else "none"
    several = "; a speech whose state belongs to several groups counts in each" if selection.group_by in groups.sets else ""
    return (f"group_by = {selection.group_by}: {', '.join(ids)} members on each document's date, and '{other}' for the "
            f"other speakers{several}")


def groups_table(assignments: pd.DataFrame, documents: pd.DataFrame, paragraphs: pd.DataFrame, shown: Sequence[str]) -> pd.DataFrame:
    """Per group of ``group_by``: ``group``, ``documents``, ``organisations`` (distinct speakers), ``body`` (body
    paragraphs), ``words`` (words of body text) and ``members`` (the speakers, comma-separated, or a count past 12)."""
    body = paragraphs.groupby("doc_id").agg(body=("para_id", "size"), words=("n_words", "sum"))
    d = documents[["doc_id", "organization"]].join(body, on="doc_id")
    m = assignments.merge(d, on="doc_id")
    g = m.groupby("group").agg(documents=("doc_id", "nunique"), organisations=("organization", "nunique"),
                               body=("body", "sum"), words=("words", "sum"))
    g = g.reindex(group_sizes(assignments, shown)["group"]).reset_index()
    g["members"] = [", ".join(sorted(set(m.loc[m["group"] == x, "organization"]))) if n <= 12 else f"{int(n)} organisations"
                    for x, n in zip(g["group"], g["organisations"])]
    return g.astype({"body": int, "words": int})


# ------------------------------------------------------------------ corpus

def documents_table(documents: pd.DataFrame, paragraphs: pd.DataFrame) -> pd.DataFrame:
    """One row per document: ``doc_id``, ``title``, ``organization``, ``genre``, ``date``, ``body`` (body paragraphs),
    ``words`` (words of body text) and ``other`` (the other paragraph kinds kept for context, e.g. "1 title; 2 editorial")."""
    d = documents.copy()
    body = paragraphs.groupby("doc_id").agg(body=("para_id", "size"), words=("n_words", "sum"))
    d = d.join(body, on="doc_id")
    kinds = ("title", "dateline", "salutation", "closing", "editorial")
    d["other"] = ["; ".join(f"{n} {k}" for k, n in zip(kinds, counts) if n) or "none"
                  for counts in zip(*(d[f"kind_{k}"].astype(object).tolist() for k in kinds))]
    d["body"] = d["body"].fillna(0).astype(int)
    d["words"] = d["words"].fillna(0).astype(int)
    return d[["doc_id", "title", "organization", "genre", "date", "body", "words", "other"]]


def documents_by_year(docs_table: pd.DataFrame) -> pd.DataFrame:
    """:func:`documents_table` summed per year: ``year``, ``documents``, ``organisations``, ``body``, ``words``."""
    y = docs_table.assign(year=docs_table["date"].str[:4]).groupby("year").agg(
        documents=("doc_id", "size"), organisations=("organization", "nunique"), body=("body", "sum"), words=("words", "sum"))
    return y.reset_index()


def cleaning_summary(cleaning: pd.DataFrame, documents: pd.DataFrame) -> pd.DataFrame:
    """What cleaning removed per document: ``doc_id``, ``title``, ``fragments`` (int), ``rules`` ("rule ×n; ...");
    most fragments first."""
    if cleaning.empty:
        return pd.DataFrame(columns=["doc_id", "title", "fragments", "rules"])
    per = cleaning.groupby(["doc_id", "rule"]).size().rename("n").reset_index()
    rules = per.groupby("doc_id").apply(lambda g: "; ".join(f"{r} ×{n}" for r, n in zip(g["rule"], g["n"])),
                                        include_groups=False).rename("rules")
    counts = cleaning.groupby("doc_id").size().rename("fragments")
    out = pd.concat([counts, rules], axis=1).reset_index()
    out.insert(1, "title", out["doc_id"].map(dict(zip(documents["doc_id"], documents["title"]))))
    return out.sort_values(["fragments", "doc_id"], ascending=[False, True], kind="mergesort").reset_index(drop=True)


def kinds_per_document(kinds: pd.DataFrame) -> pd.DataFrame:
    """Paragraphs per document and kind: ``doc_id`` and one int column per kind present."""
    return kinds.pivot_table(index="doc_id", columns="kind", values="para_id", aggfunc="count", fill_value=0).reset_index().rename_axis(columns=None)


def ingest_warnings(documents: pd.DataFrame) -> pd.DataFrame:
    """One row per ingest warning of the selected documents: ``doc_id``, ``warning``."""
    rows = [{"doc_id": d, "warning": w} for d, ws in zip(documents["doc_id"], documents["warnings"].astype(str))
            for w in ws.split(" | ") if w.strip()]
    return pd.DataFrame(rows, columns=["doc_id", "warning"])


# ------------------------------------------------------------------ themes

def theme_shares(paragraphs: pd.DataFrame, by: str, evidence: pd.DataFrame | None = None,
                 themes: Sequence[str] | None = None) -> pd.DataFrame:
    """Share of body paragraphs carrying each theme per ``by`` (``organization``, ``document``, ``year`` or ``corpus``).

    Columns (see :func:`helpers.analysis.frequencies.theme_frequencies`): ``by``, ``group``, ``theme``, ``paragraphs`` (int,
    carrying the theme), ``body_paragraphs`` (int), ``share`` (0-1), ``ci_low``, ``ci_high`` (95% Wilson),
    ``occurrences``, ``words``, ``per_1000_words``, ``documents``. ``themes``: theme ids reported even where no
    paragraph carries them (zeros), besides every theme found. For ``group_by`` other than organisation, pass
    the paragraphs of :func:`group_paragraphs`.
    """
    return theme_frequencies(paragraphs, by=by, evidence=evidence, themes=list(themes) if themes is not None else None)


def pooled_shares(paragraphs: pd.DataFrame, evidence: pd.DataFrame | None, themes: Sequence[str]) -> pd.DataFrame:
    """:func:`theme_shares` of the whole selection as one group named :data:`ALL`."""
    return theme_shares(paragraphs.assign(organization=ALL), "organization", evidence, themes)


def ranked_themes(shares: pd.DataFrame) -> pd.DataFrame:
    """Each group's themes ranked with tie groups (:func:`helpers.analysis.frequencies.rank_themes`): the columns of
    ``shares`` plus ``rank`` (int) and ``tie_group`` (int; themes with overlapping 95% intervals share one)."""
    return rank_themes(shares, top=None)


def theme_order(pooled: pd.DataFrame) -> list[str]:
    """Themes carried by at least one paragraph, most frequent first (ties by id)."""
    present = pooled[pooled["paragraphs"] > 0].sort_values(["share", "theme"], ascending=[False, True], kind="mergesort")
    return present["theme"].tolist()


def shares_wide(shares: pd.DataFrame, pooled: pd.DataFrame, order: Sequence[str], groups: Sequence[str],
                labels: Mapping[str, str]) -> pd.DataFrame:
    """Theme x group table for readers: index ``Theme`` (label), one column per group and ``All``, each cell
    "carrying/body · share (low–high %)"."""
    cells = {g: shares[shares["group"] == g].drop_duplicates("theme").set_index("theme") for g in groups}
    cells["All"] = pooled.drop_duplicates("theme").set_index("theme")
    rows = {}
    for theme in order:
        row = {}
        for g, t in cells.items():
            r = t.loc[theme]
            row[g] = (f"{int(r['paragraphs'])}/{int(r['body_paragraphs'])} · {findings.pct(r['share'])} "
                      f"({100 * r['ci_low']:.0f}–{100 * r['ci_high']:.0f})")
        rows[labels.get(theme, theme)] = row
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("Theme")


def top_groups_per_theme(shares: pd.DataFrame, pooled: pd.DataFrame, order: Sequence[str], labels: Mapping[str, str],
                         top_n: int) -> pd.DataFrame:
    """At scale: per theme, the ``top_n`` groups (with at least :data:`MIN_PARAGRAPHS_RANKED` body paragraphs, not
    ``unknown``) with the highest share. Columns ``theme`` (label), ``all`` (pooled share, 0-1), ``top`` ("group
    share% (low–high)", ``;``-separated)."""
    eligible = shares[(shares["body_paragraphs"] >= MIN_PARAGRAPHS_RANKED) & shares["theme"].isin(order) & (shares["group"] != UNKNOWN)]
    pooled_share = pooled.set_index("theme")["share"]
    rows = []
    for theme in order:
        g = eligible[eligible["theme"] == theme].sort_values(["share", "group"], ascending=[False, True], kind="mergesort").head(top_n)
        rows.append({"theme": labels.get(theme, theme), "all": float(pooled_share[theme]),
                     "top": "; ".join(f"{r['group']} {findings.pct(r['share'])} ({100 * r['ci_low']:.0f}–{100 * r['ci_high']:.0f})"
                                      for _, r in g.iterrows())})
    return pd.DataFrame(rows)


def documents_by_theme(doc_shares: pd.DataFrame, documents: pd.DataFrame, order: Sequence[str], labels: Mapping[str, str],
                       min_body: int = 10) -> pd.DataFrame:
    """At scale: per theme, ``raising`` (documents carrying it at least once), ``raising_share`` (0-1) and ``top``
    (the three documents of at least ``min_body`` body paragraphs where it weighs most: "doc (speaker) k/n")."""
    orgs = dict(zip(documents["doc_id"], documents["organization"]))
    rows = []
    for theme in order:
        g = doc_shares[doc_shares["theme"] == theme]
        raising = int((g["paragraphs"] > 0).sum())
        top = g[g["body_paragraphs"] >= min_body].sort_values(["share", "paragraphs", "group"], ascending=[False, False, True],
                                                              kind="mergesort").head(3)
        rows.append({"theme": labels.get(theme, theme), "raising": raising, "raising_share": raising / max(len(documents), 1),
                     "top": "; ".join(f"{r['group']} ({orgs.get(r['group'], '')}) {int(r['paragraphs'])}/{int(r['body_paragraphs'])}"
                                      for _, r in top.iterrows())})
    return pd.DataFrame(rows)


def group_chart_title(ranked: pd.DataFrame, groups: Sequence[str], labels: Mapping[str, str], unit: str) -> str:
    """The finding of the themes-by-group chart: in which groups one theme clearly leads (its interval above the next)."""
    r = ranked[ranked["group"].isin(groups)]
    clear, level = [], []
    for org, g in r.groupby("group", sort=True):
        top = g[g["tie_group"] == 1]
        (clear if len(top) == 1 else level).append((org, labels.get(top.iloc[0]["theme"], top.iloc[0]["theme"])))
    if len(clear) + len(level) > 6:
        leads = pd.Series([theme for _, theme in clear]).value_counts()
        if len(leads):
            return (f"{leads.index[0]} clearly leads in {int(leads.iloc[0])} of {len(clear) + len(level)} {unit}s' texts; "
                    f"in {len(level)} no theme clearly leads")
        return f"In none of the {len(level)} {unit}s does one theme clearly lead"
    parts = [f"{theme} clearly leads in {org} texts" for org, theme in clear]
    if level:
        parts.append(f"in {findings._names([org for org, _ in level])} texts no theme clearly leads")
    text = "; ".join(parts)
    return text[0].upper() + text[1:] if text else "Themes by organisation"


# ------------------------------------------------------------------ trends

def trend_unit(paragraphs: pd.DataFrame) -> tuple[str, pd.Series]:
    """The unit trends are counted in, and the mean words per body paragraph of each year.

    ``"paragraph"`` unless the years' mean paragraph lengths differ by more than
    :data:`MAX_PARAGRAPH_LENGTH_RATIO` (a source that splits speeches differently from year to
    year): then trends count ``"document"`` (share of documents raising the theme at least
    once). Returns the unit and the mean words per paragraph by year (float, index year as str).
    """
    words = paragraphs["n_words"] if "n_words" in paragraphs.columns else paragraphs["text"].astype(str).str.split().str.len()
    lengths = pd.Series(words.to_numpy(float), index=paragraphs["date"].astype(str).str[:4].to_numpy()).groupby(level=0).mean()
    if len(lengths) >= MIN_TREND_YEARS and lengths.min() > 0 and lengths.max() / lengths.min() > MAX_PARAGRAPH_LENGTH_RATIO:
        return "document", lengths
    return "paragraph", lengths


def trends(paragraphs: pd.DataFrame, assignments: pd.DataFrame, documents: pd.DataFrame, themes: Sequence[str],
           unit: str, starts: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Yearly theme shares per group plus the pooled selection (:data:`ALL`), :func:`helpers.analysis.trends.theme_trends`:
    ``group``, ``theme``, ``year`` (str), ``carrying``, ``total`` (units), ``share``, ``ci_low``, ``ci_high``, ...

    ``starts``: theme -> first date (:func:`helpers.report.load.theme_starts`); such a theme's rows begin in the year
    of its date, since its rules code nothing before (a rise "from 0% in 1946" would be the codebook's, not the texts')."""
    pooled = pd.DataFrame({"doc_id": documents["doc_id"], "group": ALL})
    out = theme_trends(paragraphs, pd.concat([assignments, pooled], ignore_index=True), unit=unit, themes=list(themes))
    if starts:
        first = out["theme"].map({t: d[:4] for t, d in starts.items()}).fillna("")
        out = out[out["year"].astype(str) >= first].reset_index(drop=True)
    return out


def trend_groups(shares: pd.DataFrame, shown: Sequence[str]) -> list[str]:
    """The groups whose trends are drawn: every shown group when there are few (≤ 7), else the pooled selection only."""
    return [ALL] if shares["group"].nunique() > 7 else list(shown)


def ranked_changes(changes: pd.DataFrame, groups: Sequence[str]) -> pd.DataFrame:
    """Rows of :func:`helpers.analysis.trends.theme_changes` for ``groups`` with at least :data:`MIN_TREND_YEARS` years, changes
    that pass the test (q < 0.05) first, then by size of change; adds ``clear`` (bool)."""
    ch = changes[changes["group"].isin(groups) & (changes["years"] >= MIN_TREND_YEARS)]
    ranked = ch.assign(clear=ch["q_value"] < 0.05, _abs=ch["change"].abs()).sort_values(
        ["clear", "_abs", "group", "theme"], ascending=[False, False, True, True], kind="mergesort")
    return ranked.drop(columns="_abs").reset_index(drop=True)


def versus(paragraphs: pd.DataFrame, assignments: pd.DataFrame, themes: Sequence[str], by_organization: bool) -> pd.DataFrame:
    """Members of each group against every other speaker (:func:`helpers.analysis.trends.members_vs_rest`); empty (with the
    columns) when measures are per organisation."""
    if by_organization:
        return pd.DataFrame(columns=VERSUS_COLUMNS)
    return members_vs_rest(paragraphs, assignments, unit="paragraph", themes=list(themes))


def year_shares_by_organization(paragraphs: pd.DataFrame, evidence: pd.DataFrame | None, themes: Sequence[str],
                                order: Sequence[str], top_n: int) -> dict[str, pd.DataFrame]:
    """Fewer than three years: for each organisation with documents from two or more years, :func:`theme_shares` by
    year of its ``top_n`` most frequent themes (``group`` = year)."""
    years = paragraphs.assign(year=paragraphs["date"].str[:4]).groupby("organization")["year"].nunique()
    out = {}
    for org in sorted(years[years >= 2].index):
        fy = theme_shares(paragraphs[paragraphs["organization"] == org], "year", evidence, themes)
        seen = set(fy.loc[fy["paragraphs"] > 0, "theme"])
        top = [x for x in order if x in seen][:top_n]
        out[org] = fy[fy["theme"].isin(top)].reset_index(drop=True)
    return out


# ------------------------------------------------------------------ co-occurrence and overlap

def cooccurrence(selection: Selection, paragraphs: pd.DataFrame) -> pd.DataFrame:
    """Theme pairs met in at least :data:`MIN_SUPPORT` paragraphs (:func:`helpers.analysis.cooccurrence.theme_cooccurrence`):
    ``theme_a``, ``theme_b``, ``paragraphs`` (both), ``paragraphs_a``, ``paragraphs_b``, ``expected`` (under
    independence), ``lift`` (ratio), ``npmi`` (-1..1)."""
    from helpers.report.load import load_analysis_table

    return load_analysis_table(selection, "cooccurrence.csv", lambda: theme_cooccurrence(paragraphs, min_support=MIN_SUPPORT))


def top_pairs(cooc: pd.DataFrame, labels: Mapping[str, str], n: int) -> pd.DataFrame:
    """The ``n`` pairs with the highest lift, with ``pair`` ("A + B" labels)."""
    top = cooc.sort_values(["lift", "paragraphs", "theme_a", "theme_b"], ascending=[False, False, True, True], kind="mergesort").head(n)
    return top.assign(pair=[f"{labels.get(a, a)} + {labels.get(b, b)}" for a, b in zip(top["theme_a"], top["theme_b"])]).reset_index(drop=True)


def document_similarity_table(selection: Selection, paragraphs: pd.DataFrame) -> pd.DataFrame:
    """Cosine similarity of the documents' theme-share profiles: ``doc_a``, ``doc_b``, ``cosine`` (0-1), ..."""
    from helpers.report.load import load_analysis_table

    return load_analysis_table(selection, "document_similarity.csv", lambda: document_similarity(paragraphs))


def similarity_matrix(similarity: pd.DataFrame, ids: Sequence[str]) -> pd.DataFrame:
    """Square ``ids`` x ``ids`` matrix of ``cosine`` (NaN on the diagonal and for pairs without a value)."""
    m = pd.DataFrame(index=list(ids), columns=list(ids), dtype=float)
    for a, b, c in zip(similarity["doc_a"], similarity["doc_b"], similarity["cosine"]):
        if a in m.index and b in m.index:
            m.loc[a, b] = m.loc[b, a] = c
    return m


def similar_paragraph_pairs(selection: Selection, paragraphs: pd.DataFrame, documents: pd.DataFrame) -> pd.DataFrame:
    """The most similar paragraph pairs from different organisations (TF-IDF cosine), best first, ``top_n`` of them:
    ``para_a``, ``para_b``, ``similarity`` (0-1), ``shared_terms`` (stems), ... At scale, pairs with a paragraph shorter
    than :data:`MIN_SIMILAR_WORDS` words are left out."""
    from helpers.report.load import load_analysis_table

    sp = load_analysis_table(selection, "similar_paragraphs.csv", lambda: similar_paragraphs(paragraphs, top_n=TOP_SIMILAR))
    if sp.empty:
        return sp
    sp = sp[sp["organization_a"] != sp["organization_b"]]
    ranked = sp.sort_values(["similarity", "para_a", "para_b"], ascending=[False, True, True], kind="mergesort")
    if len(documents) > MAX_DOCUMENTS:
        words = paragraphs.set_index("para_id")["n_words"]
        long_enough = (ranked["para_a"].map(words).fillna(0) >= MIN_SIMILAR_WORDS) & (ranked["para_b"].map(words).fillna(0) >= MIN_SIMILAR_WORDS)
        if long_enough.sum() >= selection.top_n:
            ranked = ranked[long_enough]
    return ranked.head(selection.top_n).reset_index(drop=True)


def reuse(selection: Selection, paragraphs: pd.DataFrame) -> pd.DataFrame:
    """Verbatim reuse of at least ``min_reuse_words`` words (:func:`helpers.analysis.overlap.find_reuse`): ``doc_a`` (earlier),
    ``para_a``, ``doc_b``, ``para_b``, ``words``, ``text_a``, ``text_b``, ``start_a``/``end_a``/``start_b``/``end_b``
    (character offsets in each paragraph)."""
    from helpers.report.load import load_analysis_table

    return load_analysis_table(selection, "text_reuse.csv", lambda: find_reuse(paragraphs, min_words=selection.min_reuse_words))


def reuse_pairs(selection: Selection, reuse_rows: pd.DataFrame, paragraphs: pd.DataFrame) -> pd.DataFrame:
    """Reuse per document pair (:func:`helpers.analysis.overlap.reuse_by_document_pair`): ``doc_a``, ``doc_b``, ``passages``,
    ``words_reused_a``, ``words_a``, ``share_a`` (0-1), ``words_reused_b``, ``words_b``, ``share_b``."""
    from helpers.report.load import load_analysis_table

    return load_analysis_table(selection, "reuse_by_document_pair.csv", lambda: reuse_by_document_pair(reuse_rows, paragraphs))


def top_reuse_pairs(pairs: pd.DataFrame, top_n: int) -> pd.DataFrame:
    """The ``top_n`` document pairs sharing the most reused words (both sides)."""
    return pairs.assign(_t=pairs["words_reused_a"] + pairs["words_reused_b"]).sort_values(
        ["_t", "doc_a", "doc_b"], ascending=[False, True, True], kind="mergesort").head(top_n).drop(columns="_t").reset_index(drop=True)


def reuse_families(selection: Selection, reuse_rows: pd.DataFrame, paragraphs: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The passage families and their members (``reuse_clusters.csv``, ``reuse_cluster_members.csv``): those of
    ``make analyse`` for the whole corpus, which hold every member where ``text_reuse.csv`` keeps at most
    :data:`~helpers.analysis.reuse_clusters.MAX_PAIRS_PER_CLUSTER` pairs a family; else computed from the
    selection's reuse rows (complete: a selection's reuse is found afresh, not capped)."""
    from helpers.report.load import load_analysis_tables

    clusters, members = load_analysis_tables(selection, ("reuse_clusters.csv", "reuse_cluster_members.csv"),
                                             lambda: reuse_clusters(reuse_rows, paragraphs)[:2])
    return clusters, members


def reuse_summaries(selection: Selection, reuse_rows: pd.DataFrame, pairs: pd.DataFrame, paragraphs: pd.DataFrame,
                    documents: pd.DataFrame, assignments: pd.DataFrame,
                    family_groups: pd.DataFrame | None = None) -> dict[str, pd.DataFrame]:
    """How much reuse of each kind and where it goes, counted on every passage.

    ``kinds`` (:func:`helpers.analysis.reuse_summary.reuse_kind_totals`), ``cross_self``
    (:func:`~helpers.analysis.reuse_summary.reuse_cross_vs_self`) and ``groups`` (cross reuse between
    groups; empty per organisation) count the document pairs' passages (``pairs``: :func:`reuse_pairs`,
    ``reuse_by_document_pair.csv``), not the rows of ``text_reuse.csv``, which keeps a sample of each
    large family's pairs. ``passages``: the passage families (:func:`reuse_families`) carried by two or
    more selected documents, with the groups of ``family_groups`` carrying each
    (:func:`helpers.report.load.load_family_groups`; ``None``: no groups counted), most documents first
    (:data:`~helpers.analysis.reuse_summary.FAMILY_COLUMNS`).
    """
    docs = documents[["doc_id", "organization", "date"]]
    return {
        "kinds": reuse_kind_totals(pairs, docs),
        "cross_self": reuse_cross_vs_self(pairs, docs),
        "passages": passage_families(*reuse_families(selection, reuse_rows, paragraphs), docs, family_groups),
        "groups": (pd.DataFrame() if selection.group_by == "organization"
                   else reuse_between_groups(pairs, assignments, kind="cross", documents=docs)),
    }


def reuse_cap_note(families: pd.DataFrame) -> str:
    """One paragraph for readers on what ``text_reuse.csv`` (and every table of passage pairs) leaves out; ``""`` without reuse.

    ``families``: :func:`reuse_summaries`' ``passages``. A family of more than ``MAX_PAIRS_PER_CLUSTER + 1``
    documents has more pairs than are kept, whatever its shape: those are counted.
    """
    if families.empty:
        return ""
    sampled = int((families["documents"] > MAX_PAIRS_PER_CLUSTER + 1).sum())
    return (f"`text_reuse.csv`, and with it the tables of passage pairs in this section, keeps at most {MAX_PAIRS_PER_CLUSTER} "
            f"pairs per passage family (pairs across organisations first, at most {MAX_SAME_ORGANIZATION_PAIRS} within one "
            "organisation)" + (f"; {sampled:,} famil{'y is' if sampled == 1 else 'ies are'} carried by more than "
                               f"{MAX_PAIRS_PER_CLUSTER + 1} documents, so for {'it' if sampled == 1 else 'them'} those tables show "
                               "a sample of the pairs" if sampled else "")
            + ". Counts of passages, document pairs and families include every passage (`reuse_by_document_pair.csv`, "
            "`reuse_clusters.csv`, `reuse_cluster_members.csv`).")


def longest_reuse(reuse_rows: pd.DataFrame, documents: pd.DataFrame, n: int) -> pd.DataFrame:
    """The ``n`` longest reused passages; when there are many and some cross organisations, only those."""
    ordered = reuse_rows.sort_values(["words", "para_a", "start_a"], ascending=[False, True, True], kind="mergesort")
    orgs = dict(zip(documents["doc_id"], documents["organization"]))
    cross = ordered[ordered["doc_a"].map(orgs) != ordered["doc_b"].map(orgs)]
    if len(reuse_rows) > MAX_GROUPS and len(cross):
        ordered = cross
    return ordered.head(n).reset_index(drop=True)


# ------------------------------------------------------------------ side by side with highlights

#: Longest paragraph shown whole beside another; longer ones are cut to a window around the highlights.
WINDOW_CHARS = 1400
#: Context kept before the first and after the last highlighted span of a cut paragraph, in characters.
WINDOW_CONTEXT = 300


def text_window(text: str, spans: Sequence[tuple[int, int]], max_chars: int = WINDOW_CHARS,
                context: int = WINDOW_CONTEXT) -> tuple[int, int]:
    """The part of ``text`` to show around the character ``spans``: ``(start, end)``.

    Texts up to ``max_chars`` are shown whole; longer ones keep ``context`` characters before the
    first span and after the last (at most ``max_chars`` in all, cut at spaces).
    """
    if len(text) <= max_chars:
        return 0, len(text)
    first = min((s for s, _ in spans), default=0)
    last = max((e for _, e in spans), default=0)
    start = max(0, first - context)
    end = min(len(text), max(last + context, start + 1), start + max_chars)
    if start > 0 and not text[start - 1].isspace():
        space = text.find(" ", start)
        start = space + 1 if 0 <= space < first else start
    if end < len(text) and not text[end].isspace():
        space = text.rfind(" ", max(last, start), end)
        end = space if space > start else end
    return start, end


def shared_word_spans(a: str, b: str) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Character spans of the words ``a`` and ``b`` share in the same order (difflib on folded, lower-cased words),
    adjacent shared words merged into one span."""
    ta = [(m.start(), m.end(), m.group().lower()) for m in WORD_RE.finditer(fold(a))]
    tb = [(m.start(), m.end(), m.group().lower()) for m in WORD_RE.finditer(fold(b))]
    matcher = difflib.SequenceMatcher(a=[t[2] for t in ta], b=[t[2] for t in tb], autojunk=False)
    sa, sb = [], []
    for block in matcher.get_matching_blocks():
        if block.size:
            sa.append((ta[block.a][0], ta[block.a + block.size - 1][1]))
            sb.append((tb[block.b][0], tb[block.b + block.size - 1][1]))
    return sa, sb


def shared_stem_spans(a: str, b: str) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Spans of the content words of ``a`` and ``b`` whose stems occur in both."""
    def words(text: str) -> list[tuple[int, int, str]]:
        out = []
        for m in WORD_RE.finditer(fold(text)):
            stems = stem_tokens(m.group())
            if stems:
                out.append((m.start(), m.end(), stems[0]))
        return out

    wa, wb = words(a), words(b)
    common = {w[2] for w in wa} & {w[2] for w in wb}
    return [(s, e) for s, e, t in wa if t in common], [(s, e) for s, e, t in wb if t in common]


def highlight(text: str, spans: Sequence[tuple[int, int]]) -> str:
    """``text`` HTML-escaped, cut to its :func:`text_window` ("…" where cut), with ``spans`` wrapped in ``<mark>``.

    A cell formatter for a Styler (``escape`` off), not a page section: every character of the
    text is escaped, only the ``<mark>`` tags are live.
    """
    start, end = text_window(text, spans)
    kept = sorted((max(s, start) - start, min(e, end) - start) for s, e in spans if e > start and s < end)
    part, out, pos = text[start:end], [], 0
    for s, e in kept:
        if s < pos:
            continue
        out.append(html.escape(part[pos:s]))
        out.append(f"<mark>{html.escape(part[s:e])}</mark>")
        pos = e
    out.append(html.escape(part[pos:]))
    return ("… " if start > 0 else "") + "".join(out) + (" …" if end < len(text) else "")


def citation(row: Mapping[str, object]) -> str:
    """"Title, 2024-10-23, ¶47" (the source's paragraph number) or "…, para. 7" (position in our split)."""
    text = f"{row.get('title', '')}, {row.get('date', '')}"
    sp, pos = row.get("source_para"), row.get("position")
    if sp is not None and not pd.isna(sp) and str(sp) != "":
        return text + f", ¶{int(sp)}"
    if pos is not None and not pd.isna(pos) and str(pos) != "":
        return text + f", para. {int(pos)}"
    return text


def side_by_side(pairs: pd.DataFrame, paragraphs: pd.DataFrame, kind: str) -> pd.DataFrame:
    """Paragraph pairs side by side, shared words highlighted.

    ``pairs``: rows with ``para_a``, ``para_b`` and, for ``kind="reuse"``, ``words`` and the
    offsets ``start_a``...``end_b`` (words shared in order are marked); for ``kind="similarity"``,
    ``similarity`` and ``shared_terms`` (words sharing a stem are marked). Output columns:
    ``pair`` (what the pair shares, plain text), ``earlier`` and ``later`` (organisation ·
    citation, then the marked, escaped text: display with ``Styler.format(escape=None)``).
    """
    if kind not in ("reuse", "similarity"):
        raise ValueError(f"parameter 'kind' must be one of {{'reuse', 'similarity'}}. Got {kind!r} instead.")
    meta = paragraphs.set_index("para_id")
    rows = []
    for _, r in pairs.iterrows():
        ma, mb = meta.loc[r["para_a"]], meta.loc[r["para_b"]]
        ta, tb = str(ma["text"]), str(mb["text"])
        if kind == "similarity":
            sa, sb = shared_stem_spans(ta, tb)
            head = f"cosine {float(r['similarity']):.2f}; word stems contributing most: {str(r['shared_terms']).replace(';', ', ')}"
        else:
            s_a, e_a, s_b, e_b = int(r["start_a"]), int(r["end_a"]), int(r["start_b"]), int(r["end_b"])
            pa, pb = shared_word_spans(ta[s_a:e_a], tb[s_b:e_b])
            sa = [(s + s_a, e + s_a) for s, e in pa]
            sb = [(s + s_b, e + s_b) for s, e in pb]
            head = f"Reused passage, {int(r['words'])} words"
        cell = lambda m, t, s: (f"<small>{html.escape(str(m['organization']))} · {html.escape(citation(m))}</small><br>"  # noqa: E731
                                f"{highlight(t, s)}")
        rows.append({"pair": head, "earlier": cell(ma, ta, sa), "later": cell(mb, tb, sb)})
    return pd.DataFrame(rows, columns=["pair", "earlier", "later"])


# ------------------------------------------------------------------ language and evidence

@contextmanager
def token_cache(selection: Selection) -> Iterator[tuple[str, bool]]:
    """``(folder, update)`` for the paragraph caches: the ingest folder's, read only, or a temporary folder."""
    build = resolve_path(selection.build) if selection.build else None
    if build is not None and build.is_dir():
        yield str(build), False
        return
    with tempfile.TemporaryDirectory(prefix="briefing-keyness-") as tokens:
        yield tokens, True


def _group_keyness(selection: Selection, paragraphs: pd.DataFrame, assignments: pd.DataFrame, shown: Sequence[str],
                   min_freq: int, theme: str | None = None) -> pd.DataFrame:
    docs = paragraphs["doc_id"].tolist()
    all_docs = set(docs)
    frames = []
    with token_cache(selection) as (tokens, update):
        for group in shown:
            if group in ("rest", "none"):
                continue
            members = set(assignments.loc[assignments["group"] == group, "doc_id"])
            if not members or members >= all_docs:
                continue
            labelled = paragraphs.assign(organization=[group if d in members else "\x1fothers" for d in docs])
            k = keyness(labelled, by="organization", min_freq=min_freq, theme=theme, cache_dir=tokens, update_cache=update)
            frames.append(k[k["group"] == group])
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["group", "term", "direction", "ll"])


def distinctive_terms(selection: Selection, paragraphs: pd.DataFrame, assignments: pd.DataFrame, shown: Sequence[str],
                      theme: str | None = None, min_freq: int = KEYNESS_MIN_FREQ) -> pd.DataFrame:
    """Words and two-word phrases over-represented in each group against all others (log-likelihood G²,
    :func:`helpers.analysis.keyness.keyness`), only ``direction == "over"``: ``group``, ``term``, ``freq_group`` (count),
    ``per_10k_group``, ``per_10k_rest`` (per 10,000 words), ``ll`` (G²), ... Within ``theme``'s paragraphs if given."""
    if selection.group_by == "organization":
        if theme is None and min_freq == KEYNESS_MIN_FREQ:
            from helpers.report.load import load_analysis_table

            k = load_analysis_table(selection, "keyness.csv", lambda: keyness(paragraphs, by="organization", min_freq=min_freq))
        else:
            with token_cache(selection) as (tokens, update):
                k = keyness(paragraphs, by="organization", min_freq=min_freq, theme=theme, cache_dir=tokens, update_cache=update)
    else:
        k = _group_keyness(selection, paragraphs, assignments, shown, min_freq, theme)
    return k[k["direction"] == "over"].reset_index(drop=True) if len(k) else k


def groups_with_terms(terms: pd.DataFrame, order: Sequence[str], others: bool = True) -> list[str]:
    """The groups of ``terms`` (a :func:`distinctive_terms` table): those in ``order`` first, in that order, then (when
    ``others``) the remaining ones alphabetically."""
    present = set(terms["group"]) if len(terms) else set()
    first = [g for g in order if g in present]
    return first + sorted(present - set(order)) if others else first


def top_terms(terms: pd.DataFrame, group: str, n: int) -> pd.DataFrame:
    """The ``n`` terms with the highest G² of ``group``."""
    g = terms[terms["group"] == group]
    return g.sort_values(["ll", "term"], ascending=[False, True], kind="mergesort").head(n).reset_index(drop=True)


def framing_theme(shares: pd.DataFrame) -> str | None:
    """The theme to compare wording on: raised (in 2+ paragraphs) by the most groups, then the one whose least-frequent
    group still has the most paragraphs on it, then by total paragraphs; ``None`` when no theme has two groups."""
    present = shares[shares["paragraphs"] >= 2]
    score = present.groupby("theme").agg(orgs=("group", "nunique"), least=("paragraphs", "min"), paragraphs=("paragraphs", "sum"))
    score = score[score["orgs"] >= 2].reset_index()
    if score.empty:
        return None
    return str(score.sort_values(["orgs", "least", "paragraphs", "theme"], ascending=[False, False, False, True], kind="mergesort").iloc[0]["theme"])


def quotes(selection: Selection, grouped: pd.DataFrame, grouped_evidence: pd.DataFrame | None) -> pd.DataFrame:
    """One evidence quote per theme and group (:func:`helpers.analysis.evidence.evidence_quotes`): ``theme``, ``group``,
    ``rank``, ``para_id``, ``quote`` (a whole sentence with the rule match), ``matches``, ``title``, ``date``,
    ``source_para``. For the whole corpus by organisation, the first of ``evidence_quotes.csv``."""
    if grouped_evidence is None or not len(grouped_evidence):
        return pd.DataFrame(columns=["theme", "group", "rank", "para_id", "quote", "matches", "title", "date", "source_para"])
    if selection.group_by == "organization":
        from helpers.report.load import load_analysis_table

        q = load_analysis_table(selection, "evidence_quotes.csv", lambda: None)
        if q is not None and {"rank", "para_id", "group", "theme", "quote"} <= set(q.columns):
            q = q[pd.to_numeric(q["rank"], errors="coerce") == 1].reset_index(drop=True)
            return q.astype({"para_id": str, "group": str, "theme": str, "quote": str})
    with token_cache(selection) as (cache, update):
        return evidence_quotes(grouped, grouped_evidence, per_group=1, cache_dir=cache, update_cache=update)


def quotes_for_readers(q: pd.DataFrame, paragraphs: pd.DataFrame, order: Sequence[str], labels: Mapping[str, str],
                       shown: Sequence[str], top_n: int) -> pd.DataFrame:
    """The quotes the briefing prints, most frequent themes first: ``theme`` (label), ``group``, ``quote``, ``citation``.

    With more than three groups, ``top_n`` themes with up to ``min(top_n, 3)`` quotes each (most rule matches first,
    shown groups only); else up to ``max(2 top_n, 6)`` themes with one quote per group.
    """
    if q.empty:
        return pd.DataFrame(columns=["theme", "group", "quote", "citation"])
    meta = paragraphs.set_index("para_id")
    many = q["group"].nunique() > 3
    rows = []
    for theme in list(order)[: (top_n if many else max(top_n * 2, 6))]:
        sub = q[q["theme"] == theme].sort_values(["group", "rank"], kind="mergesort")
        if many:
            sub = sub[sub["group"].isin(set(shown))].sort_values(["matches", "group"], ascending=[False, True], kind="mergesort").head(min(top_n, 3))
        for _, r in sub.iterrows():
            m = meta.loc[str(r["para_id"]).split("@", 1)[0]]
            rows.append({"theme": labels.get(theme, theme), "group": OUTSIDE.get(r["group"], r["group"]),
                         "quote": f"“{r['quote']}”", "citation": citation({**m.to_dict(), "title": r["title"], "date": r["date"],
                                                                           "source_para": r["source_para"]})})
    return pd.DataFrame(rows, columns=["theme", "group", "quote", "citation"])


# ------------------------------------------------------------------ findings

def key_findings(*, selection: Selection, documents: pd.DataFrame, paragraphs: pd.DataFrame, assignments: pd.DataFrame,
                 shares: pd.DataFrame, pooled: pd.DataFrame, cooc: pd.DataFrame, similarity: pd.DataFrame,
                 pairs: pd.DataFrame, changes: pd.DataFrame, versus_table: pd.DataFrame, summaries: Mapping[str, pd.DataFrame],
                 agreement: pd.DataFrame, labels: Mapping[str, str], unit_of_trend: str,
                 held_out: pd.DataFrame | None = None, by_period: pd.DataFrame | None = None) -> list[findings.Finding]:
    """The key findings of the selection (:func:`helpers.report.findings.key_findings`), each with the id of the section
    that shows its evidence. ``held_out``: the codebook's logged held-out scorings (:func:`helpers.report.load.load_held_out_log`);
    ``by_period``: held-out agreement per period (:func:`helpers.report.load.load_agreement_by_period`), of which the periods
    the selection's paragraphs fall in are compared."""
    by_org = selection.group_by == "organization"
    shown = shown_groups(assignments, paragraphs)
    inside = [g for g in shown if by_org or g not in OUTSIDE]
    freq_shown = shares[shares["group"].isin(inside) & (shares["body_paragraphs"] >= (
        MIN_PARAGRAPHS_RANKED if shares["group"].nunique() > MAX_GROUPS else 0))]
    ranked = ranked_themes(shares)
    overall, n = agreement_overall(agreement)
    sample = agreement_sample(agreement)
    return findings.key_findings(
        documents=documents, n_body=len(paragraphs), ranked_overall=ranked_themes(pooled), ranked_by_org=ranked[ranked["group"].isin(inside)],
        freq_by_org=freq_shown, cooccurrence=cooc, min_support=MIN_SUPPORT, similarity=similarity, reuse_pairs=pairs,
        min_reuse_words=selection.min_reuse_words, labels=labels, titles=dict(zip(documents["doc_id"], documents["title"])),
        agreement=overall, agreement_n=n, agreement_sample=sample, held_out=held_out,
        coverage=held_out_coverage(held_out, paragraphs), groups=None if by_org else group_sizes(assignments, shown), changes=changes,
        trend_groups=trend_groups(shares, shown), versus=None if by_org else versus_table, reuse_kinds=summaries["kinds"],
        reused=summaries["passages"], trend_unit="documents" if unit_of_trend == "document" else "body paragraphs",
        multi_membership=bool(assignments["doc_id"].duplicated().any()), unit="organisations" if by_org else "groups",
        by_period=periods_covered(by_period, paragraphs),
    )


def periods_covered(by_period: pd.DataFrame | None, paragraphs: pd.DataFrame) -> pd.DataFrame | None:
    """The rows of ``by_period`` (``year_from``, ``year_to``) whose years hold at least one of ``paragraphs`` (``date``)."""
    if by_period is None or by_period.empty or paragraphs.empty:
        return None
    years = set(pd.to_numeric(paragraphs["date"].astype(str).str.slice(0, 4), errors="coerce").dropna().astype(int))
    keep = [any(int(a) <= y <= int(b) for y in years) for a, b in zip(by_period["year_from"], by_period["year_to"])]
    return by_period[keep].reset_index(drop=True)


def held_out_coverage(held_out: pd.DataFrame | None, paragraphs: pd.DataFrame) -> dict[str, object] | None:
    """How much of the selection lies outside the dates the held-out scorings were made on.

    ``held_out``: :func:`helpers.report.load.load_held_out_log` (``sample_from``, ``sample_to``: dates of the
    earliest and latest document scored; its dev scorings are left out, :func:`held_out_scorings`); ``paragraphs``: the selection's body paragraphs (``date``).
    Output: ``None`` when no scoring is dated, else ``from``, ``to`` (str, the years YYYY of the widest span of the
    scorings), ``outside`` (int, body paragraphs dated in an earlier or later year), ``total`` (int) and ``share``
    (float, 0-1). Years, not days: a declaration of the December after the last scored speech is of the same time.
    """
    held_out = held_out_scorings(held_out)
    if held_out is None or held_out.empty or "sample_from" not in held_out.columns:
        return None
    starts = [d for d in held_out["sample_from"].astype(str) if d]
    ends = [d for d in held_out["sample_to"].astype(str) if d]
    if not starts or not ends:
        return None
    first, last = min(starts)[:4], max(ends)[:4]
    years = paragraphs["date"].astype(str).str.slice(0, 4)
    outside = int(((years < first) | (years > last)).sum())
    total = len(paragraphs)
    return {"from": first, "to": last, "outside": outside, "total": total, "share": outside / total if total else 0.0}


def agreement_sample(agreement: pd.DataFrame) -> str:
    """The sample :func:`agreement_overall` reports: ``held-out`` when the validation sample has a test split, else ``dev``
    when it has a dev split (:func:`helpers.annotation.split_agreement.reference_sample`), else ``in-sample``."""
    if agreement.empty or "sample" not in agreement.columns:
        return "in-sample"
    final = agreement[agreement["annotation"] == "final"]
    return reference_sample(final["sample"]) or (str(final["sample"].iloc[0]) if len(final) else "in-sample")


def agreement_overall(agreement: pd.DataFrame) -> tuple[dict[str, float] | None, int | None]:
    """The final coding's micro scores (``precision``, ``recall``, ``f1``, ``kappa``) on the held-out split when there
    is one, else the dev split, else in-sample (:func:`agreement_sample`), and the number of paragraphs they are computed on; ``(None, None)`` without a sample."""
    if agreement.empty:
        return None, None
    final = agreement[(agreement["annotation"] == "final") & (agreement["sample"] == agreement_sample(agreement))]
    overall = final[final["theme"] == "(overall)"]
    per_theme = final[~final["theme"].astype(str).str.startswith("(")]
    if overall.empty:
        return None, None
    return overall.iloc[0][["precision", "recall", "f1", "kappa"]].to_dict(), int(per_theme["n"].iloc[0]) if len(per_theme) else 0


def agreement_table(agreement: pd.DataFrame, labels: Mapping[str, str]) -> pd.DataFrame:
    """Agreement for readers: per ``sample`` (held-out, dev, then in-sample) and theme, the final coding's ``hand`` (paragraphs the
    coder gave the theme), ``coded``, ``precision``, ``recall``, ``f1``, ``kappa`` with ``f1_low``/``f1_high`` and
    ``kappa_low``/``kappa_high`` (95%), and the rules alone's ``f1_rules``, ``kappa_rules``."""
    if agreement.empty:
        return pd.DataFrame()
    final = agreement[agreement["annotation"] == "final"]
    rules = agreement[agreement["annotation"] == "rules"].set_index(["sample", "theme"])
    rows = []
    for sample in sorted(final["sample"].unique(), key=lambda s: (READING_ORDER.index(s) if s in READING_ORDER else len(READING_ORDER), s)):
        f = final[final["sample"] == sample].set_index("theme")
        order = [x for x in f.index if not str(x).startswith("(")] + [x for x in ("(overall)", "(macro)") if x in f.index]
        for theme in order:
            r = f.loc[theme]
            rr = rules.loc[(sample, theme)] if (sample, theme) in rules.index else None
            name = {"(overall)": "All decisions (micro)", "(macro)": "Mean over themes (macro)"}.get(theme, labels.get(theme, theme))
            rows.append({"sample": sample, "theme": name, "hand": int(r["gold_pos"]), "coded": int(r["pred_pos"]),
                         "precision": r["precision"], "recall": r["recall"], "f1": r["f1"],
                         "f1_low": r.get("f1_low"), "f1_high": r.get("f1_high"), "kappa": r["kappa"],
                         "kappa_low": r.get("kappa_low"), "kappa_high": r.get("kappa_high"),
                         "f1_rules": rr["f1"] if rr is not None else float("nan"), "kappa_rules": rr["kappa"] if rr is not None else float("nan")})
    return pd.DataFrame(rows)


def coder_agreement_table(coders: pd.DataFrame, labels: Mapping[str, str]) -> pd.DataFrame:
    """Two human coders' agreement for readers (``coder_agreement.csv``): per theme (label; the micro and macro rows
    last), ``paragraphs`` coded by both, ``first`` and ``second`` (paragraphs each coder gave the theme), ``both``,
    ``f1``, ``kappa`` with ``kappa_low``/``kappa_high`` (95%)."""
    if coders.empty:
        return pd.DataFrame(columns=["theme", "paragraphs", "first", "second", "both", "f1", "kappa", "kappa_low", "kappa_high"])
    names = {"(overall)": "All decisions (micro)", "(macro)": "Mean over themes (macro)"}
    ordered = pd.concat([coders[~coders["theme"].astype(str).str.startswith("(")], coders[coders["theme"].isin(list(names))]])
    num = lambda c: pd.to_numeric(ordered[c], errors="coerce")  # noqa: E731
    return pd.DataFrame({
        "theme": [names.get(t, labels.get(t, t)) for t in ordered["theme"]],
        "paragraphs": num("n").astype("Int64"), "first": num("gold_pos").astype("Int64"), "second": num("pred_pos").astype("Int64"),
        "both": num("tp").astype("Int64"), "f1": num("f1"), "kappa": num("kappa"), "kappa_low": num("kappa_low"),
        "kappa_high": num("kappa_high"),
    }).reset_index(drop=True)


def corrected_shares_table(selection: Selection, labels: Mapping[str, str]) -> pd.DataFrame:
    """Theme shares per organisation corrected for coding error (``theme_frequencies.csv`` of ``make analyse``,
    :mod:`helpers.annotation.corrected_shares`): ``group``, ``theme`` (label), ``share``, ``share_corrected``,
    ``share_corrected_low``, ``share_corrected_high`` (0-1), ``correction`` (how, or why not). Empty when the
    analysis has no corrected column; rows for the whole corpus (make analyse's selection)."""
    path = resolve_path(selection.reports) / "theme_frequencies.csv"
    if not path.is_file():
        return pd.DataFrame()
    from helpers.report.load import read_report_csv

    f = read_report_csv(path)
    if "share_corrected" not in f.columns:
        return pd.DataFrame()
    f = f[(f["by"] == "organization") & f["theme"].isin(selection.themes)]
    f = f.assign(theme=f["theme"].map(lambda t: labels.get(t, t)))
    return f[["group", "theme", "share", "share_corrected", "share_corrected_low", "share_corrected_high", "correction"]].reset_index(drop=True)


#: Below this held-out F1 a theme's counts are indicative only (issue 14: the coding misses or invents too much).
INDICATIVE_F1 = 0.70


def theme_reliability(agreement: pd.DataFrame) -> pd.DataFrame:
    """Per theme, how well the final coding did on the held-out split of the validation sample (its dev split when it
    has no held-out one: :func:`agreement_sample`): ``theme`` (id), ``gold`` (paragraphs of that split the hand coder
    gave it), ``f1``, ``f1_low``, ``f1_high`` (0-1, 95% interval) and ``indicative`` (True when F1 is below
    :data:`INDICATIVE_F1`). Empty without held-out or dev rows (e.g. the seed corpus, whose validation set is
    in-sample); a theme no paragraph had and none was coded with has no F1 and is not flagged."""
    columns = ["theme", "gold", "f1", "f1_low", "f1_high", "indicative"]
    if agreement.empty or "sample" not in agreement.columns:
        return pd.DataFrame(columns=columns)
    held = agreement[(agreement["annotation"] == "final") & (agreement["sample"] == reference_sample(agreement["sample"]))
                     & ~agreement["theme"].astype(str).str.startswith("(")]
    out = held.rename(columns={"gold_pos": "gold"})[["theme", "gold", "f1", "f1_low", "f1_high"]].reset_index(drop=True)
    return out.assign(indicative=out["f1"].lt(INDICATIVE_F1) & out["f1"].notna())[columns]


def shares_beside_corrected(corrected: pd.DataFrame, reliability: pd.DataFrame, labels: Mapping[str, str],
                            min_difference: float = 0.005) -> pd.DataFrame:
    """Raw and corrected shares side by side where they differ: ``group``, ``theme`` (label), ``share``,
    ``share_corrected``, ``share_corrected_low``, ``share_corrected_high`` (0-1), ``held_out_f1`` and ``note``
    (``indicative only`` for a theme whose held-out F1 is below :data:`INDICATIVE_F1`).

    ``corrected``: :func:`corrected_shares_table`; ``reliability``: :func:`theme_reliability`. Rows whose corrected
    share is missing or within ``min_difference`` of the raw share are left out; largest differences first."""
    columns = ["group", "theme", "share", "share_corrected", "share_corrected_low", "share_corrected_high", "held_out_f1", "note"]
    if corrected.empty:
        return pd.DataFrame(columns=columns)
    f1 = {labels.get(t, t): v for t, v in zip(reliability["theme"], reliability["f1"])}
    flagged = {labels.get(t, t) for t in reliability.loc[reliability["indicative"], "theme"]}
    rows = corrected[corrected["share_corrected"].notna()].copy()
    rows = rows[(rows["share_corrected"] - rows["share"]).abs() >= min_difference]
    rows = rows.assign(held_out_f1=rows["theme"].map(f1), note=rows["theme"].map(lambda t: "indicative only" if t in flagged else ""),
                       _gap=(rows["share_corrected"] - rows["share"]).abs())
    return rows.sort_values(["_gap", "group", "theme"], ascending=[False, True, True], kind="mergesort")[columns].reset_index(drop=True)


def provenance_parameters(selection: Selection) -> pd.DataFrame:
    """The run's parameters: ``parameter``, ``value`` (lists joined, ``(all)`` for an empty filter, ``(none)`` for None)."""
    rows = []
    for k, v in selection.as_dict().items():
        value = ", ".join(v) if isinstance(v, list) and v else ("(all)" if v == [] or v == "" else ("(none)" if v is None else v))
        rows.append({"parameter": k, "value": str(value)})
    return pd.DataFrame(rows)


def input_files(selection: Selection) -> pd.DataFrame:
    """Every input file with its size and SHA-256: ``file`` (path from the project root), ``bytes``, ``sha256``."""
    from helpers import provenance
    from helpers.corpus.corpus import DEFAULT_CLEANING
    from helpers.corpus.organizations import DEFAULT_ORGANIZATIONS

    corpus = resolve_path(selection.corpus)
    extra = [DEFAULT_CLEANING, DEFAULT_ORGANIZATIONS, corpus / "annotations" / "overrides.csv",
             corpus / "annotations" / "validation.csv", resolve_path(selection.groups)]
    return provenance.file_hashes(provenance.input_files(corpus, resolve_path(selection.codebook), extra))


def configuration_files(selection: Selection, files: pd.DataFrame) -> pd.DataFrame:
    """The rows of :func:`input_files` that are the manifest, codebook and configuration (not documents)."""
    from helpers import provenance

    corpus = resolve_path(selection.corpus)
    config = {provenance.display_path(x) for x in (corpus / "manifest.csv", resolve_path(selection.codebook), resolve_path(selection.groups),
                                                   corpus / "cleaning.yml", corpus / "annotations" / "overrides.csv",
                                                   corpus / "annotations" / "validation.csv")}
    return files[files["file"].isin(config)].reset_index(drop=True)


def files_digest(files: pd.DataFrame) -> str:
    """SHA-256 of the list of input files (one line "file TAB sha256" per file)."""
    import hashlib

    return hashlib.sha256("".join(f"{f}\t{h}\n" for f, h in zip(files["file"], files["sha256"])).encode("utf-8")).hexdigest()


# ------------------------------------------------------------------ display

def with_interval(df: pd.DataFrame, measure: str, decimals: int = 2, value_decimals: int | None = None) -> list[str]:
    """``measure`` of each row of ``df`` with its 95% interval from ``<measure>_low`` and ``<measure>_high``, as
    "0.82 (0.79–0.86)" (``decimals`` places; ``value_decimals`` for the figure itself, default the same); "" where
    the figure is missing (a theme no paragraph has)."""
    places = decimals if value_decimals is None else value_decimals
    return [f"{v:.{places}f} ({lo:.{decimals}f}–{hi:.{decimals}f})" if pd.notna(v) else ""
            for v, lo, hi in zip(df[measure], df[f"{measure}_low"], df[f"{measure}_high"])]


def style_table(df: pd.DataFrame, *, percent: Sequence[str] = (), decimals: Mapping[str, int] | None = None,
                thousands: Sequence[str] = (), bars: Sequence[str] = (), html_columns: Sequence[str] = (),
                css_class: str = "") -> "pd.io.formats.style.Styler":
    """A pandas Styler of ``df`` for readers: index hidden, every cell HTML-escaped except ``html_columns``
    (already escaped, e.g. :func:`side_by_side`), ``percent`` columns (0-1) as whole percentages, ``decimals``
    (column -> places), ``thousands`` with separators, ``bars`` (0-1 shares) drawn as in-cell bars.

    The Styler's id is a hash of the table, so the same table renders to the same bytes (a random id otherwise).
    """
    import hashlib

    styler = df.style.hide(axis="index")
    styler = styler.format(escape="html", na_rep="")
    for c in percent:
        styler = styler.format(lambda v: "" if pd.isna(v) else f"{100 * float(v):.0f}%", subset=[c])
    for c, places in (decimals or {}).items():
        styler = styler.format(lambda v, p=places: "" if pd.isna(v) else f"{float(v):.{p}f}", subset=[c])
    for c in thousands:
        styler = styler.format(lambda v: "" if pd.isna(v) else f"{int(v):,}", subset=[c])
    if html_columns:
        styler = styler.format(lambda v: v, subset=list(html_columns), escape=None)
    for c in bars:
        styler = styler.bar(subset=[c], color="#cfe3f3", vmin=0, vmax=1, height=70, width=100)
    key = "\x1f".join([df.to_csv(), repr(percent), repr(decimals), repr(thousands), repr(bars), repr(html_columns), css_class])
    styler = styler.set_uuid(hashlib.sha256(key.encode("utf-8")).hexdigest()[:10])
    if css_class:
        styler = styler.set_table_attributes(f'class="{css_class}"')
    return styler


def escape_md(value: object) -> str:
    """Text from data (a title, an organisation, a parameter) made safe to put in Markdown narrative: HTML-escaped
    and with Markdown's emphasis, link and code characters backslash-escaped, so it reads as typed."""
    text = html.escape(str(value), quote=True)
    return "".join("\\" + ch if ch in "\\`*_[]#|~" else ch for ch in text)


def plain(html_text: str) -> str:
    """``html_text`` without tags, entities unescaped (a finding's sentence as a chart title)."""
    import re

    return html.unescape(re.sub(r"<[^>]+>", "", html_text))


def group_similarity(grouped: pd.DataFrame, shown: Sequence[str]) -> pd.DataFrame:
    """At scale: cosine similarity of the theme profiles of the ``shown`` groups, all their paragraphs pooled
    (``doc_a``, ``doc_b`` = group names, ``cosine``)."""
    sub = grouped[grouped["organization"].isin(list(shown))]
    return document_similarity(sub.assign(doc_id=sub["organization"]))


def more_rows(shown: int, total: int, csv: str, what: str = "rows") -> str:
    """A sentence saying how many rows a cut table leaves out and in which CSV file they are; ``""`` when none."""
    if total <= shown:
        return ""
    return f"Showing {shown} of {total:,} {what}; the other {total - shown:,} are in `{csv}` in the reports folder."


# ------------------------------------------------------------------ the make stage

def report_tables(selection: Selection) -> dict[str, pd.DataFrame]:
    """The tables of :data:`REPORT_CSV` for ``selection`` (what :func:`write_report_tables` writes)."""
    from helpers.report import load

    paragraphs = load.load_paragraphs(selection)
    evidence = load.load_evidence(selection, paragraphs)
    documents = load.load_documents(selection, paragraphs)
    assignments = load.load_assignments(selection, documents)
    by_org = selection.group_by == "organization"
    grouped, grouped_ev = group_paragraphs(paragraphs, evidence, assignments)
    unit, _ = trend_unit(paragraphs)
    tr = trends(paragraphs, assignments, documents, selection.themes, unit, starts=load.theme_starts(selection))
    reuse_rows = reuse(selection, paragraphs)
    summaries = reuse_summaries(selection, reuse_rows, reuse_pairs(selection, reuse_rows, paragraphs), paragraphs, documents,
                                assignments, load.load_family_groups(selection, documents)[0])
    groups = assignments.groupby("doc_id", sort=False)["group"].agg(";".join)
    return {
        "theme_trends.csv": tr, "theme_changes.csv": theme_changes(tr),
        "members_vs_rest.csv": versus(paragraphs, assignments, selection.themes, by_org),
        "reuse_cross_vs_self.csv": summaries["cross_self"], "reused_passages.csv": summaries["passages"],
        "group_frequencies.csv": theme_shares(grouped, "organization", grouped_ev, selection.themes),
        "briefing_documents.csv": documents.assign(groups=documents["doc_id"].map(groups).fillna("")),
        "input_files.csv": input_files(selection),
    }


def write_report_tables(selection: Selection, reports: str | Path | None = None) -> dict[str, Path]:
    """Write :func:`report_tables` to ``reports`` (default: the selection's; temporary file, then rename)."""
    from helpers.io import write_csv

    folder = resolve_path(reports or selection.reports)
    return {name: write_csv(df, folder / name) for name, df in report_tables(selection).items()}


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m helpers.report.report_tables --reports R --corpus C --codebook B [--params P] [--build D] ...``"""
    from helpers.report import load
    from helpers.params import check_names_and_types, load_params_file

    parser = argparse.ArgumentParser(prog="python -m helpers.report.report_tables", description="Write the briefing's own tables to REPORTS.")
    for name in ("reports", "corpus", "codebook", "groups", "build", "params"):
        parser.add_argument(f"--{name}")
    parser.add_argument("--group-by", dest="group_by")
    args = parser.parse_args(argv)
    params = load_params_file(args.params) if args.params else {}
    for name in ("corpus", "codebook", "reports", "groups", "group_by", "build"):
        if getattr(args, name) is not None:
            params[name] = getattr(args, name)
    selection = load.load_selection(**check_names_and_types(params, source=str(args.params or "command line")))
    for name, path in write_report_tables(selection).items():
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    from helpers.errors import run_cli

    sys.exit(run_cli(main))
