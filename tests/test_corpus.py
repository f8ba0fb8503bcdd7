"""Tests for helpers.corpus.corpus on the real seed corpus and small purpose-built corpora.

Numbers below were counted by hand from the five seed files (see data/manifest.csv and
../shared/seeds/NOTES.md).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from helpers.corpus.corpus import (
    ingest,
    load_cleaning,
    load_paragraphs,
    read_document_text,
    read_manifest,
    split_paragraphs,
    split_spans,
)
from helpers.errors import CorpusError

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
SEEDS = ROOT.parent / "shared" / "seeds"


@pytest.fixture(scope="module")
def paragraphs() -> pd.DataFrame:
    return load_paragraphs(DATA)


@pytest.fixture(scope="module")
def body(paragraphs: pd.DataFrame) -> pd.DataFrame:
    return paragraphs[paragraphs["kind"] == "body"]


# ---------------------------------------------------------------- the default corpus

def test_seed_files_are_byte_identical_copies():
    if not SEEDS.is_dir():
        pytest.skip(f"{SEEDS} not present")
    for seed in sorted(SEEDS.glob("*.txt")):
        assert (DATA / seed.name).read_bytes() == seed.read_bytes(), seed.name


def test_documents_per_file():
    manifest = read_manifest(DATA)
    assert manifest.groupby("file").size().to_dict() == {
        "000_9261be8fc7c8a342.txt": 1,
        "001_407edb253fecabde.txt": 1,
        "002_eca40e1e4d17962e.txt": 4,
        "003_b62a35e7ddd15ed7.txt": 1,
        "004_471792af4a523792.txt": 1,
    }


def test_file_002_is_four_documents_with_their_dates_and_genres(paragraphs):
    docs = (paragraphs[paragraphs["file"] == "002_eca40e1e4d17962e.txt"]
            .drop_duplicates("doc_id")[["doc_id", "date", "genre"]].values.tolist())
    assert docs == [
        ["csto-news-2024-12-05", "2024-12-05", "news"],
        ["csto-news-2024-12-03", "2024-12-03", "news"],
        ["csto-news-2024-12-02", "2024-12-02", "news"],
        ["csto-sg-minsk-2024", "2024-10-31", "speech"],
    ]
    news = paragraphs[paragraphs["doc_id"] == "csto-news-2024-12-03"]
    assert news["text"].tolist() == [
        "On 3 December 2024, the 27th meeting of the Coordination Council of the Heads of the Competent Authorities "
        "for Countering the Illegal Migration of the Member States of the Collective Security Treaty Organization "
        "was held by videoconferencing."
    ]


def test_body_paragraphs_per_document(body):
    assert body.groupby("doc_id", sort=False).size().to_dict() == {
        "brics-kazan-2024": 12,
        "isw-kazan-2024": 17,
        "csto-news-2024-12-05": 1,
        "csto-news-2024-12-03": 1,
        "csto-news-2024-12-02": 1,
        "csto-sg-minsk-2024": 26,
        "csto-csc-declaration-2020": 31,
        "csto-sg-unsc-2024": 29,
    }


def test_kinds_of_non_body_paragraphs(paragraphs):
    other = paragraphs[paragraphs["kind"] != "body"]
    got = {(r.para_id, r.kind) for r in other.itertuples()}
    assert got == {
        ("brics-kazan-2024-p001", "title"),
        ("brics-kazan-2024-p002", "dateline"),
        ("brics-kazan-2024-p003", "editorial"),
        ("csto-sg-minsk-2024-p001", "title"),
        ("csto-sg-minsk-2024-p002", "dateline"),
        ("csto-sg-minsk-2024-p003", "salutation"),
        ("csto-sg-minsk-2024-p005", "salutation"),
        ("csto-sg-minsk-2024-p011", "salutation"),
        ("csto-sg-minsk-2024-p016", "salutation"),
        ("csto-sg-minsk-2024-p031", "salutation"),
        ("csto-sg-minsk-2024-p034", "closing"),
        ("csto-csc-declaration-2020-p001", "title"),
        ("csto-csc-declaration-2020-p002", "title"),  # the title line appears twice
        ("csto-sg-unsc-2024-p001", "title"),
        ("csto-sg-unsc-2024-p002", "dateline"),
        ("csto-sg-unsc-2024-p032", "closing"),
    }


def test_kazan_paragraph_47_keeps_its_source_number(paragraphs):
    row = paragraphs[(paragraphs["doc_id"] == "brics-kazan-2024") & (paragraphs["source_para"] == 47)]
    assert len(row) == 1
    row = row.iloc[0]
    assert row["para_id"] == "brics-kazan-2024-p010"
    assert row["text"].startswith("Paragraph 47. We reiterate our unequivocal condemnation of terrorism")
    # the numbering label is the digest's, not the declaration's: it is not counted as words
    assert row["label_chars"] == len("Paragraph 47. ")
    assert row["text"][row["label_chars"]:].startswith("We reiterate")
    assert row["n_words"] == 104
    numbered = paragraphs.loc[paragraphs["source_para"].notna(), "source_para"].astype(int).tolist()
    assert numbered == [25, 37, 43, 44, 45, 46, 47, 48, 49, 54, 55, 80]


def test_no_boilerplate_left_in_body_paragraphs(body):
    boilerplate = ["Advertisement", "Support UP or become our patron", "Must read", "More articles", "Latest article",
                   "Back to the section", "Back to the all news", "Key words:", "F4/SOR", "Source: Institute",
                   "date 2024-10-24"]
    for text in body["text"]:
        for phrase in boilerplate:
            assert phrase not in text, (phrase, text[:80])
    assert not (body["text"].str.strip().isin(["BRICS", "Hot Topic"])).any()


def test_isw_date_prefix_is_removed_but_logged(tmp_path):
    counts = ingest(DATA, tmp_path)
    assert counts == {"documents": 8, "paragraphs": 134, "body": 118, "removed": 14, "skipped": 0, "cached": 0}
    removed = pd.read_csv(tmp_path / "cleaning.csv")
    isw = removed[removed["doc_id"] == "isw-kazan-2024"]
    assert isw["rule"].tolist() == ["date-stamp", "source-line", "advertisement", "advertisement", "patron-appeal"]
    assert isw["text"].iloc[0] == "date 2024-10-24 "
    docs = pd.read_csv(tmp_path / "documents.csv").set_index("doc_id")
    assert docs.loc["isw-kazan-2024", "removed_paragraphs"] == 5
    assert docs.loc["csto-sg-unsc-2024", "removed_paragraphs"] == 3
    assert docs.loc["brics-kazan-2024", "removed_paragraphs"] == 4
    assert len(docs.loc["brics-kazan-2024", "sha256"]) == 64


def test_offsets_round_trip_for_every_paragraph(paragraphs):
    texts = {f: read_document_text(DATA / f) for f in paragraphs["file"].unique()}
    for r in paragraphs.itertuples():
        assert texts[r.file][r.char_start:r.char_end] == r.text, r.para_id


def test_nothing_of_the_original_text_is_lost(tmp_path, paragraphs):
    """Every non-blank character of every file is in a paragraph or in the removed log."""
    ingest(DATA, tmp_path)
    removed = pd.read_csv(tmp_path / "cleaning.csv").merge(
        paragraphs[["doc_id", "file"]].drop_duplicates(), on="doc_id")
    for file in paragraphs["file"].unique():
        text = read_document_text(DATA / file)
        covered = [False] * len(text)
        spans = list(paragraphs.loc[paragraphs["file"] == file, ["char_start", "char_end"]].itertuples(index=False))
        spans += list(removed.loc[removed["file"] == file, ["char_start", "char_end"]].itertuples(index=False))
        for a, b in spans:
            for i in range(a, b):
                covered[i] = True
        lost = "".join(c for c, cov in zip(text, covered) if not cov and not c.isspace())
        assert lost == "", (file, lost)


def test_text_is_kept_as_written_and_normalised_separately(paragraphs):
    row = paragraphs[paragraphs["para_id"] == "brics-kazan-2024-p013"].iloc[0]
    assert row["text"].startswith("Paragraph 54. <…> \u00a0We are concerned")
    assert row["text_norm"].startswith("Paragraph 54. <…> We are concerned")
    minsk = paragraphs[paragraphs["para_id"] == "csto-sg-minsk-2024-p007"].iloc[0]
    assert "“dormant”" in minsk["text"]


def test_word_counts(paragraphs):
    row = paragraphs[paragraphs["para_id"] == "csto-sg-unsc-2024-p018"].iloc[0]
    assert row["text"] == "Afghanistan remains the main hotbed of instability in the Central Asian region."
    assert row["n_words"] == 12


def test_para_ids_are_stable_when_another_document_changes(tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(DATA, corpus, ignore=shutil.ignore_patterns("annotations", "*.yml"))
    before = load_paragraphs(corpus)
    path = corpus / "003_b62a35e7ddd15ed7.txt"
    path.write_text("A new first paragraph about terrorism.\n\n" + path.read_text(encoding="utf-8"), encoding="utf-8")
    after = load_paragraphs(corpus)
    for doc in ["brics-kazan-2024", "csto-sg-unsc-2024", "csto-sg-minsk-2024"]:
        b = before[before["doc_id"] == doc][["para_id", "text"]].reset_index(drop=True)
        a = after[after["doc_id"] == doc][["para_id", "text"]].reset_index(drop=True)
        pd.testing.assert_frame_equal(a, b)
    assert len(after) == len(before) + 1


def test_paragraph_table_columns(paragraphs):
    assert list(paragraphs.columns[:11]) == ["para_id", "doc_id", "position", "kind", "source_para", "text",
                                             "text_norm", "n_words", "char_start", "char_end", "label_chars"]
    for col in ["file", "title", "organization", "genre", "date", "source", "speaker", "language", "notes"]:
        assert col in paragraphs.columns
    assert paragraphs["para_id"].is_unique


# ---------------------------------------------------------------- splitting and readers

def test_split_spans_blank_lines_single_lines_and_wrapped_lines():
    assert split_spans("One.\n\nTwo\nstill two.\n\n \n\nThree.") == [(0, 4), (6, 20), (25, 31)]
    # a line holding only a no-break space is blank; lines ending a sentence still end a paragraph
    assert split_spans("A.\nB.\n\u00a0\nC.") == [(0, 2), (3, 5), (8, 10)]
    # one paragraph per line with a stray blank line (UN General Debate files): every line is a paragraph
    text = "Line one.\nLine two.\n\nLine three.\nLine four.\nLine five.\nLine six"
    assert [text[a:b] for a, b in split_spans(text)] == ["Line one.", "Line two.", "Line three.", "Line four.",
                                                          "Line five.", "Line six"]
    # blank-line layout with hard-wrapped lines and a Markdown line break (two trailing spaces)
    text = "Mr President,  \nLadies and Gentlemen,\n\nThe **Millennium**\nSummit said so.\n\nEnd."
    assert [text[a:b] for a, b in split_spans(text)] == ["Mr President,  \nLadies and Gentlemen,",
                                                          "The **Millennium**\nSummit said so.", "End."]
    # a line ending in a space was broken mid-sentence (OCR): it continues on the next line
    text = "The first line \ncontinues here.\nSecond."
    assert [text[a:b] for a, b in split_spans(text)] == ["The first line \ncontinues here.", "Second."]
    # every line ends in a space, paragraphs start indented (the General Debate's files of 2005-2011): a finished
    # sentence before an indented line ends a paragraph; mid-sentence, or before a flush line, the paragraph goes on
    text = "Over the 62 years of its \nexistence, the Assembly met. \nIt grew. \n Today, efforts in \n support proceed. \n"
    assert [text[a:b] for a, b in split_spans(text)] == [
        "Over the 62 years of its \nexistence, the Assembly met. \nIt grew.", "Today, efforts in \n support proceed."]
    assert split_spans(" \n\t") == []


def test_a_break_inside_a_sentence_separates_nothing():
    """Page breaks of the General Debate's files (Barbados 2024: "non-" / "communicable"; a blank line after
    "the implementation of") cut sentences in two: a break with no sentence end before it and a lower-case
    letter after it joins, whether a line break or blank lines. An upper-case letter may start a name
    mid-sentence or a new paragraph after a heading: that break stays."""
    text = ("We look forward to the implementation of\nthe recently agreed plan.\n"
            "Diseases, both non-\n\ncommunicable and other, matter.\n"
            "Our priorities\nClimate and debt come first.\nThe list: \n\nfirst, finance.")
    assert [text[a:b] for a, b in split_spans(text)] == [
        "We look forward to the implementation of\nthe recently agreed plan.",
        "Diseases, both non-\n\ncommunicable and other, matter.",
        "Our priorities", "Climate and debt come first.", "The list:", "first, finance."]
    # blank-line layout: the page break inside a wrapped paragraph joins as well
    text = "A long sentence wrapped\nat sixty characters and\n\ncut by a page break.\n\nNext paragraph."
    assert [text[a:b] for a, b in split_spans(text)] == [
        "A long sentence wrapped\nat sixty characters and\n\ncut by a page break.", "Next paragraph."]


def test_a_speech_wrapped_every_60_characters_splits_at_its_blank_lines():
    """Speeches exported with a line break every ~60 characters and a blank line between paragraphs (as
    Barbados's of 2024 in the UN General Debate corpus): fewer blank lines than half the lines, but short
    lines that mostly end mid-sentence. Each line was a paragraph before (275 for that speech; now 109)."""
    text = ("Mr. President, Colleagues, Friends,\n\n"
            "Those of us here today, representing our brothers and sisters\n"
            "the world over, have endured four years of poly-crises. As the\n"
            "children of Mother Earth, we continue to wrestle with the\n"
            "Climate Crisis.\n\n"
            "If ever there was a time to pause and reset, it is now.\n\n"
            "Collectively, as an international community and individually, as\n"
            "leaders in each of our countries, we must now deliver new\n"
            "opportunities and solutions to these challenges, and we must\n"
            "do so with the urgency that the moment demands of every one\n"
            "of us gathered in this hall.")
    assert [text[a:b].replace("\n", " ") for a, b in split_spans(text)] == [
        "Mr. President, Colleagues, Friends,",
        "Those of us here today, representing our brothers and sisters the world over, have endured four years of "
        "poly-crises. As the children of Mother Earth, we continue to wrestle with the Climate Crisis.",
        "If ever there was a time to pause and reset, it is now.",
        "Collectively, as an international community and individually, as leaders in each of our countries, we must now "
        "deliver new opportunities and solutions to these challenges, and we must do so with the urgency that the "
        "moment demands of every one of us gathered in this hall.",
    ]
    # wrapped without blank lines (the General Debate's 1993 and 2012 files): split where a line ends a sentence
    text = ("I deem it a special pleasure\nand honour to extend my cordial congratulations to the\n"
            "President on his election to preside over the General\nAssembly at its forty-eighth session.\n"
            "May I hail the Secretary-General of the United Nations,\nMr. Boutros Boutros-Ghali, and in particular "
            "for his dynamic\nrole and valuable personal contribution.")
    assert [text[a:b].replace("\n", " ") for a, b in split_spans(text)] == [
        "I deem it a special pleasure and honour to extend my cordial congratulations to the President on his "
        "election to preside over the General Assembly at its forty-eighth session.",
        "May I hail the Secretary-General of the United Nations, Mr. Boutros Boutros-Ghali, and in particular for "
        "his dynamic role and valuable personal contribution."]
    # long lines ending sentences, a blank line here and there: still one paragraph per line
    long = ("This sentence is long enough to be a whole paragraph of a speech, as most lines of these files are. " * 2).strip()
    text = f"{long}\n{long}\n\n{long}\n{long}"
    assert len(split_spans(text)) == 4


def _write_corpus(folder: Path, files: dict[str, str | bytes], manifest: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    (folder / "manifest.csv").write_text(manifest, encoding="utf-8")
    return folder


HEADER = "doc_id,file,title,organization,genre,date\n"


def test_markdown_and_extra_columns_are_carried_through(tmp_path):
    corpus = _write_corpus(tmp_path / "c", {"a.md": "# A heading\n\nFirst paragraph.\n\nSecond paragraph."},
                           "doc_id,file,title,organization,genre,date,region\nd1,a.md,T,Org,speech,2024-01-31,Eurasia\n")
    p = load_paragraphs(corpus)
    assert p["kind"].tolist() == ["title", "body", "body"]
    assert p["region"].tolist() == ["Eurasia"] * 3
    assert p["para_id"].tolist() == ["d1-p001", "d1-p002", "d1-p003"]


def test_html_reader_keeps_main_text_only(tmp_path):
    html = """<!doctype html><html><head><title>x</title><style>p{}</style><script>var a=1;</script></head>
    <body><nav><ul><li>Home</li><li>News</li></ul></nav>
    <header>Site header</header>
    <main><h1>Joint Statement</h1><p>We condemn <b>terrorism</b> in all its forms.</p>
    <p>We support the &ldquo;UN Charter&rdquo;.</p><ul><li>First point.</li></ul></main>
    <footer>Copyright</footer></body></html>"""
    corpus = _write_corpus(tmp_path / "c", {"s.html": html}, HEADER + "s1,s.html,Joint Statement,SCO,statement,2024-07-04\n")
    p = load_paragraphs(corpus)
    assert p["text"].tolist() == ["Joint Statement", "We condemn terrorism in all its forms.",
                                  "We support the “UN Charter”.", "First point."]
    assert p["kind"].tolist() == ["title", "body", "body", "body"]
    text = read_document_text(corpus / "s.html")
    for r in p.itertuples():
        assert text[r.char_start:r.char_end] == r.text


def test_pdf_reader_uses_the_text_layer(tmp_path):
    weasyprint = pytest.importorskip("weasyprint")
    html = ("<p>Paragraph 1. We reaffirm our commitment to the fight against terrorism and to the "
            "central role of the United Nations in the maintenance of international peace and security.</p>"
            "<p>Paragraph 2. We call for dialogue.</p>")
    folder = tmp_path / "c"
    folder.mkdir()
    weasyprint.HTML(string=html).write_pdf(folder / "d.pdf")
    (folder / "manifest.csv").write_text(HEADER + "p1,d.pdf,Declaration,BRICS,declaration,2024-10-23\n", encoding="utf-8")
    p = load_paragraphs(folder)
    assert p["source_para"].tolist() == [1, 2]
    assert p["text_norm"].iloc[0].startswith("Paragraph 1. We reaffirm our commitment to the fight against terrorism")
    assert p["text_norm"].iloc[0].endswith("international peace and security.")
    assert p["text_norm"].iloc[1] == "Paragraph 2. We call for dialogue."


def test_split_paragraphs_marks_unnumbered_text_of_a_digest_as_editorial():
    rules = load_cleaning()
    text = "Intro by the editors.\n\nParagraph 1. A.\n\nParagraph 2. B.\n\nParagraph 3. C."
    p, removed = split_paragraphs(text, "d", rules)
    assert p["kind"].tolist() == ["editorial", "body", "body", "body"]
    assert removed.empty


def test_salutations_and_closings_in_any_case_and_in_markdown_bold():
    """How General Debate speeches address the Assembly: in capitals, title case or Markdown bold, with or without
    a comma. A sentence that merely starts with such a word stays a body paragraph."""
    rules = load_cleaning()
    lines = ["Ladies and Gentlemen,", "**Mr President,**", "MR. PRESIDENT,", "Mr. President", "Your Excellency, Secretary-General of the United Nations,",
             "Excellencies,", "**Thank you.**", "I thank you for your kind attention.",
             "President Obama spoke here last year about the climate.", "Colleagues from many countries have joined us today.",
             "Friends of Syria met in Geneva last month to discuss aid."]
    text = "\n\n".join(lines)
    p, _ = split_paragraphs(text, "d", rules)
    assert p["kind"].tolist() == ["salutation"] * 6 + ["closing"] * 2 + ["body"] * 3


def test_un_page_furniture_is_removed_and_logged_even_where_a_page_break_joins_it_to_the_text():
    """A UN verbatim record's page (UNGDC 2015-2016 files): the job number and page at the foot, a form feed, the
    record's symbol and date at the top of the next page, then the sentence goes on in lower case; page numbers and
    the note of the language spoken stand alone on a line. None of it is the speaker's text."""
    rules = load_cleaning()
    line = "Our delegation has said so in this Hall every year since we joined the Organization in 1945."
    # twelve ordinary paragraphs before the page break: a file of one paragraph per line, not a hard-wrapped one
    text = (f"{line}\n" * 12 + f"{line} Terrorism threatens our identity. However, it\n15-29425 31/34\n\f\n"
            "A/70/PV.15 28/09/2015\nalso poses a serious challenge to the United Nations.\n12\n(spoke in French)\n"
            f"28/09/2015 A/70/PV.15\n{line} The Assembly must act.\n2/34 15-29425\n{line}\n")
    p, removed = split_paragraphs(text, "d", rules)
    assert p["text"].tolist() == [line] * 12 + [
        f"{line} Terrorism threatens our identity. However, it", "also poses a serious challenge to the United Nations.",
        f"{line} The Assembly must act.", line]
    assert removed[["rule", "text"]].values.tolist() == [
        ["un-page-footer", "15-29425 31/34"], ["un-record-header", "A/70/PV.15 28/09/2015\n"], ["page-number", "12"],
        ["interpretation-note", "(spoke in French)"], ["un-record-header", "28/09/2015 A/70/PV.15"],
        ["un-page-footer", "2/34 15-29425"]]
    for r in removed.itertuples():  # every removed piece is logged where it was
        assert text[r.char_start:r.char_end] == r.text


# ---------------------------------------------------------------- bad input

def test_missing_required_column(tmp_path):
    corpus = _write_corpus(tmp_path / "c", {"a.txt": "x"}, "doc_id,file,title,organization,genre\nd,a.txt,T,O,g\n")
    with pytest.raises(CorpusError, match=r"manifest.csv: missing required column\(s\) 'date'\. Required: doc_id, file, "
                                          r"title, organization, genre, date; found: doc_id, file, title, organization, genre\."):
        read_manifest(corpus)


def test_row_naming_a_missing_file(tmp_path):
    corpus = _write_corpus(tmp_path / "c", {"a.txt": "x"}, HEADER + "d1,a.txt,T,O,g,2024-01-01\nd2,b.txt,T,O,g,2024-01-01\n")
    with pytest.raises(CorpusError, match=r"manifest.csv, line 3, field 'file': 'b.txt' does not exist in .*c\. "
                                          r"Fix the path \(relative to the corpus folder\) or add the file\."):
        read_manifest(corpus)


def test_duplicate_doc_id(tmp_path):
    corpus = _write_corpus(tmp_path / "c", {"a.txt": "x"}, HEADER + "d1,a.txt,T,O,g,2024-01-01\nd1,a.txt,T,O,g,2024-01-02\n")
    with pytest.raises(CorpusError, match=r"line 3, field 'doc_id': 'd1' is a duplicate of line 2\."):
        read_manifest(corpus)


@pytest.mark.parametrize("date,problem", [
    ("2024-02-30", "is not a real calendar day"),
    ("24/10/2024", "is not a date in YYYY-MM-DD form"),
    ("2024-13-01", "is not a real calendar day"),
])
def test_bad_dates(tmp_path, date, problem):
    corpus = _write_corpus(tmp_path / "c", {"a.txt": "x"}, HEADER + f"d1,a.txt,T,O,g,{date}\n")
    with pytest.raises(CorpusError, match=rf"line 2, field 'date': '{date}' {problem}"):
        read_manifest(corpus)


def test_invalid_utf8_names_the_byte_offset(tmp_path):
    corpus = _write_corpus(tmp_path / "c", {"a.txt": b"Fine line.\n\nCaf\xe9 society."}, HEADER + "d1,a.txt,T,O,g,2024-01-01\n")
    with pytest.raises(CorpusError, match=r"a.txt: not valid UTF-8 at byte offset 15 \(line 3, byte 0xe9\)\. "
                                          r"Re-save the file as UTF-8; the pipeline does not guess encodings\."):
        load_paragraphs(corpus)


def test_empty_document(tmp_path):
    corpus = _write_corpus(tmp_path / "c", {"a.txt": " \n\n"}, HEADER + "d1,a.txt,T,O,g,2024-01-01\n")
    with pytest.raises(CorpusError, match=r"a.txt: the document is empty \(.*manifest.csv, line 2 \(doc_id 'd1'\)\)\. "
                                          r"Add its text or remove the row from the manifest\."):
        load_paragraphs(corpus)


def test_document_left_empty_after_cleaning(tmp_path):
    corpus = _write_corpus(tmp_path / "c", {"a.txt": "Advertisement:\n\nMust read\n\nJuly 19, 2024"},
                           HEADER + "d1,a.txt,T,O,g,2024-01-01\n")
    with pytest.raises(CorpusError, match=r"a.txt: no body paragraph is left after cleaning \(.*line 2 \(doc_id 'd1'\); "
                                          r"2 paragraph\(s\) removed as boilerplate, 1 kept as titles, datelines or salutations\)"):
        load_paragraphs(corpus)


def test_unsupported_file_type(tmp_path):
    corpus = _write_corpus(tmp_path / "c", {"a.docx": "x"}, HEADER + "d1,a.docx,T,O,g,2024-01-01\n")
    with pytest.raises(CorpusError, match=r"line 2, field 'file': 'a.docx' has an unsupported file type '.docx'\. "
                                          r"Supported: .txt, .md, .html, .htm, .pdf\. Convert the document to one of these\."):
        read_manifest(corpus)


def test_line_range_past_the_end_of_the_file(tmp_path):
    corpus = _write_corpus(tmp_path / "c", {"a.txt": "one\ntwo"},
                           "doc_id,file,title,organization,genre,date,start_line,end_line\nd1,a.txt,T,O,g,2024-01-01,2,5\n")
    with pytest.raises(CorpusError, match=r"start_line/end_line \(2-5\) go past the end of the file, which has 2 lines"):
        load_paragraphs(corpus)


def test_command_line_error_is_one_message_without_traceback_and_writes_nothing(tmp_path):
    corpus = _write_corpus(tmp_path / "c", {"a.txt": "x"}, HEADER + "d1,a.txt,T,O,g,2024-02-30\n")
    build = tmp_path / "build"
    proc = subprocess.run([sys.executable, "-m", "helpers.corpus.corpus", "--corpus", str(corpus), "--build", str(build)],
                          capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"})
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: ")
    assert "Traceback" not in proc.stderr
    assert "'2024-02-30' is not a real calendar day" in proc.stderr
    assert not build.exists() or not any(build.iterdir())


def test_failed_ingest_keeps_the_previous_output(tmp_path):
    build = tmp_path / "build"
    ingest(DATA, build)
    before = (build / "paragraphs.parquet").read_bytes()
    corpus = _write_corpus(tmp_path / "c", {"a.txt": "Fine.", "b.txt": b"\xff"},
                           HEADER + "d1,a.txt,T,O,g,2024-01-01\nd2,b.txt,T,O,g,2024-01-01\n")
    with pytest.raises(CorpusError):
        ingest(corpus, build)
    assert (build / "paragraphs.parquet").read_bytes() == before
    assert sorted(p.name for p in build.iterdir()) == ["cleaning.csv", "documents.csv", "paragraphs.parquet", "skipped.csv"]


def test_on_error_skip_leaves_out_bad_documents_and_lists_why(tmp_path):
    corpus = _write_corpus(tmp_path / "c", {"a.txt": "We condemn terrorism.", "b.txt": b"Caf\xe9", "d.txt": "Dialogue."},
                           HEADER + "d1,a.txt,T,O,g,2024-01-01\nd2,b.txt,T,O,g,2024-01-01\nd3,c.txt,T,O,g,2024-01-01\n"
                           "d4,d.txt,T,O,g,2024-02-30\nd5,d.txt,T,O,g,2024-03-01\n")
    counts = ingest(corpus, tmp_path / "build", on_error="skip")
    assert counts["documents"] == 2
    skipped = pd.read_csv(tmp_path / "build" / "skipped.csv")
    assert skipped["doc_id"].tolist() == ["d3", "d4", "d2"]  # manifest problems first, then unreadable files
    assert "'c.txt' does not exist" in skipped["error"].iloc[0]
    assert "'2024-02-30' is not a real calendar day" in skipped["error"].iloc[1]
    assert "not valid UTF-8 at byte offset 3" in skipped["error"].iloc[2]
    assert pd.read_parquet(tmp_path / "build" / "paragraphs.parquet")["doc_id"].unique().tolist() == ["d1", "d5"]


def test_on_error_must_be_stop_or_skip(tmp_path):
    with pytest.raises(CorpusError, match=r"on_error must be one of \{'stop', 'skip'\}\. Got 'ignore' instead\."):
        read_manifest(DATA, on_error="ignore")


def test_empty_organization_becomes_unknown_with_a_warning(tmp_path):
    corpus = _write_corpus(tmp_path / "c", {"a.txt": "Text."}, HEADER + "d1,a.txt,T,,speech,2024-01-01\n")
    manifest = read_manifest(corpus)
    assert manifest["organization"].tolist() == ["unknown"]
    assert manifest["warnings"].iloc[0].endswith(
        "line 2 (doc_id 'd1'): field 'organization' is empty; using 'unknown'. Fill it in to group this document correctly.")


def test_rebuild_splits_only_the_documents_that_changed(tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(DATA, corpus, ignore=shutil.ignore_patterns("annotations", "*.yml"))
    build = tmp_path / "build"
    assert ingest(corpus, build)["cached"] == 0
    first = (build / "paragraphs.parquet").read_bytes()
    assert not (build / "docs").exists()  # in one process the last paragraphs.parquet is the cache: no file per document
    assert ingest(corpus, build)["cached"] == 8
    assert (build / "paragraphs.parquet").read_bytes() == first
    # editing file 003 re-splits its one document only
    path = corpus / "003_b62a35e7ddd15ed7.txt"
    path.write_text(path.read_text(encoding="utf-8") + "\n\nA new closing paragraph on terrorism.", encoding="utf-8")
    counts = ingest(corpus, build)
    assert counts["cached"] == 7
    assert counts["paragraphs"] == 135
    assert load_paragraphs(corpus).equals(pd.read_parquet(build / "paragraphs.parquet").astype({"source_para": "Int64"}))


def test_two_dask_workers_give_byte_identical_output(tmp_path):
    pytest.importorskip("dask.distributed")
    ingest(DATA, tmp_path / "one", use_cache=False)
    ingest(DATA, tmp_path / "two", use_cache=False, workers=2)
    for name in ["paragraphs.parquet", "documents.csv", "cleaning.csv", "skipped.csv"]:
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes(), name


def test_dask_workers_report_a_bad_document_like_one_process(tmp_path):
    pytest.importorskip("dask.distributed")
    corpus = _write_corpus(tmp_path / "c", {"a.txt": "Fine.", "b.txt": b"\xff"},
                           HEADER + "d1,a.txt,T,O,g,2024-01-01\nd2,b.txt,T,O,g,2024-01-01\n")
    with pytest.raises(CorpusError, match=r"b.txt: not valid UTF-8 at byte offset 0"):
        ingest(corpus, tmp_path / "build", workers=2)


def test_manifest_saved_with_a_byte_order_mark(tmp_path):
    corpus = _write_corpus(tmp_path / "c", {"a.txt": "Text."}, "\ufeff" + HEADER + "d1,a.txt,T,O,g,2024-01-01\n")
    assert read_manifest(corpus)["doc_id"].tolist() == ["d1"]


def test_a_document_read_back_from_the_cache_has_the_same_paragraphs(tmp_path):
    from helpers.corpus.corpus import ingest, iter_documents

    pytest.importorskip("dask.distributed")
    build = tmp_path / "build"
    ingest(DATA, build, workers=2)  # Dask workers keep each document they split in build/docs
    assert len(list((build / "docs").glob("*@*.arrow"))) == 8
    fresh = {d.meta["doc_id"]: d for d in iter_documents(DATA)}
    cached = list(iter_documents(DATA, cache_dir=build / "docs"))
    assert len(cached) == 8 and all(d.rows is None and d.table is not None for d in cached)  # Arrow, no dicts
    for doc in cached:
        assert doc.paragraph_rows() == fresh[doc.meta["doc_id"]].rows
        pd.testing.assert_frame_equal(doc.paragraphs, fresh[doc.meta["doc_id"]].paragraphs)
        assert doc.removed_rows == fresh[doc.meta["doc_id"]].removed_rows
    # A damaged cache file (a full disk, a killed copy) is not an error: that document is split again.
    damaged = sorted((build / "docs").glob("*@*.arrow"))[0]
    damaged.write_bytes(damaged.read_bytes()[:64])
    again = list(iter_documents(DATA, cache_dir=build / "docs"))
    assert [d.split for d in again].count(True) == 1
    assert [d.paragraphs.equals(fresh[d.meta["doc_id"]].paragraphs) for d in again] == [True] * 8


def test_unchanged_documents_come_from_the_last_paragraphs_table(tmp_path):
    from helpers.corpus.corpus import DOCUMENTS_METADATA, ingest, previous_ingest

    corpus = tmp_path / "corpus"
    shutil.copytree(DATA, corpus, ignore=shutil.ignore_patterns("annotations", "*.yml"))
    build, fresh = tmp_path / "build", tmp_path / "fresh"
    ingest(corpus, build)
    first = {name: (build / name).read_bytes() for name in ("paragraphs.parquet", "documents.csv", "cleaning.csv")}
    last = previous_ingest(build / "paragraphs.parquet")
    assert len(last) == 8 and sum(t.num_rows for _, t, _ in last.values()) == 134
    assert sum(len(removed) for _, _, removed in last.values()) == len(pd.read_csv(build / "cleaning.csv"))
    # Per-document files are not read when paragraphs.parquet lists the document with the same key:
    # spoil them all and the next run still writes the same bytes.
    (build / "docs").mkdir()
    for doc_id, (key, _, _) in last.items():
        (build / "docs" / f"{doc_id}@{key}.arrow").write_bytes(b"not arrow")
    assert ingest(corpus, build)["cached"] == 8
    assert {name: (build / name).read_bytes() for name in first} == first
    # An edited document is split again; the result is what a run without any cache gives.
    path = corpus / "003_b62a35e7ddd15ed7.txt"
    path.write_text(path.read_text(encoding="utf-8") + "\n\nA new closing paragraph on terrorism.", encoding="utf-8")
    ingest(corpus, build)
    ingest(corpus, fresh, use_cache=False)
    assert pq.read_table(build / "paragraphs.parquet").equals(pq.read_table(fresh / "paragraphs.parquet"))
    for name in ("documents.csv", "cleaning.csv", "skipped.csv"):
        assert (build / name).read_bytes() == (fresh / name).read_bytes(), name
    assert DOCUMENTS_METADATA not in (pq.ParquetFile(fresh / "paragraphs.parquet").metadata.metadata or {})
    assert previous_ingest(fresh / "paragraphs.parquet") is None  # no list without a cache: nothing to reuse


# ---------------------------------------------------------------- nothing outside the corpus is read

@pytest.mark.parametrize("kind", ["dotdot", "absolute", "symlink", "symlinked_folder"])
def test_files_outside_the_corpus_are_never_read(tmp_path, kind):
    secret = tmp_path / "secret.txt"
    secret.write_text("CANARY outside the corpus.", encoding="utf-8")
    corpus = _write_corpus(tmp_path / "c", {"a.txt": "Fine."}, "")
    name = {"dotdot": "../secret.txt", "absolute": str(secret), "symlink": "link.txt", "symlinked_folder": "sub/secret.txt"}[kind]
    if kind == "symlink":
        (corpus / "link.txt").symlink_to(secret)
    if kind == "symlinked_folder":
        (corpus / "sub").symlink_to(tmp_path)
    (corpus / "manifest.csv").write_text(HEADER + f"d1,a.txt,T,O,g,2024-01-01\nd2,{name},T,O,g,2024-01-01\n", encoding="utf-8")
    with pytest.raises(CorpusError, match=rf"manifest.csv, line 3, field 'file': '{re.escape(name)}' is outside the corpus folder "
                                          r".*c \(after following links\)\. Only files inside the corpus folder are read: "
                                          r"copy the document into it and name it by its relative path\."):
        read_manifest(corpus)
    counts = ingest(corpus, tmp_path / "build", on_error="skip")
    assert counts["documents"] == 1
    assert "is outside the corpus folder" in pd.read_csv(tmp_path / "build" / "skipped.csv")["error"].iloc[0]
    for out in (tmp_path / "build").rglob("*"):
        if out.is_file():
            assert b"CANARY" not in out.read_bytes()


def test_dotdot_to_a_system_file_is_refused_before_its_type_is_checked(tmp_path):
    corpus = _write_corpus(tmp_path / "c", {"a.txt": "x"}, HEADER + "d1,../../../../../../../etc/hostname,T,O,g,2024-01-01\n")
    with pytest.raises(CorpusError, match=r"line 2, field 'file': '../../../../../../../etc/hostname' is outside the corpus folder"):
        read_manifest(corpus)


def test_a_link_inside_the_corpus_to_a_file_inside_it_is_read(tmp_path):
    corpus = _write_corpus(tmp_path / "c", {"texts/a.txt": "We condemn terrorism."}, HEADER + "d1,b.txt,T,O,g,2024-01-01\n")
    (corpus / "b.txt").symlink_to(corpus / "texts" / "a.txt")
    assert load_paragraphs(corpus)["text"].tolist() == ["We condemn terrorism."]


def test_a_latin1_manifest_names_the_line_and_column(tmp_path):
    corpus = _write_corpus(tmp_path / "c", {"a.txt": "x"}, "")
    (corpus / "manifest.csv").write_bytes((HEADER + "d1,a.txt,Sécurité,O,g,2024-01-01\n").encode("latin-1"))
    with pytest.raises(CorpusError, match=r"manifest\.csv, line 2, column 11: not valid UTF-8 \(byte 0xe9; the file looks saved as "
                                          r"Latin-1 or Windows-1252\)\. Re-save the manifest as UTF-8 \(in a spreadsheet program: "
                                          r"'CSV UTF-8'\)\.$"):
        read_manifest(corpus)


def test_control_characters_are_removed_and_logged_and_nothing_is_lost(tmp_path):
    raw = "Title line\n\nWe condemn\x00 terrorism\x1b[31m in all its forms.\x7f\n\nDialogue\x0c continues.\tHere.\r\n"
    corpus = _write_corpus(tmp_path / "c", {"a.txt": raw}, HEADER + "d1,a.txt,Title line,O,g,2024-01-01\n")
    ingest(corpus, tmp_path / "build")
    p = pd.read_parquet(tmp_path / "build" / "paragraphs.parquet")
    assert p["text"].tolist() == ["Title line", "We condemn  terrorism [31m in all its forms.", "Dialogue\x0c continues.\tHere."]
    assert p.loc[1, "text_norm"] == "We condemn terrorism [31m in all its forms."
    assert not any(c in t for t in p["text"] for c in "\x00\x1b\x7f")
    text = read_document_text(corpus / "a.txt")
    assert len(text) == len(raw) and all(text[r.char_start:r.char_end] == r.text for r in p.itertuples())
    removed = pd.read_csv(tmp_path / "build" / "cleaning.csv", keep_default_na=False)
    assert removed[["char_start", "char_end", "rule", "text"]].values.tolist() == [
        [22, 23, "control-characters", "\\x00"], [33, 34, "control-characters", "\\x1b"], [56, 57, "control-characters", "\\x7f"]]
    covered = {i for r in p.itertuples() for i in range(r.char_start, r.char_end)}
    covered |= {i for r in removed.itertuples() for i in range(r.char_start, r.char_end)}
    assert "".join(c for i, c in enumerate(raw) if i not in covered and not c.isspace()) == ""
    assert all(raw[r.char_start:r.char_end].encode("unicode_escape").decode() == r.text for r in removed.itertuples())


@pytest.mark.parametrize("content,problem", [
    (b"garbage, not a PDF", "Stream has ended unexpectedly"),
    (b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\ntrailer << /Root 1 0 R >>\n", "Stream has ended unexpectedly"),
])
def test_a_broken_pdf_prints_our_message_only(tmp_path, content, problem):
    corpus = _write_corpus(tmp_path / "c", {"a.pdf": content}, HEADER + "d1,a.pdf,T,O,g,2024-01-01\n")
    proc = subprocess.run([sys.executable, "-m", "helpers.corpus.corpus", "--corpus", str(corpus), "--build", str(tmp_path / "b")],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr == (f"error: {corpus / 'a.pdf'}: cannot read the PDF ({problem}). "
                           "Check the file is a complete PDF with a text layer.\n")


def test_ingest_lists_the_cache_folder_a_fixed_number_of_times(tmp_path, monkeypatch):
    # Listing docs/ once per document written made ingestion quadratic in documents (issue 16).
    import pathlib
    listings = []
    real_glob = pathlib.Path.glob

    def counting_glob(self, pattern, *args, **kwargs):
        if self.name == "docs":
            listings.append(pattern)
        return real_glob(self, pattern, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "glob", counting_glob)
    corpus = tmp_path / "corpus"
    shutil.copytree(DATA, corpus, ignore=shutil.ignore_patterns("annotations", "*.yml"))
    ingest(corpus, tmp_path / "build")
    assert len(listings) == 1  # once at the end, for stale files: not per document


def test_cache_files_of_an_older_format_are_removed(tmp_path):
    build = tmp_path / "build"
    ingest(DATA, build)
    (build / "docs").mkdir()
    old = build / "docs" / "csto-csc-declaration-2020@0123456789abcdef0123.parquet"  # per-document Parquet, before .arrow
    old.write_bytes(b"PAR1")
    stale = build / "docs" / "csto-csc-declaration-2020@0123456789abcdef0123.arrow"  # a version no longer in the corpus
    stale.write_bytes(b"")
    temporary = build / "docs" / ".x@y.arrow.123.tmp"  # another build's file being written: not ours to remove
    temporary.write_bytes(b"")
    assert ingest(DATA, build)["cached"] == 8
    assert not old.exists() and not stale.exists() and temporary.exists()
