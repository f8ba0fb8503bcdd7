"""Key findings: five to eight sentences written from the analysis tables, never by hand.

Each :class:`Finding` is one sentence whose every number comes from a table passed in, and
the id of the briefing section that shows the evidence (:data:`SECTIONS`). The wording
follows the uncertainty: a theme is called the most frequent only when its 95% Wilson
interval lies above the next theme's; otherwise the leading themes are named together and
the sentence says their intervals overlap.

All text that comes from data (theme labels, organisation names, document titles) is
escaped here: :meth:`Finding.html` is safe to insert into the page as it is.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

#: Section ids of the briefing (the ``{#id}`` of a heading in a section notebook) and the link text of a finding
#: pointing there. Numbers are not part of it: the renderer numbers the headings (helpers.report.render.number_sections).
SECTIONS: dict[str, str] = {
    "key-findings": "Key findings",
    "corpus": "The corpus and its cleaning",
    "themes": "Themes",
    "themes-by-organization": "Themes by organisation or group",
    "themes-by-document": "Themes by document",
    "themes-over-time": "Change over time",
    "members-vs-rest": "Members against the rest",
    "cooccurrence": "Co-occurrence",
    "overlap": "Overlap",
    "document-similarity": "Thematic similarity of documents",
    "similar-paragraphs": "Most similar paragraphs across organisations",
    "reuse": "Verbatim reuse",
    "reuse-cross-self": "Who repeats whose wording",
    "reused-passages": "The most reused passages",
    "language": "Distinctive language",
    "distinctive-terms": "Distinctive words and phrases",
    "framing": "How the organisations frame a shared theme",
    "evidence": "Evidence: quotes per theme",
    "methods": "Methods and provenance",
    "codebook": "The codebook",
    "agreement": "Agreement with hand coding",
    "data-quality": "Skipped documents and ingest warnings",
    "provenance": "Parameters, inputs and software",
}


@dataclass(frozen=True)
class Finding:
    """One key finding: ``text`` (HTML, data already escaped) and the ``section`` id that shows it."""

    text: str
    section: str

    def html(self, titles: Mapping[str, str] | None = None) -> str:
        """``text`` followed by a link to the section: "(see Themes)"; the PDF adds the page number.

        ``titles`` overrides :data:`SECTIONS` for sections whose heading depends on the run (e.g. "by group")."""
        title = (titles or {}).get(self.section) or SECTIONS.get(self.section, self.section)
        return f'{self.text} (<a class="see" href="#{html.escape(self.section, quote=True)}">see {html.escape(title)}</a>)'


def pct(share: float) -> str:
    """A share 0-1 as a whole percentage, e.g. ``0.347`` -> ``"35%"``."""
    return f"{100 * float(share):.0f}%"


def interval(low: float, high: float) -> str:
    """A 95% interval as ``"95% CI 22–51%"``."""
    return f"95% CI {100 * float(low):.0f}–{100 * float(high):.0f}%"


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _names(items: Sequence[str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _label(theme: str, labels: Mapping[str, str]) -> str:
    return f"<em>{_e(labels.get(theme, theme))}</em>"


def _listing(top: pd.DataFrame, labels: Mapping[str, str], limit: int) -> str:
    """'A (42%), B (42%), C (40%) and 10 more' or 'A (42%) and B (40%)'."""
    shown = top.head(limit)
    parts = [f"{_label(r['theme'], labels)} ({pct(r['share'])})" for _, r in shown.iterrows()]
    more = len(top) - len(shown)
    if more > 0:
        return ", ".join(parts) + f" and {more} more"
    return _names(parts)


def _lead_phrase(ranked: pd.DataFrame, labels: Mapping[str, str]) -> str:
    """'A (n of N, 35%, 95% CI …), clearly ahead of B (20%)' or 'A (35%), B (30%) and C (28%), whose intervals overlap'."""
    top = ranked[ranked["tie_group"] == 1]
    if len(top) == 1:
        r = top.iloc[0]
        phrase = (f"{_label(r['theme'], labels)} ({int(r['paragraphs']):,} of {int(r['body_paragraphs']):,} body paragraphs, "
                  f"{pct(r['share'])}, {interval(r['ci_low'], r['ci_high'])})")
        rest = ranked[ranked["tie_group"] > 1]
        if len(rest):
            nxt = rest.iloc[0]
            phrase += f", clearly ahead of {_label(nxt['theme'], labels)} ({pct(nxt['share'])})"
        return phrase
    n = int(top.iloc[0]["body_paragraphs"])
    return f"{_listing(top, labels, 4)} (of {n:,} body paragraphs), whose 95% intervals overlap, so none clearly leads"


#: Most organisations named one by one in the corpus finding; beyond, a count and the years.
MAX_NAMED = 8


def corpus_finding(documents: pd.DataFrame, n_body: int, groups: pd.DataFrame | None = None, multi: bool = True) -> Finding:
    """What the briefing covers. ``documents``: one row per document with ``organization``, ``date``.

    With more than :data:`MAX_NAMED` organisations the sentence gives their number and the
    documents per year instead of naming them. ``groups`` (``group``, ``documents``; optional)
    adds how many documents each group of ``group_by`` holds; ``multi`` says whether some
    document counts in several groups (then the sentence says so).
    """
    orgs = documents.groupby("organization").size().sort_values(ascending=False, kind="mergesort")
    dates = documents["date"].astype(str)
    if len(orgs) <= MAX_NAMED:
        who = f"{len(orgs)} organisation{'s' if len(orgs) != 1 else ''} ({_names([f'{_e(o)} ({n})' for o, n in orgs.items()])} documents)"
    else:
        years = dates.str[:4].value_counts().sort_index()
        per_year = f"{int(years.min())}" if years.min() == years.max() else f"{int(years.min())} to {int(years.max())}"
        who = (f"{len(orgs)} organisations ({per_year} documents a year over {len(years)} years)"
               if len(years) > 1 else f"{len(orgs)} organisations")
    text = (f"The briefing reads {n_body:,} body paragraphs in {len(documents):,} documents by {who}, "
            f"dated {_e(dates.min())} to {_e(dates.max())}.")
    if groups is not None and len(groups):
        named = _names([f"{_e(g)} ({int(n)})" for g, n in zip(groups["group"], groups["documents"])])
        text += f" Grouped by membership on each document's date: {named} documents" + (
            "; a speech whose state belongs to several groups counts in each of them." if multi else ".")
    return Finding(text, "corpus")


def overall_lead_finding(ranked_overall: pd.DataFrame, labels: Mapping[str, str]) -> Finding | None:
    """The leading theme(s) across all selected paragraphs (``rank_themes`` output for one group)."""
    if ranked_overall.empty:
        return None
    top = ranked_overall[ranked_overall["tie_group"] == 1]
    verb = "The most frequent theme is " if len(top) == 1 else "The most frequent themes are "
    return Finding(verb + _lead_phrase(ranked_overall, labels) + ".", "themes")


def organization_lead_finding(ranked_by_org: pd.DataFrame, labels: Mapping[str, str], unit: str = "organisations") -> Finding | None:
    """Each organisation's leading theme(s), from ``rank_themes`` on ``by="organization"`` frequencies."""
    if ranked_by_org.empty:
        return None
    leads = {org: g[g["tie_group"] == 1] for org, g in ranked_by_org.groupby("group", sort=True)}
    single = {org: top.iloc[0]["theme"] for org, top in leads.items() if len(top) == 1}
    if len(leads) > 2 and len(single) == len(leads) and len(set(single.values())) == 1:
        theme = next(iter(single.values()))
        each = "; ".join(f"{_e(org)} {pct(top.iloc[0]['share'])} ({interval(top.iloc[0]['ci_low'], top.iloc[0]['ci_high'])})"
                         for org, top in leads.items())
        return Finding(f"{_label(theme, labels)} clearly leads in the texts of all {len(leads)} {_e(unit)}: {each}.", "themes-by-organization")
    parts = []
    for org, g in ranked_by_org.groupby("group", sort=True):
        top = g[g["tie_group"] == 1]
        if len(top) == 1:
            r = top.iloc[0]
            lead = f"{_label(r['theme'], labels)} leads ({pct(r['share'])}, {interval(r['ci_low'], r['ci_high'])})"
        else:
            lead = f"{_listing(top, labels, 3)} are level within their intervals"
        parts.append(f"in {_e(org)} texts ({int(g.iloc[0]['body_paragraphs']):,} paragraphs), {lead}")
    text = "; ".join(parts)
    return Finding(text[0].upper() + text[1:] + ".", "themes-by-organization")


def contrast_finding(freq_by_org: pd.DataFrame, labels: Mapping[str, str]) -> Finding | None:
    """The theme whose share differs most between two organisations with non-overlapping intervals.

    ``freq_by_org``: ``theme_frequencies(by="organization")``. Falls back to the largest
    difference, saying that the intervals overlap, when no difference is clear.
    """
    if freq_by_org["group"].nunique() < 2:
        return None
    best = None
    for theme, g in freq_by_org.groupby("theme", sort=True):
        hi = g.sort_values(["share", "group"], ascending=[False, True], kind="mergesort").iloc[0]
        lo = g.sort_values(["share", "group"], ascending=[True, True], kind="mergesort").iloc[0]
        gap = float(hi["share"] - lo["share"])
        clear = bool(hi["ci_low"] > lo["ci_high"])
        key = (clear, gap, theme)
        if gap > 0 and (best is None or key > best[0]):
            best = (key, hi, lo)
    if best is None:
        return None
    (clear, _, theme), hi, lo = best
    text = (f"{_label(theme, labels)} separates the organisations most: {pct(hi['share'])} of {_e(hi['group'])} paragraphs "
            f"({int(hi['paragraphs']):,} of {int(hi['body_paragraphs']):,}) against {pct(lo['share'])} of {_e(lo['group'])} paragraphs "
            f"({int(lo['paragraphs']):,} of {int(lo['body_paragraphs']):,})")
    text += "; the 95% intervals do not overlap." if clear else "; but the 95% intervals overlap, so even this difference may be noise."
    return Finding(text, "themes-by-organization")


def cooccurrence_finding(cooc: pd.DataFrame, labels: Mapping[str, str], min_support: int) -> Finding:
    """The theme pair with the highest lift among pairs met in at least ``min_support`` paragraphs."""
    if cooc.empty:
        return Finding(f"No two themes share {min_support} or more paragraphs, so no co-occurrence is reported.", "cooccurrence")
    r = cooc.sort_values(["lift", "paragraphs", "theme_a", "theme_b"], ascending=[False, False, True, True], kind="mergesort").iloc[0]
    return Finding(
        f"{_label(r['theme_a'], labels)} and {_label(r['theme_b'], labels)} travel together most: they share "
        f"{int(r['paragraphs']):,} paragraphs where independence predicts {float(r['expected']):.1f} "
        f"(lift {float(r['lift']):.1f}).",
        "cooccurrence",
    )


#: Themes two documents must share before their profiles are called the closest (when any pair does).
MIN_SHARED_THEMES = 3


def similarity_finding(similarity: pd.DataFrame, titles: Mapping[str, str]) -> Finding | None:
    """The most similar pair of documents from different organisations by theme profile (cosine)."""
    if similarity.empty:
        return None
    cross = similarity[similarity["organization_a"] != similarity["organization_b"]].dropna(subset=["cosine"])
    pool = cross if len(cross) else similarity.dropna(subset=["cosine"])
    if pool.empty:
        return None
    shared = pool["shared_themes"].fillna("").astype(str).map(lambda v: len(v.split(";")) if v else 0)
    # Two documents that each raise a single theme have cosine 1 and say little: prefer pairs
    # whose profiles share at least MIN_SHARED_THEMES themes when there are any.
    rich = pool[shared >= MIN_SHARED_THEMES]
    if len(rich):
        pool, shared = rich, shared[rich.index]
    pool = pool.assign(_shared=shared)
    r = pool.sort_values(["cosine", "_shared", "doc_a", "doc_b"], ascending=[False, False, True, True], kind="mergesort").iloc[0]
    scope = "Across organisations, the" if len(cross) else "The"
    n_shared = int(r["_shared"])
    return Finding(
        f"{scope} closest theme profiles are those of “{_e(titles.get(r['doc_a'], r['doc_a']))}” ({_e(r['organization_a'])}) and "
        f"“{_e(titles.get(r['doc_b'], r['doc_b']))}” ({_e(r['organization_b'])}): cosine {float(r['cosine']):.2f}, "
        f"{n_shared} theme{'s' if n_shared != 1 else ''} in common.",
        "document-similarity",
    )


def reuse_finding(reuse_pairs: pd.DataFrame, titles: Mapping[str, str], min_words: int) -> Finding:
    """The document pair sharing the most words verbatim (``reuse_by_document_pair`` output)."""
    if reuse_pairs.empty:
        return Finding(f"No passage of {min_words} or more words recurs almost verbatim across documents.", "reuse")
    ranked = reuse_pairs.assign(total=reuse_pairs["words_reused_a"] + reuse_pairs["words_reused_b"])
    r = ranked.sort_values(["total", "doc_a", "doc_b"], ascending=[False, True, True], kind="mergesort").iloc[0]
    others = len(reuse_pairs) - 1
    if others == 1:
        tail = " One other document pair also shares reused passages."
    elif others > 1:
        tail = f" {others:,} other document pairs also share reused passages."
    else:
        tail = ""
    return Finding(
        f"“{_e(titles.get(r['doc_a'], r['doc_a']))}” and “{_e(titles.get(r['doc_b'], r['doc_b']))}” share {int(r['passages'])} "
        f"passage{'s' if int(r['passages']) != 1 else ''} of at least {min_words} words almost word for word, covering "
        f"{pct(r['share_a'])} of the first text's words and {pct(r['share_b'])} of the second's.{tail}",
        "reuse",
    )


#: A selection with at least this share of its paragraphs outside the scored period gets a key finding saying so.
MIN_OUTSIDE_SHARE = 0.05


def coverage_finding(coverage: Mapping[str, object] | None) -> Finding | None:
    """A warning when much of the selection is dated outside the period the coding was checked on
    (:func:`helpers.report.report_tables.held_out_coverage`; at least :data:`MIN_OUTSIDE_SHARE` of it)."""
    if not coverage or float(coverage["share"]) < MIN_OUTSIDE_SHARE:
        return None
    outside, total = int(coverage["outside"]), int(coverage["total"])
    return Finding(
        f"Read the theme counts of older or newer text with care: {outside:,} of the "
        f"{total:,} body paragraphs ({pct(float(coverage['share']))}) are dated outside "
        f"{_e(coverage['from'])}\u2013{_e(coverage['to'])}, the years of the hand-coded paragraphs the rules were scored on "
        "held-out: those figures do not cover them, and words and names change meaning over decades.",
        "agreement",
    )


def period_finding(by_period: pd.DataFrame | None) -> Finding | None:
    """A warning when the coding finds clearly more, or less, of the hand-coded themes in some periods than in others.

    ``by_period``: :func:`helpers.annotation.split_agreement.agreement_by_period` rows of the periods the selection
    covers (``annotation``, ``period``, ``recall``, ``precision`` with ``*_low``/``*_high``). Clearly: the 95% intervals
    of the lowest and the highest recall (else precision) of the final coding do not overlap. A trend over those
    periods is then partly the coding's."""
    if by_period is None or by_period.empty:
        return None
    final = by_period[by_period["annotation"] == "final"]
    if len(final) < 2:
        return None
    for measure, what in (("recall", "finds"), ("precision", "is right about")):
        low, high = final.loc[final[measure].idxmin()], final.loc[final[measure].idxmax()]
        if float(low[f"{measure}_high"]) < float(high[f"{measure}_low"]):
            break
    else:
        return None
    share = ("of the themes the hand coders saw" if measure == "recall" else "of the themes it gives")
    sample = str(final["sample"].iloc[0]) if "sample" in final.columns else "held-out"
    return Finding(
        f"The coding is not equally good across the years: on {_e(sample)} paragraphs of {_e(low['period'])} it {what} "
        f"{pct(float(low[measure]))} {share} ({pct(float(low[f'{measure}_low']))}–{pct(float(low[f'{measure}_high']))}), "
        f"against {pct(float(high[measure]))} for {_e(high['period'])} ({pct(float(high[f'{measure}_low']))}–"
        f"{pct(float(high[f'{measure}_high']))}). Part of any change in theme shares between those periods is the coding's, not the texts'.",
        "agreement",
    )


def held_out_scorings(log: pd.DataFrame | None) -> pd.DataFrame | None:
    """The rows of a scoring log (:func:`helpers.report.load.load_held_out_log`) made on held-out samples, leaving out
    those of dev splits (whose scores chose between rules); a log without a ``sample`` column is all held-out."""
    if log is None or "sample" not in log.columns:
        return log
    return log[log["sample"] == "held-out"].reset_index(drop=True)


def agreement_finding(overall: Mapping[str, float] | None, n_paragraphs: int | None, sample: str = "held-out",
                      held_out: pd.DataFrame | None = None) -> Finding | None:
    """How far to trust the coding: rules plus overrides against the hand-coded validation sample.

    ``overall``: a mapping with ``precision``, ``recall``, ``f1`` and ``kappa`` (0-1) on ``n_paragraphs``
    paragraphs of ``sample`` (``held-out``; ``dev``: never read, but scored while choosing between rules, so somewhat
    flattering; or ``in-sample``: paragraphs the rules were written from, which overstate accuracy on new text).
    ``held_out``: logged scorings of the same codebook (:func:`helpers.report.load.load_held_out_log`; ``paragraphs``,
    ``f1``, ``sample``), of which the held-out ones are quoted as the range of their micro-F1.
    """
    if not overall:
        return None
    logged = ""
    held_out = held_out_scorings(held_out)
    if held_out is not None and len(held_out):
        lo, hi = float(held_out["f1"].min()), float(held_out["f1"].max())
        sizes = sorted({int(n) for n in held_out["paragraphs"]})
        size = " and ".join(f"{n}" for n in sizes) if len(sizes) <= 2 else f"{sizes[0]} to {sizes[-1]}"
        f1 = f"F1 {lo:.2f}" if round(lo, 2) == round(hi, 2) else f"F1 {lo:.2f} to {hi:.2f}"
        logged = (f" On text the rules were not written from ({len(held_out)} logged held-out scoring"
                  f"{'s' if len(held_out) != 1 else ''} of {size} hand-coded UN General Debate paragraphs), this codebook "
                  f"reaches {f1}.")
    where = {
        "held-out": f"against {n_paragraphs} held-out hand-coded paragraphs, never read to write the rules,",
        "dev": (f"against {n_paragraphs} hand-coded dev paragraphs, never read to write the rules but scored while choosing "
                "between them (so somewhat flattering),"),
    }.get(sample, f"against the {n_paragraphs} hand-coded paragraphs its rules were written from (in-sample, so an upper bound)")
    scores = (f"precision {float(overall['precision']):.2f}, recall {float(overall['recall']):.2f}, "
              f"F1 {float(overall['f1']):.2f} and Cohen's κ {float(overall['kappa']):.2f}")
    if float(overall["kappa"]) >= 0.6:
        text = f"The automatic coding agrees well enough to read the counts as indicative: {where} it reaches {scores}.{logged}"
    else:
        text = f"Read the counts with care: {where} the automatic coding reaches {scores}.{logged}"
    return Finding(text, "methods")


def _in_group(group: object) -> str:
    """'in CSTO texts', or 'across all organisations' for the pooled selection."""
    return "across all organisations" if str(group) == "All organisations" else f"in {_e(group)} texts"


def trend_finding(changes: pd.DataFrame, labels: Mapping[str, str], groups: Sequence[str] | None = None,
                  unit: str = "body paragraphs") -> Finding | None:
    """The theme whose share moved most with a clear trend (Cochran-Armitage, BH q < 0.05) in one of ``groups``.

    ``changes``: :func:`helpers.analysis.trends.theme_changes` output; ``unit`` names what the shares
    are of ("body paragraphs" or "documents"). Returns ``None`` when no group has three or
    more years; says so when no change passes the test.
    """
    c = changes[changes["years"] >= 3] if len(changes) else changes
    if groups is not None and len(c):
        c = c[c["group"].isin(list(groups))]
    if c.empty:
        return None
    ranked = c.assign(_abs=c["change"].abs()).sort_values(["_abs", "group", "theme"], ascending=[False, True, True], kind="mergesort")
    clear = ranked[ranked["q_value"] < 0.05]
    if clear.empty:
        r = ranked.iloc[0]
        return Finding(f"No theme's share changed clearly over the years: the largest move, {_label(r['theme'], labels)} "
                       f"{_in_group(r['group'])} ({pct(r['share_first'])} in {_e(r['first_year'])} to {pct(r['share_last'])} in "
                       f"{_e(r['last_year'])}), does not pass the trend test (q = {float(r['q_value']):.2f}).", "themes-over-time")
    r = clear.iloc[0]
    word = "rose" if r["change"] > 0 else "fell"
    return Finding(
        f"{_label(r['theme'], labels)} {word} most clearly {_in_group(r['group'])}: from {pct(r['share_first'])} of {_e(unit)} "
        f"in {_e(r['first_year'])} to {pct(r['share_last'])} in {_e(r['last_year'])} (change "
        f"{100 * float(r['change']):+.0f} points, 95% CI {100 * float(r['change_low']):+.0f} to {100 * float(r['change_high']):+.0f}; "
        f"trend test z = {float(r['trend_z']):.1f}, {_q(r['q_value'])}); "
        + (f"{len(clear) - 1} other group-theme trend{'s' if len(clear) != 2 else ''} also pass{'es' if len(clear) == 2 else ''} the test."
           if len(clear) > 1 else "no other group-theme trend passes the test."), "themes-over-time")


def _q(value: float) -> str:
    """'q = 0.012' or 'q &lt; 0.001' (HTML)."""
    return "q &lt; 0.001" if float(value) < 0.001 else f"q = {float(value):.3f}"


def versus_finding(versus: pd.DataFrame, labels: Mapping[str, str]) -> Finding | None:
    """The largest clear difference between a group's members and everyone else (``members_vs_rest`` output)."""
    if versus.empty:
        return None
    clear = versus[(versus["q_value"] < 0.05) & ((versus["diff_low"] > 0) | (versus["diff_high"] < 0))]
    if clear.empty:
        return Finding("No group's members differ clearly from the other speakers on any theme (all 95% intervals of the "
                       "difference include zero or q ≥ 0.05).", "members-vs-rest")
    r = clear.assign(_abs=clear["difference"].abs()).sort_values(["_abs", "group", "theme"], ascending=[False, True, True],
                                                                kind="mergesort").iloc[0]
    more = "more" if r["difference"] > 0 else "less"
    return Finding(
        f"{_e(r['group'])} members raise {_label(r['theme'], labels)} {more} often than the other speakers: "
        f"{pct(r['members_share'])} of their body paragraphs against {pct(r['rest_share'])} "
        f"(difference {100 * float(r['difference']):+.0f} points, 95% CI {100 * float(r['diff_low']):+.0f} to "
        f"{100 * float(r['diff_high']):+.0f}, {_q(r['q_value'])}).", "members-vs-rest")


def reuse_kind_finding(kinds: pd.DataFrame, passages: pd.DataFrame, min_words: int) -> Finding | None:
    """Cross-organisation against self-reuse (``reuse_kind_totals``) and the most widely carried passage."""
    k = kinds.set_index("kind")
    total = int(k["passages"].sum())
    if total == 0:
        return None
    cross, own = int(k.loc["cross", "passages"]), int(k.loc["self", "passages"])
    text = (f"Of {total:,} reused passages of at least {min_words} words, {cross:,} ({pct(cross / total)}) repeat another "
            f"organisation's wording and {own:,} ({pct(own / total)}) are organisations reusing their own earlier texts.")
    if len(passages):
        p = passages.iloc[0]
        text += (f" The most widely carried passage appears in {int(p['documents'])} documents by "
                 f"{int(p['organizations'])} organisation{'s' if int(p['organizations']) != 1 else ''}.")
    return Finding(text, "reuse-cross-self")


def key_findings(
    *,
    documents: pd.DataFrame,
    n_body: int,
    ranked_overall: pd.DataFrame,
    ranked_by_org: pd.DataFrame,
    freq_by_org: pd.DataFrame,
    cooccurrence: pd.DataFrame,
    min_support: int,
    similarity: pd.DataFrame,
    reuse_pairs: pd.DataFrame,
    min_reuse_words: int,
    labels: Mapping[str, str],
    titles: Mapping[str, str],
    agreement: Mapping[str, float] | None = None,
    agreement_n: int | None = None,
    agreement_sample: str = "held-out",
    held_out: pd.DataFrame | None = None,
    coverage: Mapping[str, object] | None = None,
    groups: pd.DataFrame | None = None,
    changes: pd.DataFrame | None = None,
    trend_groups: Sequence[str] | None = None,
    versus: pd.DataFrame | None = None,
    reuse_kinds: pd.DataFrame | None = None,
    reused: pd.DataFrame | None = None,
    max_named_groups: int = 6,
    trend_unit: str = "body paragraphs",
    multi_membership: bool = True,
    unit: str = "organisations",
    by_period: pd.DataFrame | None = None,
) -> list[Finding]:
    """The briefing's key findings, in reading order (at most eight).

    Inputs are the analysis tables of the selection (see each ``*_finding`` function), the
    codebook's theme labels and the documents' titles by id; optionally the groups
    (``group``, ``documents``) of ``group_by``, the trend changes, the members-vs-rest table
    and the reuse summaries (at scale); ``coverage`` (:func:`coverage_finding`) warns when much of the
    selection lies outside the period the coding was checked on, ``by_period`` (:func:`period_finding`) when the coding's
    agreement differs between periods of it. Each group's own leading theme is stated only for up to
    ``max_named_groups`` groups. Output: the findings; those whose table is empty are left
    out, except the co-occurrence and reuse findings, which then say that nothing was found.
    When there are more than eight, the thematic similarity of documents is dropped first.
    """
    n_groups = ranked_by_org["group"].nunique()
    reuse_kinds_f = reuse_kind_finding(reuse_kinds, reused, min_reuse_words) if reuse_kinds is not None and reused is not None else None
    candidates = [
        corpus_finding(documents, n_body, groups, multi_membership),
        coverage_finding(coverage),
        period_finding(by_period),
        overall_lead_finding(ranked_overall, labels),
        organization_lead_finding(ranked_by_org, labels, unit) if 1 < n_groups <= max_named_groups else None,
        contrast_finding(freq_by_org, labels),
        trend_finding(changes, labels, trend_groups, trend_unit) if changes is not None else None,
        versus_finding(versus, labels) if versus is not None else None,
        cooccurrence_finding(cooccurrence, labels, min_support),
        similarity_finding(similarity, titles),
        reuse_kinds_f if reuse_kinds_f is not None and int(reuse_kinds["passages"].sum()) > 30 else reuse_finding(reuse_pairs, titles, min_reuse_words),
        agreement_finding(agreement, agreement_n, agreement_sample, held_out),
    ]
    kept = [f for f in candidates if f is not None]
    if len(kept) > 8:
        kept = [f for f in kept if f.section != "document-similarity"]
    return kept[:8]
