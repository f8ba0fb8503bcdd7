"""The briefing's tables (helpers.report.report_tables) and the sections rendered per group of speakers.

Small functions are checked on hand-made frames; the rest on the fixed 30-speech sample of the UN
General Debate corpus (CSTO/SCO/BRICS core states in 2016, 2020 and 2024), grouped by bloc, with
counts checked against the sample's own CSV files and hand-counted documents.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from bs4 import BeautifulSoup
from pypdf import PdfReader

from helpers.report import load, render
from helpers.report import report_tables as rt
from helpers.analysis.analysis import read_annotated, read_evidence, write_analysis_tables
from helpers.annotation.annotate import annotate_corpus
from helpers.corpus.corpus import ingest
from helpers.provenance import PROJECT_ROOT

from conftest import UNGDC, write_ungdc_sample

CODEBOOK = PROJECT_ROOT / "data" / "codebook.yml"
SECTIONS = render.section_notebooks(PROJECT_ROOT / "notebooks")
TOP_N = 3


# ------------------------------------------------------------------ small functions, hand-checked

def test_group_paragraphs_counts_a_document_in_each_of_its_groups():
    a = pd.DataFrame({"para_id": ["r-p1", "r-p2", "k-p1"], "doc_id": ["r", "r", "k"], "organization": ["Russia", "Russia", "Kenya"],
                      "date": ["2024-09-24"] * 3, "themes": ["terrorism", "", "terrorism"], "text": ["x", "y", "z"]})
    ev = pd.DataFrame({"para_id": ["r-p1", "k-p1"], "theme": ["terrorism", "terrorism"]})
    assign = pd.DataFrame({"doc_id": ["r", "r", "k"], "group": ["BRICS", "CSTO", "none"]})
    grouped, gev = rt.group_paragraphs(a, ev, assign)
    assert grouped["para_id"].tolist() == ["r-p1@BRICS", "r-p1@CSTO", "r-p2@BRICS", "r-p2@CSTO", "k-p1@none"]
    assert grouped["organization"].tolist() == ["BRICS", "CSTO", "BRICS", "CSTO", "none"]
    assert list(grouped.columns) == list(a.columns)
    assert sorted(gev["para_id"]) == ["k-p1@none", "r-p1@BRICS", "r-p1@CSTO"]
    single, sev = rt.group_paragraphs(a, ev, pd.DataFrame({"doc_id": ["r", "k"], "group": ["CSTO", "rest"]}))
    assert single["para_id"].tolist() == ["r-p1", "r-p2", "k-p1"] and single["organization"].tolist() == ["CSTO", "CSTO", "rest"]
    assert sev is ev


def test_text_window_keeps_short_text_and_cuts_long_text_around_the_spans():
    assert rt.text_window("short text", [(0, 5)]) == (0, 10)
    text = " ".join(f"w{i:03d}" for i in range(1000))            # 5 characters a word: word i starts at 5 * i
    start, end = rt.text_window(text, [(2500, 2504)], max_chars=400, context=100)
    assert (start, end) == (2400, 2604)                           # whole words, 100 characters either side
    assert text[start:end].startswith("w480") and text[start:end].endswith("w520")


def test_highlight_escapes_the_text_and_marks_the_spans():
    assert rt.highlight("a <b> c & d", [(6, 7), (8, 11)]) == "a &lt;b&gt; <mark>c</mark> <mark>&amp; d</mark>"
    long = "x " * 1000 + "target" + " y" * 1000
    marked = rt.highlight(long, [(2000, 2006)])
    assert marked.startswith("… ") and marked.endswith(" …") and "<mark>target</mark>" in marked and len(marked) < 1500


def test_side_by_side_marks_the_shared_words_and_refuses_an_unknown_kind():
    paragraphs = pd.DataFrame({"para_id": ["a-p1", "b-p1"], "organization": ["CSTO", "BRICS"], "title": ["A <1>", "B"],
                               "date": ["2020-01-01", "2024-01-01"], "source_para": [3, None], "position": [1, 7],
                               "text": ["We condemn terrorism in all its forms.", "They condemn terrorism in all its forms today."]})
    pairs = pd.DataFrame({"para_a": ["a-p1"], "para_b": ["b-p1"], "words": [6], "start_a": [3], "end_a": [37], "start_b": [5], "end_b": [39]})
    side = rt.side_by_side(pairs, paragraphs, "reuse")
    assert side.loc[0, "pair"] == "Reused passage, 6 words"
    assert side.loc[0, "earlier"] == ("<small>CSTO · A &lt;1&gt;, 2020-01-01, ¶3</small><br>We <mark>condemn terrorism in all its forms</mark>.")
    assert "BRICS · B, 2024-01-01, para. 7" in side.loc[0, "later"]
    with pytest.raises(ValueError, match=r"parameter 'kind' must be one of \{'reuse', 'similarity'\}\. Got 'verbatim' instead\."):
        rt.side_by_side(pairs, paragraphs, "verbatim")


def test_trend_unit_switches_to_documents_when_paragraph_lengths_differ_by_year():
    a = pd.DataFrame({"date": ["2016-09-20", "2017-09-19", "2018-09-25"], "n_words": [100, 90, 30]})
    unit, lengths = rt.trend_unit(a)
    assert unit == "document" and lengths.to_dict() == {"2016": 100.0, "2017": 90.0, "2018": 30.0}
    assert rt.trend_unit(a.assign(n_words=[100, 90, 60]))[0] == "paragraph"
    assert rt.trend_unit(a.iloc[:2])[0] == "paragraph"               # two years: no trend test anyway


def test_more_rows_says_how_many_and_where():
    assert rt.more_rows(5, 5, "x.csv") == ""
    assert rt.more_rows(5, 1938, "briefing_documents.csv", "documents") == (
        "Showing 5 of 1,938 documents; the other 1,933 are in `briefing_documents.csv` in the reports folder.")


def test_escape_md_keeps_data_as_typed():
    assert rt.escape_md("*CSTO* [x](y) <b> #1_a") == r"\*CSTO\* \[x\](y) &lt;b&gt; \#1\_a"


def test_style_table_escapes_formats_and_has_a_stable_id():
    df = pd.DataFrame({"name": ["<b>x</b>"], "share": [0.347], "words": [12345], "marked": ["<mark>y</mark>"]})
    first = rt.style_table(df, percent=["share"], thousands=["words"], html_columns=["marked"]).to_html()
    assert "&lt;b&gt;x&lt;/b&gt;" in first and ">35%<" in first and ">12,345<" in first and "<mark>y</mark>" in first
    assert rt.style_table(df, percent=["share"], thousands=["words"], html_columns=["marked"]).to_html() == first
    assert re.search(r'<table id="T_[0-9a-f]{10}"', first)


def test_held_out_log_keeps_the_scorings_of_this_codebook_only(tmp_path):
    # The project's log for today's codebook (the 2015-2024 tune3 round's), in the order scored: the second final sample of
    # 2015-2024 (200 paragraphs), the first final sample (200), the fresh sample (181 left of 200), the dev split (161),
    # the complete corpus's first sample of 1946-2024 (181 of 200) and its fresh sample (200).
    logged = load.held_out_log(CODEBOOK)
    assert logged["paragraphs"].tolist() == [200, 200, 181, 161, 181, 200]
    assert logged["f1"].tolist() == [0.8320, 0.8315, 0.8740, 0.8365, 0.8339, 0.7817]
    assert logged["sample"].tolist() == ["held-out", "held-out", "held-out", "dev", "held-out", "held-out"]  # the dev split's scores chose rules
    assert logged["recall"].tolist() == [0.7992, 0.8297, 0.8808, 0.8286, 0.7740, 0.7086]
    assert logged["sample_from"].tolist() == ["2015-09-28"] * 4 + ["1946-09-15", "1948-09-15"]
    assert set(logged["sample_to"]) == {"2024-09-24"}
    edited = tmp_path / "codebook.yml"
    edited.write_bytes(CODEBOOK.read_bytes() + b"\n# an analyst's edit\n")
    assert load.held_out_log(edited).empty  # another codebook: none of these figures is about it
    assert load.held_out_log(CODEBOOK, tmp_path / "missing.csv").empty


def test_themes_below_the_held_out_f1_floor_are_flagged_and_shares_shown_beside_their_correction():
    agreement = pd.DataFrame({
        "annotation": ["final", "final", "final", "final", "rules", "final"],
        "sample": ["held-out", "held-out", "held-out", "held-out", "held-out", "in-sample"],
        "theme": ["war", "law", "space", "(overall)", "war", "war"],
        "gold_pos": [28, 20, 0, 48, 28, 30],
        "f1": [0.68, 0.83, float("nan"), 0.79, 0.60, 0.95], "f1_low": [0.55, 0.70, float("nan"), 0.7, 0.5, 0.9],
        "f1_high": [0.80, 0.94, float("nan"), 0.85, 0.7, 1.0]})
    rel = rt.theme_reliability(agreement)
    assert rel["theme"].tolist() == ["war", "law", "space"] and rel["indicative"].tolist() == [True, False, False]
    assert rel["gold"].tolist() == [28, 20, 0]
    assert rt.theme_reliability(agreement[agreement["sample"] == "in-sample"]).empty  # in-sample figures flag nothing
    # a sample whose test split became dev: its figures flag, and the headline sample is named dev
    as_dev = agreement.assign(sample=agreement["sample"].replace({"held-out": "dev"}))
    assert rt.theme_reliability(as_dev)["indicative"].tolist() == [True, False, False]
    assert (rt.agreement_sample(agreement), rt.agreement_sample(as_dev), rt.agreement_sample(agreement[agreement["sample"] == "in-sample"])) \
        == ("held-out", "dev", "in-sample")
    both = pd.concat([agreement, as_dev.assign(f1=0.99)], ignore_index=True)
    assert rt.theme_reliability(both)["f1"].tolist()[:2] == [0.68, 0.83]  # held-out preferred to dev
    corrected = pd.DataFrame({"group": ["A", "A", "B", "B"], "theme": ["war", "law", "war", "law"],
                              "share": [0.20, 0.10, 0.30, 0.05], "share_corrected": [0.26, 0.102, float("nan"), 0.08],
                              "share_corrected_low": [0.2, 0.08, float("nan"), 0.05], "share_corrected_high": [0.3, 0.12, float("nan"), 0.1],
                              "correction": ["dsl"] * 4})
    beside = rt.shares_beside_corrected(corrected, rel, {"war": "war", "law": "law"})
    # A/law moved 0.2 points (left out), B/war has no corrected share; largest move first
    assert beside[["group", "theme"]].values.tolist() == [["A", "war"], ["B", "law"]]
    assert beside["note"].tolist() == ["indicative only", ""] and beside["held_out_f1"].tolist() == [0.68, 0.83]


def test_theme_order_and_shares_wide_from_hand_counts():
    a = pd.DataFrame({"para_id": ["1", "2", "3", "4"], "doc_id": ["d1", "d1", "d2", "d2"], "organization": ["A", "A", "B", "B"],
                      "date": ["2024-01-01"] * 4, "themes": ["x;y", "x", "", "y"], "n_words": [10, 10, 10, 10], "text": ["t"] * 4})
    shares = rt.theme_shares(a, "organization", None, ["x", "y"])
    pooled = rt.pooled_shares(a, None, ["x", "y"])
    assert rt.theme_order(pooled) == ["x", "y"]            # 2 of 4 each: tie broken by id
    wide = rt.shares_wide(shares, pooled, ["x", "y"], ["A", "B"], {"x": "Ex"})
    assert wide.loc["Ex", "A"].startswith("2/2 · 100% (") and wide.loc["Ex", "B"].startswith("0/2 · 0% (")
    assert wide.loc["y", "All"].startswith("2/4 · 50% (")


# ------------------------------------------------------------------ the UNGDC sample, grouped by bloc

def _build(corpus: Path, reports: Path, build: Path, on_error: str = "stop") -> None:
    ingest(corpus, build, on_error=on_error)
    annotate_corpus(build / "paragraphs.parquet", CODEBOOK, reports)
    write_analysis_tables(read_annotated(reports / "annotated_paragraphs.csv"), read_evidence(reports), reports)


def _tables(soup: BeautifulSoup) -> dict[str, BeautifulSoup]:
    """Each table by its caption text (without the "Table N." number)."""
    return {re.sub(r"^Table \d+\.\s*", "", p.get_text(" ", strip=True)): p.find_next("table")
            for p in soup.select("p.caption.table-caption")}


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
    written = rt.write_report_tables(load.load_selection(**params))
    html, pdf = reports / "briefing.html", reports / "briefing.pdf"
    render.render_briefing(SECTIONS, parameters=params, executed_dir=reports / "notebooks", html_path=html, pdf_path=pdf)
    text = html.read_text(encoding="utf-8")
    return {"reports": reports, "html": text, "soup": BeautifulSoup(text, "html.parser"), "pdf": pdf, "written": written}


def test_the_make_stage_writes_the_briefing_tables(sample):
    assert sorted(p.name for p in sample["written"].values()) == sorted(rt.REPORT_CSV)
    docs = pd.read_csv(sample["reports"] / "briefing_documents.csv", keep_default_na=False)
    assert len(docs) == 30 and docs.set_index("doc_id").loc["RUS_79_2024", "groups"] == "CSTO;SCO;BRICS"
    files = pd.read_csv(sample["reports"] / "input_files.csv")
    assert len(files) >= 31 and files["sha256"].str.fullmatch(r"[0-9a-f]{64}").all()


def test_groups_are_named_with_hand_counted_documents(sample):
    tables = _tables(sample["soup"])
    groups = {r[0]: r for r in _rows(tables["Groups of speakers: documents, body paragraphs and the speakers they hold."])}
    assert {g: int(r[1]) for g, r in groups.items()} == {"BRICS": 14, "CSTO": 18, "SCO": 18, "none": 1}
    assert groups["CSTO"][3] == "Armenia, Belarus, Kazakhstan, Kyrgyzstan, Russian Federation, Tajikistan"
    assert '<h3 id="themes-by-organization">3.1 Themes by organisation or group</h3>' in sample["html"]
    findings = sample["soup"].find("h2", id="key-findings").find_next("ul").get_text(" ", strip=True)
    assert "BRICS (14), CSTO (18), SCO (18) and none (1) documents" in findings
    assert "counts in each of them" in findings


def test_a_dated_theme_trends_from_its_first_year_only():
    # "war" can be coded from 2014-02-20 on (the codebook's `from`): its trend starts in 2014's data, not in 2012,
    # so "0% in 2012 to 50% in 2016" is not reported as a rise; other themes keep every year
    docs = pd.DataFrame({"doc_id": ["a", "b", "c", "d"]})
    paragraphs = pd.DataFrame({
        "para_id": ["a1", "a2", "b1", "c1", "c2", "d1", "d2"], "doc_id": ["a", "a", "b", "c", "c", "d", "d"],
        "date": ["2012-09-01"] * 2 + ["2013-09-01"] + ["2015-09-01"] * 2 + ["2016-09-01"] * 2,
        "themes": ["un_system", "", "un_system", "war;un_system", "", "war", "un_system"], "n_words": 10})
    groups = docs.assign(group="G")
    both = rt.trends(paragraphs, groups, docs, ["un_system", "war"], "paragraph", starts={"war": "2014-02-20"})
    war = both[(both["group"] == "G") & (both["theme"] == "war")]
    assert war["year"].tolist() == ["2015", "2016"] and war["share"].tolist() == [0.5, 0.5]
    un = both[(both["group"] == "G") & (both["theme"] == "un_system")]
    assert un["year"].tolist() == ["2012", "2013", "2015", "2016"] and un["share"].tolist() == [0.5, 1.0, 0.5, 0.5]
    undated = rt.trends(paragraphs, groups, docs, ["un_system", "war"], "paragraph")
    assert undated[(undated["group"] == "G") & (undated["theme"] == "war")]["year"].tolist() == ["2012", "2013", "2015", "2016"]


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
    assert any(c.startswith("Members against the rest") for c in tables)


def test_long_tables_are_cut_to_top_n_with_a_pointer_to_the_csv(sample):
    tables = _tables(sample["soup"])
    for start in ("The longest documents", "The largest passage families", "Document pairs sharing reused passages",
                  "The themes whose share changed most"):
        caption = next(c for c in tables if c.startswith(start))
        assert len(_rows(tables[caption])) <= TOP_N, caption
    text = sample["soup"].get_text(" ", strip=True)
    assert "Showing 3 of 30 documents; the other 27 are in briefing_documents.csv" in text
    assert "reused_passages.csv" in text and "theme_changes.csv" in text
    n_themes = 21
    assert max(len(_rows(t)) for t in tables.values()) <= n_themes + 3   # never a 30-row or 193-row table
    assert len(PdfReader(str(sample["pdf"])).pages) < 40


def test_reuse_is_split_into_cross_and_self(sample):
    """Counted on every passage (the document pairs' and the families' tables), not on text_reuse.csv's sample of pairs."""
    cs = pd.read_csv(sample["reports"] / "reuse_cross_vs_self.csv", keep_default_na=False)
    pairs = pd.read_csv(sample["reports"] / "reuse_by_document_pair.csv", keep_default_na=False)
    assert cs["passages"].sum() == pairs["passages"].sum()
    assert set(cs["kind"]) <= {"cross", "self"}
    passages = pd.read_csv(sample["reports"] / "reused_passages.csv", keep_default_na=False)
    clusters = pd.read_csv(sample["reports"] / "reuse_clusters.csv", keep_default_na=False)
    members = pd.read_csv(sample["reports"] / "reuse_cluster_members.csv", keep_default_na=False)
    assert passages["documents"].tolist() == clusters["n_documents"].tolist()  # every family, largest first
    assert passages["passage"].tolist() == clusters["cluster_id"].tolist()
    assert passages["rows"].sum() == len(members)
    # Hand-checked: the 2016 passage of China, India (BRICS, SCO), Kazakhstan, Kyrgyzstan (CSTO, SCO) and South Africa
    # (no organisation in the sample's manifest: unknown, in no bloc) reaches three blocs; Kyrgyzstan repeating itself
    # in 2016 and 2020 is in two blocs but is one speaker, so it is not among the families reaching several.
    # Tajikistan's 2024 speech is hard-wrapped: split at every line before, its "on his election as the President of
    # the 79th Session of the United Nations General Assembly" was cut in two and joined no family; now it joins
    # Tajikistan 2020 and Kyrgyzstan 2024 (3 documents, 2 speakers).
    crossing = passages[(passages["groups"] >= 2) & (passages["organizations"] >= 2)]
    assert crossing[["documents", "organizations", "group_list", "doc_ids"]].values.tolist() == [
        [5, 5, "BRICS;CSTO;SCO", "CHN_71_2016;IND_71_2016;KAZ_71_2016;KGZ_71_2016;ZAF_71_2016"],
        [3, 2, "CSTO;SCO", "TJK_75_2020;KGZ_79_2024;TJK_79_2024"], [2, 2, "CSTO;SCO", "KGZ_71_2016;ZAF_71_2016"]]
    tables = _tables(sample["soup"])
    rows = _rows(tables[next(c for c in tables if c.startswith("The passage families that reach the most groups"))])
    assert [r[1:4] for r in rows] == [["BRICS, CSTO, SCO", "5", "5"], ["CSTO, SCO", "3", "2"], ["CSTO, SCO", "2", "2"]]
    assert '<h3 id="reuse-cross-self">' in sample["html"] and '<h3 id="reused-passages">' in sample["html"]


def test_ingest_warning_is_listed_in_methods(sample):
    rows = _rows(_tables(sample["soup"])["Ingest warnings."])
    assert [r[0] for r in rows] == ["ZAF_71_2016"]
    assert "field 'organization' is empty; using 'unknown'" in rows[0][1]


def test_skipped_document_is_listed_in_methods(tmp_path):
    corpus, reports, build = tmp_path / "corpus", tmp_path / "reports", tmp_path / "build"
    shutil.copytree(PROJECT_ROOT / "data", corpus, ignore=shutil.ignore_patterns("annotations", "*.yml"))
    with (corpus / "manifest.csv").open("a", encoding="utf-8", newline="") as fh:
        fh.write("ghost-2024,missing.txt,A document whose file is gone,CSTO,news,2024-12-06,,,en,\n")
    _build(corpus, reports, build, on_error="skip")
    html = reports / "briefing.html"
    render.render_briefing([PROJECT_ROOT / "notebooks" / "11_methods.ipynb"],
                           parameters={"corpus": str(corpus), "codebook": str(CODEBOOK), "reports": str(reports), "build": str(build)},
                           executed_dir=reports / "notebooks", html_path=html, pdf_path=None)
    soup = BeautifulSoup(html.read_text(encoding="utf-8"), "html.parser")
    rows = _rows(_tables(soup)["Skipped documents and the error that stopped each."])
    assert len(rows) == 1 and rows[0][0] == "ghost-2024"
    assert rows[0][1].startswith("missing.txt (manifest line 10)")
    assert "1 document was skipped by the ingest (ON_ERROR=skip)" in soup.get_text(" ", strip=True)


def test_coder_agreement_table_keeps_counts_and_kappa_with_labels_and_overall_last():
    coders = pd.DataFrame({
        "annotation": ["second coder"] * 3, "sample": ["held-out"] * 3, "theme": ["(overall)", "terrorism", "drug_trafficking"],
        "n": [120, 120, 120], "gold_pos": [40, 12, 0], "pred_pos": [38, 12, 0], "tp": [37, 12, 0],
        "f1": [0.9487, 1.0, None], "kappa": [0.92, 1.0, None], "kappa_low": [0.85, 1.0, None], "kappa_high": [0.98, 1.0, None]})
    table = rt.coder_agreement_table(coders, {"terrorism": "Terrorism"})
    assert table["theme"].tolist() == ["Terrorism", "drug_trafficking", "All decisions (micro)"]
    assert table[["paragraphs", "first", "second", "both"]].iloc[2].tolist() == [120, 40, 38, 37]
    assert table["kappa"].iloc[2] == 0.92 and pd.isna(table["kappa"].iloc[1])
    assert rt.coder_agreement_table(coders.iloc[0:0], {}).empty


def test_tables_computed_together_are_all_read_or_all_computed(tmp_path):
    from helpers.params import Selection

    def selection(**changes):
        base = dict(corpus="data", codebook=str(CODEBOOK), reports=str(tmp_path), organizations=("A",), themes=("t",),
                    date_from=None, date_to=None, min_reuse_words=12, top_n=5, title="", subtitle="",
                    all_organizations=True, all_themes=True)
        return Selection(**{**base, **changes})

    pd.DataFrame({"cluster_id": [7]}).to_csv(tmp_path / "reuse_clusters.csv", index=False)
    computed = (pd.DataFrame({"cluster_id": [1]}), pd.DataFrame({"cluster_id": [1], "doc_id": ["d"]}))
    names = ("reuse_clusters.csv", "reuse_cluster_members.csv")
    # the members file is missing: both come from compute(), never make analyse's clusters with computed members
    assert [t["cluster_id"].tolist() for t in load.load_analysis_tables(selection(), names, lambda: computed)] == [[1], [1]]
    pd.DataFrame({"cluster_id": [7, 7], "doc_id": ["x", "y"]}).to_csv(tmp_path / "reuse_cluster_members.csv", index=False)
    read = load.load_analysis_tables(selection(), names, lambda: computed)
    assert [t["cluster_id"].tolist() for t in read] == [[7], [7, 7]]
    # a filtered selection: make analyse's tables describe another corpus, so both are computed
    filtered = load.load_analysis_tables(selection(all_organizations=False), names, lambda: computed)
    assert [t["cluster_id"].tolist() for t in filtered] == [[1], [1]]
    assert load.load_analysis_table(selection(), "reuse_clusters.csv", lambda: computed[0])["cluster_id"].tolist() == [7]


def test_a_figure_is_shown_with_its_interval_or_blank_when_missing():
    table = pd.DataFrame({"f1": [0.8237, float("nan")], "f1_low": [0.7853, float("nan")], "f1_high": [0.8572, float("nan")]})
    assert rt.with_interval(table, "f1") == ["0.82 (0.79–0.86)", ""]
    assert rt.with_interval(table, "f1", value_decimals=3) == ["0.824 (0.79–0.86)", ""]
