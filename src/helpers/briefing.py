"""The briefing's sections: load the selection once, compute every table through the analysis
modules, and turn each section into escaped HTML for the notebooks.

The notebooks in ``notebooks/`` hold the narrative and call these methods; nothing here
computes a statistic itself: frequencies, co-occurrence, overlap, reuse, keyness and
evidence come from :mod:`helpers.frequencies`, :mod:`helpers.cooccurrence`,
:mod:`helpers.overlap`, :mod:`helpers.keyness` and :mod:`helpers.evidence`, called with
the same arguments as :func:`helpers.analysis.write_analysis_tables`, so every number in the
briefing can be checked against the CSV files in the reports folder (for the default
selection they are equal).

Security: every piece of document text, title, organisation, theme label or metadata goes
through :func:`esc` (``html.escape``) before it is placed in HTML. Nothing is emitted as
Markdown, so no Markdown or raw HTML in a document can become live.

Usage in a notebook::

    from helpers.briefing import Briefing
    b = Briefing.load(corpus=corpus, codebook=codebook, reports=reports, organizations=organizations,
                      date_from=date_from, date_to=date_to, themes=themes,
                      min_reuse_words=min_reuse_words, top_n=top_n, title=title, subtitle=subtitle)
    b.show("cover")          # or b.cover_html() to get the HTML string
"""

from __future__ import annotations

import difflib
import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from helpers import charts, findings
from helpers.analysis import read_annotated, read_evidence
from helpers.cooccurrence import theme_cooccurrence
from helpers.errors import ParameterError
from helpers.evidence import evidence_quotes
from helpers.findings import SECTIONS, pct
from helpers.frequencies import rank_themes, split_themes, theme_frequencies
from helpers.keyness import keyness
from helpers.overlap import document_similarity, find_reuse, reuse_by_document_pair, similar_paragraphs, stem_tokens
from helpers.params import Selection, resolve_path, select_paragraphs, validate_params
from helpers.text import WORD_RE, fold

#: Minimum paragraphs a theme pair must share to be reported (as ``make analyse``).
MIN_SUPPORT = 2
#: Paragraph pairs kept per document pair for similar paragraphs (as ``make analyse``).
TOP_SIMILAR = 3
#: Minimum occurrences of a term in a group for keyness (as ``make analyse``).
KEYNESS_MIN_FREQ = 3
#: Short name shown for the whole selection when frequencies are pooled.
ALL = "All organisations"


def esc(value: object) -> str:
    """``html.escape`` of ``str(value)`` (quotes too); ``""`` for missing values."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    return html.escape(str(value), quote=True)


def cite(title: object, date: object, source_para: object, position: object = None) -> str:
    """Citation as HTML-escaped text: "Title, 2024-10-23, ¶47"; "para. 7" (our split) when the source has no numbers."""
    text = f"{esc(title)}, {esc(date)}"
    if source_para is not None and not pd.isna(source_para) and str(source_para) != "":
        text += f", ¶{int(source_para)}"
    elif position is not None and not pd.isna(position) and str(position) != "":
        text += f", para. {int(position)}"
    return text


@dataclass
class Tables:
    """Numbers the tables of one notebook ("Table N. caption")."""

    count: int = 0

    def caption(self, text: str) -> str:
        """The next number and ``text`` (plain, escaped here) as a ``<figcaption>``."""
        self.count += 1
        return f'<figcaption class="table-caption"><strong>Table {self.count}.</strong> {esc(text)}</figcaption>'



def html_table(
    df: pd.DataFrame,
    columns: Sequence[tuple[str, str, str]],
    caption: str,
    tables: Tables,
    widths: Sequence[str] | None = None,
    css_class: str = "",
) -> str:
    """An HTML table of ``df``; ``columns`` are ``(column, header, kind)`` with kind ``text``
    (escaped), ``num`` (right-aligned, escaped), or ``html`` (already safe HTML, built here).

    ``widths`` (CSS widths per column) keep fixed-layout tables readable; the stylesheet
    wraps long words so no table is wider than the page.
    """
    cols = "".join(f'<col style="width:{w}">' for w in widths) if widths else ""
    head = "".join(f'<th class="{"num" if k == "num" else ""}" scope="col">{esc(h)}</th>' for _, h, k in columns)
    rows = []
    for _, r in df.iterrows():
        cells = []
        for c, _, k in columns:
            v = r[c]
            cells.append(f'<td class="num">{esc(v)}</td>' if k == "num" else f"<td>{v if k == 'html' else esc(v)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    cls = f' class="{esc(css_class)}"' if css_class else ""
    # Short tables stay on one page with their caption; long ones may break, caption kept with the first rows.
    block = "table-block keep" if len(df) <= 12 else "table-block"
    return (f'<figure class="{block}">{tables.caption(caption)}<table{cls}><colgroup>{cols}</colgroup>'
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></figure>")


def _h(level: int, section: str) -> str:
    return f'<h{level} id="{esc(section)}">{esc(SECTIONS[section])}</h{level}>'


def _words_marked(text: str, keep: Iterable[tuple[int, int]]) -> str:
    """``text`` escaped, with the character spans ``keep`` wrapped in ``<mark>``."""
    out, pos = [], 0
    for s, e in sorted(keep):
        if s < pos:
            continue
        out.append(esc(text[pos:s]))
        out.append(f"<mark>{esc(text[s:e])}</mark>")
        pos = e
    out.append(esc(text[pos:]))
    return "".join(out)


def shared_word_spans(a: str, b: str) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Character spans of the words ``a`` and ``b`` share in the same order (difflib on folded, lower-cased words).

    Adjacent shared words are merged into one span so the highlight reads as a phrase.
    """
    ta = [(m.start(), m.end(), m.group().lower()) for m in WORD_RE.finditer(fold(a))]
    tb = [(m.start(), m.end(), m.group().lower()) for m in WORD_RE.finditer(fold(b))]
    matcher = difflib.SequenceMatcher(a=[t[2] for t in ta], b=[t[2] for t in tb], autojunk=False)
    sa, sb = [], []
    for block in matcher.get_matching_blocks():
        if block.size == 0:
            continue
        sa.append((ta[block.a][0], ta[block.a + block.size - 1][1]))
        sb.append((tb[block.b][0], tb[block.b + block.size - 1][1]))
    return sa, sb


def shared_stem_spans(a: str, b: str) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Spans of the content words of ``a`` and ``b`` whose stems (as in similar-paragraph search) occur in both."""
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


def _keep_themes(cell: object, keep: set[str]) -> str:
    return ";".join(t for t in split_themes(cell) if t in keep)


@dataclass
class Briefing:
    """Everything one briefing shows, computed once from the parameters.

    Attributes are the selection (:class:`~helpers.params.Selection`), the input tables and
    the analysis tables, each as returned by its analysis function (see that function's
    docstring for the columns): ``annotated`` (selected body paragraphs, themes restricted
    to the selected ones), ``evidence``, ``documents`` (one row per selected document with
    counts by paragraph kind), ``removed`` (cleaning log), ``freq_doc``, ``freq_org``,
    ``freq_all``, ``freq_year``, ``rank_org``, ``rank_all``, ``cooc``, ``similarity``,
    ``similar``, ``reuse``, ``reuse_pairs``, ``keyness``, ``quotes``, ``agreement``.
    """

    selection: Selection
    codebook: Any
    annotated: pd.DataFrame
    evidence: pd.DataFrame | None
    documents: pd.DataFrame
    removed: pd.DataFrame
    all_paragraphs: pd.DataFrame
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    agreement: dict[str, Any] = field(default_factory=dict)
    figures: charts.Figures = field(default_factory=charts.Figures)
    numbered: Tables = field(default_factory=Tables)

    # ------------------------------------------------------------------ loading
    @classmethod
    def load(cls, **params: Any) -> "Briefing":
        """Read the inputs named by the notebook parameters, validate them, compute all tables.

        Reads ``REPORTS/annotated_paragraphs.csv`` and the evidence table (``make annotate``),
        the codebook, and the corpus (documents and the cleaning log, in memory with the
        default cleaning rules). Raises :class:`~helpers.errors.ParameterError` for bad
        parameters (see :func:`helpers.params.validate_params`).
        """
        from helpers.codebook import load_codebook
        from helpers.corpus import iter_documents

        reports = resolve_path(params.get("reports", "reports"))
        codebook_path = resolve_path(params.get("codebook", "data/codebook.yml"))
        corpus_path = resolve_path(params.get("corpus", "data"))
        annotated_path = reports / "annotated_paragraphs.csv"
        if not annotated_path.is_file():
            raise ParameterError(f"{annotated_path}: annotated paragraphs not found. Run `make annotate` (or make report) first, "
                                 "or set the 'reports' parameter to the folder that holds them.")
        annotated = read_annotated(annotated_path)
        codebook = load_codebook(codebook_path)
        selection = validate_params(params, annotated, [t.id for t in codebook.themes])
        chosen = select_paragraphs(annotated, selection)
        keep = set(selection.themes)
        if not selection.all_themes:
            chosen = chosen.assign(themes=chosen["themes"].map(lambda c: _keep_themes(c, keep)))
        evidence = read_evidence(reports)
        if evidence is not None:
            evidence = evidence[evidence["para_id"].isin(set(chosen["para_id"])) & evidence["theme"].isin(keep)].reset_index(drop=True)
        docs, removed, allp = [], [], []
        selected_docs = set(chosen["doc_id"])
        for doc in iter_documents(corpus_path):
            if doc.meta["doc_id"] not in selected_docs:
                continue
            p = doc.paragraphs
            kinds = p["kind"].value_counts()
            docs.append({**{k: doc.meta.get(k, "") for k in ("doc_id", "title", "organization", "genre", "date", "file")},
                         "paragraphs": len(p), **{f"kind_{k}": int(kinds.get(k, 0)) for k in ("body", "title", "dateline", "salutation", "closing", "editorial")},
                         "removed": len(doc.removed)})
            removed.append(doc.removed)
            allp.append(p)
        documents = pd.DataFrame(docs).sort_values(["date", "doc_id"], kind="mergesort").reset_index(drop=True)
        b = cls(
            selection=selection, codebook=codebook, annotated=chosen, evidence=evidence, documents=documents,
            removed=pd.concat(removed, ignore_index=True) if removed else pd.DataFrame(columns=["doc_id", "rule", "text"]),
            all_paragraphs=pd.concat(allp, ignore_index=True) if allp else pd.DataFrame(),
        )
        b.figures = charts.Figures(source=b.source_line)
        b._compute()
        b._load_agreement(corpus_path)
        return b

    @property
    def source_line(self) -> str:
        n = len(self.documents)
        return (f"{n} document{'s' if n != 1 else ''} in {self.selection.corpus}/manifest.csv, body paragraphs coded with "
                f"{Path(self.selection.codebook).name} (see the methods appendix)")

    def _compute(self) -> None:
        s, a, ev = self.selection, self.annotated, self.evidence
        themes = list(s.themes)
        t: dict[str, pd.DataFrame] = {}
        t["freq_doc"] = theme_frequencies(a, by="document", evidence=ev, themes=themes)
        t["freq_org"] = theme_frequencies(a, by="organization", evidence=ev, themes=themes)
        t["freq_year"] = theme_frequencies(a, by="year", evidence=ev, themes=themes)
        pooled = a.assign(organization=ALL)
        t["freq_all"] = theme_frequencies(pooled, by="organization", evidence=ev, themes=themes)
        t["rank_org"] = rank_themes(t["freq_org"], top=None)
        t["rank_all"] = rank_themes(t["freq_all"], top=None)
        t["cooc"] = theme_cooccurrence(a, min_support=MIN_SUPPORT)
        t["similarity"] = document_similarity(a)
        t["similar"] = similar_paragraphs(a, top_n=TOP_SIMILAR)
        t["reuse"] = find_reuse(a, min_words=s.min_reuse_words)
        t["reuse_pairs"] = reuse_by_document_pair(t["reuse"], a)
        t["keyness"] = keyness(a, by="organization", min_freq=KEYNESS_MIN_FREQ)
        t["quotes"] = evidence_quotes(a, ev, per_group=1) if ev is not None and len(ev) else pd.DataFrame()
        self.tables = t

    def _load_agreement(self, corpus_path: Path) -> None:
        """Read ``agreement.csv`` and ``validation_disagreements.csv`` written by ``make annotate`` (if present).

        Sets ``self.agreement`` to ``{}`` when there is no validation sample, else to
        ``{"table": agreement rows, "overall": final (overall) scores, "rules": rules-alone
        (overall) scores, "n_paragraphs": validated paragraphs, "disagreements": final disagreements}``.
        """
        self.agreement = {}
        reports = resolve_path(self.selection.reports)
        path = reports / "agreement.csv"
        if not path.is_file():
            return
        table = pd.read_csv(path, keep_default_na=True)
        dis_path = reports / "validation_disagreements.csv"
        dis = pd.read_csv(dis_path, dtype=str, keep_default_na=False) if dis_path.is_file() else pd.DataFrame()
        overall = table[(table["annotation"] == "final") & (table["theme"] == "(overall)")]
        rules = table[(table["annotation"] == "rules") & (table["theme"] == "(overall)")]
        per_theme = table[~table["theme"].astype(str).str.startswith("(")]
        self.agreement = {
            "table": table,
            "overall": overall.iloc[0][["precision", "recall", "f1", "kappa"]].to_dict() if len(overall) else None,
            "rules": rules.iloc[0][["precision", "recall", "f1", "kappa"]].to_dict() if len(rules) else None,
            "n_paragraphs": int(per_theme["n"].iloc[0]) if len(per_theme) else 0,
            "disagreements": dis[dis["annotation"] == "final"] if "annotation" in dis.columns else dis,
        }

    # ------------------------------------------------------------------ helpers
    @property
    def labels(self) -> dict[str, str]:
        return {t.id: t.label for t in self.codebook.themes}

    @property
    def titles(self) -> dict[str, str]:
        return dict(zip(self.documents["doc_id"], self.documents["title"]))

    def label(self, theme: str) -> str:
        return self.labels.get(theme, theme)

    def show(self, *sections: str) -> None:
        """Display the HTML of the named sections (method ``<name>_html``) in the notebook."""
        from IPython.display import HTML, display

        display(HTML("".join(getattr(self, f"{name}_html")() for name in sections)))

    # ------------------------------------------------------------------ sections
    def cover_html(self) -> str:
        """Title, subtitle, what was selected, and the placeholder the table of contents fills."""
        s = self.selection
        orgs = "all organisations" if s.all_organizations else ", ".join(s.organizations)
        themes = "all themes" if s.all_themes else f"{len(s.themes)} themes"
        dates = f"{s.date_from or self.documents['date'].min()} to {s.date_to or self.documents['date'].max()}"
        return (
            f'<header class="cover"><h1>{esc(s.title)}</h1><p class="subtitle">{esc(s.subtitle)}</p>'
            f'<p class="meta">Selection: {esc(orgs)}; {esc(themes)}; documents dated {esc(dates)}. '
            f"Every number below is computed from the corpus by the code of this project; the CSV files in the reports folder hold them all.</p></header>"
            '<nav id="toc" class="toc"></nav>'
        )

    def key_findings(self) -> list[findings.Finding]:
        """The key findings of this selection (see :func:`helpers.findings.key_findings`)."""
        t = self.tables
        overall = self.agreement.get("overall") if self.agreement else None
        return findings.key_findings(
            documents=self.documents, n_body=len(self.annotated), ranked_overall=t["rank_all"], ranked_by_org=t["rank_org"],
            freq_by_org=t["freq_org"], cooccurrence=t["cooc"], min_support=MIN_SUPPORT, similarity=t["similarity"],
            reuse_pairs=t["reuse_pairs"], min_reuse_words=self.selection.min_reuse_words, labels=self.labels,
            titles=self.titles, agreement=overall, agreement_n=self.agreement.get("n_paragraphs") if self.agreement else None,
        )

    def key_findings_html(self) -> str:
        return _h(2, "key-findings") + findings.findings_html(self.key_findings())

    def corpus_html(self) -> str:
        """Documents table and what cleaning removed."""
        d = self.documents.copy()
        body = self.annotated.groupby("doc_id").agg(body=("para_id", "size"), words=("n_words", "sum"))
        d = d.join(body, on="doc_id")
        d["kinds"] = [
            "; ".join(f"{r[f'kind_{k}']} {k}" for k in ("title", "dateline", "salutation", "closing", "editorial") if r[f"kind_{k}"])
            or "none" for _, r in d.iterrows()
        ]
        d["document"] = [f"<strong>{esc(r['title'])}</strong><br><span class=\"note\">{esc(r['doc_id'])}</span>" for _, r in d.iterrows()]
        n_orgs = d["organization"].nunique()
        intro = (f"<p>The selection holds {len(d)} documents from {n_orgs} organisation{'s' if n_orgs != 1 else ''}, "
                 f"{int(d['body'].sum())} body paragraphs and {int(d['words'].sum()):,} words of body text. "
                 "Only body paragraphs are coded and counted; titles, datelines, salutations, closings and editorial "
                 "notes are kept for context.</p>")
        table = html_table(
            d, [("document", "Document", "html"), ("organization", "Organisation", "text"), ("genre", "Genre", "text"),
                ("date", "Date", "text"), ("body", "Body ¶", "num"), ("words", "Words", "num"), ("kinds", "Other paragraphs", "text")],
            "Documents in the selection, with their body paragraphs and words and the other paragraph kinds kept for context.",
            self.numbered, widths=["30%", "12%", "11%", "12%", "7%", "9%", "19%"])
        rem = self.removed
        if len(rem):
            per = rem.groupby(["doc_id", "rule"]).size().rename("n").reset_index()
            summary = per.groupby("doc_id").apply(
                lambda g: "; ".join(f"{r['rule']} ×{r['n']}" for _, r in g.iterrows()), include_groups=False).rename("rules")
            counts = rem.groupby("doc_id").size().rename("fragments")
            clean = pd.concat([counts, summary], axis=1).reset_index()
            clean["title"] = clean["doc_id"].map(self.titles)
            cleaning = (f"<p>Cleaning removed {len(rem)} fragments of web boilerplate (advertisements, navigation, tags, "
                        "catalogue codes, source lines) by rules kept in <code>data/cleaning.yml</code>; each is logged "
                        "with its rule and character offsets.</p>" + html_table(
                            clean, [("title", "Document", "text"), ("fragments", "Removed", "num"), ("rules", "Rules that removed them", "text")],
                            "What cleaning removed, per document.", self.numbered, widths=["45%", "10%", "45%"]))
        else:
            cleaning = "<p>Cleaning removed nothing from the selected documents.</p>"
        return _h(2, "corpus") + intro + table + cleaning

    def _theme_order(self) -> list[str]:
        f = self.tables["freq_all"]
        present = f[f["paragraphs"] > 0].sort_values(["share", "theme"], ascending=[False, True], kind="mergesort")
        return present["theme"].tolist()

    def themes_html(self) -> str:
        """Small multiples by organisation, the counts table, the heatmap and change over time."""
        t, s = self.tables, self.selection
        order = self._theme_order()
        out = [_h(2, "themes"),
               "<p>A paragraph carries a theme when a codebook rule matches it (or an analyst added it). Shares are of body "
               "paragraphs and come with 95% Wilson intervals; where two intervals overlap, the data do not say which theme "
               "is more frequent, and the text does not rank them.</p>"]
        out.append(_h(3, "themes-by-organization"))
        if not order:
            out.append("<p>No paragraph of the selection carries any of the selected themes.</p>")
            return "".join(out)
        fo = t["freq_org"][t["freq_org"]["theme"].isin(order)].copy()
        fo["label"] = fo["theme"].map(self.label)
        lead = findings.organization_lead_finding(t["rank_org"], {k: v for k, v in self.labels.items()})
        title = self._org_chart_title()
        fig = charts.small_multiples(fo, panel="group", category="label", value="share", low="ci_low", high="ci_high",
                                     count="paragraphs", category_order=[self.label(x) for x in order], title=title,
                                     xlabel="Share of body paragraphs (%)", source=self.source_line)
        alt = "Bar charts, one per organisation: " + "; ".join(
            f"{g}: " + ", ".join(f"{self.label(r['theme'])} {pct(r['share'])}" for _, r in sub.sort_values('share', ascending=False, kind='mergesort').head(5).iterrows())
            for g, sub in t["freq_org"].groupby("group"))
        if lead is not None:
            out.append(f"<p>{lead.text}</p>")
        out.append(self.figures.html(fig, caption="Share of each organisation's body paragraphs carrying each theme, with 95% Wilson intervals; n = paragraphs.", alt=alt))
        out.append(self._counts_table(order))
        out.append(_h(3, "themes-by-document"))
        fd = t["freq_doc"]
        matrix = fd[fd["theme"].isin(order)].pivot_table(index="group", columns="theme", values="share", aggfunc="first")
        docs = self.documents.set_index("doc_id")
        matrix = matrix.reindex(index=self.documents["doc_id"], columns=order)
        matrix.index = [f"{doc} ({docs.loc[doc, 'organization']})" for doc in matrix.index]
        leaders = fd[fd["theme"].isin(order)]
        leaders = leaders[leaders["share"] == leaders.groupby("group")["share"].transform("max")]
        leaders = leaders[leaders["paragraphs"] > 0]
        tops = leaders.groupby("theme")["group"].nunique().sort_values(ascending=False, kind="mergesort")
        best_theme, n_docs = tops.index[0], int(tops.iloc[0])
        top_doc = fd[fd["paragraphs"] > 0].sort_values(["share", "group", "theme"], ascending=[False, True, True], kind="mergesort").iloc[0]
        fig = charts.heatmap(matrix, title=f"{self.label(best_theme)} is the top theme (or level top) of {n_docs} of the {len(matrix)} documents",
                             xlabel="Theme", ylabel="Document", colorbar_label="Share of body paragraphs (%)", source=self.source_line, vmax=1.0)
        out.append(self.figures.html(fig, caption="Document × theme: share of each document's body paragraphs carrying each theme (%, printed in each cell). Documents with one body paragraph show 0 or 100.",
                                     alt=f"Heatmap of {len(matrix)} documents by {len(order)} themes; {self.label(best_theme)} is the top theme of {n_docs} documents; the highest share is {self.label(top_doc['theme'])} in {top_doc['group']} at {pct(top_doc['share'])}."))
        out.append(_h(3, "themes-over-time"))
        out.append(self._over_time_html(order))
        return "".join(out)

    def _org_chart_title(self) -> str:
        """The finding of the small multiples: which organisations have a clear leading theme."""
        r = self.tables["rank_org"]
        clear, level = [], []
        for org, g in r.groupby("group", sort=True):
            top = g[g["tie_group"] == 1]
            (clear if len(top) == 1 else level).append((org, self.label(top.iloc[0]["theme"])))
        parts = [f"{theme} clearly leads in {org} texts" for org, theme in clear]
        if level:
            names = [org for org, _ in level]
            joined = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
            parts.append(f"in {joined} texts no theme clearly leads")
        text = "; ".join(parts)
        return text[0].upper() + text[1:] if text else "Themes by organisation"

    def _counts_table(self, order: list[str]) -> str:
        fo = self.tables["freq_org"]
        fa = self.tables["freq_all"]
        orgs = sorted(fo["group"].unique())
        rows = []
        for theme in order:
            row = {"theme": f"{esc(self.label(theme))}<br><code>{esc(theme)}</code>"}
            for org in orgs + [ALL]:
                src = fa if org == ALL else fo
                r = src[(src["group"] == org) & (src["theme"] == theme)].iloc[0]
                row[org] = (f"{int(r['paragraphs'])}/{int(r['body_paragraphs'])}<br>"
                            f"<span class=\"note\">{pct(r['share'])} ({100 * r['ci_low']:.0f}–{100 * r['ci_high']:.0f})</span>")
            rows.append(row)
        df = pd.DataFrame(rows)
        cols = [("theme", "Theme", "html")] + [(o, o if o != ALL else "All", "html") for o in orgs + [ALL]]
        width = f"{70 / (len(orgs) + 1):.3f}%"
        return html_table(df, cols, "Body paragraphs carrying each theme per organisation: paragraphs/body paragraphs, "
                          "share and 95% Wilson interval (%). Same counts as theme_frequencies.csv (by = organization).",
                          self.numbered, widths=["30%"] + [width] * (len(orgs) + 1), css_class="counts")

    def _over_time_html(self, order: list[str]) -> str:
        a = self.annotated
        years = a.assign(year=a["date"].str[:4]).groupby("organization")["year"].nunique()
        orgs = sorted(years[years >= 2].index)
        if not orgs:
            return ("<p>Change over time cannot be shown: no organisation in the selection has documents from more than one year.</p>")
        out = []
        for org in orgs:
            sub = a[a["organization"] == org]
            fy = theme_frequencies(sub, by="year", evidence=self.evidence, themes=list(self.selection.themes))
            top = [x for x in order if x in set(fy.loc[fy["paragraphs"] > 0, "theme"])][: self.selection.top_n]
            fy = fy[fy["theme"].isin(top)].assign(label=lambda d: d["theme"].map(self.label))
            yrs = sorted(fy["group"].unique())
            first, last = yrs[0], yrs[-1]
            moved = []
            for th in top:
                r0 = fy[(fy["group"] == first) & (fy["theme"] == th)].iloc[0]
                r1 = fy[(fy["group"] == last) & (fy["theme"] == th)].iloc[0]
                clear = r1["ci_low"] > r0["ci_high"] or r0["ci_low"] > r1["ci_high"]
                moved.append((clear, abs(r1["share"] - r0["share"]), th, r0, r1))
            moved.sort(key=lambda m: (not m[0], -m[1], m[2]))
            clear, _, th, r0, r1 = moved[0]
            verdict = "a change the intervals support" if clear else "but the intervals overlap, so the change may be noise"
            title = f"{org}: {self.label(th)} went from {pct(r0['share'])} ({first}) to {pct(r1['share'])} ({last}), {verdict}"
            fig = charts.interval_dots(fy, x="group", series="label", value="share", low="ci_low", high="ci_high", title=title,
                                       xlabel="Year of the document", ylabel="Share of body paragraphs (%)", source=self.source_line,
                                       series_order=[self.label(x) for x in top])
            counts = fy.groupby("group")["body_paragraphs"].first()
            out.append(self.figures.html(
                fig, caption=f"{org}: share of body paragraphs carrying its {len(top)} most frequent themes, by year of the document, "
                f"with 95% Wilson intervals (body paragraphs per year: " + ", ".join(f"{y}: {n}" for y, n in counts.items()) + ").",
                alt=f"Dot plot for {org} by year; " + "; ".join(f"{self.label(m[2])} {pct(m[3]['share'])} in {first}, {pct(m[4]['share'])} in {last}" for m in moved)))
        return "".join(out)

    def cooccurrence_html(self) -> str:
        c = self.tables["cooc"]
        out = [_h(2, "cooccurrence"),
               f"<p>Two common themes meet often by chance alone. Lift compares the paragraphs carrying both with what independence "
               f"predicts (1 = as often as chance, 2 = twice as often); pairs met in fewer than {MIN_SUPPORT} paragraphs are left out.</p>"]
        if c.empty:
            out.append(f"<p>No two themes share {MIN_SUPPORT} or more paragraphs.</p>")
            return "".join(out)
        top = c.sort_values(["lift", "paragraphs", "theme_a", "theme_b"], ascending=[False, False, True, True], kind="mergesort").head(max(self.selection.top_n * 2, 8)).copy()
        top["pair"] = [f"{self.label(a)} + {self.label(b)}" for a, b in zip(top["theme_a"], top["theme_b"])]
        top["note"] = [f"{n} ¶, {e:.1f} expected" for n, e in zip(top["paragraphs"], top["expected"])]
        best = top.iloc[0]
        fig = charts.ranked_bars(top, label="pair", value="lift", note="note", reference=1.0,
                                 title=f"{self.label(best['theme_a'])} and {self.label(best['theme_b'])} co-occur {best['lift']:.1f} times as often as chance",
                                 xlabel="Lift (paragraphs carrying both ÷ expected under independence)", source=self.source_line)
        out.append(self.figures.html(fig, caption=f"Theme pairs with the highest lift (at least {MIN_SUPPORT} shared paragraphs); the dashed line marks chance (lift 1).",
                                     alt="Bar chart of theme pairs by lift: " + "; ".join(f"{p} {l:.1f}" for p, l in zip(top["pair"], top["lift"]))))
        tbl = top.assign(lift_s=top["lift"].map(lambda v: f"{v:.2f}"), exp_s=top["expected"].map(lambda v: f"{v:.1f}"),
                         npmi_s=top["npmi"].map(lambda v: f"{v:.2f}"))
        out.append(html_table(tbl, [("pair", "Theme pair", "text"), ("paragraphs", "Both", "num"), ("paragraphs_a", "First", "num"),
                                    ("paragraphs_b", "Second", "num"), ("exp_s", "Expected", "num"), ("lift_s", "Lift", "num"), ("npmi_s", "NPMI", "num")],
                              "Co-occurring theme pairs: paragraphs carrying both, each, the count expected under independence, lift and normalised PMI.",
                              self.numbered, widths=["40%", "10%", "10%", "10%", "10%", "10%", "10%"]))
        return "".join(out)

    def overlap_html(self) -> str:
        t, s = self.tables, self.selection
        out = [_h(2, "overlap"), "<p>Overlap is measured three ways: shared themes, similar wording, and verbatim reuse.</p>", _h(3, "document-similarity")]
        sim = t["similarity"]
        docs = list(self.documents["doc_id"])
        if len(docs) >= 2 and not sim.empty:
            m = pd.DataFrame(index=docs, columns=docs, dtype=float)
            for _, r in sim.iterrows():
                m.loc[r["doc_a"], r["doc_b"]] = m.loc[r["doc_b"], r["doc_a"]] = r["cosine"]
            for d in docs:
                m.loc[d, d] = float("nan")
            f = findings.similarity_finding(sim, self.titles)
            best = sim.dropna(subset=["cosine"]).sort_values(["cosine", "doc_a", "doc_b"], ascending=[False, True, True], kind="mergesort").iloc[0]
            fig = charts.heatmap(m, title=f"Most alike in themes: {best['doc_a']} and {best['doc_b']} (cosine {best['cosine']:.2f})",
                                 xlabel="Document", ylabel="Document", colorbar_label="Cosine similarity of theme shares",
                                 source=self.source_line, percent=False, vmax=1.0)
            out.append(self.figures.html(fig, caption="Thematic similarity of documents: cosine of their theme-share profiles (1 = same mix of themes).",
                                         alt=f"Heatmap of document similarity; the highest cosine is {best['cosine']:.2f} between {best['doc_a']} and {best['doc_b']}."))
            if f is not None:
                out.append(f"<p>{f.text}</p>")
        else:
            out.append("<p>At least two documents are needed to compare theme profiles.</p>")
        out.append(_h(3, "similar-paragraphs"))
        sp = t["similar"]
        sp = sp[sp["organization_a"] != sp["organization_b"]] if not sp.empty else sp
        if sp.empty:
            out.append("<p>No paragraph pairs from different organisations reach the minimum similarity.</p>")
        else:
            top = sp.sort_values(["similarity", "para_a", "para_b"], ascending=[False, True, True], kind="mergesort").head(s.top_n)
            out.append(f"<p>The {len(top)} most similar paragraph pairs from different organisations (TF-IDF cosine over stemmed words, "
                       "stop words out); words sharing a stem are highlighted.</p>")
            out.append(self._side_by_side(top, "similarity"))
        out.append(_h(3, "reuse"))
        out.append(self._reuse_html())
        return "".join(out)

    def _para_meta(self) -> pd.DataFrame:
        return self.annotated.set_index("para_id")

    def _side_by_side(self, pairs: pd.DataFrame, kind: str) -> str:
        meta = self._para_meta()
        rows = []
        for _, r in pairs.iterrows():
            ma, mb = meta.loc[r["para_a"]], meta.loc[r["para_b"]]
            if kind == "similarity":
                ta, tb = str(ma["text"]), str(mb["text"])
                sa, sb = shared_stem_spans(ta, tb)
                head = f"cosine {float(r['similarity']):.2f}; word stems contributing most: {str(r['shared_terms']).replace(';', ', ')}"
            else:
                ta, tb = str(ma["text"]), str(mb["text"])
                s_a, e_a, s_b, e_b = int(r["start_a"]), int(r["end_a"]), int(r["start_b"]), int(r["end_b"])
                pa, pb = shared_word_spans(ta[s_a:e_a], tb[s_b:e_b])
                sa = [(s + s_a, e + s_a) for s, e in pa]
                sb = [(s + s_b, e + s_b) for s, e in pb]
                head = f"{int(r['words'])} words"
            cell_a = (f'<p class="note">{esc(ma["organization"])} · {cite(ma["title"], ma["date"], ma["source_para"], ma.get("position"))}</p>'
                      f"<p>{_words_marked(ta, sa)}</p>")
            cell_b = (f'<p class="note">{esc(mb["organization"])} · {cite(mb["title"], mb["date"], mb["source_para"], mb.get("position"))}</p>'
                      f"<p>{_words_marked(tb, sb)}</p>")
            rows.append({"a": cell_a, "b": cell_b, "head": head})
        df = pd.DataFrame(rows)
        parts = []
        for _, r in df.iterrows():
            parts.append(html_table(pd.DataFrame([r]), [("a", "Earlier document", "html"), ("b", "Later document", "html")],
                                    r["head"] if kind == "similarity" else f"Reused passage, {r['head']}; shared words highlighted.",
                                    self.numbered, widths=["50%", "50%"], css_class="passages"))
        return "".join(parts)

    def _reuse_html(self) -> str:
        t, s = self.tables, self.selection
        reuse, pairs = t["reuse"], t["reuse_pairs"]
        f = findings.reuse_finding(pairs, self.titles, s.min_reuse_words)
        out = [f"<p>Verbatim reuse: passages of at least {s.min_reuse_words} words that two documents share almost word for word "
               "(tolerant of punctuation, quote styles and a few changed words). " + f.text + "</p>"]
        if reuse.empty:
            return "".join(out)
        pt = pairs.copy()
        pt["a"] = pt["doc_a"].map(self.titles)
        pt["b"] = pt["doc_b"].map(self.titles)
        pt["sa"] = [f"{wa}/{na} ({pct(x)})" for wa, na, x in zip(pt["words_reused_a"], pt["words_a"], pt["share_a"])]
        pt["sb"] = [f"{wb}/{nb} ({pct(x)})" for wb, nb, x in zip(pt["words_reused_b"], pt["words_b"], pt["share_b"])]
        out.append(html_table(pt, [("a", "Earlier document", "text"), ("b", "Later document", "text"), ("passages", "Passages", "num"),
                                   ("sa", "Words reused, earlier", "num"), ("sb", "Words reused, later", "num")],
                              "Document pairs sharing reused passages: passages, and words of each document inside them.",
                              self.numbered, widths=["28%", "28%", "10%", "17%", "17%"]))
        top = reuse.sort_values(["words", "para_a", "start_a"], ascending=[False, True, True], kind="mergesort").head(s.top_n)
        out.append(f"<p>The {len(top)} longest passages, side by side; the words both passages share are highlighted.</p>")
        out.append(self._side_by_side(top, "reuse"))
        return "".join(out)

    def language_html(self) -> str:
        t, s = self.tables, self.selection
        out = [_h(2, "language"), _h(3, "distinctive-terms"),
               "<p>Words and two-word phrases over-represented in one organisation's paragraphs against all "
               f"others (log-likelihood G²; at least {KEYNESS_MIN_FREQ} occurrences; G² above 10.83 means p &lt; 0.001).</p>"]
        k = t["keyness"]
        if k.empty:
            out.append("<p>Keyness needs at least two organisations in the selection.</p>")
        else:
            out.append(self._keyness_tables(k[k["direction"] == "over"], max(s.top_n, 8), "Terms most distinctive of {org} against the other organisations."))
        out.append(_h(3, "framing"))
        out.append(self._framing_html())
        out.append(_h(3, "evidence"))
        q = t["quotes"]
        if q is None or q.empty:
            out.append("<p>No evidence table was found, so no quotes are shown.</p>")
            return "".join(out)
        meta = self._para_meta()
        for theme in self._theme_order()[: max(s.top_n * 2, 6)]:
            sub = q[q["theme"] == theme].sort_values(["group", "rank"], kind="mergesort")
            if sub.empty:
                continue
            out.append(f"<h4>{esc(self.label(theme))}</h4>")
            for _, r in sub.iterrows():
                m = meta.loc[r["para_id"]]
                out.append(f'<blockquote class="quote"><p>“{esc(r["quote"])}”</p><cite>{esc(r["group"])} · '
                           f'{cite(r["title"], r["date"], r["source_para"], m.get("position"))}</cite></blockquote>')
        return "".join(out)

    def _keyness_tables(self, k: pd.DataFrame, top: int, caption: str) -> str:
        out = []
        for org, g in k.groupby("group", sort=True):
            g = g.sort_values(["ll", "term"], ascending=[False, True], kind="mergesort").head(top).copy()
            g["ll_s"] = g["ll"].map(lambda v: f"{v:.1f}")
            g["pg"] = g["per_10k_group"].map(lambda v: f"{v:.1f}")
            g["pr"] = g["per_10k_rest"].map(lambda v: f"{v:.1f}")
            out.append(html_table(g, [("term", "Term", "text"), ("freq_group", "Count", "num"), ("pg", "Per 10k words", "num"),
                                      ("pr", "Per 10k, others", "num"), ("ll_s", "G²", "num")],
                                  caption.format(org=org), self.numbered, widths=["40%", "15%", "15%", "15%", "15%"]))
        return "".join(out)

    def framing_theme(self) -> str | None:
        """The theme to compare wording on: raised (in 2+ paragraphs) by the most organisations, then the one
        whose least-frequent organisation still has the most paragraphs on it, then by total paragraphs."""
        fo = self.tables["freq_org"]
        present = fo[fo["paragraphs"] >= 2]
        score = present.groupby("theme").agg(orgs=("group", "nunique"), least=("paragraphs", "min"), paragraphs=("paragraphs", "sum"))
        score = score[score["orgs"] >= 2].reset_index()
        if score.empty:
            return None
        ranked = score.sort_values(["orgs", "least", "paragraphs", "theme"], ascending=[False, False, False, True], kind="mergesort")
        return str(ranked.iloc[0]["theme"])

    def _framing_html(self) -> str:
        theme = self.framing_theme()
        if theme is None:
            return "<p>No theme is raised in at least two paragraphs by two or more organisations of the selection.</p>"
        k = keyness(self.annotated, by="organization", min_freq=2, theme=theme)
        k = k[k["direction"] == "over"]
        orgs = sorted(self.tables["freq_org"].query("theme == @theme and paragraphs >= 2")["group"])
        intro = (f"<p>The same theme in different words: within the paragraphs that carry <em>{esc(self.label(theme))}</em> "
                 f"(raised by {esc(', '.join(orgs))}), the words each organisation uses more than the others (at least 2 occurrences).</p>")
        if k.empty:
            return intro + "<p>No word occurs often enough in these paragraphs to be distinctive.</p>"
        return intro + self._keyness_tables(k, 6, f"How {{org}} words {self.label(theme)} differently from the other organisations.")

    def methods_html(self) -> str:
        from helpers import provenance

        s = self.selection
        out = [_h(2, "methods")]
        out.append("<p>Paragraphs are split from the raw files with their character offsets kept, boilerplate is removed by rules in "
                   "<code>data/cleaning.yml</code>, and every body paragraph is coded by the codebook's rules (case-insensitive, "
                   "whole words, inflected forms), then corrected by analysts' overrides. Citations give the source's own paragraph "
                   "number (¶) where the source numbers its paragraphs, else the paragraph's position in our split (para.).</p>")
        out.append(_h(3, "codebook"))
        cb = provenance.codebook_summary(self.codebook)
        cb["theme_html"] = [f"<strong>{esc(l)}</strong><br><code>{esc(i)}</code>" for i, l in zip(cb["theme"], cb["label"])]
        out.append(html_table(cb, [("theme_html", "Theme", "html"), ("group", "Group", "text"), ("definition", "Definition", "text"),
                                   ("terms", "Terms", "num"), ("patterns", "Regex", "num"), ("exclusions", "Excl.", "num")],
                              f"The codebook ({getattr(self.codebook, 'name', '')}, version {getattr(self.codebook, 'version', '')}): themes, definitions and rule counts.",
                              self.numbered, widths=["22%", "14%", "40%", "8%", "8%", "8%"]))
        out.append(_h(3, "agreement"))
        out.append(self._agreement_html())
        out.append(_h(3, "provenance"))
        p = pd.DataFrame([{"name": k, "value": ", ".join(v) if isinstance(v, list) else ("all" if v == [] else v)}
                          for k, v in s.as_dict().items()])
        p["value"] = [("(all)" if v == "" else v) if v is not None else "(none)" for v in p["value"]]
        out.append(html_table(p, [("name", "Parameter", "text"), ("value", "Value", "text")], "Parameters of this run.", self.numbered, widths=["30%", "70%"]))
        corpus = resolve_path(s.corpus)
        extra = [corpus / "cleaning.yml", corpus / "annotations" / "overrides.csv", corpus / "annotations" / "validation.csv"]
        files = provenance.file_hashes(provenance.input_files(corpus, resolve_path(s.codebook), extra))
        out.append(html_table(files, [("file", "Input file", "text"), ("bytes", "Bytes", "num"), ("sha256", "SHA-256", "text")],
                              "Every input file with its size and SHA-256.", self.numbered, widths=["35%", "10%", "55%"], css_class="hashes"))
        pk = provenance.package_versions()
        out.append(html_table(pk, [("package", "Package", "text"), ("version", "Version", "text")], "Package versions.", self.numbered, widths=["50%", "50%"]))
        out.append(f"<p>Code: git commit <code>{esc(provenance.git_commit())}</code>.</p>")
        return "".join(out)

    def _agreement_html(self) -> str:
        a = self.agreement
        if not a:
            return "<p>No validation sample was found, so the coding's agreement with hand coding is not reported.</p>"
        t = a["table"]
        out = [f"<p>Agreement with the hand-coded validation sample of {a['n_paragraphs']} body paragraphs (coded by reading "
               "them against the definitions, before looking at the rules), for the rules alone and for the final coding "
               "(rules plus overrides). It covers the whole corpus, whatever the selection.</p>"]
        fmt = lambda v: "" if pd.isna(v) else f"{float(v):.2f}"  # noqa: E731
        final = t[t["annotation"] == "final"].set_index("theme")
        rules = t[t["annotation"] == "rules"].set_index("theme")
        order = [x for x in final.index if not str(x).startswith("(")] + ["(overall)", "(macro)"]
        rows = []
        for theme in order:
            if theme not in final.index:
                continue
            f, r = final.loc[theme], rules.loc[theme] if theme in rules.index else None
            rows.append({
                "theme": self.label(theme) if not str(theme).startswith("(") else ("All decisions (micro)" if theme == "(overall)" else "Mean over themes (macro)"),
                "gold": int(f["gold_pos"]), "pred": int(f["pred_pos"]),
                "p": fmt(f["precision"]), "r": fmt(f["recall"]), "f1": fmt(f["f1"]), "k": fmt(f["kappa"]),
                "rk": fmt(r["kappa"]) if r is not None else "", "rf1": fmt(r["f1"]) if r is not None else "",
            })
        df = pd.DataFrame(rows)
        out.append(html_table(df, [("theme", "Theme", "text"), ("gold", "Hand", "num"), ("pred", "Coded", "num"), ("p", "Precision", "num"),
                                   ("r", "Recall", "num"), ("f1", "F1", "num"), ("k", "κ", "num"), ("rf1", "F1 rules", "num"), ("rk", "κ rules", "num")],
                              "Agreement of the final coding with the validation sample per theme (hand = paragraphs the hand coder gave the theme, "
                              "coded = paragraphs the coding gave it), and F1 and Cohen's κ of the rules alone.",
                              self.numbered, widths=["28%", "8%", "8%", "9%", "9%", "8%", "8%", "11%", "11%"]))
        dis = a.get("disagreements")
        if isinstance(dis, pd.DataFrame) and not dis.empty:
            d = dis.copy()
            d["label"] = d["theme"].map(self.label)
            d["what"] = d["kind"].map({"missed": "hand coder only (missed)", "spurious": "coding only (spurious)"}).fillna(d["kind"])
            out.append(html_table(d, [("para_id", "Paragraph", "text"), ("label", "Theme", "text"), ("what", "Who says present", "text")],
                                  f"Every disagreement between the final coding and the validation sample ({len(d)}).", self.numbered,
                                  widths=["38%", "34%", "28%"]))
        else:
            out.append("<p>The final coding agrees with the validation sample on every paragraph and theme.</p>")
        return "".join(out)

    # ------------------------------------------------------------------ analysts' notebooks
    def quality_html(self) -> str:
        """Quality checks for analysts: kinds per document, uncoded body paragraphs, shortest body paragraphs."""
        p = self.all_paragraphs
        kinds = p.pivot_table(index="doc_id", columns="kind", values="para_id", aggfunc="count", fill_value=0).reset_index()
        cols = [("doc_id", "Document", "text")] + [(k, k, "num") for k in kinds.columns if k != "doc_id"]
        out = [html_table(kinds, cols, "Paragraphs per document and kind (only body paragraphs are coded).", self.numbered)]
        a = self.annotated
        none = a[a["themes"].fillna("") == ""].copy()
        none["cite"] = [cite(t, d, s, q) for t, d, s, q in zip(none["title"], none["date"], none["source_para"], none["position"])]
        out.append(f"<p>{len(none)} of {len(a)} body paragraphs carry none of the selected themes.</p>")
        if len(none):
            out.append(html_table(none, [("para_id", "Paragraph", "text"), ("cite", "Citation", "html"), ("text", "Text", "text")],
                                  "Body paragraphs with no theme: check whether the codebook misses something.", self.numbered,
                                  widths=["20%", "25%", "55%"]))
        short = a.sort_values(["n_words", "para_id"], kind="mergesort").head(self.selection.top_n)
        out.append(html_table(short, [("para_id", "Paragraph", "text"), ("n_words", "Words", "num"), ("text", "Text", "text")],
                              "The shortest body paragraphs (possible splitting or cleaning errors).", self.numbered,
                              widths=["25%", "10%", "65%"]))
        return "".join(out)

    def ranking_html(self) -> str:
        """Each organisation's themes ranked, with the tie groups of :func:`helpers.frequencies.rank_themes`."""
        r = self.tables["rank_org"].copy()
        if r.empty:
            return "<p>No theme is carried by any paragraph of the selection.</p>"
        r["label"] = r["theme"].map(self.label)
        r["share_s"] = [f"{pct(s)} ({100 * lo:.0f}–{100 * hi:.0f})" for s, lo, hi in zip(r["share"], r["ci_low"], r["ci_high"])]
        return html_table(r, [("group", "Organisation", "text"), ("rank", "Rank", "num"), ("label", "Theme", "text"),
                              ("paragraphs", "Paragraphs", "num"), ("share_s", "Share (95% CI)", "text"), ("tie_group", "Tie group", "num")],
                          "Themes ranked per organisation; themes sharing a tie group have overlapping intervals.", self.numbered,
                          widths=["14%", "8%", "36%", "12%", "18%", "12%"])

    def reuse_all_html(self) -> str:
        """Every reused passage, longest first, side by side with shared words highlighted."""
        reuse = self.tables["reuse"]
        if reuse.empty:
            return f"<p>No passage of {self.selection.min_reuse_words} or more words is shared across documents.</p>"
        ordered = reuse.sort_values(["words", "para_a", "start_a"], ascending=[False, True, True], kind="mergesort")
        return self._side_by_side(ordered, "reuse")
