"""Tests for helpers.io.read_text_csv: Arrow's reader gives exactly what pandas gives."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from helpers.io import read_text_csv, write_csv


def _pandas(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def test_text_with_line_breaks_quotes_and_empty_fields(tmp_path: Path) -> None:
    df = pd.DataFrame({"para_id": ["a-p001", "a-p002", "b-p001"], "text": ['One "quoted" line,\nthen another.', "", "NA"],
                       "source_para": ["47", "", "3"]})
    path = write_csv(df, tmp_path / "t.csv")
    got = read_text_csv(path)
    pd.testing.assert_frame_equal(got, _pandas(path), check_exact=True)
    assert got.loc[0, "text"] == 'One "quoted" line,\nthen another.' and got.loc[1, "text"] == "" and got.loc[2, "text"] == "NA"


def test_what_arrow_cannot_read_is_read_by_pandas(tmp_path: Path) -> None:
    duplicate = tmp_path / "dup.csv"
    duplicate.write_text("a,a\n1,2\n", encoding="utf-8")  # pandas renames the second column a.1
    assert list(read_text_csv(duplicate).columns) == ["a", "a.1"]
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("a,b\n1\n2,3\n", encoding="utf-8")  # a short row: pandas fills it with ""
    pd.testing.assert_frame_equal(read_text_csv(ragged), _pandas(ragged), check_exact=True)
