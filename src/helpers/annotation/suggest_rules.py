"""Candidate terms for the codebook, for analysts to accept or reject (``make suggest-rules``).

Two sources, each row one candidate for one theme:

``keyness``
    words and two-word phrases over-represented in the coded ``tune`` paragraphs that carry the
    theme but that the theme's rules miss (false negatives), against the ``tune`` paragraphs that do
    not carry it: Dunning's log-likelihood G² on paragraph counts (a word counts once per paragraph),
    kept when the word is in at least ``min_missed`` missed paragraphs and relatively more frequent
    there. Only ``tune`` rows are read: the ``test`` split is never used to write a rule.
``neighbour``
    near neighbours of the theme's own words in word vectors trained on the corpus itself: PPMI of
    word co-occurrence in a symmetric window of ``window`` words (context counts smoothed with
    exponent 0.75), reduced by truncated SVD to ``dims`` dimensions (scikit-learn); cosine
    similarity to the mean vector of the theme's words. No downloaded model.

A candidate the theme's rules already match is dropped. Columns of the CSV: ``theme`` (str),
``source`` (``keyness``|``neighbour``), ``candidate`` (str, in the ``terms`` syntax), ``score``
(float: G², or cosine similarity), ``missed_paragraphs`` (int, tune paragraphs of the theme the rules
miss that contain it; keyness only), ``other_paragraphs`` (int, tune paragraphs without the theme
that contain it; keyness only), ``corpus_paragraphs`` (int, corpus body paragraphs containing the
word; neighbours only), ``example_para_id`` (str, a missed tune paragraph containing it),
``decision`` (empty: for the analyst, ``accept`` or ``reject``).

Command line::

    python -m helpers.annotation.suggest_rules --paragraphs BUILD/paragraphs.parquet --codebook data/codebook.yml \\
        --sample data/validation/<corpus>.csv --scored REPORTS/validation_scored.csv --out REPORTS/rule_suggestions.csv
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from helpers.annotation.annotate import Matcher
from helpers.annotation.codebook import Codebook, load_codebook
from helpers.errors import ParameterError, run_cli
from helpers.analysis.frequencies import split_themes
from helpers.analysis.keyness import log_likelihood as g2  # Dunning's G², as in the briefing's keyness
from helpers.io import read_text_csv, write_csv

SUGGESTION_COLUMNS = ["theme", "source", "candidate", "score", "missed_paragraphs", "other_paragraphs",
                      "corpus_paragraphs", "example_para_id", "decision"]
_WORD = re.compile(r"[a-z][a-z\-']+")
STOP = frozenset(ENGLISH_STOP_WORDS) | {"also", "would", "must", "shall", "us", "mr", "president", "including"}


def tokens(text: str) -> list[str]:
    """Lower-case words of at least three letters (hyphens and apostrophes inside a word kept)."""
    return [w.strip("-'") for w in _WORD.findall(text.lower()) if len(w.strip("-'")) >= 3]


def _grams(words: list[str]) -> set[str]:
    keep = [w for w in words]
    out = {w for w in keep if w not in STOP}
    out |= {f"{a} {b}" for a, b in zip(keep, keep[1:]) if a not in STOP and b not in STOP}
    return out


def _matched_by(matcher: Matcher, theme: str, candidates: list[str]) -> set[str]:
    """The candidates that the rules of ``theme`` already match."""
    if not candidates:
        return set()
    hits = matcher.match(candidates)
    return {candidates[i] for i in hits.loc[hits["theme"] == theme, "index"].tolist()}


def keyness_suggestions(tune: pd.DataFrame, codebook: Codebook, top: int = 15, min_missed: int = 2) -> pd.DataFrame:
    """Keyness candidates per theme from coded ``tune`` rows (columns ``para_id``, ``text``, ``gold``, ``rules``)."""
    if (tune.get("split", pd.Series("tune", index=tune.index)) != "tune").any():
        raise ParameterError("keyness suggestions read `tune` rows only; the table given holds other rows.")
    matcher = Matcher(codebook)
    grams = [_grams(tokens(t)) for t in tune["text"]]
    gold = [set(split_themes(x)) for x in tune["gold"]]
    rules = [set(split_themes(x)) for x in tune["rules"]]
    rows = []
    for theme in codebook.theme_ids:
        missed = [i for i in range(len(tune)) if theme in gold[i] and theme not in rules[i]]
        other = [i for i in range(len(tune)) if theme not in gold[i]]
        if len(missed) < min_missed or not other:
            continue
        ca = Counter(g for i in missed for g in grams[i])
        cb = Counter(g for i in other for g in grams[i])
        cands = [g for g, n in ca.items() if n >= min_missed]
        a = np.array([ca[g] for g in cands], float)
        b = np.array([cb.get(g, 0) for g in cands], float)
        score = g2(a, b, len(missed), len(other))
        over = a / len(missed) > b / len(other)
        order = [k for k in np.argsort(-score, kind="mergesort") if over[k]]
        chosen = [cands[k] for k in order[: top * 3]]
        already = _matched_by(matcher, theme, chosen)
        n = 0
        for k in order[: top * 3]:
            cand = cands[k]
            if cand in already:
                continue
            example = next(tune["para_id"].iloc[i] for i in missed if cand in grams[i])
            rows.append({"theme": theme, "source": "keyness", "candidate": cand, "score": round(float(score[k]), 3),
                         "missed_paragraphs": int(a[k]), "other_paragraphs": int(b[k]), "corpus_paragraphs": pd.NA,
                         "example_para_id": example, "decision": ""})
            n += 1
            if n >= top:
                break
    return pd.DataFrame(rows, columns=SUGGESTION_COLUMNS)


def word_vectors(texts: Sequence[str], min_count: int = 20, max_vocab: int = 20000, window: int = 5,
                 dims: int = 100, seed: int = 0) -> tuple[list[str], np.ndarray, np.ndarray]:
    """PPMI + truncated SVD word vectors of ``texts``: ``(vocabulary, unit-length vectors, paragraph counts)``."""
    docs = [tokens(t) for t in texts]
    freq = Counter(w for d in docs for w in d)
    vocab = [w for w, n in freq.most_common(max_vocab) if n >= min_count]
    index = {w: i for i, w in enumerate(vocab)}
    df = Counter(w for d in docs for w in set(d) if w in index)
    ids = [np.array([index[w] for w in d if w in index], dtype=np.int64) for d in docs]
    v = len(vocab)
    counts = sparse.csr_matrix((v, v), dtype=np.float64)
    for off in range(1, window + 1):
        rows, cols = [], []
        for a in ids:
            if len(a) > off:
                rows.append(a[:-off])
                cols.append(a[off:])
        if rows:
            r, c = np.concatenate(rows), np.concatenate(cols)
            m = sparse.coo_matrix((np.ones(len(r)), (r, c)), shape=(v, v)).tocsr()
            counts = counts + m + m.T
    total = counts.sum()
    row = np.asarray(counts.sum(axis=1)).ravel()
    ctx = np.asarray(counts.sum(axis=0)).ravel() ** 0.75
    ctx = ctx / ctx.sum()
    coo = counts.tocoo()
    pmi = np.log((coo.data / total) / ((row[coo.row] / total) * ctx[coo.col]))
    keep = pmi > 0
    ppmi = sparse.csr_matrix((pmi[keep], (coo.row[keep], coo.col[keep])), shape=(v, v))
    svd = TruncatedSVD(n_components=min(dims, v - 1), random_state=seed)
    vec = svd.fit_transform(ppmi)
    vec /= np.linalg.norm(vec, axis=1, keepdims=True) + 1e-12
    return vocab, vec, np.array([df[w] for w in vocab])


def neighbour_suggestions(codebook: Codebook, vocab: list[str], vectors: np.ndarray, df: np.ndarray,
                          top: int = 15) -> pd.DataFrame:
    """Near neighbours of each theme's words (see the module docstring)."""
    matcher = Matcher(codebook)
    index = {w: i for i, w in enumerate(vocab)}
    rows = []
    for theme in codebook.themes:
        seeds: set[int] = set()
        for term in theme.terms:
            for words in term.forms():
                last = words[-1]
                if term.prefix:
                    seeds |= {i for w, i in index.items() if w.startswith(last)}
                seeds |= {index[w] for w in words if w in index and w not in STOP}
        if not seeds:
            continue
        centre = vectors[sorted(seeds)].mean(axis=0)
        sims = vectors @ centre / (np.linalg.norm(centre) + 1e-12)
        order = [i for i in np.argsort(-sims, kind="mergesort") if i not in seeds and vocab[i] not in STOP][: top * 3]
        cands = [vocab[i] for i in order]
        already = _matched_by(matcher, theme.id, cands)
        n = 0
        for i in order:
            if vocab[i] in already:
                continue
            rows.append({"theme": theme.id, "source": "neighbour", "candidate": vocab[i], "score": round(float(sims[i]), 4),
                         "missed_paragraphs": pd.NA, "other_paragraphs": pd.NA, "corpus_paragraphs": int(df[i]),
                         "example_para_id": "", "decision": ""})
            n += 1
            if n >= top:
                break
    return pd.DataFrame(rows, columns=SUGGESTION_COLUMNS)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.annotation.suggest_rules", description=__doc__.split("\n\n")[0])
    parser.add_argument("--paragraphs", required=True, help="paragraphs.parquet of the corpus (for the word vectors)")
    parser.add_argument("--codebook", required=True)
    parser.add_argument("--sample", required=True, help="the coded validation sample (its tune rows only are read)")
    parser.add_argument("--scored", required=True, help="REPORTS/validation_scored.csv (the rules' themes of each coded row)")
    parser.add_argument("--out", required=True)
    parser.add_argument("--top", type=int, default=15, help="candidates per theme and source")
    args = parser.parse_args(argv)
    cb = load_codebook(args.codebook)
    sample = read_text_csv(args.sample)
    if "split" not in sample.columns:
        raise ParameterError(f"{args.sample}: the sample has no split column; suggestions are drawn from `tune` rows only.")
    scored = read_text_csv(args.scored)
    tune = sample.loc[sample["split"] == "tune", ["para_id", "split", "text"]].merge(
        scored[["para_id", "gold", "rules"]], on="para_id", how="inner")
    from helpers.corpus.corpus import read_paragraphs

    paragraphs = read_paragraphs(args.paragraphs)
    body = paragraphs.loc[paragraphs["kind"] == "body", "text"].tolist()
    vocab, vectors, df = word_vectors(body)
    out = pd.concat([keyness_suggestions(tune, cb, args.top), neighbour_suggestions(cb, vocab, vectors, df, args.top)],
                    ignore_index=True)
    write_csv(out, args.out)
    print(f"{len(out)} candidate terms ({(out['source'] == 'keyness').sum()} from {len(tune)} tune paragraphs, "
          f"{(out['source'] == 'neighbour').sum()} from word vectors of {len(body):,} paragraphs) -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
