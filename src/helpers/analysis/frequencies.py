"""Theme frequencies: how often each theme is raised, per document, organisation, genre or year.

Input is the annotated-paragraphs table (one row per *body* paragraph, see
``helpers.annotation.annotate``): at least ``para_id, doc_id, title, organization, genre, date, text,
themes`` (``themes`` is the theme ids joined by ``;``, empty when none) and, if present,
``n_words`` (otherwise counted with :func:`helpers.corpus.text.count_words`).

Counting unit
    A theme is *carried* by a paragraph when its id is in the paragraph's ``themes``. The
    share of a group is ``paragraphs carrying the theme / body paragraphs in the group``, and
    comes with a 95 % Wilson score interval because the seed corpus is small: a share of
    3/12 is not the same evidence as 300/1,200.
Occurrences
    With an evidence table (one row per rule match: ``para_id, theme, ...``, as written by
    the annotation stage), occurrences are the number of matches; without one, the number
    of paragraphs carrying the theme. ``per_1000_words`` divides occurrences by the group's
    body words.

Functions
    :func:`theme_frequencies` (long table), :func:`theme_share_matrix` (document x theme
    shares), :func:`rank_themes` (each group's themes ranked, with tie groups where the
    Wilson intervals overlap so nobody reads a lead into noise), :func:`wilson_interval`.
    The small helpers :func:`check_choice`, :func:`require_columns` and :func:`split_themes`
    are shared by the other analysis modules.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from helpers.errors import ParameterError
from helpers.corpus.text import count_words

#: Normal quantile for a two-sided 95 % interval.
Z95 = 1.959963984540054

#: Grouping levels accepted by ``by`` and the column each one groups on.
BY_LEVELS = {"document": "doc_id", "organization": "organization", "genre": "genre", "year": "year"}


# --------------------------------------------------------------------------- shared checks

def check_choice(name: str, value: object, allowed: Iterable[object]) -> None:
    """Raise :class:`ParameterError` unless ``value`` is one of ``allowed`` (scikit-learn style message)."""
    allowed = list(allowed)
    if value not in allowed:
        shown = "{" + ", ".join(repr(a) for a in allowed) + "}"
        raise ParameterError(f"`{name}` must be one of {shown}. Got {value!r} instead.")


def check_number(name: str, value: object, minimum: float, integer: bool = True) -> None:
    """Raise :class:`ParameterError` unless ``value`` is a number (an int if ``integer``) >= ``minimum``."""
    kind = "an integer" if integer else "a number"
    ok_type = isinstance(value, (int, np.integer)) if integer else isinstance(value, (int, float, np.number))
    if isinstance(value, bool) or not ok_type or value < minimum:
        raise ParameterError(f"`{name}` must be {kind} >= {minimum}. Got {value!r} instead.")


def require_columns(df: pd.DataFrame, columns: Sequence[str], what: str, hint: str) -> None:
    """Raise :class:`ParameterError` naming the missing columns of ``df`` (``what``) and what to do (``hint``)."""
    if not isinstance(df, pd.DataFrame):
        raise ParameterError(f"{what} must be a pandas DataFrame. Got {type(df).__name__} instead. {hint}")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ParameterError(
            f"{what} lacks column(s) {', '.join(missing)}; it has {', '.join(map(str, df.columns)) or 'no columns'}. {hint}"
        )


ANNOTATED_HINT = "Pass the annotated paragraphs (REPORTS/annotated_paragraphs.csv; run `make annotate` first)."


def body_only(df: pd.DataFrame) -> pd.DataFrame:
    """The body paragraphs of ``df``: rows with ``kind == "body"`` if a ``kind`` column exists, else all rows.

    Titles, datelines, salutations, closings and editorial notes are never counted, so every
    analysis function accepts the full corpus table as well as the annotated (body) one.
    """
    return df[df["kind"].astype(str) == "body"] if "kind" in df.columns else df


def label_offsets(df: pd.DataFrame) -> pd.Series:
    """Characters at the start of each ``text`` that are the source's numbering label: the
    ``label_chars`` column (int), 0 where it is missing or empty, all 0 without the column."""
    if "label_chars" not in df.columns:
        return pd.Series(0, index=df.index, dtype=np.int64)
    return pd.to_numeric(df["label_chars"], errors="coerce").fillna(0).astype(np.int64)


def analysed_text(df: pd.DataFrame) -> pd.Series:
    """The text the wording analyses read: ``text`` without the source's numbering label.

    Where the corpus marks a numbering label at the start of a paragraph ("Paragraph 47. "),
    its length is in ``label_chars`` (0 when none); keyness, TF-IDF similarity and quotes read
    ``text[label_chars:]`` so the label is never a word of the paragraph. Without the column the
    text is returned unchanged. Verbatim reuse keeps reading ``text`` (its offsets index it).
    Returns a str Series aligned with ``df``.
    """
    text = df["text"].fillna("").astype(str)
    cut = label_offsets(df).to_numpy()
    if not cut.any():
        return text
    return pd.Series([t[c:] if c > 0 else t for t, c in zip(text.tolist(), cut.tolist())], index=df.index, dtype=object)


def split_themes(value: object) -> list[str]:
    """Theme ids of one ``themes`` cell (``;``-joined, possibly empty or missing), stripped, in order."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return []
    return [t.strip() for t in str(value).split(";") if t.strip()]


def theme_sets(cells: pd.Series) -> np.ndarray:
    """``frozenset(split_themes(cell))`` of each ``themes`` cell (object array); a corpus has few
    distinct cells, so each is split once."""
    codes, distinct = pd.factorize(cells.to_numpy(dtype=object), use_na_sentinel=False)
    sets = np.empty(len(distinct), dtype=object)
    sets[:] = [frozenset(split_themes(cell)) for cell in distinct]
    return sets[codes]


def theme_long(annotated: pd.DataFrame) -> pd.DataFrame:
    """One row per (paragraph, theme) carried: columns ``para_id`` (str), ``doc_id`` (str), ``theme`` (str)."""
    require_columns(annotated, ["para_id", "doc_id", "themes"], "The annotated paragraphs table", ANNOTATED_HINT)
    row, theme, names = theme_pairs(annotated["themes"])
    return pd.DataFrame({
        "para_id": annotated["para_id"].to_numpy(dtype=object)[row],
        "doc_id": annotated["doc_id"].to_numpy(dtype=object)[row],
        "theme": np.asarray(names, dtype=object)[theme] if len(row) else np.array([], dtype=object),
    }).astype(str)


def theme_pairs(cells: pd.Series) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The (paragraph, theme) pairs of ``themes`` cells, each theme once per paragraph, in row then cell order:
    ``(row, theme, names)``, the row number (int64) and theme number (int64, into ``names``) of each pair, and the
    theme ids found (str, in order of first appearance among the distinct cells)."""
    # A corpus has few distinct ``themes`` cells: split each distinct cell once, then repeat.
    encoded = pc.dictionary_encode(_arrow_strings(cells), null_encoding="encode")
    codes = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    split = [list(dict.fromkeys(split_themes(cell))) for cell in encoded.dictionary.to_pylist()]
    names = list(dict.fromkeys(t for themes in split for t in themes))
    number = {t: k for k, t in enumerate(names)}
    flat = np.fromiter((number[t] for themes in split for t in themes), dtype=np.int64)
    per_cell = np.fromiter((len(t) for t in split), dtype=np.int64, count=len(split))
    first = np.r_[0, np.cumsum(per_cell)[:-1]] if len(split) else np.zeros(0, dtype=np.int64)
    counts = per_cell[codes]
    row = np.repeat(np.arange(len(codes), dtype=np.int64), counts)
    within = np.arange(len(row)) - np.repeat(np.cumsum(counts) - counts, counts)
    theme = flat[np.repeat(first[codes], counts) + within] if len(row) else np.zeros(0, dtype=np.int64)
    return row, theme, names


def _arrow_strings(values: pd.Series) -> pa.Array:
    """``values`` as one Arrow large_string array (missing values null): a pandas str column's own buffers."""
    array = pa.array(values if values.dtype == "str" else values.astype("str"))
    if isinstance(array, pa.ChunkedArray):  # a column made by concatenating frames
        array = array.combine_chunks()
    return array.cast(pa.large_string()) if array.type != pa.large_string() else array


def _positions(values: pa.Array, value_set: pa.Array) -> np.ndarray:
    """Each of ``values``'s position in ``value_set`` (int64), -1 where it is not there or missing."""
    found = pc.fill_null(pc.index_in(values, value_set=value_set), -1)
    return found.to_numpy(zero_copy_only=False).astype(np.int64)


def paragraph_words(annotated: pd.DataFrame) -> pd.Series:
    """Body words per paragraph: the ``n_words`` column if present, else counted from ``text``."""
    if "n_words" in annotated.columns:
        return pd.to_numeric(annotated["n_words"], errors="coerce").fillna(0).astype(int)
    require_columns(annotated, ["text"], "The annotated paragraphs table", ANNOTATED_HINT)
    return annotated["text"].fillna("").astype(str).map(count_words).astype(int)


def usable_evidence(evidence: pd.DataFrame) -> pd.DataFrame:
    """Evidence rows that support a coding: drops rows an override removed (``status == "removed"``)
    and, in a long annotations table, rows whose ``source`` is not ``rule``."""
    ev = evidence
    if "status" in ev.columns:
        ev = ev[ev["status"].astype(str) != "removed"]
    if "source" in ev.columns:
        ev = ev[ev["source"].astype(str).isin(["rule", "", "nan"])]
    return ev


# --------------------------------------------------------------------------- statistics

def wilson_interval(successes: np.ndarray | int, trials: np.ndarray | int, z: float = Z95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for a binomial proportion; ``(low, high)``, NaN where ``trials`` is 0.

    ``low = (p + z²/2n - z·sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n)`` and ``high`` with ``+``.
    """
    k = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k / n
        denom = 1 + z**2 / n
        centre = (p + z**2 / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
        low = np.where(n > 0, np.clip(centre - half, 0.0, 1.0), np.nan)
        high = np.where(n > 0, np.clip(centre + half, 0.0, 1.0), np.nan)
    return low, high


# --------------------------------------------------------------------------- frequencies

FREQUENCY_COLUMNS = [
    "by", "group", "doc_id", "theme", "paragraphs", "body_paragraphs", "share", "ci_low", "ci_high",
    "occurrences", "words", "per_1000_words", "documents",
]


def group_key(annotated: pd.DataFrame, by: str) -> pd.Series:
    """The group of each row for ``by`` (a key of :data:`BY_LEVELS`): doc_id, organisation, genre, or year (``date[:4]``)."""
    if by == "year":
        require_columns(annotated, ["date"], "The annotated paragraphs table", ANNOTATED_HINT)
        return annotated["date"].astype(str).str.slice(0, 4)
    column = BY_LEVELS[by]
    require_columns(annotated, [column], "The annotated paragraphs table", ANNOTATED_HINT)
    return annotated[column].astype(str)


def theme_frequencies(
    annotated: pd.DataFrame,
    by: str = "document",
    evidence: pd.DataFrame | None = None,
    themes: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Paragraphs carrying each theme, their share of body paragraphs (95 % Wilson interval) and rate per 1,000 words.

    Parameters
    ----------
    annotated : annotated body paragraphs (``para_id, doc_id, themes`` and the ``by`` column;
        ``n_words`` or ``text``).
    by : ``"document"``, ``"organization"``, ``"genre"`` or ``"year"`` (first four characters of ``date``).
    evidence : optional evidence table, one row per rule match with at least ``para_id, theme``;
        occurrences are then matches, otherwise paragraphs.
    themes : theme ids to report (e.g. every codebook theme, so absent themes show as 0);
        default: every theme found in ``annotated``.

    Returns
    -------
    One row per (group, theme), every combination present (zeros included), ordered by
    ``group`` then ``theme``. Columns:

    - ``by`` (str): the grouping level; ``group`` (str): the group's value (doc_id, organisation, genre or year)
    - ``doc_id`` (str): the document for ``by="document"``, empty otherwise
    - ``theme`` (str): theme id
    - ``paragraphs`` (int): body paragraphs in the group carrying the theme
    - ``body_paragraphs`` (int): body paragraphs in the group
    - ``share`` (float, 0-1): ``paragraphs / body_paragraphs``
    - ``ci_low``, ``ci_high`` (float, 0-1): 95 % Wilson score interval of ``share``
    - ``occurrences`` (int): evidence matches (or carrying paragraphs without evidence)
    - ``words`` (int): body words in the group
    - ``per_1000_words`` (float): ``occurrences / words * 1000``
    - ``documents`` (int): documents in the group
    """
    check_choice("by", by, BY_LEVELS)
    require_columns(annotated, ["para_id", "doc_id", "themes"], "The annotated paragraphs table", ANNOTATED_HINT)
    annotated = body_only(annotated)
    if evidence is not None:
        require_columns(evidence, ["para_id", "theme"], "The evidence table",
                        "Pass the evidence table written by the annotation stage (REPORTS/evidence.csv), or None.")
    key = group_key(annotated, by)
    if key.isna().any():  # a paragraph with no group is in none (as pandas' groupby leaves it out)
        annotated, key = annotated[key.notna().to_numpy()], key[key.notna()]
    para_ids = _arrow_strings(annotated["para_id"])
    if pc.count_distinct(para_ids, mode="all").as_py() != len(para_ids):
        twice = annotated["para_id"][annotated["para_id"].duplicated()].iloc[0]
        raise ParameterError(f"The annotated paragraphs table lists paragraph {twice!r} more than once: each para_id must "
                             "appear once (to count a paragraph in several groups, give each copy its own para_id, as "
                             "helpers.report.report_tables.group_paragraphs does).")

    # Integer codes throughout: paragraphs by row, groups and themes by their rank in sorted order (code points).
    key = _arrow_strings(key)
    group_names = pc.unique(key)
    group_names = group_names.take(pc.sort_indices(group_names))
    group = _positions(key, group_names)
    n_groups = len(group_names)
    row, local_theme, found = theme_pairs(annotated["themes"])
    theme_ids = sorted(set(found) | set(themes or []))
    n_themes = len(theme_ids)
    theme_set = pa.array(theme_ids, type=pa.large_string())
    theme = _positions(pa.array(found, type=pa.large_string()), theme_set)[local_theme] if len(row) else local_theme
    pair = row * n_themes + theme  # each carried (paragraph, theme) as one number
    cell = group[row] * n_themes + theme  # its (group, theme) cell of the output
    carried = np.bincount(cell, minlength=n_groups * n_themes)

    if evidence is not None:
        ev = usable_evidence(evidence)
        ev_row = _positions(_arrow_strings(ev["para_id"]), para_ids)
        ev_theme = _positions(_arrow_strings(ev["theme"]), theme_set)
        ev_pair = (ev_row * n_themes + ev_theme)[(ev_row >= 0) & (ev_theme >= 0)]
        # Only matches whose (paragraph, theme) the final annotation keeps (overrides may remove some) ...
        ev_pair = ev_pair[np.isin(ev_pair, pair)]
        occurrences = np.bincount(group[ev_pair // n_themes] * n_themes + ev_pair % n_themes, minlength=n_groups * n_themes)
        # ... and a manually added theme, with no rule match, counts the paragraph itself once.
        occurrences += np.bincount(cell[~np.isin(pair, ev_pair)], minlength=n_groups * n_themes)
    else:
        occurrences = carried

    docs = pc.dictionary_encode(_arrow_strings(annotated["doc_id"]))
    n_docs = max(len(docs.dictionary), 1)
    doc = pc.fill_null(docs.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)  # -1: no doc_id, in no count
    group_doc = np.unique((group * n_docs + doc)[doc >= 0])
    out = pd.DataFrame({
        "group": np.repeat(np.asarray(group_names.to_pylist(), dtype=object), n_themes),
        "theme": np.tile(np.asarray(theme_ids, dtype=object), n_groups),
        "paragraphs": carried.astype(np.int64),
        "occurrences": occurrences.astype(np.int64),
        "body_paragraphs": np.repeat(np.bincount(group, minlength=n_groups).astype(np.int64), n_themes),
        "words": np.repeat(np.bincount(group, weights=paragraph_words(annotated).to_numpy(), minlength=n_groups)
                           .round().astype(np.int64), n_themes),
        "documents": np.repeat(np.bincount(group_doc // n_docs, minlength=n_groups).astype(np.int64), n_themes),
    })
    low, high = wilson_interval(out["paragraphs"].to_numpy(), out["body_paragraphs"].to_numpy())
    out["share"] = out["paragraphs"] / out["body_paragraphs"]
    out["ci_low"], out["ci_high"] = low, high
    with np.errstate(divide="ignore", invalid="ignore"):
        out["per_1000_words"] = np.where(out["words"] > 0, out["occurrences"] / out["words"] * 1000, np.nan)
    out["by"] = by
    out["doc_id"] = out["group"] if by == "document" else ""
    return out[FREQUENCY_COLUMNS]  # groups, then themes, in sorted order


def theme_share_matrix(frequencies: pd.DataFrame, value: str = "share") -> pd.DataFrame:
    """Wide group x theme matrix from :func:`theme_frequencies` output.

    ``value`` is ``"share"``, ``"paragraphs"``, ``"occurrences"`` or ``"per_1000_words"``.
    Returns one row per group (ordered as in the input) with columns ``group`` (str; the
    ``doc_id`` for ``by="document"``) then one float column per theme id, in sorted order.
    """
    check_choice("value", value, ["share", "paragraphs", "occurrences", "per_1000_words"])
    require_columns(frequencies, ["group", "theme", value], "The frequencies table",
                    "Pass the output of theme_frequencies().")
    wide = frequencies.pivot_table(index="group", columns="theme", values=value, aggfunc="first", sort=True)
    wide = wide.reindex(index=list(dict.fromkeys(frequencies["group"])))
    wide.columns.name = None
    return wide.reset_index()


RANK_COLUMNS = [
    "by", "group", "doc_id", "rank", "theme", "paragraphs", "body_paragraphs", "share", "ci_low", "ci_high",
    "tie_group", "tied", "clearly_ahead_of_next",
]


def rank_themes(frequencies: pd.DataFrame, top: int | None = 5) -> pd.DataFrame:
    """Rank each group's themes by share, with tie groups where the Wilson intervals overlap.

    Themes carried by no paragraph are not ranked. Within a group, themes are sorted by
    ``share`` (descending), then ``theme``. The first theme leads tie group 1; each following
    theme joins the current tie group while its interval overlaps the interval of that
    group's leader (``ci_high >= leader's ci_low``), otherwise it leads a new group. Themes in
    one tie group cannot be told apart from their leader and must be reported together
    ("among the most frequent"), not as first, second, third.

    Returns the top ``top`` ranks per group (all if ``None``), columns: ``by``, ``group``,
    ``doc_id`` (str), ``rank`` (int, 1 = most frequent), ``theme``, ``paragraphs``,
    ``body_paragraphs``, ``share``, ``ci_low``, ``ci_high`` (as in :func:`theme_frequencies`),
    ``tie_group`` (int, 1-based within the group), ``tied`` (bool: the tie group has more
    than one theme), ``clearly_ahead_of_next`` (bool: ``ci_low`` above the next theme's ``ci_high``).
    """
    if top is not None:
        check_number("top", top, 1)
    require_columns(frequencies, ["by", "group", "doc_id", "theme", "paragraphs", "body_paragraphs", "share",
                                  "ci_low", "ci_high"], "The frequencies table", "Pass the output of theme_frequencies().")
    present = frequencies[frequencies["paragraphs"] > 0]
    if present.empty:
        return pd.DataFrame(columns=RANK_COLUMNS)
    g = present.assign(_group=present["group"].astype(str)).sort_values(
        ["_group", "share", "theme"], ascending=[True, False, True], kind="mergesort").reset_index(drop=True)
    groups = g["_group"].to_numpy()
    low, high = g["ci_low"].to_numpy(dtype=float), g["ci_high"].to_numpy(dtype=float)
    first = np.r_[True, groups[1:] != groups[:-1]]
    rank = np.empty(len(g), dtype=np.int64)
    tie_group = np.empty(len(g), dtype=np.int64)
    leader = current = r = 0
    for k in range(len(g)):  # one pass: a theme joins its leader's tie group while the intervals overlap
        if first[k]:
            leader, current, r = k, 1, 0
        elif high[k] < low[leader]:  # separated from the leader of the current tie group
            leader, current = k, current + 1
        r += 1
        rank[k], tie_group[k] = r, current
    g["rank"] = rank
    g["tie_group"] = tie_group
    g["tied"] = g.groupby(["_group", "tie_group"], sort=False)["theme"].transform("size").to_numpy() > 1
    last = np.r_[first[1:], True]
    g["clearly_ahead_of_next"] = np.r_[low[:-1] > high[1:], False] & ~last
    if top is not None:
        g = g[g["rank"] <= top]
    return g[RANK_COLUMNS].reset_index(drop=True)
