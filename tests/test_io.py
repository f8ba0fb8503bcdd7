"""Tests for helpers.io.read_text_csv: Arrow's reader gives exactly what pandas gives."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from helpers.io import csv_text, read_text_csv, write_csv


def _pandas(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def test_text_with_line_breaks_quotes_and_empty_fields(tmp_path: Path) -> None:
    df = pd.DataFrame({"para_id": ["a-p001", "a-p002", "b-p001"], "text": ['One "quoted" line,\nthen another.', "", "NA"],
                       "source_para": ["47", "", "3"]})
    path = write_csv(df, tmp_path / "t.csv")
    got = read_text_csv(path)
    pd.testing.assert_frame_equal(got, _pandas(path), check_exact=True)
    assert got.loc[0, "text"] == 'One "quoted" line,\nthen another.' and got.loc[1, "text"] == "" and got.loc[2, "text"] == "NA"


def test_a_file_of_many_blocks_comes_back_with_each_column_in_one_chunk(tmp_path: Path) -> None:
    """Arrow reads a file in blocks of about 1 MB, one chunk each; the columns are joined, so that a row filter takes
    the rows kept instead of first concatenating every chunk of the column."""
    n = 30_000
    df = pd.DataFrame({"para_id": [f"d{i // 40:04d}-p{i % 40:03d}" for i in range(n)],
                       "text": [f"Paragraph {i}, with a comma and \"quotes\"," + " word" * (i % 50) for i in range(n)]})
    path = write_csv(df, tmp_path / "big.csv")
    assert path.stat().st_size > 3 * 2**20
    got = read_text_csv(path)
    pd.testing.assert_frame_equal(got, _pandas(path), check_exact=True)
    assert [got[c].array.__arrow_array__().num_chunks for c in got.columns] == [1, 1]
    assert got.loc[29_999, "text"].endswith(" word" * 49)


def test_what_arrow_cannot_read_is_read_by_pandas(tmp_path: Path) -> None:
    duplicate = tmp_path / "dup.csv"
    duplicate.write_text("a,a\n1,2\n", encoding="utf-8")  # pandas renames the second column a.1
    assert list(read_text_csv(duplicate).columns) == ["a", "a.1"]
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("a,b\n1\n2,3\n", encoding="utf-8")  # a short row: pandas fills it with ""
    pd.testing.assert_frame_equal(read_text_csv(ragged), _pandas(ragged), check_exact=True)


def test_csv_text_is_exactly_what_pandas_writes() -> None:
    nan = float("nan")
    df = pd.DataFrame({
        "text": ['a, "quoted" word', "line\nbreak", "carriage\rreturn", "", None, "plain", "ünïcödé — “quotes”"],
        "count": [1, 2, 3, 4, 5, 6, -7],
        "nullable": pd.array([1, None, 3, None, 5, 6, 7], dtype="Int64"),
        "flag": [True, False, True, True, False, False, True],
        "share": [0.1, nan, 1e16, 1e-05, -0.0, float("inf"), 2 / 3],
        "a,b": ["x"] * 7,  # a header that needs quoting
    })
    # pandas leaves a bare \r unquoted (Python 3.11's csv module) and so writes a row no reader gets back: quoted here
    assert csv_text(df) == df.to_csv(index=False, lineterminator="\n").replace("carriage\rreturn", '"carriage\rreturn"')
    empty = df.head(0)
    assert csv_text(empty) == empty.to_csv(index=False, lineterminator="\n") == 'text,count,nullable,flag,share,"a,b"\n'


def test_a_bare_carriage_return_is_quoted_and_read_back_in_its_row(tmp_path: Path) -> None:
    # A paragraph of an old Mac file: unquoted, every reader ended the row at the \r (the full UNGDC corpus broke on it).
    df = pd.DataFrame({"para_id": ["a-p001", "a-p002"], "text": ["first\rsecond", "third"]})
    path = write_csv(df, tmp_path / "t.csv")
    assert path.read_bytes() == b'para_id,text\na-p001,"first\rsecond"\na-p002,third\n'
    for got in (read_text_csv(path), _pandas(path)):
        assert got["text"].tolist() == ["first\rsecond", "third"]
    one_column = pd.DataFrame({"text": ["first\rsecond", ""]})  # pandas writes it: every text field quoted
    path = write_csv(one_column, tmp_path / "one.csv")
    assert path.read_bytes() == b'"text"\n"first\rsecond"\n""\n'
    assert read_text_csv(path)["text"].tolist() == ["first\rsecond", ""]


def test_csv_text_leaves_what_it_does_not_handle_to_pandas(tmp_path: Path) -> None:
    mixed = pd.DataFrame({"a": ["x", 1], "b": [1.0, 2.0]})  # an object column holding a number
    one_column = pd.DataFrame({"a": ["", "x"]})  # pandas quotes an empty field alone on its line
    dates = pd.DataFrame({"a": pd.to_datetime(["2024-01-01"]), "b": [1]})
    for df in (mixed, one_column, dates):
        assert csv_text(df) is None
        path = write_csv(df, tmp_path / "t.csv")
        assert path.read_text(encoding="utf-8") == df.to_csv(index=False, lineterminator="\n")
    assert (tmp_path / "t.csv").read_text(encoding="utf-8") == "a,b\n2024-01-01,1\n"


def test_csv_text_of_a_filtered_table_ignores_its_index() -> None:
    df = pd.DataFrame({"a": ["x", "y,z", "w"], "b": [1.5, float("nan"), 3.0]}).iloc[[2, 0, 1]]
    assert csv_text(df) == df.to_csv(index=False, lineterminator="\n") == 'a,b\nw,3.0\nx,1.5\n"y,z",\n'


# ---------------------------------------------------------------- spreadsheet formula injection

def test_csv_cells_a_spreadsheet_would_run_as_formulas_are_neutralised_and_read_back_exactly(tmp_path):
    from helpers.io import read_text_csv

    cells = ['=HYPERLINK("http://evil.example","click")', "+cmd", "-2+3", "@SUM(A1)", "\tx", "\rx", "'=already quoted",
             "-3", "+1.5e3", "- a bullet", "'plain", "ok", ""]
    df = pd.DataFrame({"title": pd.array(cells, dtype="str"), "n": range(-6, len(cells) - 6), "share": [-0.5] * len(cells)})
    target = write_csv(df, tmp_path / "t.csv")
    lines = target.read_bytes().decode("utf-8").split("\n")
    assert lines[1] == "\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"click\"\")\",-6,-0.5"
    assert [line.split(",")[0].strip('"') for line in lines[2:8]] == ["'+cmd", "'-2+3", "'@SUM(A1)", "'\tx", "'\rx", "''=already quoted"]
    assert lines[8:14] == ["-3,1,-0.5", "+1.5e3,2,-0.5", "'- a bullet,3,-0.5", "'plain,4,-0.5", "ok,5,-0.5", ",6,-0.5"]
    df = df[df["title"] != "\rx"]  # (a bare carriage return in a cell does not survive CSV quoting by pandas, neutralised or not)
    back = read_text_csv(write_csv(df, tmp_path / "t.csv"))
    assert back["title"].tolist() == df["title"].tolist()
    assert back["n"].tolist() == [str(n) for n in df["n"]]


def test_formulas_are_restored_by_arrow_as_by_pandas(tmp_path):
    from helpers.io import restore_formulas

    cells = ["'=x", "''=already quoted", "'+1", "'plain", "''", "'", "ünï'=", "'@ü", ""] * 3
    target = tmp_path / "quoted.csv"
    target.write_text("title\n" + "\n".join(f'"{c}"' for c in cells) + "\n", encoding="utf-8")  # as written, not neutralised again
    got = read_text_csv(target)
    assert got["title"].tolist()[:9] == ["=x", "'=already quoted", "+1", "'plain", "''", "'", "ünï'=", "@ü", ""]
    pd.testing.assert_frame_equal(got, restore_formulas(_pandas(target)), check_exact=True)


def test_integer_columns_are_read_as_nullable_integers_when_every_cell_is_one(tmp_path):
    df = pd.DataFrame({"para_id": ["a", "b", "c"], "source_para": ["47", "", "-3"], "rank": ["1", "2.5", ""],
                       "label": ["007", "", "x"]})
    path = write_csv(df, tmp_path / "n.csv")
    got = read_text_csv(path, integers=("source_para", "rank", "label", "absent"))
    assert str(got["source_para"].dtype) == "Int64" and got["source_para"].tolist() == [47, pd.NA, -3]
    # a column with anything but whole numbers stays text, as read without `integers`, for the caller to convert
    assert got["rank"].tolist() == ["1", "2.5", ""] and got["label"].tolist() == ["007", "", "x"]
    pd.testing.assert_frame_equal(got.drop(columns="source_para"), _pandas(path).drop(columns="source_para"), check_exact=True)


def test_build_intermediates_are_written_as_is(tmp_path):
    df = pd.DataFrame({"rule": ["markdown-rule"], "text": ["---"]})
    assert write_csv(df, tmp_path / "c.csv", for_people=False).read_text(encoding="utf-8") == "rule,text\nmarkdown-rule,---\n"


# ---------------------------------------------------------------- what a killed build leaves behind

def test_temporaries_of_a_killed_build_are_removed_by_the_next_write(tmp_path):
    import subprocess
    import sys

    from helpers import io

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(dead.stdout)
    stale = [tmp_path / f".annotated_paragraphs.csv.{pid}.k3j_x9a2.tmp", tmp_path / f".doc@abc.parquet.{pid}.tmp"]
    for p in stale:
        p.write_text("half", encoding="utf-8")
    alive = tmp_path / f".evidence.csv.{os.getpid()}.abcdefgh.tmp"  # a build still running (this process)
    alive.write_text("half", encoding="utf-8")
    mine = tmp_path / ".notes.tmp"  # not ours: no process id
    mine.write_text("keep", encoding="utf-8")
    io._SWEPT.discard(str(tmp_path))
    write_csv(pd.DataFrame({"a": ["x"], "b": [1]}), tmp_path / "out.csv")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([alive.name, mine.name, "out.csv"])


def test_write_csv_in_blocks_writes_the_bytes_of_one_block(tmp_path: Path, monkeypatch) -> None:
    import helpers.io

    df = pd.DataFrame({"text": ["=SUM(A1)", "plain", 'say "hi", then', None, "-1", "ok"] * 7,
                       "n": pd.array([1, None, 3, 4, 5, 6] * 7, dtype="Int64"), "share": [0.5, float("nan"), 1 / 3, 2.0, 0.0, -1.5] * 7})
    whole = write_csv(df, tmp_path / "whole.csv").read_bytes()
    monkeypatch.setattr(helpers.io, "CSV_BLOCK_ROWS", 4)  # 11 blocks, the last of 2 rows
    blocks = write_csv(df, tmp_path / "blocks.csv").read_bytes()
    assert blocks == whole and whole.count(b"\n") == 43
    assert whole.splitlines()[1] == b"'=SUM(A1),1,0.5"  # the formula neutralised in every block
    assert blocks.splitlines()[37] == b"'=SUM(A1),1,0.5"  # row 36, in the tenth block
    assert write_csv(df.iloc[:0], tmp_path / "empty.csv").read_bytes() == b"text,n,share\n"
