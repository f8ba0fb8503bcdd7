"""Tests for helpers.annotation.review: export, doccano JSONL, import of only the differences, append-only overrides."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from helpers.annotation.annotate import main as annotate_main
from helpers.errors import AnnotationError
from helpers.annotation.review import SHEET_COLUMNS, append_overrides, main

ROOT = Path(__file__).resolve().parents[1]
CODEBOOK = ROOT / "data" / "codebook.yml"

ANNOTATED = """\
para_id,doc_id,title,organization,genre,date,source_para,position,n_words,text,themes
d-p001,d,T,O,speech,2024-01-01,,1,3,Terrorism and drugs.,drug_trafficking;terrorism
d-p002,d,T,O,speech,2024-01-01,2,2,2,No theme.,
d-p003,d,T,O,speech,2024-01-01,3,3,2,"The WHO, sanctions.",biosecurity;sanctions
"""
EXISTING = "para_id,theme,action,coder,note\nd-p002,world_order,remove,ana,\"kept, exactly\"\n"


@pytest.fixture
def files(tmp_path):
    annotated = tmp_path / "annotated_paragraphs.csv"
    annotated.write_text(ANNOTATED, encoding="utf-8")
    overrides = tmp_path / "overrides.csv"
    overrides.write_text(EXISTING, encoding="utf-8")
    return annotated, overrides


def test_export_sheet_and_doccano(files, tmp_path, capsys):
    annotated, _ = files
    annotations = tmp_path / "annotations.csv"
    annotations.write_text("para_id,doc_id,theme,source,evidence\nd-p001,d,terrorism,rule,Terrorism (0-9)\n"
                           "d-p001,d,drug_trafficking,rule,drugs (14-19)\n", encoding="utf-8")
    sheet_path, jsonl_path = tmp_path / "review.csv", tmp_path / "review.jsonl"
    assert main(["export", "--annotated", str(annotated), "--annotations", str(annotations),
                 "--csv", str(sheet_path), "--jsonl", str(jsonl_path)]) == 0
    assert "exported 3 paragraphs for review" in capsys.readouterr().out
    sheet = pd.read_csv(sheet_path, dtype=str, keep_default_na=False)
    assert list(sheet.columns) == SHEET_COLUMNS
    assert sheet["reviewed_themes"].tolist() == sheet["suggested_themes"].tolist() == [
        "drug_trafficking;terrorism", "", "biosecurity;sanctions"]
    assert sheet.loc[0, "evidence"] == "terrorism: Terrorism (0-9)\ndrug_trafficking: drugs (14-19)"
    lines = [json.loads(x) for x in jsonl_path.read_text(encoding="utf-8").splitlines()]
    assert lines[0] == {"text": "Terrorism and drugs.", "label": ["drug_trafficking", "terrorism"],
                        "para_id": "d-p001", "doc_id": "d", "suggested": ["drug_trafficking", "terrorism"]}
    assert lines[1]["label"] == []


def test_import_appends_only_differences_and_keeps_existing_rows(files, tmp_path, capsys):
    annotated, overrides = files
    sheet = tmp_path / "review.csv"
    main(["export", "--annotated", str(annotated), "--csv", str(sheet)])
    df = pd.read_csv(sheet, dtype=str, keep_default_na=False)
    df.loc[0, ["reviewed_themes", "coder"]] = ["terrorism;illicit_finance", "bob"]  # -drug, +illicit_finance
    df.loc[2, ["reviewed_themes", "coder", "note"]] = ["biosecurity;sanctions", "bob", "agree"]  # unchanged
    df.to_csv(sheet, index=False)
    assert main(["import", "--reviewed", str(sheet), "--annotated", str(annotated), "--codebook", str(CODEBOOK),
                 "--overrides", str(overrides)]) == 0
    assert "appended 2 override rows (1 add, 1 remove)" in capsys.readouterr().out
    text = overrides.read_text(encoding="utf-8")
    assert text.startswith(EXISTING)
    assert text[len(EXISTING):] == (
        "d-p001,illicit_finance,add,bob,review import from review.csv\n"
        "d-p001,drug_trafficking,remove,bob,review import from review.csv\n"
    )
    # importing the same review again against the updated annotation adds nothing
    updated = annotated.read_text(encoding="utf-8").replace("drug_trafficking;terrorism", "illicit_finance;terrorism")
    annotated.write_text(updated, encoding="utf-8")
    main(["import", "--reviewed", str(sheet), "--annotated", str(annotated), "--codebook", str(CODEBOOK),
          "--overrides", str(overrides)])
    assert "no difference from the current annotation" in capsys.readouterr().out
    assert overrides.read_text(encoding="utf-8") == text


def test_import_doccano_export_needs_coder(files, tmp_path):
    annotated, overrides = files
    export = tmp_path / "doccano.jsonl"
    export.write_text(
        json.dumps({"id": 7, "text": "No theme.", "label": ["world_order"], "meta": {"para_id": "d-p002"}}) + "\n"
        + json.dumps({"id": 8, "text": "x", "label": ["biosecurity", "sanctions"], "para_id": "d-p003"}) + "\n",
        encoding="utf-8",
    )
    args = ["import", "--reviewed", str(export), "--annotated", str(annotated), "--codebook", str(CODEBOOK),
            "--overrides", str(overrides)]
    with pytest.raises(AnnotationError, match=r"doccano\.jsonl, line 1: paragraph d-p002 was changed but no coder is given\."):
        main(args)
    assert overrides.read_text(encoding="utf-8") == EXISTING
    main(args + ["--coder", "cy"])
    assert overrides.read_text(encoding="utf-8") == EXISTING + "d-p002,world_order,add,cy,review import from doccano.jsonl\n"


def test_dry_run_writes_nothing(files, tmp_path):
    annotated, overrides = files
    sheet = tmp_path / "r.csv"
    sheet.write_text("para_id,reviewed_themes,coder,note\nd-p002,sanctions,ana,\n", encoding="utf-8")
    main(["import", "--reviewed", str(sheet), "--annotated", str(annotated), "--codebook", str(CODEBOOK),
          "--overrides", str(overrides), "--dry-run"])
    assert overrides.read_text(encoding="utf-8") == EXISTING


@pytest.mark.parametrize(
    "content, message",
    [
        ("para_id,reviewed_themes,coder\nd-p009,terrorism,ana\n", r"r\.csv, line 2: unknown paragraph 'd-p009'\."),
        ("para_id,reviewed_themes,coder\nd-p001,terror,ana\n",
         r"r\.csv, line 2: unknown theme 'terror' for paragraph d-p001\. Known themes: terrorism,"),
        ("para_id,reviewed_themes,coder\nd-p001,,ana\nd-p001,,ana\n",
         r"r\.csv, line 3: paragraph d-p001 is reviewed twice \(first at line 2\)\."),
        ("para_id,themes\nd-p001,\n", r"r\.csv, line 1: a review sheet needs the columns para_id and reviewed_themes"),
    ],
)
def test_bad_review_rows_name_the_row(files, tmp_path, content, message):
    annotated, overrides = files
    sheet = tmp_path / "r.csv"
    sheet.write_text(content, encoding="utf-8")
    with pytest.raises(AnnotationError, match=message):
        main(["import", "--reviewed", str(sheet), "--annotated", str(annotated), "--codebook", str(CODEBOOK),
              "--overrides", str(overrides)])
    assert overrides.read_text(encoding="utf-8") == EXISTING


def test_append_creates_file_and_refuses_bad_header(tmp_path):
    rows = pd.DataFrame([{"para_id": "p", "theme": "t", "action": "add", "coder": "c", "note": "n, with comma"}])
    new = tmp_path / "sub" / "o.csv"
    append_overrides(rows, new)
    assert new.read_text(encoding="utf-8") == 'para_id,theme,action,coder,note\np,t,add,c,"n, with comma"\n'
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2", encoding="utf-8")
    with pytest.raises(AnnotationError, match=r"bad\.csv, line 1: header must be para_id,theme,action,coder,note\. "
                                              r"Got 'a,b' instead\. Nothing was written\."):
        append_overrides(rows, bad)
    assert bad.read_text(encoding="utf-8") == "a,b\n1,2"
    # a file without a final newline gets one before the new rows
    ok = tmp_path / "ok.csv"
    ok.write_text("para_id,theme,action,coder,note\nx,y,add,z,w", encoding="utf-8")
    append_overrides(rows, ok)
    assert ok.read_text(encoding="utf-8").splitlines()[1:] == ["x,y,add,z,w", 'p,t,add,c,"n, with comma"']


def test_round_trip_through_annotate(tmp_path):
    """Review import -> overrides -> annotate gives exactly the reviewed themes."""
    from helpers.corpus.corpus import load_paragraphs

    seed = load_paragraphs(ROOT / "data", ROOT / "data" / "cleaning.yml")
    parquet = tmp_path / "paragraphs.parquet"
    seed.to_parquet(parquet, index=False)
    overrides = tmp_path / "overrides.csv"
    overrides.write_text("para_id,theme,action,coder,note\n", encoding="utf-8")
    reports = tmp_path / "reports"
    run = ["--paragraphs", str(parquet), "--codebook", str(CODEBOOK), "--overrides", str(overrides), "--reports", str(reports)]
    annotate_main(run)
    sheet = tmp_path / "review.csv"
    main(["export", "--annotated", str(reports / "annotated_paragraphs.csv"), "--csv", str(sheet)])
    df = pd.read_csv(sheet, dtype=str, keep_default_na=False)
    i = df.index[df["para_id"] == "brics-kazan-2024-p012"][0]
    df.loc[i, ["reviewed_themes", "coder"]] = ["drug_trafficking;illicit_finance;sanctions", "rev"]
    df.to_csv(sheet, index=False)
    main(["import", "--reviewed", str(sheet), "--annotated", str(reports / "annotated_paragraphs.csv"),
          "--codebook", str(CODEBOOK), "--overrides", str(overrides)])
    annotate_main(run)
    final = pd.read_csv(reports / "annotated_paragraphs.csv", dtype=str, keep_default_na=False)
    assert final.loc[final["para_id"] == "brics-kazan-2024-p012", "themes"].item() == \
        "drug_trafficking;illicit_finance;sanctions"
    assert len(pd.read_csv(overrides)) == 3  # +sanctions, -emerging_tech, -terrorism
