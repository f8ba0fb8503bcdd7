"""The blind validation sampler: reproducible, unbiased inclusion probabilities, tune/test split."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

from helpers.errors import ParameterError
from helpers.annotation.validation_sample import SAMPLE_COLUMNS, draw_sample, parse_years


def _paragraphs(n_speech: int = 30, n_decl: int = 10) -> pd.DataFrame:
    rows = []
    for i in range(n_speech + n_decl):
        genre = "speech" if i < n_speech else "declaration"
        rows.append({"para_id": f"d{i // 5}-p{i % 5 + 1:03d}", "doc_id": f"d{i // 5}", "kind": "body",
                     "text": f"paragraph {i}", "genre": genre, "source_para": None})
    rows.append({"para_id": "d0-p000", "doc_id": "d0", "kind": "title", "text": "a title", "genre": "speech", "source_para": None})
    return pd.DataFrame(rows)


def test_same_arguments_same_sample_and_another_seed_another():
    df = _paragraphs()
    a = draw_sample(df, 10, seed=7)
    b = draw_sample(df.sample(frac=1, random_state=3), 10, seed=7)  # input order does not matter
    pd.testing.assert_frame_equal(a, b)
    assert list(a.columns) == SAMPLE_COLUMNS
    assert set(draw_sample(df, 10, seed=8)["para_id"]) != set(a["para_id"])


def test_simple_random_sample_probabilities_and_split():
    s = draw_sample(_paragraphs(), 10, seed=1)
    assert len(s) == 10 and s["para_id"].is_unique
    assert not s["para_id"].eq("d0-p000").any()          # titles are never drawn
    assert (s["inclusion_probability"] == 10 / 40).all()  # 10 of the 40 body paragraphs
    assert s["inclusion_probability"].sum() == pytest.approx(10 * 10 / 40)
    assert s["split"].value_counts().to_dict() == {"test": 5, "tune": 5}
    assert (s["stratum"] == "all").all() and (s["themes"] == "").all() and (s["coder"] == "").all()
    # Horvitz-Thompson: summing 1/pi over the sample estimates the number of body paragraphs exactly.
    assert (1 / s["inclusion_probability"]).sum() == pytest.approx(40)


def test_stratified_sample_records_each_strata_probability():
    s = draw_sample(_paragraphs(), 8, seed=2, stratify="genre", test_fraction=0.25)
    # 30 speech and 10 declaration paragraphs: 6 and 2 draws.
    assert s["stratum"].value_counts().to_dict() == {"speech": 6, "declaration": 2}
    assert set(s.loc[s["stratum"] == "speech", "inclusion_probability"]) == {6 / 30}
    assert set(s.loc[s["stratum"] == "declaration", "inclusion_probability"]) == {2 / 10}
    assert (1 / s["inclusion_probability"]).sum() == pytest.approx(40)
    assert s["split"].value_counts().to_dict() == {"tune": 6, "test": 2}


@pytest.mark.parametrize("kwargs, message", [
    ({"n": 0}, "N must be a whole number of at least 1. Got 0 instead."),
    ({"n": 41}, "N=41 is more than the corpus's 40 body paragraphs. Choose a smaller N."),
    ({"n": 5, "test_fraction": 1.5}, "test_fraction must be between 0 and 1. Got 1.5 instead."),
    ({"n": 5, "stratify": "colour"}, "stratify must be a column of the paragraphs table (doc_id, genre, kind, para_id, source_para). Got 'colour' instead."),
])
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ParameterError) as err:
        draw_sample(_paragraphs(), seed=1, **kwargs)
    assert str(err.value) == message


def test_cli_refuses_to_overwrite_coded_sample(tmp_path):
    paragraphs = tmp_path / "paragraphs.parquet"
    _paragraphs().to_parquet(paragraphs)
    out = tmp_path / "sample.csv"
    cmd = [sys.executable, "-m", "helpers.annotation.validation_sample", "--paragraphs", str(paragraphs), "--n", "6",
           "--seed", "3", "--out", str(out)]
    assert subprocess.run(cmd, capture_output=True, text=True).returncode == 0
    first = out.read_bytes()
    assert subprocess.run(cmd, capture_output=True, text=True).returncode == 0
    assert out.read_bytes() == first                      # same arguments, same bytes
    coded = pd.read_csv(out, dtype=str, keep_default_na=False)
    coded.loc[0, "themes"] = "terrorism"
    coded.to_csv(out, index=False)
    before = out.read_bytes()
    run = subprocess.run(cmd, capture_output=True, text=True)
    assert run.returncode == 2
    assert "already exists and holds coded themes" in run.stderr and "Traceback" not in run.stderr
    assert out.read_bytes() == before


def test_exclude_draws_a_fresh_sample_from_the_rest():
    df = _paragraphs()
    first = draw_sample(df, 10, seed=1)
    fresh = draw_sample(df, 10, seed=2, exclude=first["para_id"].tolist(), test_fraction=1.0)
    assert not set(fresh["para_id"]) & set(first["para_id"])
    assert (fresh["inclusion_probability"] == 10 / 30).all()   # 10 of the 30 paragraphs left
    assert (fresh["split"] == "test").all()


def test_years_draw_only_from_documents_of_that_period():
    df = _paragraphs()
    df["date"] = df["doc_id"].map(lambda d: f"{1990 + int(d[1:])}-09-25")   # d0..d7: 1990..1997, 5 paragraphs each
    s = draw_sample(df, 6, seed=4, test_fraction=0.0, years=(None, 1992))
    assert set(s["doc_id"]) <= {"d0", "d1", "d2"}
    assert (s["inclusion_probability"] == 6 / 15).all()           # 6 of the 15 body paragraphs of 1990-1992
    assert (s["split"] == "tune").all()
    assert set(draw_sample(df, 5, seed=4, years=(1997, 1997))["doc_id"]) == {"d7"}
    with pytest.raises(ParameterError, match="no body paragraph is dated in the years 2001-"):
        draw_sample(df, 1, seed=4, years=(2001, None))


@pytest.mark.parametrize("text, years", [("1946-2000", (1946, 2000)), ("-2000", (None, 2000)), ("1990-", (1990, None)),
                                         (" 1990 ", (1990, 1990))])
def test_years_are_read_as_first_and_last(text, years):
    assert parse_years(text) == years


@pytest.mark.parametrize("text, message", [("2000-1946", "the first year is after the last"), ("90-99", "four-digit years"),
                                           ("1990..2000", "four-digit years")])
def test_bad_years_are_named(text, message):
    with pytest.raises(ParameterError, match=message):
        parse_years(text)
