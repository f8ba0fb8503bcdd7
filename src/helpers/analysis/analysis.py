"""The analysis stage: every table the briefing quotes, written to REPORTS/ so readers can check each number.

:func:`write_analysis_tables` runs the analysis modules on the annotated paragraphs and
writes (through :func:`helpers.io.write_csv`: temporary file then rename, fixed order):

================================  ==============================================================
``theme_frequencies.csv``         :func:`helpers.analysis.frequencies.theme_frequencies` by document,
                                  organisation, genre and year (column ``by``), with shares corrected
                                  for coding error (:func:`helpers.annotation.corrected_shares.corrected_shares`)
``theme_ranking.csv``             :func:`helpers.analysis.frequencies.rank_themes` per document and organisation
``cooccurrence.csv``              :func:`helpers.analysis.cooccurrence.theme_cooccurrence` (corpus, min support)
``document_similarity.csv``       :func:`helpers.analysis.overlap.document_similarity`
``similar_paragraphs.csv``        :func:`helpers.analysis.overlap.similar_paragraphs`
``text_reuse.csv``                :func:`helpers.analysis.overlap.find_reuse` (through :func:`helpers.analysis.reuse_index.reuse_tables`),
                                  at most ``max_reuse_pairs`` (default 50) rows per reuse cluster, pairs
                                  across organisations first, at most 3 within one organisation
                                  (:func:`helpers.analysis.reuse_clusters.cap_reuse_pairs`)
``reuse_by_document_pair.csv``    :func:`helpers.analysis.overlap.reuse_by_document_pair` (of every passage, uncapped)
``reuse_clusters.csv``            :func:`helpers.analysis.reuse_clusters.reuse_clusters`: one row per passage family
``reuse_cluster_members.csv``     idem: the paragraphs' stretches in each family
``keyness.csv``                   :func:`helpers.analysis.keyness.keyness` per organisation
``evidence_quotes.csv``           :func:`helpers.analysis.evidence.evidence_quotes` (only with an evidence table)
================================  ==============================================================

Command line (used by ``make analyse``)::

    python -m helpers.analysis.analysis --reports REPORTS [--min-reuse-words 12] [--build BUILD] [--workers N] [--only text|themes]

``make`` runs it twice: ``--only text`` writes :data:`TEXT_FILES` (reuse, similar paragraphs, keyness) from the
body paragraphs of ``BUILD/paragraphs.parquet`` while the annotation runs, ``--only themes`` the other tables
once it is done. The files are byte-identical to one run writing all of them.

reads ``REPORTS/annotated_paragraphs.csv`` and, if present, ``REPORTS/evidence.csv`` (one
row per rule match), else ``REPORTS/annotations.csv``. ``--build`` keeps each document's
reuse shingles in ``BUILD/shingles/<doc_id>@<key>.arrow`` (key: the document's paragraph
ids and texts and the shingle length) and the corpus shingle index with the last reuse tables in
``BUILD/reuse/`` (:mod:`helpers.analysis.reuse_index`), so a rebuild after one speech changed re-shingles
and re-joins that speech only; ``--workers N`` (or ``DASK_SCHEDULER=tcp://host:8786``) runs the
shingling and the reuse join on Dask. The files written are byte-identical either way.

At scale the long tables are capped to what a reader can use: ``document_similarity.csv``
keeps each document's ``neighbours`` (default 10) most similar documents by theme profile
(every pair up to 11 documents; at most 10 × documents rows, never the n² pairs), optionally
cut further to the ``max_document_pairs`` most similar pairs; ``similar_paragraphs.csv`` the
1,000 document pairs whose best paragraph pair is most similar; ``text_reuse.csv`` 50 passages
per reuse cluster.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import time
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import ExitStack, contextmanager
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pandas as pd

from helpers.arrays import release_memory
from helpers.analysis.cooccurrence import theme_cooccurrence
from helpers.annotation.corrected_shares import corrected_shares, read_scored
from helpers.errors import ParameterError, run_cli
from helpers.analysis.evidence import QUOTE_COLUMNS, evidence_quotes
from helpers.analysis.frequencies import ANNOTATED_HINT, check_number, rank_themes, require_columns, theme_frequencies
from helpers.io import read_text_csv, write_csv
from helpers.analysis.keyness import keyness
from helpers.parallel import runner
from helpers.analysis.overlap import cut_passage_texts, document_similarity, similar_paragraphs
from helpers.analysis.reuse_clusters import MAX_PAIRS_PER_CLUSTER, cap_reuse_pairs, reuse_clusters
from helpers.analysis.reuse_index import reuse_tables

ANALYSIS_FILES = (
    "theme_frequencies.csv", "theme_ranking.csv", "cooccurrence.csv", "document_similarity.csv",
    "similar_paragraphs.csv", "text_reuse.csv", "reuse_by_document_pair.csv", "reuse_clusters.csv",
    "reuse_cluster_members.csv", "keyness.csv", "evidence_quotes.csv",
)

#: The text stage's tables (``--only text``): they read the paragraphs' words, never their themes, so make builds
#: them from ``BUILD/paragraphs.parquet`` while the annotation runs; ``--only themes`` writes the others after it.
TEXT_FILES = ("text_reuse.csv", "reuse_by_document_pair.csv", "reuse_clusters.csv", "reuse_cluster_members.csv",
              "similar_paragraphs.csv", "keyness.csv")
THEME_FILES = tuple(name for name in ANALYSIS_FILES if name not in TEXT_FILES)
PARTS = {None: ANALYSIS_FILES, "text": TEXT_FILES, "themes": THEME_FILES}
#: Up to this many paragraphs (rows of ``paragraphs.parquet``) the text stage computes similar paragraphs and keyness
#: in a second process, beside its reuse join; above it one after the other, in one process: the peaks would
#: coincide beside the annotation (a 4.66 GB process tree on the complete UN General Debate Corpus).
SIDE_BY_SIDE_MAX_PARAGRAPHS = 150_000
#: Up to this many paragraphs the theme stage runs as soon as the annotation is done, beside the text stage; above
#: it, it waits for the text stage to finish (:func:`_text_stage_lock`). On the complete UN General Debate Corpus
#: (399,824 paragraphs), waiting left one core idle for 110 s of a 264 s build, while side by side the two stages
#: hold about 2.7 GB (the reuse join's 1.37 GB beside the theme stage's 1.35 GB; the text stage's own peak,
#: 1.69 GB, comes after the join). On the 10x corpus the join alone holds 3.2 GB: there the theme stage waits.
THEME_STAGE_WAITS_ABOVE_PARAGRAPHS = 450_000
#: The columns of annotated_paragraphs.csv but ``themes`` (helpers.annotation.annotate.ANNOTATED_COLUMNS, not
#: imported: the annotation's matching libraries would load for nothing)
BODY_COLUMNS = ["para_id", "doc_id", "title", "organization", "genre", "date", "source_para", "position", "n_words", "text",
                "label_chars"]
#: Of those, the whole numbers (nullable Int64; the rest is text, "" where empty)
NUMBER_COLUMNS = ("source_para", "position", "n_words", "label_chars")

#: From this many paragraphs on, :data:`SECOND_PROCESS_TABLES` are computed in a second process (``jobs`` > 1);
#: the command line decides before reading, from the size of ``annotated_paragraphs.csv``.
PARALLEL_MIN_PARAGRAPHS = 10_000
PARALLEL_MIN_BYTES = 6_000_000
#: ... and up to this many (this size of the file): above it both processes would hold the paragraphs and their
#: peaks (the reuse join's, the similarity's) would coincide, 5.4 GB on the complete UN General Debate Corpus
#: against 3.2 GB one after the other, for about a minute more. ``jobs=2`` (``--jobs 2``) still asks for both.
PARALLEL_MAX_PARAGRAPHS = 700_000
PARALLEL_MAX_BYTES = 256 * 2**20
#: What the second process computes (``jobs`` > 1): about half the work of a one-speech rebuild. Keyness only in
#: the text stage (``only="text"``), where it balances the reuse join left to the first process (12.2 -> 11.0 s on
#: the UN General Debate slice); with every table, the first process has the theme tables to do besides the join.
SECOND_PROCESS_TABLES = ("document_similarity.csv", "similar_paragraphs.csv", "keyness.csv", "evidence_quotes.csv")
#: Defaults of the capped tables: document pairs kept, paragraph pairs per document pair, document pairs of similar paragraphs.
MAX_DOCUMENT_PAIRS, TOP_SIMILAR, MAX_SIMILAR_DOCUMENT_PAIRS = None, 3, 1_000
#: Each document's most similar documents kept in ``document_similarity.csv``.
NEIGHBOURS = 10


def write_analysis_tables(
    annotated: pd.DataFrame,
    evidence: pd.DataFrame | None,
    reports_dir: str | Path,
    min_reuse_words: int = 12,
    min_support: int = 2,
    top_similar: int = TOP_SIMILAR,
    keyness_min_freq: int = 3,
    themes: Sequence[str] | None = None,
    build_dir: str | Path | None = None,
    workers: int | str = 1,
    scheduler: str | None = None,
    max_document_pairs: int | None = MAX_DOCUMENT_PAIRS,
    max_similar_document_pairs: int = MAX_SIMILAR_DOCUMENT_PAIRS,
    log: Callable[[str], None] | None = None,
    jobs: int | None = None,
    second: Future | None = None,
    scored: pd.DataFrame | None = None,
    max_reuse_pairs: int | None = MAX_PAIRS_PER_CLUSTER,
    only: str | None = None,
) -> dict[str, Path]:
    """Compute the analysis tables from ``annotated`` (and ``evidence``) and write them under ``reports_dir``.

    ``annotated`` is the annotated body paragraphs table; ``evidence`` the annotation stage's
    match table (or ``None``: occurrences then count paragraphs and no quotes are chosen).
    ``themes`` lists every codebook theme so absent themes appear with zero counts.
    ``build_dir`` keeps what a rebuild reuses (``None``: nothing): reuse shingles per document in
    ``build_dir/shingles``, the reuse index and last tables in ``build_dir/reuse``
    (:mod:`helpers.analysis.reuse_index`), and each paragraph's stems, tokens and quote sentences
    (:mod:`helpers.corpus.paragraph_cache`); ``workers``/``scheduler`` run shingling and the reuse join on Dask
    (:func:`helpers.parallel.runner`). ``document_similarity.csv`` holds each document's
    :data:`NEIGHBOURS` nearest documents; ``max_document_pairs`` (``None``: no cap) cuts it to the most similar pairs, ``max_similar_document_pairs`` the document pairs of
    ``similar_paragraphs.csv``. ``log`` receives one line per table with its size and time.
    ``jobs`` (default :func:`default_jobs`: 1 above :data:`PARALLEL_MAX_PARAGRAPHS`) > 1 computes the
    tables of :data:`SECOND_PROCESS_TABLES` in a second process while this one computes the rest, from
    :data:`PARALLEL_MIN_PARAGRAPHS` paragraphs on (below that a process costs more than it saves); the
    files are the same either way.
    ``max_reuse_pairs`` caps ``text_reuse.csv`` per reuse cluster (``None``: every passage).
    ``only``: ``"text"`` writes :data:`TEXT_FILES` only (``annotated`` then needs no ``themes`` column: the body
    paragraphs of ``paragraphs.parquet`` do, :func:`read_body_paragraphs`), ``"themes"`` :data:`THEME_FILES` only
    (each in this process); the files are the same as when all are written together.
    ``second``: that computation already running (a future of :func:`second_process_tables` with
    the same arguments, as :func:`main` starts it before reading the table).
    ``scored``: the coded validation paragraphs (``REPORTS/validation_scored.csv``,
    :func:`helpers.annotation.corrected_shares.read_scored`; None: none), for the corrected shares.
    Returns ``{file name: path written}``.
    """
    check_number("min_reuse_words", min_reuse_words, 5)  # at least one 5-word shingle
    if only not in PARTS:
        raise ParameterError(f"`only` must be 'text', 'themes' or None (every table). Got {only!r} instead.")
    require_columns(annotated, ["para_id", "doc_id", "title", "organization", "genre", "date", "text"]
                    + ([] if only == "text" else ["themes"]), "The annotated paragraphs table", ANNOTATED_HINT)
    if max_document_pairs is not None:
        check_number("max_document_pairs", max_document_pairs, 1)
    check_number("max_similar_document_pairs", max_similar_document_pairs, 1)
    reports = Path(reports_dir)
    # Absolute: on a Dask cluster the workers read and write these folders from their own working directories.
    build_dir = Path(build_dir).resolve() if build_dir is not None else None
    cache_dir = build_dir / "shingles" if build_dir is not None else None
    written: dict[str, Path] = {}

    def emit(name: str, compute: Callable[[], pd.DataFrame], where: str = "") -> pd.DataFrame:
        t0 = time.perf_counter()
        df = compute()
        written[name] = write_csv(df, reports / name)
        if log is not None:
            log(f"wrote {written[name]} ({len(df):,} rows, {where or f'{time.perf_counter() - t0:.1f} s'})")
        # What the table's computation freed goes back to the system before the next one (and while
        # the second process works): otherwise each stage's peak stays resident for the rest of the run.
        release_memory()
        return df

    def frequencies() -> pd.DataFrame:
        freq = pd.concat([theme_frequencies(annotated, by=level, evidence=evidence, themes=themes)
                          for level in ("document", "organization", "genre", "year")], ignore_index=True)
        return corrected_shares(freq, annotated, scored)

    reuse_parts: dict[str, pd.DataFrame] = {}

    def reuse_table() -> pd.DataFrame:
        with runner(workers, scheduler) as run:
            # Texts are cut after the cap, for the rows kept: 175,504 of 2.8 million passages on the 10x corpus.
            reuse, pairs = reuse_tables(annotated, min_words=min_reuse_words, cache_dir=cache_dir,
                                        state_dir=Path(build_dir) / "reuse" if build_dir is not None else None,
                                        run=run, log=log, texts_cut=False)
        clusters, members, of_passage = reuse_clusters(reuse, annotated)
        reuse_parts.update(pairs=pairs, clusters=clusters, members=members)
        return cut_passage_texts(cap_reuse_pairs(reuse, of_passage, annotated, max_reuse_pairs), annotated)

    wanted = PARTS[only]
    if "theme_frequencies.csv" in wanted:
        freq = emit("theme_frequencies.csv", frequencies)
        emit("theme_ranking.csv", lambda: pd.concat(
            [rank_themes(freq[freq["by"] == level], top=None) for level in ("document", "organization")], ignore_index=True))
        emit("cooccurrence.csv", lambda: theme_cooccurrence(annotated, min_support=min_support))
    side_names = side_tables(only)
    second_args = (annotated, evidence, max_document_pairs, top_similar, max_similar_document_pairs, build_dir, side_names,
                   keyness_min_freq)
    jobs = default_jobs(paragraphs=len(annotated)) if jobs is None else jobs
    check_number("jobs", jobs, 1)
    with ExitStack() as stack:
        side = second
        if side is None and only != "themes" and jobs > 1 and len(annotated) >= PARALLEL_MIN_PARAGRAPHS:
            # These tables share nothing with the rest: a second process computes them meanwhile.
            side = _second_process(stack).submit(second_process_tables, *second_args)
        if "text_reuse.csv" in wanted:
            emit("text_reuse.csv", reuse_table)
            emit("reuse_by_document_pair.csv", lambda: reuse_parts["pairs"])
            emit("reuse_clusters.csv", lambda: reuse_parts["clusters"])
            emit("reuse_cluster_members.csv", lambda: reuse_parts.pop("members"))
        if "keyness.csv" in wanted and "keyness.csv" not in side_names:
            emit("keyness.csv", lambda: keyness(annotated, by="organization", min_freq=keyness_min_freq, cache_dir=build_dir))
        tables = side.result() if side is not None else second_process_tables(*second_args)
        for name in side_names:
            emit(name, lambda name=name: tables[name], "computed in a second process" if side is not None else "")
    return {name: written[name] for name in wanted}


def side_tables(only: str | None) -> tuple[str, ...]:
    """The tables of ``PARTS[only]`` a second process computes (:data:`SECOND_PROCESS_TABLES`; keyness only when ``only="text"``)."""
    return tuple(name for name in SECOND_PROCESS_TABLES if name in PARTS[only] and (name != "keyness.csv" or only == "text"))


def _second_process(stack: ExitStack) -> ProcessPoolExecutor:
    """A one-process pool (spawned: no state shared with this process), shut down when ``stack`` closes."""
    return stack.enter_context(ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")))


def default_jobs(paragraphs: int = 0, file_bytes: int = 0) -> int:
    """Processes the analysis uses by default: two when the machine has two CPUs or more, one for more than
    :data:`PARALLEL_MAX_PARAGRAPHS` annotated paragraphs (a file of more than :data:`PARALLEL_MAX_BYTES`)."""
    if paragraphs > PARALLEL_MAX_PARAGRAPHS or file_bytes > PARALLEL_MAX_BYTES:
        return 1
    return min(2, os.cpu_count() or 1)


def second_process_tables(annotated: pd.DataFrame | str | Path, evidence: pd.DataFrame | str | Path | None,
                          max_document_pairs: int | None, top_similar: int, max_similar_document_pairs: int,
                          build_dir: str | Path | None, names: Sequence[str] = SECOND_PROCESS_TABLES,
                          keyness_min_freq: int = 3) -> dict[str, pd.DataFrame]:
    """The tables ``names`` of :data:`SECOND_PROCESS_TABLES` as DataFrames (computed in a second process at scale).

    ``annotated`` is the table or the path of ``annotated_paragraphs.csv``; ``evidence`` the
    match table, ``None``, or the reports folder to read it from (:func:`read_evidence`)."""
    if not isinstance(annotated, pd.DataFrame):
        annotated = read_annotated(annotated)
    if evidence is not None and not isinstance(evidence, pd.DataFrame):
        evidence = read_evidence(evidence)
    tables = {}
    # One table at a time, each computation's freed memory returned before the next, and all of it
    # once the tables are done: the second process then idles small while the first one works on.
    if "document_similarity.csv" in names:
        tables["document_similarity.csv"] = document_similarity(annotated, top=max_document_pairs, neighbours=NEIGHBOURS)
        release_memory()
    if "similar_paragraphs.csv" in names:
        tables["similar_paragraphs.csv"] = similar_paragraphs(annotated, top_n=top_similar,
                                                              max_document_pairs=max_similar_document_pairs, cache_dir=build_dir)
        release_memory()
    if "keyness.csv" in names:
        tables["keyness.csv"] = keyness(annotated, by="organization", min_freq=keyness_min_freq, cache_dir=build_dir)
        release_memory()
    if "evidence_quotes.csv" in names:
        tables["evidence_quotes.csv"] = (evidence_quotes(annotated, evidence, cache_dir=build_dir) if evidence is not None
                                         else pd.DataFrame(columns=QUOTE_COLUMNS))
    del annotated, evidence
    release_memory()
    return tables


def read_annotated(path: str | Path) -> pd.DataFrame:
    """Read ``annotated_paragraphs.csv`` with ids and text as strings and ``source_para`` as Int64."""
    path = Path(path)
    if not path.is_file():
        raise ParameterError(f"{path}: annotated paragraphs not found. Run `make annotate` first (or pass --reports).")
    df = read_text_csv(path, integers=NUMBER_COLUMNS)
    for col in NUMBER_COLUMNS:
        if col in df.columns and df[col].dtype != "Int64":  # not whole numbers throughout (or read by pandas)
            df[col] = pd.array(pd.to_numeric(df[col].replace("", None), errors="coerce"), dtype="Int64")
    return df


def _more_paragraphs(build_dir: str | Path, limit: int) -> bool:
    """Whether the corpus of ``build_dir`` has more than ``limit`` paragraphs (rows of ``paragraphs.parquet``)."""
    import pyarrow.parquet as pq

    path = Path(build_dir) / "paragraphs.parquet"
    return path.is_file() and pq.ParquetFile(path).metadata.num_rows > limit


@contextmanager
def _text_stage_lock(build_dir: str | Path) -> Iterator[None]:
    """Hold ``BUILD/text-analysis.lock`` (an OS file lock, released when the process ends however it ends):
    the text stage holds it while it works; the theme stage of a corpus of more than
    :data:`THEME_STAGE_WAITS_ABOVE_PARAGRAPHS` paragraphs takes it too, so it starts once the text stage is done
    (and at once when none is running)."""
    import fcntl

    path = Path(build_dir) / "text-analysis.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"waiting for the text analysis of {build_dir} to finish (more than {THEME_STAGE_WAITS_ABOVE_PARAGRAPHS:,} "
                  "paragraphs: the two stages' peaks would coincide)", flush=True)
            fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def read_body_paragraphs(build_dir: str | Path) -> pd.DataFrame:
    """The body paragraphs of ``build_dir/paragraphs.parquet`` as :func:`read_annotated` reads them from
    ``annotated_paragraphs.csv`` (same rows in the same order, same columns but ``themes``): what the reuse
    stage needs, ready before the annotation is."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    path = Path(build_dir) / "paragraphs.parquet"
    if not path.is_file():
        raise ParameterError(f"{path}: paragraphs table not found. Run `make ingest` first (or pass --build).")
    table = pq.read_table(path, columns=BODY_COLUMNS + ["kind"])
    df = table.filter(pc.equal(table["kind"], "body")).select(BODY_COLUMNS).to_pandas()
    for col in BODY_COLUMNS:
        df[col] = pd.array(df[col], dtype="Int64") if col in NUMBER_COLUMNS else df[col].fillna("").astype(str)
    return df


def read_evidence(reports_dir: str | Path) -> pd.DataFrame | None:
    """``REPORTS/evidence.csv`` if present, else ``REPORTS/annotations.csv`` if present, else ``None``."""
    for name in ("evidence.csv", "annotations.csv"):
        path = Path(reports_dir) / name
        if path.is_file():
            df = read_text_csv(path, integers=("start", "end"))
            for col in ("start", "end"):
                if col not in df.columns:
                    continue
                if df[col].dtype != "Int64":  # not whole numbers throughout (or read by pandas)
                    df[col] = pd.to_numeric(df[col].replace("", None), errors="coerce")
                else:  # as to_numeric gives them: int64, or float64 with NaN where a cell is empty
                    df[col] = df[col].astype("float64" if df[col].hasnans else "int64")
            return df
    return None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.analysis.analysis", description=__doc__.split("\n\n")[0])
    parser.add_argument("--reports", required=True, help="reports folder holding annotated_paragraphs.csv")
    parser.add_argument("--min-reuse-words", type=int, default=12, help="shortest reused passage reported (words)")
    parser.add_argument("--min-support", type=int, default=2, help="minimum paragraphs for a co-occurring pair")
    parser.add_argument("--build", help="build folder: cache each document's reuse shingles in BUILD/shingles")
    parser.add_argument("--workers", default="1",
                        help="Dask workers for shingling and the reuse join (1: this process; DASK_SCHEDULER: a cluster)")
    parser.add_argument("--jobs", type=int, default=None,
                        help="processes for the analysis tables (default: 2 on a machine with 2 CPUs or more, "
                             "1 when annotated_paragraphs.csv is over 256 MiB)")
    parser.add_argument("--only", choices=("text", "themes"),
                        help="text: the tables of the paragraphs' words (reuse, similar paragraphs, keyness), from "
                             "BUILD/paragraphs.parquet, needing no annotation; themes: every other table (default: all)")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    if args.only == "text":
        if not args.build:
            raise ParameterError("--only text reads BUILD/paragraphs.parquet: pass --build (the ingest folder).")
        with _text_stage_lock(args.build):
            paragraphs = read_body_paragraphs(args.build)
            print(f"read {len(paragraphs):,} body paragraphs ({time.perf_counter() - t0:.1f} s)", flush=True)
            jobs = args.jobs or (default_jobs(paragraphs=len(paragraphs))
                                 if not _more_paragraphs(args.build, SIDE_BY_SIDE_MAX_PARAGRAPHS) else 1)
            write_analysis_tables(paragraphs, None, args.reports, min_reuse_words=args.min_reuse_words, build_dir=args.build,
                                  workers=args.workers, log=lambda line: print(line, flush=True), jobs=jobs, only="text")
        return 0
    path = Path(args.reports) / "annotated_paragraphs.csv"
    size = path.stat().st_size if path.is_file() else 0
    jobs = default_jobs(file_bytes=size) if args.jobs is None else args.jobs
    with ExitStack() as stack:
        if args.only == "themes" and args.build and _more_paragraphs(args.build, THEME_STAGE_WAITS_ABOVE_PARAGRAPHS):
            stack.enter_context(_text_stage_lock(args.build))
        second = None
        if jobs > 1 and size >= PARALLEL_MIN_BYTES and args.only is None:
            # Start the second process now: it reads the tables itself while this one does.
            second = _second_process(stack).submit(second_process_tables, path, Path(args.reports), MAX_DOCUMENT_PAIRS,
                                                   TOP_SIMILAR, MAX_SIMILAR_DOCUMENT_PAIRS, args.build, side_tables(None))
        annotated = read_annotated(path)
        evidence = read_evidence(args.reports)
        print(f"read {len(annotated):,} annotated paragraphs ({time.perf_counter() - t0:.1f} s)", flush=True)
        write_analysis_tables(annotated, evidence, args.reports, min_reuse_words=args.min_reuse_words,
                              min_support=args.min_support, build_dir=args.build, workers=args.workers,
                              log=lambda line: print(line, flush=True), jobs=jobs, second=second,
                              scored=read_scored(args.reports), only=args.only)
    return 0


if __name__ == "__main__":
    # The importable module's main, not __main__'s: Dask pickles what __main__ defines by value, so each
    # task would carry copies of this module's functions and state (helpers.parallel.importable).
    from helpers.analysis.analysis import main as _main

    raise SystemExit(run_cli(_main))
