"""The analysts' review loop: export suggested themes for review, import the decisions as overrides.

1. ``export`` writes a review sheet (CSV) and/or a doccano JSONL file from
   ``annotated_paragraphs.csv``: one row per body paragraph with the suggested (final) themes,
   their evidence, and a ``reviewed_themes`` column prefilled with the suggestion for the analyst
   to edit (theme ids joined by ``;``; empty = no theme). The JSONL file holds one object per
   paragraph, ``{"text", "label": [theme ids], "para_id", "doc_id", "suggested"}``, the format of
   doccano's text-classification import; doccano keeps the other keys and writes them back on
   export.
2. ``import`` reads a reviewed sheet or a doccano export, compares each paragraph's reviewed
   themes with its current final themes, and appends only the differences to the overrides file
   as ``add``/``remove`` rows. Existing rows are copied byte for byte and the file is replaced
   atomically, so analysts' earlier decisions are never lost or rewritten. This is the only
   automatic step that writes ``overrides.csv``, and only when asked to.

Command line::

    python -m helpers.annotation.review export --annotated REPORTS/annotated_paragraphs.csv \\
        [--annotations REPORTS/annotations.csv] [--csv review.csv] [--jsonl review.jsonl]
    python -m helpers.annotation.review import --reviewed review.csv --annotated REPORTS/annotated_paragraphs.csv \\
        --codebook data/codebook.yml --overrides data/annotations/overrides.csv [--coder NAME] [--dry-run]
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from helpers.annotation.annotate import OVERRIDE_COLUMNS
from helpers.annotation.codebook import Codebook, load_codebook
from helpers.errors import AnnotationError, run_cli
from helpers.io import atomic_path, restore_formulas, write_csv, write_text

SHEET_COLUMNS = [
    "para_id", "doc_id", "source_para", "text", "suggested_themes", "evidence", "reviewed_themes", "coder", "note",
]


def _read_annotated(path: str | Path) -> pd.DataFrame:
    p = Path(path)
    if not p.is_file():
        raise AnnotationError(f"{p}: annotated paragraphs not found. Run make annotate first.")
    df = restore_formulas(pd.read_csv(p, dtype=str, keep_default_na=False))
    missing = [c for c in ("para_id", "doc_id", "text", "themes") if c not in df.columns]
    if missing:
        raise AnnotationError(
            f"{p}: not an annotated_paragraphs.csv: missing column(s) {', '.join(missing)}. "
            "Pass the file written by helpers.annotation.annotate."
        )
    return df


def review_sheet(annotated: pd.DataFrame, annotations: pd.DataFrame | None = None) -> pd.DataFrame:
    """The review sheet for ``annotated`` (the table of annotated_paragraphs.csv).

    Output columns: ``para_id``, ``doc_id``, ``source_para`` (str), ``text`` (str),
    ``suggested_themes`` (str, current final themes joined by ``;``), ``evidence`` (str, one
    ``theme: evidence`` line per theme, from ``annotations`` when given, else empty),
    ``reviewed_themes`` (str, prefilled with the suggestion, for the analyst to edit), ``coder``
    and ``note`` (str, empty, for the analyst).
    """
    ev: dict[str, str] = {}
    if annotations is not None and len(annotations):
        for pid, grp in annotations.groupby("para_id", sort=False):
            ev[pid] = "\n".join(f"{t}: {e}" for t, e in zip(grp["theme"], grp["evidence"].fillna("")))
    sheet = pd.DataFrame(
        {
            "para_id": annotated["para_id"],
            "doc_id": annotated["doc_id"],
            "source_para": annotated["source_para"] if "source_para" in annotated else "",
            "text": annotated["text"],
            "suggested_themes": annotated["themes"],
            "evidence": [ev.get(p, "") for p in annotated["para_id"]],
            "reviewed_themes": annotated["themes"],
            "coder": "",
            "note": "",
        },
        columns=SHEET_COLUMNS,
    )
    return sheet.reset_index(drop=True)


def doccano_lines(annotated: pd.DataFrame) -> str:
    """doccano text-classification JSONL for ``annotated``: one JSON object per line."""
    out = []
    for pid, did, text, themes in zip(annotated["para_id"], annotated["doc_id"], annotated["text"], annotated["themes"]):
        labels = [t for t in str(themes).split(";") if t]
        out.append(json.dumps({"text": text, "label": labels, "para_id": pid, "doc_id": did, "suggested": labels},
                              ensure_ascii=False))
    return "\n".join(out) + ("\n" if out else "")


def export_review(
    annotated_path: str | Path,
    csv_path: str | Path | None = None,
    jsonl_path: str | Path | None = None,
    annotations_path: str | Path | None = None,
) -> pd.DataFrame:
    """Write the review sheet (CSV) and/or doccano JSONL; return the sheet (:func:`review_sheet`)."""
    if csv_path is None and jsonl_path is None:
        raise AnnotationError("export needs --csv and/or --jsonl: where to write the review files.")
    annotated = _read_annotated(annotated_path)
    annotations = pd.read_csv(annotations_path, dtype=str, keep_default_na=False) if annotations_path else None
    sheet = review_sheet(annotated, annotations)
    if csv_path is not None:
        write_csv(sheet, csv_path)
    if jsonl_path is not None:
        write_text(doccano_lines(annotated), jsonl_path)
    return sheet


def _split_themes(value: object) -> list[str]:
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    text = "" if value is None else str(value)
    return [t.strip() for t in text.replace(",", ";").split(";") if t.strip()]


def read_reviewed(path: str | Path) -> pd.DataFrame:
    """Read a reviewed sheet (``.csv``) or doccano export (``.jsonl``).

    Output columns: ``para_id`` (str), ``themes`` (list of str, the reviewed themes),
    ``coder``, ``note`` (str, may be empty), ``line`` (int, line in the file).
    """
    p = Path(path)
    if not p.is_file():
        raise AnnotationError(f"{p}: reviewed file not found.")
    rows = []
    if p.suffix.lower() == ".jsonl":
        for n, raw in enumerate(p.read_text(encoding="utf-8").splitlines(), start=1):
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise AnnotationError(f"{p}, line {n}: not valid JSON ({exc.msg}).") from None
            meta = obj.get("meta") if isinstance(obj.get("meta"), dict) else {}
            pid = obj.get("para_id") or meta.get("para_id")
            if not pid:
                raise AnnotationError(f"{p}, line {n}: no para_id (top level or under 'meta'). Export it with helpers.annotation.review.")
            labels = next((obj[k] for k in ("label", "labels", "cats") if k in obj), None)
            if labels is None:
                raise AnnotationError(f"{p}, line {n}: no 'label' list for paragraph {pid}.")
            rows.append({"para_id": pid, "themes": _split_themes(labels), "coder": "", "note": "", "line": n})
    else:
        with p.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            header = reader.fieldnames or []
            if "para_id" not in header or "reviewed_themes" not in header:
                raise AnnotationError(
                    f"{p}, line 1: a review sheet needs the columns para_id and reviewed_themes "
                    f"(found: {','.join(header) or 'nothing'}). Export one with 'python -m helpers.annotation.review export'."
                )
            for row in reader:
                rows.append({"para_id": (row.get("para_id") or "").strip(),
                             "themes": _split_themes(row.get("reviewed_themes")),
                             "coder": (row.get("coder") or "").strip(), "note": (row.get("note") or "").strip(),
                             "line": reader.line_num})
    return pd.DataFrame(rows, columns=["para_id", "themes", "coder", "note", "line"])


def review_differences(
    reviewed: pd.DataFrame, annotated: pd.DataFrame, codebook: Codebook, source: str = "review",
    coder: str | None = None,
) -> pd.DataFrame:
    """Override rows that turn the current annotation into the reviewed one (only the differences).

    Inputs: :func:`read_reviewed`'s table; the annotated paragraphs (``para_id``, ``themes``);
    the codebook; ``source`` names the reviewed file in error messages and default notes;
    ``coder`` is used where a row has none.
    Output columns: ``para_id, theme, action`` (``add``|``remove``), ``coder, note`` (str), in
    the reviewed file's order, themes in codebook order. Raises :class:`AnnotationError` naming
    the line of an unknown paragraph or theme, a paragraph reviewed twice, or a row without coder.
    """
    current = dict(zip(annotated["para_id"], annotated["themes"]))
    order = {t: i for i, t in enumerate(codebook.theme_ids)}
    seen: dict[str, int] = {}
    out = []
    for pid, themes, row_coder, note, line in reviewed.itertuples(index=False):
        where = f"{source}, line {line}"
        if pid not in current:
            raise AnnotationError(
                f"{where}: unknown paragraph '{pid}'. Only body paragraphs of annotated_paragraphs.csv can be reviewed."
            )
        if pid in seen:
            raise AnnotationError(f"{where}: paragraph {pid} is reviewed twice (first at line {seen[pid]}). Keep one row.")
        seen[pid] = line
        for t in themes:
            if t not in codebook:
                raise AnnotationError(
                    f"{where}: unknown theme '{t}' for paragraph {pid}. Known themes: {', '.join(codebook.theme_ids)}."
                )
        before = {t for t in str(current[pid]).split(";") if t}
        after = set(themes)
        if before == after:
            continue
        who = row_coder or coder
        if not who:
            raise AnnotationError(f"{where}: paragraph {pid} was changed but no coder is given. Fill 'coder' or pass --coder.")
        why = note or f"review import from {Path(source).name}"
        for t in sorted(after - before, key=order.__getitem__):
            out.append({"para_id": pid, "theme": t, "action": "add", "coder": who, "note": why})
        for t in sorted(before - after, key=order.__getitem__):
            out.append({"para_id": pid, "theme": t, "action": "remove", "coder": who, "note": why})
    return pd.DataFrame(out, columns=OVERRIDE_COLUMNS)


def append_overrides(rows: pd.DataFrame, overrides_path: str | Path) -> Path:
    """Append ``rows`` to the overrides file atomically, keeping every existing byte.

    A missing file is created with the header ``para_id,theme,action,coder,note``. An existing
    file must start with that header; its content is copied unchanged and the new rows follow.
    """
    p = Path(overrides_path)
    existing = p.read_text(encoding="utf-8") if p.exists() else ""
    if existing:
        first = existing.lstrip("\ufeff").splitlines()[0] if existing.strip() else ""
        header = [c.strip() for c in first.split(",")]
        if header[: len(OVERRIDE_COLUMNS)] != OVERRIDE_COLUMNS:
            raise AnnotationError(
                f"{p}, line 1: header must be {','.join(OVERRIDE_COLUMNS)}. Got '{first}' instead. Nothing was written."
            )
        if not existing.endswith("\n"):
            existing += "\n"
    else:
        existing = ",".join(OVERRIDE_COLUMNS) + "\n"
    buf = io.StringIO()
    rows[OVERRIDE_COLUMNS].to_csv(buf, index=False, header=False, lineterminator="\n")
    with atomic_path(p) as tmp:
        tmp.write_text(existing + buf.getvalue(), encoding="utf-8", newline="")
    return p


def import_review(
    reviewed_path: str | Path, annotated_path: str | Path, codebook: Codebook | str | Path,
    overrides_path: str | Path, coder: str | None = None, dry_run: bool = False,
) -> pd.DataFrame:
    """Import a reviewed file: compute :func:`review_differences` and append them to the overrides
    file (unless ``dry_run`` or there is no difference). Returns the new override rows."""
    cb = codebook if isinstance(codebook, Codebook) else load_codebook(codebook)
    rows = review_differences(read_reviewed(reviewed_path), _read_annotated(annotated_path), cb,
                              source=str(reviewed_path), coder=coder)
    if len(rows) and not dry_run:
        append_overrides(rows, overrides_path)
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.annotation.review", description="Export themes for review; import reviews as overrides.")
    sub = parser.add_subparsers(dest="command", required=True)
    ex = sub.add_parser("export", help="write a review sheet (CSV) and/or doccano JSONL")
    ex.add_argument("--annotated", required=True, help="REPORTS/annotated_paragraphs.csv")
    ex.add_argument("--annotations", help="REPORTS/annotations.csv (adds the evidence column)")
    ex.add_argument("--csv", help="review sheet to write")
    ex.add_argument("--jsonl", help="doccano JSONL to write")
    im = sub.add_parser("import", help="append the reviewed differences to the overrides file")
    im.add_argument("--reviewed", required=True, help="reviewed sheet (.csv) or doccano export (.jsonl)")
    im.add_argument("--annotated", required=True, help="REPORTS/annotated_paragraphs.csv (the current themes)")
    im.add_argument("--codebook", required=True)
    im.add_argument("--overrides", required=True, help="overrides CSV to append to")
    im.add_argument("--coder", help="coder for rows that name none (always needed for doccano files)")
    im.add_argument("--dry-run", action="store_true", help="print the rows, write nothing")
    args = parser.parse_args(argv)
    if args.command == "export":
        sheet = export_review(args.annotated, args.csv, args.jsonl, args.annotations)
        print(f"exported {len(sheet)} paragraphs for review" + "".join(f" -> {x}" for x in (args.csv, args.jsonl) if x))
        return 0
    rows = import_review(args.reviewed, args.annotated, args.codebook, args.overrides, args.coder, args.dry_run)
    if rows.empty:
        print(f"{args.reviewed}: no difference from the current annotation; {args.overrides} unchanged")
    else:
        rows.to_csv(sys.stdout, index=False, lineterminator="\n")
        verb = "would append" if args.dry_run else "appended"
        print(f"{verb} {len(rows)} override rows ({(rows['action'] == 'add').sum()} add, "
              f"{(rows['action'] == 'remove').sum()} remove) to {args.overrides}")
    return 0


if __name__ == "__main__":
    raise SystemExit(run_cli(main))
