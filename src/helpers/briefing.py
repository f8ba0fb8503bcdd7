"""The briefing's sections: load the selection once, compute every table through the analysis
modules, and turn each section into escaped HTML for the notebooks.

The notebooks in ``notebooks/`` hold the narrative and call these methods; nothing here
computes a statistic itself: frequencies, co-occurrence, overlap, reuse, keyness and
evidence come from :mod:`helpers.frequencies`, :mod:`helpers.cooccurrence`,
:mod:`helpers.overlap`, :mod:`helpers.keyness` and :mod:`helpers.evidence`, called with
the same arguments as :func:`helpers.analysis.write_analysis_tables`, so every number in the
briefing can be checked against the CSV files in the reports folder (for the default
selection they are read from them). Trends and members-versus-rest come from
:mod:`helpers.trends`, cross/self reuse and the most reused passages from
:mod:`helpers.reuse_summary`; the briefing writes those tables to the reports folder too.

Scale: measures are per organisation or per group of speakers (``group_by``, see
:mod:`helpers.groups`; a document counts in every group its speaker belongs to). Past
:data:`MAX_GROUPS` groups the small multiples become a heatmap of the largest groups and a
top-N table per theme; past :data:`MAX_DOCUMENTS` documents the document tables and maps
become summaries per year and group; long tables are cut to ``top_n`` rows with a sentence
naming the CSV file that holds the rest.

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
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from helpers import charts, findings
from helpers.analysis import read_annotated, read_evidence
from helpers.groups import assign_groups, load_groups
from helpers.cooccurrence import theme_cooccurrence
from helpers.errors import ParameterError
from helpers.evidence import evidence_quotes
from helpers.findings import SECTIONS, pct
from helpers.frequencies import rank_themes, split_themes, theme_frequencies
from helpers.keyness import keyness
from helpers.overlap import document_similarity, find_reuse, reuse_by_document_pair, similar_paragraphs, stem_tokens
from helpers.io import restore_formulas, write_csv
from helpers.params import DEFAULTS, Selection, resolve_path, select_paragraphs, validate_params
from helpers.reuse_summary import reuse_between_groups, reuse_cross_vs_self, reuse_kind_totals, reused_passages
from helpers.text import WORD_RE, fold
from helpers.trends import members_vs_rest, theme_changes, theme_trends

#: Minimum paragraphs a theme pair must share to be reported (as ``make analyse``).
MIN_SUPPORT = 2
#: Paragraph pairs kept per document pair for similar paragraphs (as ``make analyse``).
TOP_SIMILAR = 3
#: Minimum occurrences of a term in a group for keyness (as ``make analyse``).
KEYNESS_MIN_FREQ = 3
#: Short name shown for the whole selection when frequencies are pooled.
ALL = "All organisations"
#: Labels of :func:`helpers.groups.assign_groups` for speakers outside the chosen group(s).
OUTSIDE = {"rest": "rest (non-members)", "none": "none (in no group)"}
#: Organisation given by the ingest to documents whose manifest row has none (see helpers.organizations).
UNKNOWN = "unknown"
#: Most groups drawn as small multiples or listed as columns; beyond this, the top groups by size.
MAX_GROUPS = 12
#: Most documents drawn one by one (document x theme and similarity heatmaps); beyond, a group view.
MAX_DOCUMENTS = 20
#: Most rows of a listing in the analysts' notebooks (the full tables are in the reports folder).
ANALYST_ROWS = 100
#: Fewest distinct years for the trend statistics (Cochran-Armitage across years).
MIN_TREND_YEARS = 3
#: Shortest paragraph (words) shown among the most similar pairs at scale.
MIN_SIMILAR_WORDS = 30
#: Fewest body paragraphs for an organisation or document to be ranked by share at scale.
MIN_PARAGRAPHS_RANKED = 30
#: Tables written to the reports folder by the briefing (see :meth:`Briefing.write_tables`).
BRIEFING_CSV = ("theme_trends.csv", "theme_changes.csv", "members_vs_rest.csv", "reuse_cross_vs_self.csv",
                "reused_passages.csv", "group_frequencies.csv", "briefing_documents.csv", "input_files.csv")


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


def _h(level: int, section: str, title: str | None = None) -> str:
    return f'<h{level} id="{esc(section)}">{esc(title or SECTIONS[section])}</h{level}>'


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


#: Longest paragraph shown whole beside another; longer ones are cut to a window around the highlights.
WINDOW_CHARS = 1400
#: Context kept before the first and after the last highlighted span of a cut paragraph, in characters.
WINDOW_CONTEXT = 300


def text_window(text: str, spans: Sequence[tuple[int, int]], max_chars: int = WINDOW_CHARS,
                context: int = WINDOW_CONTEXT) -> tuple[int, int]:
    """The part of ``text`` to show around the character ``spans``: ``(start, end)``.

    Texts up to ``max_chars`` are shown whole. Longer ones (a source that puts a whole speech in
    one paragraph) keep ``context`` characters before the first span and after the last (at
    most ``max_chars`` in all, cut at spaces), so a reused passage is shown with its context,
    not with four pages of speech.
    """
    if len(text) <= max_chars:
        return 0, len(text)
    first = min((s for s, _ in spans), default=0)
    last = max((e for _, e in spans), default=0)
    start = max(0, first - context)
    end = min(len(text), max(last + context, start + 1), start + max_chars)
    if start > 0 and not text[start - 1].isspace():  # mid-word: move to the next word
        space = text.find(" ", start)
        start = space + 1 if 0 <= space < first else start
    if end < len(text) and not text[end].isspace():  # mid-word: back to the end of the previous word
        space = text.rfind(" ", max(last, start), end)
        end = space if space > start else end
    return start, end


def _windowed_marked(text: str, spans: Sequence[tuple[int, int]]) -> str:
    """``_words_marked`` of the :func:`text_window` of ``text``, with "…" where it was cut."""
    start, end = text_window(text, spans)
    kept = [(max(s, start) - start, min(e, end) - start) for s, e in spans if e > start and s < end]
    return ("… " if start > 0 else "") + _words_marked(text[start:end], kept) + (" …" if end < len(text) else "")


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


def _plain(html_text: str) -> str:
    """``html_text`` without tags, entities unescaped (for chart titles built from a finding)."""
    import re

    return html.unescape(re.sub(r"<[^>]+>", "", html_text))


def _keep_themes(cell: object, keep: set[str]) -> str:
    return ";".join(t for t in split_themes(cell) if t in keep)


_KINDS = ("body", "title", "dateline", "salutation", "closing", "editorial")
_DOC_COLUMNS = ("doc_id", "title", "organization", "genre", "date", "file", "iso3", "warnings")


def _kind_counts(paragraphs: pd.DataFrame) -> pd.DataFrame:
    kinds = paragraphs.groupby(["doc_id", "kind"]).size().unstack(fill_value=0)
    out = pd.DataFrame(index=kinds.index)
    out["paragraphs"] = kinds.sum(axis=1)
    for k in _KINDS:
        out[f"kind_{k}"] = kinds[k] if k in kinds.columns else 0
    return out


def _finish_documents(docs: pd.DataFrame, allp: pd.DataFrame, removed: pd.DataFrame) -> pd.DataFrame:
    docs = docs.copy()
    for c in _DOC_COLUMNS:
        docs[c] = docs[c].fillna("").astype(str) if c in docs.columns else ""
    counts = _kind_counts(allp) if len(allp) else pd.DataFrame()
    docs = docs[list(_DOC_COLUMNS)].join(counts, on="doc_id") if len(counts) else docs[list(_DOC_COLUMNS)]
    docs["removed"] = docs["doc_id"].map(removed.groupby("doc_id").size()).fillna(0).astype(int)
    for c in ["paragraphs", *[f"kind_{k}" for k in _KINDS]]:
        docs[c] = docs[c].fillna(0).astype(int) if c in docs.columns else 0
    return docs.sort_values(["date", "doc_id"], kind="mergesort").reset_index(drop=True)


def _documents_from_build(build: Path, selected: set[str]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Documents, cleaning log, paragraph kinds and skipped documents from the ingest folder ``build``."""
    docs = pd.read_csv(build / "documents.csv", dtype=str, keep_default_na=False)
    docs = docs[docs["doc_id"].isin(selected)]
    cleaning = build / "cleaning.csv"
    removed = (pd.read_csv(cleaning, dtype={"doc_id": str, "rule": str, "text": str}, keep_default_na=False)
               if cleaning.is_file() else pd.DataFrame(columns=["doc_id", "char_start", "char_end", "rule", "text"]))
    removed = removed[removed["doc_id"].isin(selected)].reset_index(drop=True)
    parquet = build / "paragraphs.parquet"
    allp = (pd.read_parquet(parquet, columns=["para_id", "doc_id", "kind"]) if parquet.is_file()
            else pd.DataFrame(columns=["para_id", "doc_id", "kind"]))
    allp = allp[allp["doc_id"].isin(selected)].reset_index(drop=True)
    skipped_path = build / "skipped.csv"
    skipped = (pd.read_csv(skipped_path, dtype=str, keep_default_na=False) if skipped_path.is_file()
               else pd.DataFrame(columns=["doc_id", "file", "line", "error"]))
    return _finish_documents(docs, allp, removed), removed, allp, skipped


def _documents_from_corpus(corpus: Path, selected: set[str]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The same tables as :func:`_documents_from_build`, reading the corpus in memory (documents that fail are skipped)."""
    from helpers.corpus import iter_documents

    docs, removed, allp, skipped = [], [], [], []
    for doc in iter_documents(corpus, on_error="skip", skipped=skipped):
        if doc.meta["doc_id"] not in selected:
            continue
        docs.append({k: doc.meta.get(k, "") for k in _DOC_COLUMNS})
        removed.append(doc.removed)
        allp.append(doc.paragraphs[["para_id", "doc_id", "kind"]])
    removed_df = pd.concat(removed, ignore_index=True) if removed else pd.DataFrame(columns=["doc_id", "char_start", "char_end", "rule", "text"])
    allp_df = pd.concat(allp, ignore_index=True) if allp else pd.DataFrame(columns=["para_id", "doc_id", "kind"])
    skipped_df = pd.DataFrame(skipped, columns=["doc_id", "file", "line", "error"]).astype(str)
    return _finish_documents(pd.DataFrame(docs, columns=list(_DOC_COLUMNS)), allp_df, removed_df), removed_df, allp_df, skipped_df


#: Largest ratio between the years' mean words per body paragraph for which paragraph shares are compared across years.
MAX_PARAGRAPH_LENGTH_RATIO = 2.0


def trend_unit(annotated: pd.DataFrame) -> tuple[str, pd.Series]:
    """The unit trends are counted in, and the mean words per body paragraph of each year.

    ``"paragraph"`` unless the years' mean paragraph lengths differ by more than
    :data:`MAX_PARAGRAPH_LENGTH_RATIO` (a source that splits speeches differently from year to
    year, as the UN General Debate corpus does): then a share of paragraphs would move with the
    splitting, not with what is said, and trends count ``"document"`` (share of documents that
    raise the theme at least once). Returns the unit and the mean words per paragraph by year
    (float, index year as str).
    """
    words = annotated["n_words"] if "n_words" in annotated.columns else annotated["text"].astype(str).str.split().str.len()
    lengths = pd.Series(words.to_numpy(float), index=annotated["date"].astype(str).str[:4].to_numpy()).groupby(level=0).mean()
    if len(lengths) >= MIN_TREND_YEARS and lengths.min() > 0 and lengths.max() / lengths.min() > MAX_PARAGRAPH_LENGTH_RATIO:
        return "document", lengths
    return "paragraph", lengths


def more_rows(shown: int, total: int, csv: str, what: str = "rows") -> str:
    """A sentence saying how many rows a cut table leaves out and where they are; ``""`` when none."""
    if total <= shown:
        return ""
    return (f'<p class="note">Showing {shown} of {total:,} {esc(what)}; the other {total - shown:,} are in '
            f"<code>{esc(csv)}</code> in the reports folder.</p>")


def group_paragraphs(annotated: pd.DataFrame, evidence: pd.DataFrame | None,
                     assignments: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The paragraphs relabelled by group, so the frequency functions count per group.

    ``assignments``: :func:`helpers.groups.assign_groups` output (``doc_id, group``). Each
    paragraph appears once per group of its document with ``organization`` set to the group;
    when a document is in several groups, ``para_id`` becomes ``<para_id>@<group>`` (in the
    evidence table too) so that each copy is counted once in its own group. Returns the
    relabelled paragraphs (same columns) and evidence (or ``None``).
    """
    multi = assignments["doc_id"].duplicated().any()
    merged = annotated.drop(columns=["organization"]).merge(assignments.astype(str), on="doc_id", how="inner", sort=False)
    merged = merged.rename(columns={"group": "organization"})
    if not multi:
        return merged[annotated.columns], evidence
    merged["para_key"] = merged["para_id"]
    merged["para_id"] = merged["para_id"].astype(str) + "@" + merged["organization"].astype(str)
    ev = None
    if evidence is not None:
        ev = evidence.merge(merged[["para_key", "para_id"]].rename(columns={"para_id": "new_id"}), left_on="para_id",
                            right_on="para_key", how="inner").drop(columns=["para_id", "para_key"]).rename(columns={"new_id": "para_id"})
    return merged[annotated.columns], ev


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

    At scale and per group: ``assignments`` (:func:`helpers.groups.assign_groups` for
    ``group_by``; ``freq_org``, ``rank_org`` and ``keyness`` are then per group), ``grouped``
    and ``grouped_evidence`` (:func:`group_paragraphs`), ``skipped`` (documents the ingest
    skipped), and the tables ``trends``, ``changes``, ``versus`` (:mod:`helpers.trends`,
    counted in ``trend_unit``, see :func:`trend_unit`), ``reuse_kinds``, ``reuse_cross_self``,
    ``reused_passages``, ``reuse_groups`` (:mod:`helpers.reuse_summary`) and
    ``group_similarity`` (more than :data:`MAX_DOCUMENTS` documents).
    """

    selection: Selection
    codebook: Any
    annotated: pd.DataFrame
    evidence: pd.DataFrame | None
    documents: pd.DataFrame
    removed: pd.DataFrame
    all_paragraphs: pd.DataFrame
    skipped: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["doc_id", "file", "line", "error"]))
    assignments: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["doc_id", "group"]))
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    agreement: dict[str, Any] = field(default_factory=dict)
    figures: charts.Figures = field(default_factory=charts.Figures)
    numbered: Tables = field(default_factory=Tables)

    # ------------------------------------------------------------------ loading
    @classmethod
    def load(cls, **params: Any) -> "Briefing":
        """Read the inputs named by the notebook parameters, validate them, compute all tables.

        Reads ``REPORTS/annotated_paragraphs.csv`` and the evidence table (``make annotate``),
        the codebook, and the documents: from the ingest folder ``build`` when given
        (``documents.csv`` with ``iso3`` and ``warnings``, ``cleaning.csv``, ``skipped.csv``,
        the paragraph kinds of ``paragraphs.parquet``), else by reading the corpus in memory
        with the default cleaning rules (documents that cannot be read are skipped and listed).
        Groups documents by ``group_by`` (:func:`helpers.groups.assign_groups`), computes every
        table and writes the briefing's own tables to the reports folder (:meth:`write_tables`).
        Raises :class:`~helpers.errors.ParameterError` for bad parameters (see
        :func:`helpers.params.validate_params`).
        """
        from helpers.codebook import load_codebook

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
            # Arrow's is_in: pandas's isin converts a large value set element by element (0.4 s at 57,000 paragraphs).
            chosen_para = pc.is_in(pa.array(evidence["para_id"].astype(str)), value_set=pa.array(chosen["para_id"].astype(str)))
            evidence = evidence[chosen_para.to_numpy(zero_copy_only=False) & evidence["theme"].isin(keep)].reset_index(drop=True)
        selected_docs = set(chosen["doc_id"])
        build = resolve_path(selection.build) if selection.build else None
        if build is not None and (build / "documents.csv").is_file():
            documents, removed, allp, skipped = _documents_from_build(build, selected_docs)
        else:
            documents, removed, allp, skipped = _documents_from_corpus(corpus_path, selected_docs)
        b = cls(selection=selection, codebook=codebook, annotated=chosen, evidence=evidence, documents=documents,
                removed=removed, all_paragraphs=allp, skipped=skipped)
        groups = load_groups(resolve_path(selection.groups))
        b.assignments = assign_groups(documents[["doc_id", "organization", "date", "iso3"]], selection.group_by, groups)
        # With an ingest folder (make report), each chart's PNG twin goes there for the PDF.
        b.figures = charts.Figures(source=b.source_line, print_dir=build / "figures" if build is not None else None)
        b._compute()
        b._load_agreement(corpus_path)
        b.write_tables()
        return b

    @property
    def source_line(self) -> str:
        n = len(self.documents)
        return (f"{n} document{'s' if n != 1 else ''} in {self.selection.corpus}/manifest.csv, body paragraphs coded with "
                f"{Path(self.selection.codebook).name} (see the methods appendix)")

    @property
    def by_organization(self) -> bool:
        """True when measures are per organisation (``group_by=organization``), False for groups of speakers."""
        return self.selection.group_by == "organization"

    @property
    def unit(self) -> str:
        """What a group is called in the text: "organisation" or "group"."""
        return "organisation" if self.by_organization else "group"

    @property
    def multi_membership(self) -> bool:
        """True when some document counts in several groups (e.g. Russia in the CSTO, SCO and BRICS)."""
        return bool(self.assignments["doc_id"].duplicated().any())

    def _full_selection(self) -> bool:
        s = self.selection
        return (s.all_organizations and s.all_themes and not s.date_from and not s.date_to
                and s.min_reuse_words == DEFAULTS["min_reuse_words"])

    def _analysis_csv(self, name: str, compute: Any) -> pd.DataFrame:
        """The table ``name`` of ``make analyse`` when the selection is the whole corpus (same
        arguments, so the same numbers), else ``compute()`` on the selection."""
        path = resolve_path(self.selection.reports) / name
        if self._full_selection() and path.is_file():
            text_like = {"doc_a", "doc_b", "para_a", "para_b", "organization_a", "organization_b", "shared_themes", "shared_terms",
                         "text_a", "text_b", "group", "term", "by", "doc_id", "theme", "theme_a", "theme_b"}
            header = pd.read_csv(path, nrows=0).columns
            return restore_formulas(pd.read_csv(path, dtype={c: str for c in header if c in text_like}, keep_default_na=False,
                                                na_values={c: [""] for c in header if c not in text_like}))
        return compute()

    def _compute(self) -> None:
        s, a, ev = self.selection, self.annotated, self.evidence
        themes = list(s.themes)
        t: dict[str, pd.DataFrame] = {}
        grouped, grouped_ev = group_paragraphs(a, ev, self.assignments)
        self.grouped, self.grouped_evidence = grouped, grouped_ev
        # The whole corpus with every codebook theme: make analyse's own tables, computed with the same arguments.
        done = self._analysis_csv("theme_frequencies.csv", lambda: None) if sorted(themes) == sorted(self.codebook.theme_ids) else None

        def frequencies(level: str, table: pd.DataFrame, evidence: pd.DataFrame | None) -> pd.DataFrame:
            if done is not None and (level != "organization" or self.by_organization):
                return done[done["by"] == level].reset_index(drop=True)
            return theme_frequencies(table, by=level, evidence=evidence, themes=themes)

        t["freq_doc"] = frequencies("document", a, ev)
        t["freq_org"] = frequencies("organization", grouped, grouped_ev)
        t["freq_year"] = frequencies("year", a, ev)
        pooled = a.assign(organization=ALL)
        t["freq_all"] = theme_frequencies(pooled, by="organization", evidence=ev, themes=themes)
        t["rank_org"] = rank_themes(t["freq_org"], top=None)
        t["rank_all"] = rank_themes(t["freq_all"], top=None)
        t["cooc"] = self._analysis_csv("cooccurrence.csv", lambda: theme_cooccurrence(a, min_support=MIN_SUPPORT))
        t["similarity"] = self._analysis_csv("document_similarity.csv", lambda: document_similarity(a))
        if len(self.documents) > MAX_DOCUMENTS:
            shown = set(self.shown_groups())
            sub = grouped[grouped["organization"].isin(shown)]
            t["group_similarity"] = document_similarity(sub.assign(doc_id=sub["organization"]))
        t["similar"] = self._analysis_csv("similar_paragraphs.csv", lambda: similar_paragraphs(a, top_n=TOP_SIMILAR))
        t["reuse"] = self._analysis_csv("text_reuse.csv", lambda: find_reuse(a, min_words=s.min_reuse_words))
        t["reuse_pairs"] = self._analysis_csv("reuse_by_document_pair.csv", lambda: reuse_by_document_pair(t["reuse"], a))
        t["keyness"] = self._keyness()
        t["quotes"] = self._quotes(grouped, grouped_ev)
        # Trends: per group, plus the whole selection pooled.
        trend_assign = pd.concat([self.assignments, pd.DataFrame({"doc_id": self.documents["doc_id"], "group": ALL})], ignore_index=True)
        self.trend_unit, self.paragraph_lengths = trend_unit(a)
        t["trends"] = theme_trends(a, trend_assign, unit=self.trend_unit, themes=themes)
        t["changes"] = theme_changes(t["trends"])
        t["versus"] = (members_vs_rest(a, self.assignments, unit="paragraph", themes=themes) if not self.by_organization
                       else pd.DataFrame(columns=["group", "theme", "members_carrying", "members_total", "members_share",
                                                  "rest_carrying", "rest_total", "rest_share", "difference", "diff_low",
                                                  "diff_high", "z", "p_value", "q_value"]))
        docs = self.documents[["doc_id", "organization", "date"]]
        t["reuse_kinds"] = reuse_kind_totals(t["reuse"], docs)
        t["reuse_cross_self"] = reuse_cross_vs_self(t["reuse"], docs)
        t["reused_passages"] = reused_passages(t["reuse"], docs)
        t["reuse_groups"] = (reuse_between_groups(t["reuse"], self.assignments, kind="cross", documents=docs)
                             if not self.by_organization else pd.DataFrame())
        self.tables = t

    def _quotes(self, grouped: pd.DataFrame, grouped_ev: pd.DataFrame | None) -> pd.DataFrame:
        """One evidence quote per theme and organisation or group (the first of ``evidence_quotes.csv`` for the whole corpus
        by organisation: the same ranking, already computed by ``make analyse``)."""
        if grouped_ev is None or not len(grouped_ev):
            return pd.DataFrame()
        if self.by_organization:
            q = self._analysis_csv("evidence_quotes.csv", lambda: None)
            if q is not None and {"rank", "para_id", "group", "theme", "quote"} <= set(q.columns):
                q = q[pd.to_numeric(q["rank"], errors="coerce") == 1].reset_index(drop=True)  # empty ranks at scale
                return q.astype({"para_id": str, "group": str, "theme": str, "quote": str})
        with self._token_cache() as (cache, update):
            return evidence_quotes(grouped, grouped_ev, per_group=1, cache_dir=cache, update_cache=update)

    def _keyness(self) -> pd.DataFrame:
        """Distinctive terms per organisation (as ``make analyse``) or per group against non-members."""
        a = self.annotated
        if self.by_organization:
            return self._analysis_csv("keyness.csv", lambda: keyness(a, by="organization", min_freq=KEYNESS_MIN_FREQ))
        frames = self._group_keyness(KEYNESS_MIN_FREQ)
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["group", "term", "direction", "ll"])

    def _group_keyness(self, min_freq: int, theme: str | None = None) -> list[pd.DataFrame]:
        """Keyness of each shown group (not ``rest``/``none``) against every speaker outside it: one
        :func:`helpers.keyness.keyness` table per group, its own rows only, in :meth:`shown_groups` order.

        The calls share one token cache (:meth:`_token_cache`), so the paragraphs are tokenised once
        instead of once per group; the tables are those of uncached calls.
        """
        a = self.annotated
        docs = a["doc_id"].tolist()
        all_docs = set(docs)
        frames = []
        with self._token_cache() as (tokens, update):
            for group in self.shown_groups():
                if group in ("rest", "none"):
                    continue
                members = set(self.assignments.loc[self.assignments["group"] == group, "doc_id"])
                if not members or members >= all_docs:
                    continue
                labelled = a.assign(organization=[group if d in members else "\x1fothers" for d in docs])
                k = keyness(labelled, by="organization", min_freq=min_freq, theme=theme, cache_dir=tokens,
                            update_cache=update)
                frames.append(k[k["group"] == group])
        return frames

    @contextmanager
    def _token_cache(self) -> Iterator[tuple[str, bool]]:
        """``(folder, update)`` for the paragraph caches (keyness tokens, quote sentences): the ingest
        folder's, read only (``make analyse`` keeps them), or a temporary folder removed on exit."""
        build = resolve_path(self.selection.build) if self.selection.build else None
        if build is not None and build.is_dir():
            yield str(build), False
            return
        with tempfile.TemporaryDirectory(prefix="briefing-keyness-") as tokens:
            yield tokens, True

    def shown_groups(self) -> list[str]:
        """The groups drawn and listed one by one: all when there are at most :data:`MAX_GROUPS`, else the
        largest by body paragraphs (ties by name). ``rest``/``none`` come last."""
        cached = self.__dict__.get("_shown_groups")
        if cached is not None and cached[0] is self.assignments:
            return list(cached[1])
        sizes = self.assignments.merge(self.annotated.groupby("doc_id").size().rename("n").reset_index(), on="doc_id")
        sizes = sizes.groupby("group")["n"].sum()
        if len(sizes) > MAX_GROUPS:  # at scale, the catch-all of documents with no organisation is not one speaker
            sizes = sizes.drop(index=UNKNOWN, errors="ignore")
        order = sorted(sizes.index, key=lambda g: (g in ("rest", "none"), -int(sizes[g]) if len(sizes) > MAX_GROUPS else 0, g))
        self.__dict__["_shown_groups"] = (self.assignments, order[:MAX_GROUPS])
        return order[:MAX_GROUPS]

    def write_tables(self) -> dict[str, Path]:
        """Write the briefing's own tables to the reports folder (temporary file, then rename).

        ``theme_trends.csv`` (:func:`helpers.trends.theme_trends` per group plus the pooled
        selection as "All organisations"), ``theme_changes.csv``, ``members_vs_rest.csv``
        (header only when ``group_by=organization``), ``reuse_cross_vs_self.csv``,
        ``reused_passages.csv``, ``group_frequencies.csv`` (theme frequencies per group of
        ``group_by``), ``briefing_documents.csv`` (the selected documents with their groups)
        and ``input_files.csv`` (every input file with its SHA-256).
        """
        from helpers import provenance

        t = self.tables
        reports = resolve_path(self.selection.reports)
        groups = self.assignments.groupby("doc_id", sort=False)["group"].agg(";".join)
        docs = self.documents.assign(groups=self.documents["doc_id"].map(groups).fillna(""))
        tables = {
            "theme_trends.csv": t["trends"], "theme_changes.csv": t["changes"], "members_vs_rest.csv": t["versus"],
            "reuse_cross_vs_self.csv": t["reuse_cross_self"], "reused_passages.csv": t["reused_passages"],
            "group_frequencies.csv": t["freq_org"], "briefing_documents.csv": docs,
            "input_files.csv": provenance.file_hashes(self._input_files()),
        }
        self.input_hashes = tables["input_files.csv"]
        return {name: write_csv(df, reports / name) for name, df in tables.items()}

    def _input_files(self) -> list[Path]:
        from helpers import provenance

        s = self.selection
        corpus = resolve_path(s.corpus)
        from helpers.corpus import DEFAULT_CLEANING
        from helpers.organizations import DEFAULT_ORGANIZATIONS

        # The cleaning rules and organisation names are the project's (make's defaults), whatever the corpus.
        extra = [DEFAULT_CLEANING, DEFAULT_ORGANIZATIONS, corpus / "annotations" / "overrides.csv",
                 corpus / "annotations" / "validation.csv", resolve_path(s.groups)]
        return provenance.input_files(corpus, resolve_path(s.codebook), extra)

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
        dis = restore_formulas(pd.read_csv(dis_path, dtype=str, keep_default_na=False)) if dis_path.is_file() else pd.DataFrame()
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
        grouping = "" if self.by_organization else f" Measures are per group of speakers ({esc(self.grouping_text())})."
        return (
            f'<header class="cover"><h1>{esc(s.title)}</h1><p class="subtitle">{esc(s.subtitle)}</p>'
            f'<p class="meta">Selection: {esc(orgs)}; {esc(themes)}; documents dated {esc(dates)}.{grouping} '
            f"Every number below is computed from the corpus by the code of this project; the CSV files in the reports folder hold them all.</p></header>"
            '<nav id="toc" class="toc"></nav>'
        )

    def grouping_text(self) -> str:
        """How documents are grouped, in words: "blocs: CSTO, SCO, BRICS, NATO, EU; a speech counts in every group ..."."""
        s = self.selection
        if self.by_organization:
            return "by organisation"
        groups = load_groups(resolve_path(s.groups))
        ids = groups.sets.get(s.group_by, (s.group_by,))
        other = "rest" if s.group_by in groups.groups else "none"
        several = "; a speech whose state belongs to several groups counts in each" if s.group_by in groups.sets else ""
        return f"group_by = {s.group_by}: {', '.join(ids)} members on each document's date, and '{other}' for the other speakers{several}"

    @property
    def section_titles(self) -> dict[str, str]:
        """Headings that depend on the run (per organisation or per group)."""
        if self.by_organization:
            return {}
        return {"themes-by-organization": "3.1 Themes by group", "themes-by-document": "3.2 Themes by document and group"}

    def _group_sizes(self) -> pd.DataFrame:
        """``group``, ``documents``: documents per group, in :meth:`shown_groups` order (all groups)."""
        n = self.assignments.groupby("group")["doc_id"].nunique()
        order = [g for g in self.shown_groups()] + sorted(set(n.index) - set(self.shown_groups()))
        return pd.DataFrame({"group": order, "documents": [int(n[g]) for g in order]})

    def key_findings(self) -> list[findings.Finding]:
        """The key findings of this selection (see :func:`helpers.findings.key_findings`)."""
        t = self.tables
        overall = self.agreement.get("overall") if self.agreement else None
        shown = [g for g in self.shown_groups() if self.by_organization or g not in OUTSIDE]
        freq_shown = t["freq_org"][t["freq_org"]["group"].isin(shown) & (t["freq_org"]["body_paragraphs"] >= (
            MIN_PARAGRAPHS_RANKED if t["freq_org"]["group"].nunique() > MAX_GROUPS else 0))]
        rank_shown = t["rank_org"][t["rank_org"]["group"].isin(shown)]
        return findings.key_findings(
            documents=self.documents, n_body=len(self.annotated), ranked_overall=t["rank_all"], ranked_by_org=rank_shown,
            freq_by_org=freq_shown, cooccurrence=t["cooc"], min_support=MIN_SUPPORT, similarity=t["similarity"],
            reuse_pairs=t["reuse_pairs"], min_reuse_words=self.selection.min_reuse_words, labels=self.labels,
            titles=self.titles, agreement=overall, agreement_n=self.agreement.get("n_paragraphs") if self.agreement else None,
            groups=None if self.by_organization else self._group_sizes(),
            changes=t["changes"], trend_groups=self.trend_groups(), versus=t["versus"] if not self.by_organization else None,
            reuse_kinds=t["reuse_kinds"], reused=t["reused_passages"],
            trend_unit="documents" if self.trend_unit == "document" else "body paragraphs", multi_membership=self.multi_membership,
            unit=f"{self.unit}s",
        )

    def trend_groups(self) -> list[str]:
        """The groups whose trends are drawn: every shown group when there are few, else the pooled selection only."""
        shown = [g for g in self.shown_groups()]
        if self.tables["freq_org"]["group"].nunique() > 7:
            return [ALL]
        return shown

    def key_findings_html(self) -> str:
        return _h(2, "key-findings") + findings.findings_html(self.key_findings(), self.section_titles)

    def corpus_html(self) -> str:
        """Documents table and what cleaning removed."""
        d = self.documents.copy()
        body = self.annotated.groupby("doc_id").agg(body=("para_id", "size"), words=("n_words", "sum"))
        d = d.join(body, on="doc_id")
        kinds = ("title", "dateline", "salutation", "closing", "editorial")
        d["kinds"] = [
            "; ".join(f"{n} {k}" for k, n in zip(kinds, counts) if n) or "none"
            for counts in zip(*(d[f"kind_{k}"].astype(object).tolist() for k in kinds))
        ]
        d["document"] = [f"<strong>{esc(title)}</strong><br><span class=\"note\">{esc(doc)}</span>"
                         for title, doc in zip(d["title"].astype(object).tolist(), d["doc_id"].astype(object).tolist())]
        n_orgs = d["organization"].nunique()
        intro = (f"<p>The selection holds {len(d):,} documents from {n_orgs} organisation{'s' if n_orgs != 1 else ''}, "
                 f"{int(d['body'].sum()):,} body paragraphs and {int(d['words'].sum()):,} words of body text. "
                 "Only body paragraphs are coded and counted; titles, datelines, salutations, closings and editorial "
                 "notes are kept for context.</p>")
        if len(d) <= MAX_DOCUMENTS:
            table = html_table(
                d, [("document", "Document", "html"), ("organization", "Organisation", "text"), ("genre", "Genre", "text"),
                    ("date", "Date", "text"), ("body", "Body ¶", "num"), ("words", "Words", "num"), ("kinds", "Other paragraphs", "text")],
                "Documents in the selection, with their body paragraphs and words and the other paragraph kinds kept for context.",
                self.numbered, widths=["30%", "12%", "11%", "12%", "7%", "9%", "19%"])
        else:
            table = self._corpus_summary_tables(d)
        if not self.by_organization:
            table += self._groups_table(d)
        rem = self.removed
        if len(rem):
            per = rem.groupby(["doc_id", "rule"]).size().rename("n").reset_index()
            summary = per.groupby("doc_id").apply(
                lambda g: "; ".join(f"{r['rule']} ×{r['n']}" for _, r in g.iterrows()), include_groups=False).rename("rules")
            counts = rem.groupby("doc_id").size().rename("fragments")
            clean = pd.concat([counts, summary], axis=1).reset_index()
            clean["title"] = clean["doc_id"].map(self.titles)
            total = len(clean)
            clean = clean.sort_values(["fragments", "doc_id"], ascending=[False, True], kind="mergesort").head(
                self.selection.top_n) if total > MAX_GROUPS else clean
            cleaning = (f"<p>Cleaning removed {len(rem):,} fragments of web boilerplate (advertisements, navigation, tags, "
                        f"catalogue codes, source lines) from {total:,} document{'s' if total != 1 else ''} by rules kept in "
                        "<code>data/cleaning.yml</code>; each is logged with its rule and character offsets.</p>"
                        + html_table(
                            clean, [("title", "Document", "text"), ("fragments", "Removed", "num"), ("rules", "Rules that removed them", "text")],
                            "What cleaning removed, per document" + (" (the documents with the most removed)." if total > len(clean) else "."),
                            self.numbered, widths=["45%", "10%", "45%"])
                        + more_rows(len(clean), total, "cleaning.csv (in the build folder)", "documents"))
        else:
            cleaning = "<p>Cleaning removed nothing from the selected documents.</p>"
        return _h(2, "corpus") + intro + table + cleaning

    def _corpus_summary_tables(self, d: pd.DataFrame) -> str:
        """At scale: documents, organisations, paragraphs and words per year instead of one row per document."""
        y = d.assign(year=d["date"].str[:4]).groupby("year").agg(
            documents=("doc_id", "size"), organisations=("organization", "nunique"), body=("body", "sum"), words=("words", "sum"))
        y = y.reset_index()
        y["words_s"] = y["words"].map(lambda v: f"{int(v):,}")
        y["body_s"] = y["body"].map(lambda v: f"{int(v):,}")
        out = html_table(y, [("year", "Year", "text"), ("documents", "Documents", "num"), ("organisations", "Organisations", "num"),
                             ("body_s", "Body paragraphs", "num"), ("words_s", "Words", "num")],
                         "Documents, organisations, body paragraphs and words per year.", self.numbered,
                         widths=["20%", "20%", "20%", "20%", "20%"])
        longest = d.sort_values(["words", "doc_id"], ascending=[False, True], kind="mergesort").head(self.selection.top_n)
        out += html_table(longest, [("document", "Document", "html"), ("organization", "Organisation", "text"), ("date", "Date", "text"),
                                    ("body", "Body ¶", "num"), ("words", "Words", "num")],
                          f"The {len(longest)} longest documents by words of body text.", self.numbered,
                          widths=["44%", "20%", "14%", "10%", "12%"])
        out += more_rows(len(longest), len(d), "briefing_documents.csv", "documents")
        return out

    def _groups_table(self, d: pd.DataFrame) -> str:
        """Documents, organisations and body paragraphs per group of ``group_by``."""
        m = self.assignments.merge(d[["doc_id", "organization", "body", "words"]], on="doc_id")
        g = m.groupby("group").agg(documents=("doc_id", "nunique"), organisations=("organization", "nunique"),
                                   body=("body", "sum"), words=("words", "sum"))
        g = g.reindex(self._group_sizes()["group"]).reset_index()
        g["members"] = [", ".join(sorted(set(m.loc[m["group"] == x, "organization"])))
                        if g.loc[i, "organisations"] <= 12 else f"{int(g.loc[i, 'organisations'])} organisations"
                        for i, x in enumerate(g["group"])]
        multi = self.multi_membership
        note = (" A document whose speaker belongs to several groups counts in each, so the rows add up to more than the "
                "selection." if multi else "")
        g["body"] = g["body"].map(lambda v: f"{int(v):,}")
        return (f"<p>Documents are grouped by {esc(self.grouping_text())}.{esc(note)}</p>"
                + html_table(g, [("group", "Group", "text"), ("documents", "Documents", "num"), ("body", "Body ¶", "num"),
                                 ("members", "Speakers in the selection", "text")],
                             "Groups of speakers: documents, body paragraphs and the speakers they hold.", self.numbered,
                             widths=["14%", "12%", "12%", "62%"]))

    def _theme_order(self) -> list[str]:
        f = self.tables["freq_all"]
        present = f[f["paragraphs"] > 0].sort_values(["share", "theme"], ascending=[False, True], kind="mergesort")
        return present["theme"].tolist()

    def themes_html(self) -> str:
        """Themes per organisation or group (small multiples, or a top-N view at scale), the counts table, themes by
        document, change over time and members against the rest."""
        t = self.tables
        order = self._theme_order()
        titles = self.section_titles
        out = [_h(2, "themes"),
               "<p>A paragraph carries a theme when a codebook rule matches it (or an analyst added it). Shares are of body "
               "paragraphs and come with 95% Wilson intervals; where two intervals overlap, the data do not say which theme "
               "is more frequent, and the text does not rank them.</p>"]
        out.append(_h(3, "themes-by-organization", titles.get("themes-by-organization")))
        if not order:
            out.append("<p>No paragraph of the selection carries any of the selected themes.</p>")
            out += [_h(3, "themes-by-document", titles.get("themes-by-document")), _h(3, "themes-over-time"), _h(3, "members-vs-rest")]
            return "".join(out)
        if not self.by_organization:
            out.append(f"<p>Groups: {esc(self.grouping_text())}.</p>")
        shown = self.shown_groups()
        n_groups = t["freq_org"]["group"].nunique()
        if n_groups <= MAX_GROUPS:
            out.append(self._small_multiples_html(order, shown))
        else:
            out.append(self._top_groups_html(order, shown, n_groups))
        out.append(self._counts_table(order))
        out.append(_h(3, "themes-by-document", titles.get("themes-by-document")))
        if len(self.documents) <= MAX_DOCUMENTS:
            out.append(self._document_heatmap_html(order))
        else:
            out.append(self._documents_by_theme_html(order))
        out.append(_h(3, "themes-over-time"))
        out.append(self._over_time_html(order))
        out.append(_h(3, "members-vs-rest"))
        out.append(self._versus_html())
        return "".join(out)

    def _small_multiples_html(self, order: list[str], shown: list[str]) -> str:
        t = self.tables
        fo = t["freq_org"][t["freq_org"]["theme"].isin(order) & t["freq_org"]["group"].isin(shown)].copy()
        fo["label"] = fo["theme"].map(self.label)
        inside = [g for g in shown if self.by_organization or g not in OUTSIDE]
        lead = findings.organization_lead_finding(t["rank_org"][t["rank_org"]["group"].isin(inside)], dict(self.labels), f"{self.unit}s")
        if not self.by_organization:
            fo["group"] = fo["group"].map(lambda g: OUTSIDE.get(g, g))
            shown = [OUTSIDE.get(g, g) for g in shown]
        title = self._org_chart_title()
        fig = charts.small_multiples(fo, panel="group", category="label", value="share", low="ci_low", high="ci_high",
                                     count="paragraphs", category_order=[self.label(x) for x in order], title=title,
                                     xlabel="Share of body paragraphs (%)", source=self.source_line, panel_order=shown)
        alt = f"Bar charts, one per {self.unit}: " + "; ".join(
            f"{g}: " + ", ".join(f"{self.label(r['theme'])} {pct(r['share'])}" for _, r in sub.sort_values('share', ascending=False, kind='mergesort').head(5).iterrows())
            for g, sub in fo.groupby("group"))
        out = f"<p>{lead.text}</p>" if lead is not None else ""
        return out + self.figures.html(
            fig, caption=f"Share of each {self.unit}'s body paragraphs carrying each theme, with 95% Wilson intervals; n = paragraphs.", alt=alt)

    def _top_groups_html(self, order: list[str], shown: list[str], n_groups: int) -> str:
        """More than :data:`MAX_GROUPS` groups: a heatmap of the largest, and per theme the groups with the highest share."""
        t, s = self.tables, self.selection
        fo = t["freq_org"]
        matrix = fo[fo["theme"].isin(order) & fo["group"].isin(shown)].pivot_table(index="group", columns="theme", values="share", aggfunc="first")
        matrix = matrix.reindex(index=shown, columns=order)
        pooled = t["freq_all"].set_index("theme")["share"].reindex(order)
        matrix.loc[f"{ALL} ({n_groups})"] = pooled.to_numpy()
        top = order[0]
        fig = charts.heatmap(matrix, title=f"{self.label(top)} is the most frequent theme overall ({pct(pooled[top])} of body paragraphs); "
                             f"the {len(shown)} {self.unit}s with the most text, theme by theme",
                             xlabel="Theme", ylabel=self.unit.capitalize(), colorbar_label="Share of body paragraphs (%)",
                             source=self.source_line, vmax=float(max(matrix.max().max(), 0.01)))
        out = [f"<p>With {n_groups} {self.unit}s in the selection, the chart shows the {len(shown)} with the most body paragraphs "
               f"and the whole selection; the table after it names, for each theme, the {self.unit}s with the highest share among "
               f"those with at least {MIN_PARAGRAPHS_RANKED} body paragraphs. Every {self.unit} is in <code>group_frequencies.csv</code>."
               + (" To compare blocs of states (CSTO, SCO, BRICS, NATO and EU members and everyone else) instead, render with "
                  "<code>group_by: blocs</code> (<code>make report GROUP_BY=blocs</code>)." if self.by_organization else "") + "</p>",
               self.figures.html(fig, caption=f"Share of body paragraphs carrying each theme (%), for the {len(shown)} {self.unit}s with the "
                                 f"most body paragraphs and for all {n_groups}.",
                                 alt=f"Heatmap of {len(shown)} {self.unit}s by {len(order)} themes; overall, {self.label(top)} leads at {pct(pooled[top])}.")]
        eligible = fo[(fo["body_paragraphs"] >= MIN_PARAGRAPHS_RANKED) & fo["theme"].isin(order) & (fo["group"] != UNKNOWN)]
        rows = []
        for theme in order:
            g = eligible[eligible["theme"] == theme].sort_values(["share", "group"], ascending=[False, True], kind="mergesort").head(s.top_n)
            rows.append({"theme": self.label(theme), "all": pct(pooled[theme]),
                         "top": "; ".join(f"{r['group']} {pct(r['share'])} ({100 * r['ci_low']:.0f}–{100 * r['ci_high']:.0f})" for _, r in g.iterrows())})
        out.append(html_table(pd.DataFrame(rows), [("theme", "Theme", "text"), ("all", "All", "num"), ("top", f"Highest shares (95% CI), top {s.top_n}", "text")],
                              f"For each theme, the {s.top_n} {self.unit}s with the highest share of body paragraphs carrying it "
                              f"(among {int(eligible['group'].nunique())} with at least {MIN_PARAGRAPHS_RANKED} body paragraphs; documents with no "
                              "organisation in the manifest, counted as 'unknown', are left out).",
                              self.numbered, widths=["30%", "8%", "62%"]))
        return "".join(out)

    def _document_heatmap_html(self, order: list[str]) -> str:
        fd = self.tables["freq_doc"]
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
        return self.figures.html(fig, caption="Document × theme: share of each document's body paragraphs carrying each theme (%, printed in each cell). Documents with one body paragraph show 0 or 100.",
                                 alt=f"Heatmap of {len(matrix)} documents by {len(order)} themes; {self.label(best_theme)} is the top theme of {n_docs} documents; the highest share is {self.label(top_doc['theme'])} in {top_doc['group']} at {pct(top_doc['share'])}.")

    def _documents_by_theme_html(self, order: list[str]) -> str:
        """At scale: per theme, how many documents raise it and the documents that give it the largest share."""
        fd = self.tables["freq_doc"]
        n_docs = len(self.documents)
        min_body = 10
        orgs = dict(zip(self.documents["doc_id"], self.documents["organization"]))
        rows = []
        for theme in order:
            g = fd[fd["theme"] == theme]
            raising = int((g["paragraphs"] > 0).sum())
            top = g[g["body_paragraphs"] >= min_body].sort_values(["share", "paragraphs", "group"], ascending=[False, False, True], kind="mergesort").head(3)
            rows.append({"theme": self.label(theme), "raising": f"{raising:,} ({pct(raising / n_docs)})",
                         "top": "; ".join(f"{r['group']} ({orgs.get(r['group'], '')}) {int(r['paragraphs'])}/{int(r['body_paragraphs'])}" for _, r in top.iterrows())})
        return (f"<p>With {n_docs:,} documents, one row per document would not be readable: the table gives, for each theme, how many "
                f"documents raise it at least once and the three documents (of at least {min_body} body paragraphs) where it takes the "
                "largest share. Every document × theme count is in <code>theme_frequencies.csv</code> (by = document).</p>"
                + html_table(pd.DataFrame(rows), [("theme", "Theme", "text"), ("raising", "Documents raising it", "num"),
                                                  ("top", "Largest share: document (speaker) paragraphs/body", "text")],
                             "Themes by document: documents raising each theme, and where it weighs most.", self.numbered,
                             widths=["28%", "16%", "56%"]))

    def _org_chart_title(self) -> str:
        """The finding of the small multiples: which organisations have a clear leading theme."""
        r = self.tables["rank_org"]
        r = r[r["group"].isin([g for g in self.shown_groups() if self.by_organization or g not in OUTSIDE])]
        clear, level = [], []
        for org, g in r.groupby("group", sort=True):
            top = g[g["tie_group"] == 1]
            (clear if len(top) == 1 else level).append((org, self.label(top.iloc[0]["theme"])))
        if len(clear) + len(level) > 6:
            leads = pd.Series([theme for _, theme in clear]).value_counts()
            if len(leads):
                return (f"{leads.index[0]} clearly leads in {int(leads.iloc[0])} of {len(clear) + len(level)} {self.unit}s' texts; "
                        f"in {len(level)} no theme clearly leads")
            return f"In none of the {len(level)} {self.unit}s does one theme clearly lead"
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
        all_groups = fo["group"].nunique()
        orgs = self.shown_groups()[:6] if all_groups > 6 else sorted(fo["group"].unique())
        # Many columns or large counts: the body-paragraph total goes into the header, each cell keeps its count.
        compact = len(orgs) > 3 or int(fa["body_paragraphs"].max()) >= 1000
        totals = {o: int((fa if o == ALL else fo).query("group == @o")["body_paragraphs"].iloc[0]) for o in orgs + [ALL]}
        cells = {org: (fa if org == ALL else fo) for org in orgs + [ALL]}
        cells = {org: src[src["group"] == org].drop_duplicates("theme").set_index("theme") for org, src in cells.items()}
        rows = []
        for theme in order:
            row = {"theme": f"{esc(self.label(theme))}<br><code>{esc(theme)}</code>"}
            for org in orgs + [ALL]:
                r = cells[org].loc[theme]
                count = f"{int(r['paragraphs']):,}" if compact else f"{int(r['paragraphs'])}/{int(r['body_paragraphs'])}"
                row[org] = (f"{count}<br>"
                            f"<span class=\"note\">{pct(r['share'])} ({100 * r['ci_low']:.0f}–{100 * r['ci_high']:.0f})</span>")
            rows.append(row)
        df = pd.DataFrame(rows)
        head = (lambda o: f"{o if o != ALL else 'All'} (of {totals[o]:,})") if compact else (lambda o: o if o != ALL else "All")
        cols = [("theme", "Theme", "html")] + [(o, head(o), "html") for o in orgs + [ALL]]
        width = f"{70 / (len(orgs) + 1):.3f}%"
        which = (f"the {len(orgs)} {self.unit}s with the most body paragraphs and all {all_groups}" if all_groups > len(orgs)
                 else f"{self.unit}")
        csv = "theme_frequencies.csv (by = organization)" if self.by_organization else "group_frequencies.csv"
        layout = "paragraphs (of the body paragraphs in the header)" if compact else "paragraphs/body paragraphs"
        return html_table(df, cols, f"Body paragraphs carrying each theme per {which}: {layout}, "
                          f"share and 95% Wilson interval (%). Same counts as {csv}.",
                          self.numbered, widths=["30%"] + [width] * (len(orgs) + 1), css_class="counts") + (
                              more_rows(len(orgs), all_groups, csv, f"{self.unit}s") if all_groups > len(orgs) else "")

    def _over_time_html(self, order: list[str]) -> str:
        """Theme shares by year per group with 95% intervals, and the themes whose share changed most with the
        Cochran-Armitage test (needs at least :data:`MIN_TREND_YEARS` years); else the simple year-by-year view."""
        years = sorted(self.annotated["date"].astype(str).str[:4].unique())
        if len(years) < MIN_TREND_YEARS:
            note = (f"<p>The test of change over time needs documents from at least {MIN_TREND_YEARS} years; this selection has "
                    f"{len(years)} ({', '.join(years)}), so shares are shown year by year without a trend test.</p>")
            return note + self._over_time_by_organization(order)
        t, s = self.tables, self.selection
        groups = self.trend_groups()
        tr = t["trends"][t["trends"]["group"].isin(groups)]
        ch = t["changes"][t["changes"]["group"].isin(groups) & (t["changes"]["years"] >= MIN_TREND_YEARS)]
        ranked = ch.assign(_clear=ch["q_value"] < 0.05, _abs=ch["change"].abs()).sort_values(
            ["_clear", "_abs", "group", "theme"], ascending=[False, False, True, True], kind="mergesort")
        # The chart's title states the clearest change, so that theme gets the first panel; the most
        # frequent themes fill the rest (five panels in a 2 x 3 grid: the sixth holds the legend).
        moved = [ranked.iloc[0]["theme"]] if len(ranked) and bool(ranked.iloc[0]["_clear"]) else []
        top = (moved + [x for x in order if x not in moved])[:5]
        data = tr[tr["theme"].isin(top)].assign(label=lambda d: d["theme"].map(self.label))
        by_doc = self.trend_unit == "document"
        share_of = "documents raising the theme" if by_doc else "body paragraphs carrying the theme"
        lead = findings.trend_finding(t["changes"], self.labels, groups, unit="documents" if by_doc else "body paragraphs")
        who = "the whole selection" if groups == [ALL] else f"each {self.unit}"
        title = (f"Theme shares by year for {who}" if lead is None else
                 _plain(lead.text).split(":")[0] if ranked["_clear"].any() else "No theme's share changed clearly over the years")
        fig = charts.trend_panels(data, panel="label", x="year", series="group", value="share", low="ci_low", high="ci_high",
                                  title=title, xlabel="Year of the document", ylabel="Share of documents (%)" if by_doc else "Share of body ¶ (%)",
                                  source=self.source_line,
                                  panel_order=[self.label(x) for x in top], series_order=groups,
                                  series_title=self.unit.capitalize() if groups != [ALL] else None)
        n_all = self.tables["freq_org"]["group"].nunique()
        aside = ("" if groups != [ALL] else
                 f" (with {n_all} {self.unit}s, one line each would not be readable; every {self.unit} is in <code>theme_trends.csv</code>)")
        out = []
        if by_doc:
            lengths = self.paragraph_lengths
            lo, hi = lengths.idxmin(), lengths.idxmax()
            out.append(f"<p>The source splits its documents into paragraphs differently from year to year: a body paragraph averages "
                       f"{lengths[lo]:.0f} words in {esc(lo)} and {lengths[hi]:.0f} in {esc(hi)}. A share of paragraphs would move with "
                       "that splitting rather than with what is said, so the trends below count documents: the share of each year's "
                       "documents that raise a theme at least once.</p>")
        which = (f"the theme that changed most clearly and the {len(top) - 1} most frequent others" if moved
                 else f"the {len(top)} most frequent themes")
        out.append(f"<p>Share of {share_of} for {which}, year by year ({years[0]}–{years[-1]}), "
                   f"for {esc(who)}{aside}; shaded bands are 95% Wilson intervals.</p>")
        if lead is not None:
            out.append(f"<p>{lead.text}</p>")
        out.append(self.figures.html(fig, caption=f"Share of {share_of} by year with 95% intervals, {who}.",
                                     alt="Line charts by theme of the yearly share of body paragraphs; " + "; ".join(
                                         f"{self.label(r['theme'])} in {r['group']}: {pct(r['share_first'])} in {r['first_year']}, {pct(r['share_last'])} in {r['last_year']}"
                                         for _, r in ranked.head(4).iterrows())))
        shown = ranked.head(s.top_n).copy()
        if len(shown):
            shown["label"] = shown["theme"].map(self.label)
            shown["move"] = [f"{pct(a)} → {pct(b)}" for a, b in zip(shown["share_first"], shown["share_last"])]
            shown["change_s"] = [f"{100 * c:+.0f} ({100 * lo:+.0f} to {100 * hi:+.0f})" for c, lo, hi in zip(shown["change"], shown["change_low"], shown["change_high"])]
            shown["z_s"] = shown["trend_z"].map(lambda v: "" if pd.isna(v) else f"{v:.1f}")
            shown["q_s"] = shown["q_value"].map(lambda v: "" if pd.isna(v) else ("< 0.001" if v < 0.001 else f"{v:.3f}"))
            shown["years_s"] = [f"{a}–{b}" for a, b in zip(shown["first_year"], shown["last_year"])]
            out.append(html_table(shown, [("group", self.unit.capitalize(), "text"), ("label", "Theme", "text"), ("years_s", "Years", "text"),
                                          ("move", "Share first → last", "num"), ("change_s", "Change, points (95% CI)", "num"),
                                          ("z_s", "Trend z", "num"), ("q_s", "q", "num")],
                                  "The themes whose share changed most: first and last year, the change with its Newcombe 95% interval, "
                                  "and the Cochran-Armitage test for a trend across all years (z; q = p adjusted for the number of "
                                  "themes, Benjamini-Hochberg). Changes that pass the test (q < 0.05) come first.",
                                  self.numbered, widths=["14%", "26%", "11%", "13%", "18%", "8%", "10%"]))
            out.append(more_rows(len(shown), len(ch), "theme_changes.csv", f"{self.unit}-theme changes"))
        if not by_doc:
            out.append("<p>Paragraphs of one speech are not independent, so the test treats each speech's paragraphs as separate "
                       "draws: read small q-values as worth a look rather than as proof.</p>")
        return "".join(out)

    def _versus_html(self) -> str:
        """Members of each group against all other speakers: shares, difference with its 95% interval, test."""
        s = self.selection
        if self.by_organization:
            return ("<p>This comparison needs groups of speakers: set <code>group_by</code> to a group (e.g. CSTO) or a group set "
                    "(e.g. blocs) of <code>data/groups.yml</code> to compare each group's members with everyone else.</p>")
        v = self.tables["versus"]
        if v.empty:
            return "<p>No group of the selection has members and non-members to compare.</p>"
        f = findings.versus_finding(v, self.labels)
        out = [f"<p>Each group's members against every other speaker of the selection, theme by theme: the difference in "
               "share of body paragraphs with its Newcombe 95% interval and a two-proportion test (q adjusted within the group).</p>"]
        if f is not None:
            out.append(f"<p>{f.text}</p>")
        rows = v.assign(_abs=v["difference"].abs()).sort_values(["group", "_abs", "theme"], ascending=[True, False, True], kind="mergesort")
        rows = rows.groupby("group", sort=True).head(min(s.top_n, 3)).copy()
        rows["label"] = rows["theme"].map(self.label)
        rows["m"] = [f"{pct(a)} ({k}/{n})" for a, k, n in zip(rows["members_share"], rows["members_carrying"], rows["members_total"])]
        rows["r"] = [f"{pct(a)}" for a in rows["rest_share"]]
        rows["d"] = [f"{100 * d:+.0f} ({100 * lo:+.0f} to {100 * hi:+.0f})" for d, lo, hi in zip(rows["difference"], rows["diff_low"], rows["diff_high"])]
        rows["q_s"] = rows["q_value"].map(lambda x: "" if pd.isna(x) else ("< 0.001" if x < 0.001 else f"{x:.3f}"))
        out.append(html_table(rows, [("group", "Group", "text"), ("label", "Theme", "text"), ("m", "Members", "num"),
                                     ("r", "Others", "num"), ("d", "Difference, points (95% CI)", "num"), ("q_s", "q", "num")],
                              f"Members against the rest: for each group, the {min(s.top_n, 3)} themes whose share differs most.",
                              self.numbered, widths=["12%", "30%", "17%", "10%", "21%", "10%"]))
        out.append(more_rows(len(rows), len(v), "members_vs_rest.csv", "group-theme comparisons"))
        return "".join(out)

    def _over_time_by_organization(self, order: list[str]) -> str:
        """Fewer than three years: each organisation with two years, its top themes by year (as before the trend test)."""
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
        if len(docs) > MAX_DOCUMENTS:
            out.append(self._group_similarity_html())
        elif len(docs) >= 2 and not sim.empty:
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
            ranked = sp.sort_values(["similarity", "para_a", "para_b"], ascending=[False, True, True], kind="mergesort")
            note = ""
            if len(self.documents) > MAX_DOCUMENTS:  # at scale, the top is full of one-line formulas (greetings to a chair)
                words = self.annotated.set_index("para_id")["n_words"]
                long_enough = (ranked["para_a"].map(words).fillna(0) >= MIN_SIMILAR_WORDS) & (ranked["para_b"].map(words).fillna(0) >= MIN_SIMILAR_WORDS)
                if long_enough.sum() >= s.top_n:
                    note = (f" Only paragraphs of at least {MIN_SIMILAR_WORDS} words are shown: with {len(self.documents):,} documents "
                            f"the most similar pairs are otherwise one-line formulas ({int((~long_enough).sum()):,} of the {len(ranked):,} "
                            "pairs in similar_paragraphs.csv involve a shorter paragraph).")
                    ranked = ranked[long_enough]
            top = ranked.head(s.top_n)
            out.append(f"<p>The {len(top)} most similar paragraph pairs from different organisations (TF-IDF cosine over stemmed words, "
                       f"stop words out); words sharing a stem are highlighted.{esc(note)}</p>")
            out.append(self._side_by_side(top, "similarity"))
        out.append(_h(3, "reuse"))
        out.append(self._reuse_html())
        out.append(_h(3, "reuse-cross-self"))
        out.append(self._cross_self_html())
        out.append(_h(3, "reused-passages"))
        out.append(self._passages_html())
        return "".join(out)

    def _group_similarity_html(self) -> str:
        """At scale: cosine similarity of the theme profiles of the shown groups, and the closest pair of documents."""
        gs = self.tables.get("group_similarity", pd.DataFrame())
        shown = self.shown_groups()
        out = []
        f = findings.similarity_finding(self.tables["similarity"], self.titles)
        if gs is not None and len(gs) and len(shown) >= 2:
            m = pd.DataFrame(index=shown, columns=shown, dtype=float)
            for _, r in gs.iterrows():
                m.loc[r["doc_a"], r["doc_b"]] = m.loc[r["doc_b"], r["doc_a"]] = r["cosine"]
            for d in shown:
                m.loc[d, d] = float("nan")
            best = gs.dropna(subset=["cosine"]).sort_values(["cosine", "doc_a", "doc_b"], ascending=[False, True, True], kind="mergesort").iloc[0]
            low = gs.dropna(subset=["cosine"]).sort_values(["cosine", "doc_a", "doc_b"], ascending=[True, True, True], kind="mergesort").iloc[0]
            fig = charts.heatmap(m, title=f"Most alike in themes: {best['doc_a']} and {best['doc_b']} (cosine {best['cosine']:.2f}); "
                                 f"least alike: {low['doc_a']} and {low['doc_b']} ({low['cosine']:.2f})",
                                 xlabel=self.unit.capitalize(), ylabel=self.unit.capitalize(), colorbar_label="Cosine similarity of theme shares",
                                 source=self.source_line, percent=False, vmin=None, vmax=1.0)
            out.append(f"<p>With {len(self.documents):,} documents a document × document map would not be readable, so the map compares "
                       f"the theme profiles of the {len(shown)} {self.unit}s shown above (all their paragraphs pooled). Every pair of "
                       "documents is in <code>document_similarity.csv</code>.</p>")
            out.append(self.figures.html(fig, caption=f"Thematic similarity of {self.unit}s: cosine of their theme-share profiles (1 = same mix of themes).",
                                         alt=f"Heatmap of {self.unit} similarity; the highest cosine is {best['cosine']:.2f} between {best['doc_a']} and {best['doc_b']}."))
        if f is not None:
            out.append(f"<p>Document by document: {f.text}</p>")
        return "".join(out)

    def _cross_self_html(self) -> str:
        """Cross-organisation reuse (who repeats whose wording) apart from an organisation reusing its own text."""
        t, s = self.tables, self.selection
        k = t["reuse_kinds"].set_index("kind")
        total = int(k["passages"].sum())
        if total == 0:
            return f"<p>No passage of {s.min_reuse_words} or more words is shared across documents, so there is no reuse to split.</p>"
        cs = t["reuse_cross_self"]
        out = [f"<p>Each reused passage links an earlier document to a later one. It is <em>cross</em> reuse when the two documents "
               f"come from different organisations (the later one repeats the earlier one's wording) and <em>self</em> reuse when an "
               f"organisation reuses its own earlier text. Of {total:,} reused passages, {int(k.loc['cross', 'passages']):,} are cross "
               f"({int(k.loc['cross', 'organization_pairs']):,} pairs of organisations) and {int(k.loc['self', 'passages']):,} self "
               f"({int(k.loc['self', 'organizations']):,} organisations).</p>"]
        kt = t["reuse_kinds"].assign(kind_s=lambda d: d["kind"].map({"cross": "Across organisations", "self": "Within one organisation"}))
        kt["words_s"] = kt["words"].map(lambda v: f"{int(v):,}")
        out.append(html_table(kt, [("kind_s", "Reuse", "text"), ("passages", "Passages", "num"), ("document_pairs", "Document pairs", "num"),
                                   ("organization_pairs", "Organisation pairs", "num"), ("words_s", "Words", "num")],
                              "Reused passages across organisations and within one organisation.", self.numbered,
                              widths=["32%", "17%", "17%", "17%", "17%"]))
        for kind, caption in (("cross", "Who repeats whose wording: the organisation pairs sharing the most reused words across organisations."),
                              ("self", "The organisations that reuse their own earlier wording the most.")):
            sub = cs[cs["kind"] == kind]
            if sub.empty:
                continue
            top = sub.head(s.top_n).copy()
            top["words_s"] = top["words"].map(lambda v: f"{int(v):,}")
            cols = ([("organization_a", "Earlier (wording of)", "text"), ("organization_b", "Later (repeated by)", "text")] if kind == "cross"
                    else [("organization_a", "Organisation", "text")])
            cols += [("passages", "Passages", "num"), ("document_pairs", "Document pairs", "num"), ("words_s", "Words", "num")]
            widths = ["27%", "27%", "15%", "16%", "15%"] if kind == "cross" else ["46%", "18%", "18%", "18%"]
            out.append(html_table(top, cols, caption, self.numbered, widths=widths))
            out.append(more_rows(len(top), len(sub), "reuse_cross_vs_self.csv", f"{kind} rows"))
        g = t["reuse_groups"]
        if g is not None and len(g):
            top = g.head(max(s.top_n, 6)).copy()
            top["words_s"] = top["words"].map(lambda v: f"{int(v):,}")
            out.append(html_table(top, [("group_a", "Earlier group", "text"), ("group_b", "Later group", "text"), ("passages", "Passages", "num"),
                                        ("document_pairs", "Document pairs", "num"), ("words_s", "Words", "num")],
                                  "Cross-organisation reuse between groups (a passage counts for every group of each document).",
                                  self.numbered, widths=["24%", "24%", "17%", "18%", "17%"]))
            out.append(more_rows(len(top), len(g), "reuse_cross_vs_self.csv (organisation pairs)", "group pairs"))
        return "".join(out)

    def _passages_html(self) -> str:
        """The passages carried by the most documents (overlapping reuse spans merged, see helpers.reuse_summary)."""
        p, s = self.tables["reused_passages"], self.selection
        if p.empty:
            return "<p>No reused passage to count.</p>"
        top = p.head(s.top_n).copy()

        def names(cell: str, limit: int = 8) -> str:
            items = [x for x in str(cell).split(";") if x]
            return ", ".join(items[:limit]) + (f" and {len(items) - limit} more" if len(items) > limit else "")

        def short(text: str, limit: int = 60) -> str:
            words = str(text).split()
            return " ".join(words[:limit]) + (" …" if len(words) > limit else "")

        top["passage_s"] = [f"“{esc(short(x))}”" for x in top["text"]]
        top["first"] = [f"{esc(o)}, {esc(d)}" for o, d in zip(top["first_organization"], top["first_date"])]
        top["who"] = [esc(names(x)) for x in top["organization_list"]]
        out = [f"<p>Identical reused spans, and spans that overlap by at least half, are merged into passages; each passage below is carried by the number of "
               f"documents and organisations shown (the text is that of its earliest document). {len(p):,} passages in all; "
               f"{int((p['documents'] >= 3).sum()):,} are carried by three or more documents.</p>"]
        out.append(html_table(top, [("passage_s", "Passage (earliest wording)", "html"), ("documents", "Documents", "num"),
                                    ("organizations", "Organisations", "num"), ("first", "First", "html"), ("who", "Carried by", "html")],
                              "The most reused passages, by the number of documents that carry them.", self.numbered,
                              widths=["36%", "12%", "15%", "14%", "23%"]))
        out.append(more_rows(len(top), len(p), "reused_passages.csv", "passages"))
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
                      f"<p>{_windowed_marked(ta, sa)}</p>")
            cell_b = (f'<p class="note">{esc(mb["organization"])} · {cite(mb["title"], mb["date"], mb["source_para"], mb.get("position"))}</p>'
                      f"<p>{_windowed_marked(tb, sb)}</p>")
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
        n_pairs = len(pt)
        if n_pairs > s.top_n:
            pt = pt.assign(_t=pt["words_reused_a"] + pt["words_reused_b"]).sort_values(
                ["_t", "doc_a", "doc_b"], ascending=[False, True, True], kind="mergesort").head(s.top_n)
        out.append(html_table(pt, [("a", "Earlier document", "text"), ("b", "Later document", "text"), ("passages", "Passages", "num"),
                                   ("sa", "Words reused, earlier", "num"), ("sb", "Words reused, later", "num")],
                              "Document pairs sharing reused passages: passages, and words of each document inside them"
                              + (" (the pairs sharing the most words)." if n_pairs > len(pt) else "."),
                              self.numbered, widths=["28%", "28%", "10%", "17%", "17%"]))
        out.append(more_rows(len(pt), n_pairs, "reuse_by_document_pair.csv", "document pairs"))
        ordered = reuse.sort_values(["words", "para_a", "start_a"], ascending=[False, True, True], kind="mergesort")
        kinds = self.tables["reuse_kinds"].set_index("kind")["passages"]
        if len(reuse) > MAX_GROUPS and kinds.get("cross", 0) > 0:
            orgs = dict(zip(self.documents["doc_id"], self.documents["organization"]))
            cross = ordered[ordered["doc_a"].map(orgs) != ordered["doc_b"].map(orgs)]
            top = cross.head(s.top_n)
            out.append(f"<p>The {len(top)} longest passages shared by two different organisations, side by side; the words both "
                       "passages share are highlighted.</p>")
        else:
            top = ordered.head(s.top_n)
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
            others = "the other organisations" if self.by_organization else "all speakers outside the group"
            if not self.by_organization:
                out.append("<p>For groups, each group's paragraphs are compared with those of every speaker outside it.</p>")
            n_terms = max(s.top_n, 8) if k["group"].nunique() <= 6 else s.top_n
            out.append(self._keyness_tables(k[k["direction"] == "over"], n_terms, "Terms most distinctive of {org} against " + others + ".",
                                            csv="keyness.csv" if self.by_organization else None))
        out.append(_h(3, "framing"))
        out.append(self._framing_html())
        out.append(_h(3, "evidence"))
        q = t["quotes"]
        if q is None or q.empty:
            out.append("<p>No evidence table was found, so no quotes are shown.</p>")
            return "".join(out)
        meta = self._para_meta()
        n_groups = q["group"].nunique()
        many = n_groups > 3
        if many:
            out.append(f"<p>One quote per theme and {self.unit} would make {n_groups} quotes a theme: shown are the {s.top_n} "
                       f"most frequent themes with up to {min(s.top_n, 3)} quotes each, from the {self.unit}s shown above, the quote "
                       "with the most rule matches first; <code>evidence_quotes.csv</code> holds quotes for every organisation.</p>")
        shown_groups = set(self.shown_groups())
        for theme in self._theme_order()[: (s.top_n if many else max(s.top_n * 2, 6))]:
            sub = q[q["theme"] == theme].sort_values(["group", "rank"], kind="mergesort")
            if many:
                sub = sub[sub["group"].isin(shown_groups)].sort_values(["matches", "group"], ascending=[False, True], kind="mergesort").head(min(s.top_n, 3))
            if sub.empty:
                continue
            out.append(f"<h4>{esc(self.label(theme))}</h4>")
            for _, r in sub.iterrows():
                m = meta.loc[str(r["para_id"]).split("@", 1)[0]]
                group = r["group"] if self.by_organization else OUTSIDE.get(r["group"], r["group"])
                out.append(f'<blockquote class="quote"><p>“{esc(r["quote"])}”</p><cite>{esc(group)} · '
                           f'{cite(r["title"], r["date"], r["source_para"], m.get("position"))}</cite></blockquote>')
        return "".join(out)

    def _keyness_tables(self, k: pd.DataFrame, top: int, caption: str, csv: str | None = None, limit: int = 6) -> str:
        """One table of distinctive terms per group; with more than ``limit`` groups, the largest shown (:meth:`shown_groups`)."""
        out = []
        present = set(k["group"].unique().tolist())
        order = [g for g in self.shown_groups() if g in present] + sorted(present - set(self.shown_groups()))
        if len(order) > limit:
            out.append(f"<p>Shown: the {limit} {self.unit}s with the most text of {len(order)}"
                       + (f"; every {self.unit} is in <code>{esc(csv)}</code>" if csv else "") + ".</p>")
            order = order[:limit]
        k = k[k["group"].isin(order)]
        for org in order:
            g = k[k["group"] == org]
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
        if self.by_organization:
            with self._token_cache() as (tokens, update):
                k = keyness(self.annotated, by="organization", min_freq=2, theme=theme, cache_dir=tokens, update_cache=update)
        else:
            frames = self._group_keyness(2, theme=theme)
            k = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["group", "direction"])
        k = k[k["direction"] == "over"]
        orgs = sorted(self.tables["freq_org"].query("theme == @theme and paragraphs >= 2")["group"])
        named = ", ".join(orgs) if len(orgs) <= 8 else f"{len(orgs)} {self.unit}s"
        intro = (f"<p>The same theme in different words: within the paragraphs that carry <em>{esc(self.label(theme))}</em> "
                 f"(raised by {esc(named)}), the words each {self.unit} uses more than the others (at least 2 occurrences).</p>")
        if k.empty:
            return intro + "<p>No word occurs often enough in these paragraphs to be distinctive.</p>"
        return intro + self._keyness_tables(k, 6 if k["group"].nunique() <= 6 else min(self.selection.top_n, 6),
                                            f"How {{org}} words {self.label(theme)} differently from the other {self.unit}s.", limit=4)

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
        out.append(_h(3, "data-quality"))
        out.append(self._data_quality_html())
        out.append(_h(3, "provenance"))
        p = pd.DataFrame([{"name": k, "value": ", ".join(v) if isinstance(v, list) else ("all" if v == [] else v)}
                          for k, v in s.as_dict().items()])
        p["value"] = [("(all)" if v == "" else v) if v is not None else "(none)" for v in p["value"]]
        out.append(html_table(p, [("name", "Parameter", "text"), ("value", "Value", "text")], "Parameters of this run.", self.numbered, widths=["30%", "70%"]))
        files = getattr(self, "input_hashes", None)
        if files is None:
            files = provenance.file_hashes(self._input_files())
        if len(files) <= MAX_DOCUMENTS + 6:
            out.append(html_table(files, [("file", "Input file", "text"), ("bytes", "Bytes", "num"), ("sha256", "SHA-256", "text")],
                                  "Every input file with its size and SHA-256.", self.numbered, widths=["35%", "10%", "55%"], css_class="hashes"))
        else:
            import hashlib

            corpus = resolve_path(s.corpus)
            config = {provenance.display_path(x) for x in (corpus / "manifest.csv", resolve_path(s.codebook), resolve_path(s.groups),
                                                           corpus / "cleaning.yml", corpus / "annotations" / "overrides.csv",
                                                           corpus / "annotations" / "validation.csv")}
            docs = files[~files["file"].isin(config)]
            digest = hashlib.sha256("".join(f"{f}\t{h}\n" for f, h in zip(files["file"], files["sha256"])).encode("utf-8")).hexdigest()
            shown = files[files["file"].isin(config)]
            out.append(f"<p>{len(files):,} input files ({len(docs):,} document files, {int(docs['bytes'].sum()):,} bytes). Every file's size "
                       f"and SHA-256 is in <code>input_files.csv</code>; the SHA-256 of that list (one line \"file TAB sha256\" per "
                       f"file) is <code>{digest}</code>.</p>")
            out.append(html_table(shown, [("file", "Input file", "text"), ("bytes", "Bytes", "num"), ("sha256", "SHA-256", "text")],
                                  "The manifest, codebook and configuration files with their size and SHA-256.", self.numbered,
                                  widths=["35%", "10%", "55%"], css_class="hashes"))
        pk = provenance.package_versions()
        out.append(html_table(pk, [("package", "Package", "text"), ("version", "Version", "text")], "Package versions.", self.numbered, widths=["50%", "50%"]))
        out.append(f"<p>Code: git commit <code>{esc(provenance.git_commit())}</code>.</p>")
        return "".join(out)

    def _data_quality_html(self) -> str:
        """Every document the ingest skipped (ON_ERROR=skip) and why, and every ingest warning."""
        out = []
        sk = self.skipped
        if sk is None or sk.empty:
            out.append("<p>No document was skipped: every document in the manifest was read.</p>")
        else:
            out.append(f"<p>{len(sk)} document{'s were' if len(sk) != 1 else ' was'} skipped by the ingest (ON_ERROR=skip) and "
                       "are not in any count of this briefing:</p>")
            out.append(html_table(sk.assign(where=[f"{f} (manifest line {ln})" for f, ln in zip(sk["file"], sk["line"])]),
                                  [("doc_id", "Document", "text"), ("where", "File", "text"), ("error", "Why it was skipped", "text")],
                                  "Skipped documents and the error that stopped each.", self.numbered, widths=["18%", "22%", "60%"]))
        out.extend(self._annotation_warnings_html())
        d = self.documents
        warned = d[d["warnings"].astype(str).str.strip() != ""]
        if warned.empty:
            out.append("<p>The ingest raised no warning for the selected documents.</p>")
        else:
            rows = [{"doc_id": r["doc_id"], "warning": w} for _, r in warned.iterrows() for w in str(r["warnings"]).split(" | ") if w]
            w = pd.DataFrame(rows)
            out.append(f"<p>The ingest raised {len(w)} warning{'s' if len(w) != 1 else ''} on {len(warned)} selected "
                       f"document{'s' if len(warned) != 1 else ''}, for example a manifest row with no organisation (counted as "
                       "'unknown', outside every group):</p>")
            shown = w.head(50)
            out.append(html_table(shown, [("doc_id", "Document", "text"), ("warning", "Warning", "text")], "Ingest warnings.", self.numbered,
                                  widths=["20%", "80%"]))
            out.append(more_rows(len(shown), len(w), "briefing_documents.csv (column warnings)", "warnings"))
        return "".join(out)

    def _annotation_warnings_html(self) -> list[str]:
        """The annotation stage's warnings (``build/<corpus>/annotation_warnings.csv``): override or
        validation rows set aside because their document was skipped, contradictory overrides."""
        path = resolve_path(self.selection.build) / "annotation_warnings.csv" if self.selection.build else None
        if path is None or not path.is_file():
            return []
        warnings = pd.read_csv(path, dtype=str, keep_default_na=False)["warning"].tolist()
        if not warnings:
            return []
        items = "".join(f"<li>{html.escape(w)}</li>" for w in warnings)
        return [f"<p>The annotation raised {len(warnings)} warning{'s' if len(warnings) != 1 else ''}:</p><ul>{items}</ul>"]

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
        total = len(kinds)
        if total > ANALYST_ROWS:
            other = kinds.drop(columns=["doc_id", "body"], errors="ignore").sum(axis=1)
            kinds = kinds.assign(_o=other).sort_values(["_o", "doc_id"], ascending=[False, True], kind="mergesort").head(ANALYST_ROWS).drop(columns="_o")
        out = [html_table(kinds, cols, "Paragraphs per document and kind (only body paragraphs are coded)"
                          + (", the documents with the most paragraphs that are not body text." if total > len(kinds) else "."), self.numbered),
               more_rows(len(kinds), total, "briefing_documents.csv", "documents")]
        a = self.annotated
        none = a[a["themes"].fillna("") == ""].copy()
        n_none = len(none)
        none = none.head(ANALYST_ROWS)
        none["cite"] = [cite(t, d, s, q) for t, d, s, q in zip(none["title"], none["date"], none["source_para"], none["position"])]
        out.append(f"<p>{n_none:,} of {len(a):,} body paragraphs carry none of the selected themes"
                   + (f"; the first {len(none)} are listed, all are in annotated_paragraphs.csv (empty themes)." if n_none > len(none) else ".") + "</p>")
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
        r = r[r["group"].isin(self.shown_groups())]
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
        return self._side_by_side(ordered.head(ANALYST_ROWS), "reuse") + more_rows(min(len(ordered), ANALYST_ROWS), len(ordered), "text_reuse.csv", "passages")
