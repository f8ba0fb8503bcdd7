"""The briefing at scale: the 30-speech UNGDC sample grouped by blocs, and a corpus with a skipped document.

The sample is the one of tests/test_ungdc_sample.py (CSTO/SCO/BRICS core states RUS, BLR, KAZ,
KGZ, TJK, ARM, CHN, IND, BRA, ZAF in the 2016, 2020 and 2024 sessions). Counted by hand from
data/groups.yml and the manifest (membership on each speech's date):

- CSTO: ARM, BLR, KAZ, KGZ, RUS, TJK x 3 sessions = 18 speeches;
- SCO: CHN, KAZ, KGZ, RUS, TJK x 3 = 15, IND 2020 and 2024 (member since June 2017) = 2,
  BLR 2024 (member since July 2024) = 1: 18 speeches;
- BRICS: BRA, CHN, IND, RUS x 3 = 12, ZAF 2020 and 2024 = 2: 14 speeches (ZAF 2016 has no
  organisation in the manifest, so it is 'unknown' and in no group: none = 1);
- NATO and the EU have no member in the sample.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from bs4 import BeautifulSoup
from pypdf import PdfReader

from helpers import render
from helpers.analysis import read_annotated, read_evidence, write_analysis_tables
from helpers.briefing import group_paragraphs, more_rows, text_window, trend_unit
from helpers.annotate import annotate_corpus
from helpers.corpus import ingest
from helpers.provenance import PROJECT_ROOT

from conftest import UNGDC, write_ungdc_sample

CODEBOOK = PROJECT_ROOT / "data" / "codebook.yml"
TOP_N = 3


# ------------------------------------------------------------------ small functions, hand-checked

def test_group_paragraphs_counts_a_document_in_each_of_its_groups():
    a = pd.DataFrame({"para_id": ["r-p1", "r-p2", "k-p1"], "doc_id": ["r", "r", "k"], "organization": ["Russia", "Russia", "Kenya"],
                      "date": ["2024-09-24"] * 3, "themes": ["terrorism", "", "terrorism"], "text": ["x", "y", "z"]})
    ev = pd.DataFrame({"para_id": ["r-p1", "k-p1"], "theme": ["terrorism", "terrorism"]})
    assign = pd.DataFrame({"doc_id": ["r", "r", "k"], "group": ["BRICS", "CSTO", "none"]})
    grouped, gev = group_paragraphs(a, ev, assign)
    assert grouped["para_id"].tolist() == ["r-p1@BRICS", "r-p1@CSTO", "r-p2@BRICS", "r-p2@CSTO", "k-p1@none"]
    assert grouped["organization"].tolist() == ["BRICS", "CSTO", "BRICS", "CSTO", "none"]
    assert list(grouped.columns) == list(a.columns)
    assert sorted(gev["para_id"]) == ["k-p1@none", "r-p1@BRICS", "r-p1@CSTO"]
    single, sev = group_paragraphs(a, ev, pd.DataFrame({"doc_id": ["r", "k"], "group": ["CSTO", "rest"]}))
    assert single["para_id"].tolist() == ["r-p1", "r-p2", "k-p1"] and single["organization"].tolist() == ["CSTO", "CSTO", "rest"]
    assert sev is ev


def test_text_window_keeps_short_text_and_cuts_long_text_around_the_spans():
    assert text_window("short text", [(0, 5)]) == (0, 10)
    text = " ".join(f"w{i:03d}" for i in range(1000))            # 5 characters a word: word i starts at 5 * i
    start, end = text_window(text, [(2500, 2504)], max_chars=400, context=100)
    assert (start, end) == (2400, 2604)                           # whole words, 100 characters either side
    assert text[start:end].startswith("w480") and text[start:end].endswith("w520")


def test_trend_unit_switches_to_documents_when_paragraph_lengths_differ_by_year():
    a = pd.DataFrame({"date": ["2016-09-20", "2017-09-19", "2018-09-25"], "n_words": [100, 90, 30]})
    unit, lengths = trend_unit(a)
    assert unit == "document" and lengths.to_dict() == {"2016": 100.0, "2017": 90.0, "2018": 30.0}
    assert trend_unit(a.assign(n_words=[100, 90, 60]))[0] == "paragraph"
    assert trend_unit(a.iloc[:2])[0] == "paragraph"               # two years: no trend test anyway


def test_more_rows_says_how_many_and_where():
    assert more_rows(5, 5, "x.csv") == ""
    assert more_rows(5, 1938, "briefing_documents.csv", "documents") == (
        '<p class="note">Showing 5 of 1,938 documents; the other 1,933 are in <code>briefing_documents.csv</code> in the reports folder.</p>')


def _build(corpus: Path, reports: Path, build: Path, on_error: str = "stop") -> None:
    ingest(corpus, build, on_error=on_error)
    annotate_corpus(build / "paragraphs.parquet", CODEBOOK, reports)
    write_analysis_tables(read_annotated(reports / "annotated_paragraphs.csv"), read_evidence(reports), reports)


def _tables(soup: BeautifulSoup) -> dict[str, BeautifulSoup]:
    """Each table by its caption text (without the "Table N." number)."""
    out = {}
    for fig in soup.select("figure.table-block"):
        cap = fig.find("figcaption").get_text(" ", strip=True)
        out[re.sub(r"^Table \d+\.\s*", "", cap)] = fig.find("table")
    return out


def _rows(table) -> list[list[str]]:
    return [[td.get_text(" ", strip=True) for td in tr.find_all("td")] for tr in table.find("tbody").find_all("tr")]


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    if not (UNGDC / "manifest.csv").is_file():
        pytest.skip(f"{UNGDC} not present")
    tmp = tmp_path_factory.mktemp("ungdc-briefing")
    corpus, reports, build = tmp / "corpus", tmp / "reports", tmp / "build"
    write_ungdc_sample(corpus)
    _build(corpus, reports, build)
    params = {"corpus": str(corpus), "codebook": str(CODEBOOK), "reports": str(reports), "build": str(build),
              "group_by": "blocs", "top_n": TOP_N, "title": "UNGDC sample by bloc"}
    html, pdf = reports / "briefing.html", reports / "briefing.pdf"
    render.render_briefing(PROJECT_ROOT / "notebooks" / "briefing.ipynb", parameters=params, build_dir=build, html_path=html, pdf_path=pdf)
    text = html.read_text(encoding="utf-8")
    return {"reports": reports, "html": text, "soup": BeautifulSoup(text, "html.parser"), "pdf": pdf}


def test_groups_are_named_with_hand_counted_documents(sample):
    tables = _tables(sample["soup"])
    groups = {r[0]: r for r in _rows(tables["Groups of speakers: documents, body paragraphs and the speakers they hold."])}
    assert {g: int(r[1]) for g, r in groups.items()} == {"BRICS": 14, "CSTO": 18, "SCO": 18, "none": 1}
    assert groups["CSTO"][3] == "Armenia, Belarus, Kazakhstan, Kyrgyzstan, Russian Federation, Tajikistan"
    assert '<h3 id="themes-by-organization">3.1 Themes by group</h3>' in sample["html"]
    findings = sample["soup"].find("ul", class_="findings").get_text(" ", strip=True)
    assert "BRICS (14), CSTO (18), SCO (18) and none (1) documents" in findings
    assert "counts in each of them" in findings


def test_trend_tables_are_present_and_written(sample):
    tables = _tables(sample["soup"])
    caption = next(c for c in tables if c.startswith("The themes whose share changed most"))
    rows = _rows(tables[caption])
    assert 1 <= len(rows) <= TOP_N
    assert all(r[0] in {"BRICS", "CSTO", "SCO", "none"} and r[2] == "2016–2024" for r in rows)
    changes = pd.read_csv(sample["reports"] / "theme_changes.csv")
    assert set(changes["group"]) == {"All organisations", "BRICS", "CSTO", "SCO"}   # 'none' has one year only
    trends = pd.read_csv(sample["reports"] / "theme_trends.csv", dtype={"year": str})
    csto = trends[(trends["group"] == "CSTO") & (trends["theme"] == "un_system")]
    assert csto["documents"].tolist() == [6, 6, 6] and csto["year"].tolist() == ["2016", "2020", "2024"]
    versus = pd.read_csv(sample["reports"] / "members_vs_rest.csv")
    assert set(versus["group"]) == {"BRICS", "CSTO", "SCO"}
    assert "Members against the rest" in " ".join(tables)


def test_long_tables_are_cut_to_top_n_with_a_pointer_to_the_csv(sample):
    tables = _tables(sample["soup"])
    for start in ("The 3 longest documents", "The most reused passages", "Document pairs sharing reused passages",
                  "The themes whose share changed most"):
        caption = next(c for c in tables if c.startswith(start))
        assert len(_rows(tables[caption])) <= TOP_N, caption
    notes = sample["soup"].find_all("p", class_="note")
    pointers = " ".join(n.get_text(" ", strip=True) for n in notes)
    assert "Showing 3 of 30 documents; the other 27 are in briefing_documents.csv" in pointers
    assert "reused_passages.csv" in pointers and "theme_changes.csv" in pointers
    n_themes = 21
    assert max(len(_rows(t)) for t in tables.values()) <= n_themes + 3   # never a 30-row or 193-row table
    assert len(PdfReader(str(sample["pdf"])).pages) < 30


def test_reuse_is_split_into_cross_and_self(sample):
    cs = pd.read_csv(sample["reports"] / "reuse_cross_vs_self.csv", keep_default_na=False)
    reuse = pd.read_csv(sample["reports"] / "text_reuse.csv", keep_default_na=False)
    assert cs["passages"].sum() == len(reuse)
    assert set(cs["kind"]) <= {"cross", "self"}
    passages = pd.read_csv(sample["reports"] / "reused_passages.csv", keep_default_na=False)
    assert passages["rows"].sum() == len(reuse)
    assert '<h3 id="reuse-cross-self">' in sample["html"] and '<h3 id="reused-passages">' in sample["html"]


def test_ingest_warning_is_listed_in_methods(sample):
    tables = _tables(sample["soup"])
    rows = _rows(tables["Ingest warnings."])
    assert [r[0] for r in rows] == ["ZAF_71_2016"]
    assert "field 'organization' is empty; using 'unknown'" in rows[0][1]


def test_skipped_document_is_listed_in_methods(tmp_path):
    corpus, reports, build = tmp_path / "corpus", tmp_path / "reports", tmp_path / "build"
    shutil.copytree(PROJECT_ROOT / "data", corpus, ignore=shutil.ignore_patterns("annotations", "*.yml"))
    with (corpus / "manifest.csv").open("a", encoding="utf-8", newline="") as fh:
        fh.write("ghost-2024,missing.txt,A document whose file is gone,CSTO,news,2024-12-06,,,en,\n")
    _build(corpus, reports, build, on_error="skip")
    html = reports / "briefing.html"
    render.render_briefing(PROJECT_ROOT / "notebooks" / "briefing.ipynb",
                           parameters={"corpus": str(corpus), "codebook": str(CODEBOOK), "reports": str(reports), "build": str(build)},
                           build_dir=build, html_path=html, pdf_path=None)
    soup = BeautifulSoup(html.read_text(encoding="utf-8"), "html.parser")
    rows = _rows(_tables(soup)["Skipped documents and the error that stopped each."])
    assert len(rows) == 1 and rows[0][0] == "ghost-2024"
    assert rows[0][1].startswith("missing.txt (manifest line 10)")
    assert "1 document was skipped by the ingest (ON_ERROR=skip)" in soup.get_text(" ", strip=True)
