"""Tests for helpers.annotation.annotate: the matching engine on tiny texts, the real seed corpus, overrides,
validation input and the command line."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from helpers.annotation.annotate import (
    ANNOTATED_COLUMNS,
    ANNOTATION_COLUMNS,
    EVIDENCE_COLUMNS,
    Matcher,
    annotate_paragraphs,
    code_paragraphs,
    main,
    read_validation,
    SCORED_COLUMNS,
    speaker_kinds,
)
from helpers.annotation.codebook import load_codebook
from helpers.corpus.corpus import load_paragraphs
from helpers.errors import AnnotationError
from helpers.corpus.text import fold

ROOT = Path(__file__).resolve().parents[1]
CODEBOOK = ROOT / "data" / "codebook.yml"
OVERRIDES = ROOT / "data" / "annotations" / "overrides.csv"

TINY = """\
groups:
  g: G
themes:
  - id: terrorism
    label: Terrorism
    definition: Terrorism.
    group: g
    terms: [terror*, foreign terrorist fighter]
  - id: war
    label: War
    definition: War.
    group: g
    terms: [war, armed conflict, conflict]
    exclude: [Great Patriotic War]
  - id: drugs
    label: Drugs
    definition: Drugs.
    group: g
    terms: [drug, drug trafficking]
  - id: training
    label: Training
    definition: Training.
    group: g
    terms: ['=trainings']
  - id: infosec
    label: Infosec
    definition: Information security.
    group: g
    terms: [information security, counter-terrorism]
  - id: who
    label: WHO
    definition: The World Health Organization.
    group: g
    regex: ['(?-i:\\bWHO\\b)', 'tactical\\s+advances?']
  - id: policy
    label: Policy
    definition: Policy.
    group: g
    terms: [policy]
"""


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    p = tmp_path_factory.mktemp("cb") / "tiny.yml"
    p.write_text(TINY, encoding="utf-8")
    return Matcher(load_codebook(p))


def found(matcher, text):
    m = matcher.match([text])
    return [(t, text[s:e]) for t, s, e in zip(m["theme"], m["start"], m["end"])]


@pytest.mark.parametrize(
    "text, expected",
    [
        # case-insensitive, prefix wildcard, hyphen is a word boundary
        ("Counter-Terrorism and TERRORISTS.", [("infosec", "Counter-Terrorism"), ("terrorism", "Terrorism"),
                                                ("terrorism", "TERRORISTS")]),
        # whole words only: no 'war' in toward, award, Warsaw; no 'drug' in drugstore
        ("toward an award in Warsaw at the drugstore", []),
        # regular plural of the last word; possessive
        ("two wars, the war's end, armed conflicts", [("war", "wars"), ("war", "war"), ("war", "armed conflicts")]),
        # 'policy' -> 'policies'
        ("sanctions policies", [("policy", "policies")]),
        # curly apostrophe and en dash fold like straight ones; phrase across a dash
        ("Russia’s war – counter–terrorism", [("infosec", "counter–terrorism"), ("terrorism", "terrorism"),
                                             ("war", "war")]),
        # phrase words across a line break and double space
        ("information\n  security", [("infosec", "information\n  security")]),
        # but never across other punctuation
        ("information. Security; information, security", []),
        # exclusion: 'War' inside 'Great Patriotic War' does not count, a later 'war' does
        ("the Great Patriotic War and a new war", [("war", "war")]),
        # nested matches of one theme collapse to the longest
        ("illicit drug trafficking", [("drugs", "drug trafficking")]),
        ("foreign terrorist fighters", [("terrorism", "foreign terrorist fighters")]),
        # '=' switches inflection off
        ("joint trainings, joint training", [("training", "trainings")]),
        # case-sensitive regex part: the acronym, not the pronoun
        ("those who asked the WHO", [("who", "WHO")]),
        # regex matches may not cut words
        ("subtactical advances; tactical advances", [("who", "tactical advances")]),
    ],
)
def test_engine_on_tiny_texts(tiny, text, expected):
    assert sorted(found(tiny, text)) == sorted(expected)


def test_words_broken_by_the_ocr_line_break_mark_match_joined_and_hyphenated(tiny):
    # "¬" is how the OCR of the older UN records renders a hyphen at a line end: a broken word matches
    # as if joined (drug¬trafficking is no phrase, but ter¬rorism is terrorism), a compound as if hyphenated
    texts = ["acts of ter¬rorism and illicit drug¬trafficking", "no mark: terror", "counter¬terrorism, war¬s", "¬war¬"]
    m = tiny.match(texts)
    got = [(i, t, texts[i][s:e]) for i, t, s, e in zip(m["index"], m["theme"], m["start"], m["end"])]
    assert got == [(0, "drugs", "drug¬trafficking"), (0, "terrorism", "ter¬rorism"),
                   (1, "terrorism", "terror"),
                   (2, "infosec", "counter¬terrorism"), (2, "terrorism", "terrorism"), (2, "war", "war¬s"),
                   (3, "war", "war")]


def test_spans_index_the_text_as_written_in_several_texts(tiny):
    texts = ["«Terror» — war", "", "no theme here", "İstanbul war: drugs"]
    m = tiny.match(texts)
    assert m["index"].tolist() == [0, 0, 3, 3]
    # sorted by text, theme id, start
    assert [texts[i][s:e] for i, s, e in zip(m["index"], m["start"], m["end"])] == ["Terror", "war", "drugs", "war"]
    assert list(m.columns) == ["index", "theme", "rule", "rule_kind", "start", "end"]
    assert m["theme"].tolist() == ["terrorism", "war", "drugs", "war"]
    assert m["rule"].tolist() == ["terror*", "war", "drug", "war"]


def test_no_match_crosses_paragraphs(tiny):
    m = tiny.match(["information", "security", "armed", "conflict"])
    assert [(i, t) for i, t in zip(m["index"], m["theme"])] == [(3, "war")]


def test_fold_keeps_length():
    s = "“Counter–terrorism” — Russia’s\u00a0war"
    assert len(fold(s)) == len(s)


# --------------------------------------------------------------------------- real seed corpus

@pytest.fixture(scope="module")
def seed():
    return load_paragraphs(ROOT / "data", ROOT / "data" / "cleaning.yml")


@pytest.fixture(scope="module")
def coded(seed):
    return code_paragraphs(seed, CODEBOOK)


def themes_of(coded, para_id, col="themes_rules"):
    row = coded.paragraphs.loc[coded.paragraphs["para_id"] == para_id, col]
    assert len(row) == 1, para_id
    return row.item()


@pytest.mark.parametrize(
    "para_id, themes",
    [
        # Kazan ¶49
        ("brics-kazan-2024-p012", "drug_trafficking;emerging_tech;illicit_finance;terrorism"),
        # Kazan ¶48: the BRICS Counter-Terrorism Working Group is counter-terrorism and a BRICS body
        ("brics-kazan-2024-p011", "regional_organizations;terrorism"),
        # Kazan ¶47: "Charter of the United Nations" is international law and the UN
        ("brics-kazan-2024-p010", "international_law;terrorism;un_system"),
        # Kazan ¶45: PAROS; the Conference on Disarmament; "arms race in outer space" is not a WMD arms race
        ("brics-kazan-2024-p008", "outer_space;wmd_nonproliferation"),
        # Kazan ¶80: supply chains, energy security, terrorist attacks on energy infrastructure
        ("brics-kazan-2024-p015", "energy_security;terrorism"),
        # ISW: "UN Charter" -> international_law and un_system; BRICS; mediation; the war
        ("isw-kazan-2024-p003", "armed_conflict;international_law;peaceful_settlement;regional_organizations;un_system"),
        # ISW: North Korean troops deployed to Russia's war
        ("isw-kazan-2024-p013", "military_cooperation;russia_ukraine_war"),
        ("isw-kazan-2024-p016", "armed_conflict;russia_ukraine_war"),
        # "Great Patriotic War" is no armed conflict; the escalation of tension is
        ("csto-csc-declaration-2020-p006", "armed_conflict"),
        # "Collective Security Council" is the CSTO's body, not the UN Security Council
        ("csto-csc-declaration-2020-p003", "regional_organizations"),
        # the WHO is a UN agency and a biosecurity actor
        ("csto-csc-declaration-2020-p010", "biosecurity;regional_organizations;un_system"),
        # financing of foreign terrorist fighters is illicit finance
        ("csto-csc-declaration-2020-p016", "armed_conflict;illicit_finance;terrorism;un_system"),
        ("csto-sg-minsk-2024-p010", "cyber_ict;emerging_tech;outer_space"),
        ("csto-sg-minsk-2024-p009", "peaceful_settlement;sanctions;un_system"),
        ("csto-sg-minsk-2024-p012", ""),
        ("csto-news-2024-12-03-p001", "illegal_migration;regional_organizations"),
    ],
)
def test_hand_checked_seed_paragraphs(coded, para_id, themes):
    assert themes_of(coded, para_id) == themes


def test_seed_counts_and_columns(seed, coded):
    body = seed[seed["kind"] == "body"]
    assert len(coded.paragraphs) == len(body) == 118
    assert list(coded.paragraphs.columns) == ANNOTATED_COLUMNS + ["themes_rules"]
    assert list(coded.annotations.columns) == ANNOTATION_COLUMNS
    assert list(coded.evidence.columns) == EVIDENCE_COLUMNS
    # every body paragraph's themes are the ones in the long table
    long = coded.annotations.groupby("para_id")["theme"].apply(lambda s: ";".join(sorted(s)))
    for pid, themes in zip(coded.paragraphs["para_id"], coded.paragraphs["themes"]):
        assert long.get(pid, "") == themes


def test_every_evidence_span_slices_back_to_the_matched_words(coded):
    texts = dict(zip(coded.paragraphs["para_id"], coded.paragraphs["text"]))
    ev = coded.evidence
    assert len(ev) > 400
    for pid, term, s, e in zip(ev["para_id"], ev["term"], ev["start"], ev["end"]):
        text = texts[pid]
        assert text[s:e] == term
        assert term[0].isalnum() and term[-1].isalnum()
        assert (s == 0 or not text[s - 1].isalnum()) and (e == len(text) or not text[e].isalnum())


def test_evidence_of_kazan_49(coded):
    ev = coded.evidence[coded.evidence["para_id"] == "brics-kazan-2024-p012"]
    got = sorted(zip(ev["theme"], ev["term"]))
    assert got == [
        ("drug_trafficking", "drug"),
        ("emerging_tech", "cryptocurrencies"), ("emerging_tech", "new technologies"),
        ("illicit_finance", "corruption"), ("illicit_finance", "illicit financial flows"),
        ("illicit_finance", "money laundering"), ("illicit_finance", "terrorism financing"),
        ("terrorism", "terrorism"), ("terrorism", "terrorist"),
    ]
    ann = coded.annotations[(coded.annotations["para_id"] == "brics-kazan-2024-p012")
                            & (coded.annotations["theme"] == "emerging_tech")]
    assert ann["evidence"].item() == "new technologies (181-197); cryptocurrencies (209-225)"
    assert ann["source"].item() == "rule"


def test_annotate_paragraphs_returns_the_paragraph_table(seed):
    df = annotate_paragraphs(seed, load_codebook(CODEBOOK))
    assert df.loc[df["para_id"] == "brics-kazan-2024-p012", "themes"].item() == \
        "drug_trafficking;emerging_tech;illicit_finance;terrorism"


# --------------------------------------------------------------------------- overrides

def write_overrides(tmp_path, rows, name="overrides.csv"):
    p = tmp_path / name
    p.write_text("para_id,theme,action,coder,note\n" + "".join(r + "\n" for r in rows), encoding="utf-8")
    return p


def test_overrides_remove_add_and_last_row_wins(seed, tmp_path):
    p = write_overrides(tmp_path, [
        "brics-kazan-2024-p012,terrorism,remove,ana,terrorist purposes is finance here",
        "brics-kazan-2024-p012,sanctions,add,ana,",
        "brics-kazan-2024-p012,world_order,add,ana,first thought",
        "brics-kazan-2024-p012,world_order,remove,bob,second thought",
    ])
    c = code_paragraphs(seed, CODEBOOK, p)
    row = c.paragraphs[c.paragraphs["para_id"] == "brics-kazan-2024-p012"]
    assert row["themes"].item() == "drug_trafficking;emerging_tech;illicit_finance;sanctions"
    assert row["themes_rules"].item() == "drug_trafficking;emerging_tech;illicit_finance;terrorism"
    ann = c.annotations[c.annotations["para_id"] == "brics-kazan-2024-p012"].set_index("theme")
    assert ann.loc["sanctions", "source"] == "manual"
    assert ann.loc["sanctions", "evidence"] == "override by ana"
    assert "terrorism" not in ann.index
    ev = c.evidence[c.evidence["para_id"] == "brics-kazan-2024-p012"]
    assert sorted(ev.loc[ev["status"] == "removed", "term"]) == ["terrorism", "terrorist"]


@pytest.mark.parametrize(
    "row, message",
    [
        ("brics-kazan-2024-p999,terrorism,add,ana,x",
         r"overrides\.csv, line 3: unknown paragraph 'brics-kazan-2024-p999' in the overrides\. Use a para_id from"),
        ("brics-kazan-2024-p012,terror,add,ana,x",
         r"overrides\.csv, line 3: unknown theme 'terror' for paragraph brics-kazan-2024-p012\. Known themes: terrorism,"),
        ("brics-kazan-2024-p001,terrorism,add,ana,x",
         r"overrides\.csv, line 3: paragraph 'brics-kazan-2024-p001' is a title paragraph; only body paragraphs are coded\."),
        ("brics-kazan-2024-p012,terrorism,delete,ana,x",
         r"overrides\.csv, line 3: action must be one of \{add, remove\}\. Got 'delete' instead\."),
        ("brics-kazan-2024-p012,terrorism,add,,x", r"overrides\.csv, line 3: coder is empty\. Say who made the decision\."),
        (",terrorism,add,ana,x", r"overrides\.csv, line 3: para_id is empty\."),
    ],
)
def test_bad_override_rows_name_the_row(seed, parquet, tmp_path, row, message):
    p = write_overrides(tmp_path, ["brics-kazan-2024-p011,terrorism,add,ana,fine", row])
    with pytest.raises(AnnotationError, match=message):
        code_paragraphs(seed, CODEBOOK, p)
    with pytest.raises(AnnotationError, match=message):
        main(["--paragraphs", str(parquet), "--codebook", str(CODEBOOK), "--overrides", str(p),
              "--reports", str(tmp_path / "r")])
    assert not (tmp_path / "r").exists()


def test_override_header_is_checked(seed, tmp_path):
    p = tmp_path / "o.csv"
    p.write_text("para_id,theme,action\nx,y,add\n", encoding="utf-8")
    with pytest.raises(AnnotationError, match=r"o\.csv, line 1: overrides header must have the columns "
                                              r"para_id,theme,action,coder,note; missing coder, note"):
        code_paragraphs(seed, CODEBOOK, p)


def test_project_overrides_are_valid_and_have_notes(seed):
    c = code_paragraphs(seed, CODEBOOK, OVERRIDES)
    rows = pd.read_csv(OVERRIDES, dtype=str, keep_default_na=False)
    assert len(rows) >= 3 and (rows["note"].str.len() > 20).all()
    for pid, theme, action in zip(rows["para_id"], rows["theme"], rows["action"]):
        final = set(c.paragraphs.loc[c.paragraphs["para_id"] == pid, "themes"].item().split(";"))
        rules = set(c.paragraphs.loc[c.paragraphs["para_id"] == pid, "themes_rules"].item().split(";"))
        # each project override changes something (the rules alone say otherwise)
        assert (theme in final) == (action == "add") and (theme in rules) == (action == "remove")


# --------------------------------------------------------------------------- command line

@pytest.fixture(scope="module")
def parquet(seed, tmp_path_factory):
    p = tmp_path_factory.mktemp("build") / "paragraphs.parquet"
    seed.to_parquet(p, index=False)
    return p


def test_cli_writes_reports_and_never_touches_overrides(parquet, tmp_path, capsys):
    overrides = write_overrides(tmp_path, ["isw-kazan-2024-p008,world_order,add,ana,test"])
    before = overrides.read_bytes()
    validation = tmp_path / "validation.csv"
    validation.write_text(
        "para_id,themes,coder\n"
        "brics-kazan-2024-p012,drug_trafficking;emerging_tech;illicit_finance;terrorism,t\n"
        "isw-kazan-2024-p008,,t\n"
        "csto-sg-minsk-2024-p012,world_order,t\n",
        encoding="utf-8",
    )
    reports = tmp_path / "reports"
    assert main(["--paragraphs", str(parquet), "--codebook", str(CODEBOOK), "--overrides", str(overrides),
                 "--validation", str(validation), "--reports", str(reports), "--chunk-size", "7"]) == 0
    out = capsys.readouterr().out
    assert overrides.read_bytes() == before
    assert "annotated 118 body paragraphs" in out
    # 3 paragraphs x 21 themes = 63 decisions; rules: 4 tp, 0 fp, 1 fn (world_order of minsk p012), 58 tn:
    # p_o = 62/63, p_e = (5*4 + 58*59)/63**2, kappa = 464/527 = 0.880
    # a file without a split column is in-sample; each figure is followed by its 95 % interval
    iv = r" \[-?[\d.]+, [\d.]+\]"
    assert re.search(r"in-sample rules alone +precision 1\.000" + iv + r"  recall 0\.800" + iv + r"  F1 0\.889" + iv
                     + r"  kappa 0\.880" + iv + r"  \(0 spurious, 1 missed, "
                     r"63 paragraph-theme decisions in 3 paragraphs\)", out)
    # final: the override adds world_order to isw p008, which the validation says has no theme
    # tp 4, fp 1, fn 1, tn 57: kappa = (61*63 - (25 + 58*58)) / (63**2 - (25 + 58*58)) = 454/580 = 0.783
    assert re.search(r"final \(rules \+ overrides\) +precision 0\.800 \[.*recall 0\.800 \[.*F1 0\.800 \[.*kappa 0\.783", out)
    annotated = pd.read_csv(reports / "annotated_paragraphs.csv", dtype=str, keep_default_na=False)
    assert list(annotated.columns) == ANNOTATED_COLUMNS and len(annotated) == 118
    assert annotated.loc[annotated["para_id"] == "isw-kazan-2024-p008", "themes"].item() == "world_order"
    assert annotated.loc[annotated["para_id"] == "brics-kazan-2024-p004", "source_para"].item() == "25"
    ann = pd.read_csv(reports / "annotations.csv", dtype=str, keep_default_na=False)
    assert list(ann.columns) == ANNOTATION_COLUMNS
    assert ann[(ann["para_id"] == "isw-kazan-2024-p008")].values.tolist() == [
        ["isw-kazan-2024-p008", "isw-kazan-2024", "world_order", "manual", "override by ana: test"]]
    ev = pd.read_csv(reports / "evidence.csv", keep_default_na=False)
    assert list(ev.columns) == EVIDENCE_COLUMNS
    agreement = pd.read_csv(reports / "agreement.csv")
    assert set(agreement["annotation"]) == {"rules", "final"}
    dis = pd.read_csv(reports / "validation_disagreements.csv", keep_default_na=False)
    assert dis[["annotation", "para_id", "theme", "kind"]].values.tolist() == [
        ["rules", "csto-sg-minsk-2024-p012", "world_order", "missed"],
        ["final", "isw-kazan-2024-p008", "world_order", "spurious"],
        ["final", "csto-sg-minsk-2024-p012", "world_order", "missed"],
    ]
    # the same corpus in one chunk gives byte-identical files
    reports2 = tmp_path / "reports2"
    main(["--paragraphs", str(parquet), "--codebook", str(CODEBOOK), "--overrides", str(overrides),
          "--reports", str(reports2)])
    for name in ("annotated_paragraphs.csv", "annotations.csv", "evidence.csv"):
        assert (reports / name).read_bytes() == (reports2 / name).read_bytes()


@pytest.mark.parametrize(
    "content, message",
    [
        ("para_id,themes,coder\nnope-p001,terrorism,t\n",
         r"validation\.csv, line 2: unknown paragraph 'nope-p001' in the validation sample\."),
        ("para_id,themes,coder\nbrics-kazan-2024-p012,terror;drug_trafficking,t\n",
         r"validation\.csv, line 2: unknown theme 'terror' for paragraph brics-kazan-2024-p012\."),
        ("para_id,themes,coder\nbrics-kazan-2024-p012,,t\nbrics-kazan-2024-p012,terrorism,t\n",
         r"validation\.csv, line 3: paragraph brics-kazan-2024-p012 is coded twice \(first at line 2\)\."),
        ("para_id,theme,coder\nbrics-kazan-2024-p012,,t\n",
         r"validation\.csv, line 1: validation header must have the columns para_id,themes,coder; missing themes"),
        ("para_id,split,inclusion_probability,themes,coder\nbrics-kazan-2024-p012,train,0.5,,t\n",
         r"validation\.csv, line 2: split must be one of \{tune, dev, test\} \(tune: rules are written from it; dev: scored while "
             r"choosing rules; test: held out\)\. Got 'train' instead\."),
        ("para_id,split,inclusion_probability,themes,coder\nbrics-kazan-2024-p012,test,2,,t\n",
         r"validation\.csv, line 2: inclusion_probability must be a number in \(0, 1\]\. Got '2' instead\."),
        # a quoted text over three lines: the row after it starts on line 5, and a row is named by its first line
        ('para_id,themes,coder,text\nbrics-kazan-2024-p011,,t,"one\ntwo\nthree"\nbrics-kazan-2024-p012,terror,t,"four\nfive"\n',
         r"validation\.csv, line 5: unknown theme 'terror' for paragraph brics-kazan-2024-p012\."),
    ],
)
def test_bad_validation_rows_name_the_row(parquet, tmp_path, content, message):
    v = tmp_path / "validation.csv"
    v.write_text(content, encoding="utf-8")
    with pytest.raises(AnnotationError, match=message):
        main(["--paragraphs", str(parquet), "--codebook", str(CODEBOOK), "--validation", str(v),
              "--reports", str(tmp_path / "r")])
    assert not (tmp_path / "r").exists()


def test_read_validation_sorts_themes(tmp_path):
    v = tmp_path / "v.csv"
    v.write_text("para_id,themes,coder\na,terrorism;afghanistan,t\nb,,t\n", encoding="utf-8")
    df = read_validation(v, load_codebook(CODEBOOK))
    assert df[["para_id", "themes", "line"]].values.tolist() == [["a", "afghanistan;terrorism", 2], ["b", "", 3]]


def test_cli_error_is_one_clean_message(tmp_path, capsys):
    from helpers.errors import run_cli

    status = run_cli(main, ["--paragraphs", str(tmp_path / "missing.parquet"), "--codebook", str(CODEBOOK),
                            "--reports", str(tmp_path)])
    err = capsys.readouterr().err
    assert status == 2
    assert err == f"error: {tmp_path / 'missing.parquet'}: paragraphs file not found. Run make ingest (helpers.corpus.corpus) first.\n"


def test_missing_paragraph_columns_are_named(tmp_path):
    p = tmp_path / "p.parquet"
    pd.DataFrame({"para_id": ["a"], "text": ["x"]}).to_parquet(p)
    with pytest.raises(AnnotationError, match=r"p\.parquet: the paragraph table lacks the column\(s\) doc_id, title,"):
        main(["--paragraphs", str(p), "--codebook", str(CODEBOOK), "--reports", str(tmp_path / "r")])


# --------------------------------------------------------------------------- engine internals

def test_char_views_equal_fold_lower_and_word_class():
    import re

    import numpy as np

    from helpers.annotation.annotate import _char_views

    text = "A`b\t“Q”‘r’—x–y‑z\u00a0İstanbul ẞtraße ÀÉ № … 😀 ab_c 12 Ωmega\x00"
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    folded, spaced = _char_views(codes)
    assert folded.tobytes().decode("utf-32-le") == fold(text)
    expected = "".join(
        ("\x00" if c == "\x00" else (c.lower() if len(c.lower()) == 1 else c) if re.fullmatch(r"\w", c) else " ")
        for c in fold(text)
    )
    assert spaced.tobytes().decode("utf-32-le") == expected


@pytest.mark.parametrize(
    "pattern, anchor",
    [
        (r"(?-i:\bWHO\b)", ("who", True, True)),
        (r"\bforces\s+(?:\w+\s+){0,3}?advanc\w*", ("forces", True, False)),
        (r"\b(?:resolution|UNSCR)\s+1540\b", ("1540", False, True)),
        (r"(?-i:\b(?:[Tt]he|[Oo]ur)\s{1,3}Organization\b)", ("organization", False, True)),
        (r"(?:a|b)\d+", None),
    ],
)
def test_regex_anchor(pattern, anchor):
    from helpers.annotation.annotate import regex_anchor

    assert regex_anchor(pattern) == anchor


@pytest.mark.parametrize(
    "pattern, anchor, others",
    [
        (r"\b(?:democrati\w*)\b[^\w\x00.;!?]+(?:\w+[^\w\x00.;!?]+){0,3}\b(?:international[\s\-/']+relations)\b",
         "international", ["democrati", "relations"]),
        (r"\bSecretary\W{1,3}General\b", "secretary", ["general"]),
        (r"(?-i:\bWHO\b)", "who", []),  # nothing besides the anchor
        (r"\bend\s+(?:to\s+)?the\s+war\b", "end", []),  # 'the', 'war': shorter than four characters
        (r"\bpeace(?:keeping)?\s+operations?\b", "operation", ["peace"]),  # 'keeping' is optional: not required
    ],
)
def test_co_anchors_are_the_other_literals_every_match_contains(pattern, anchor, others):
    from helpers.annotation.annotate import _co_anchors, regex_anchor, regex_literals

    assert regex_anchor(pattern)[0] == anchor
    assert _co_anchors(regex_literals(pattern), anchor) == others


def test_regex_without_anchor_is_still_found(tmp_path):
    p = tmp_path / "cb.yml"
    p.write_text("groups: {g: G}\nthemes:\n  - {id: years, label: Y, definition: Y., group: g, regex: ['(?:19|20)\\d\\d']}\n",
                 encoding="utf-8")
    m = Matcher(load_codebook(p))
    assert m.unanchored == [0]
    assert found(m, "in 2024 and x2025 and 1999") == [("years", "2024"), ("years", "1999")]


def test_a_catastrophic_regex_runs_in_linear_time(tmp_path):
    """(?:a+)+$ never returns under Python's backtracking re on a long run of 'a' not followed by the
    end; RE2 matches it in linear time, anchored (aa...) or not."""
    import time

    p = tmp_path / "cb.yml"
    p.write_text("groups: {g: G}\nthemes:\n  - {id: t, label: T, definition: T., group: g, "
                 "regex: ['(?:a+)+$', '(?:aa+)+b', 'Unicode \\w+']}\n", encoding="utf-8")
    m = Matcher(load_codebook(p))
    started = time.perf_counter()
    assert found(m, "a" * 50_000 + "!") == []
    assert found(m, "x " + "aa" * 30_000 + "c") == []
    assert time.perf_counter() - started < 2
    assert found(m, "Unicode Übergröße, aab") == [("t", "Unicode Übergröße"), ("t", "aab")]


def test_project_validation_sample_is_readable(parquet, tmp_path, capsys):
    """The hand-coded sample (maintained by another coder) names only body paragraphs and known themes."""
    validation = ROOT / "data" / "annotations" / "validation.csv"
    if not validation.exists():
        pytest.skip("no validation sample yet")
    assert main(["--paragraphs", str(parquet), "--codebook", str(CODEBOOK), "--overrides", str(OVERRIDES),
                 "--validation", str(validation), "--reports", str(tmp_path)]) == 0
    agreement = pd.read_csv(tmp_path / "agreement.csv")
    assert set(agreement["annotation"]) == {"rules", "final"}
    assert len(agreement) == 2 * (21 + 2)
    assert "final (rules + overrides)   precision" in capsys.readouterr().out


# --------------------------------------------------------------------------- per-document cache and Dask

def _run(parquet, reports, *extra):
    return main(["--paragraphs", str(parquet), "--codebook", str(CODEBOOK), "--reports", str(reports),
                 "--chunk-size", "7", *map(str, extra)])


def _same_outputs(a, b):
    names = sorted(p.name for p in a.glob("*.csv"))
    assert names == sorted(p.name for p in b.glob("*.csv")) and "annotated_paragraphs.csv" in names
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def _cache_files(build):
    return sorted(p.name for p in (build / "annotations").iterdir())


def test_cache_cold_warm_edited_document_and_codebook_give_the_files_of_an_uncached_run(seed, tmp_path, capsys):
    build = tmp_path / "build"
    build.mkdir()
    seed.to_parquet(build / "paragraphs.parquet", index=False)
    overrides = write_overrides(tmp_path, ["isw-kazan-2024-p008,world_order,add,ana,test",
                                           "brics-kazan-2024-p012,terrorism,remove,ana,test"])
    validation = ROOT / "data" / "annotations" / "validation.csv"
    common = ["--overrides", overrides, "--validation", validation]
    _run(build / "paragraphs.parquet", tmp_path / "plain", *common)
    capsys.readouterr()

    # cold: every document coded and cached; warm: every document read back
    _run(build / "paragraphs.parquet", tmp_path / "cold", "--build", build, *common)
    assert "(0 of 8 documents' rule coding unchanged since the last run" in capsys.readouterr().out
    files = _cache_files(build)
    assert len(files) == 8 and files[0].startswith("brics-kazan-2024@")
    _same_outputs(tmp_path / "plain", tmp_path / "cold")
    main(["--build", str(build), "--codebook", str(CODEBOOK), "--reports", str(tmp_path / "warm"),
          "--chunk-size", "7", *map(str, common)])  # --paragraphs defaults to BUILD/paragraphs.parquet
    assert "(8 of 8 documents' rule coding unchanged since the last run" in capsys.readouterr().out
    assert _cache_files(build) == files
    _same_outputs(tmp_path / "plain", tmp_path / "warm")

    # overrides are applied after the cache: a new override is never stale
    overrides2 = write_overrides(tmp_path, ["csto-sg-minsk-2024-p012,sanctions,add,bo,later"], "overrides2.csv")
    _run(build / "paragraphs.parquet", tmp_path / "warm2", "--build", build, "--overrides", overrides2)
    assert "(8 of 8 documents' rule coding" in capsys.readouterr().out
    _run(build / "paragraphs.parquet", tmp_path / "plain2", "--overrides", overrides2)
    _same_outputs(tmp_path / "plain2", tmp_path / "warm2")
    ann = pd.read_csv(tmp_path / "warm2" / "annotations.csv", keep_default_na=False)
    assert ann[ann["para_id"] == "csto-sg-minsk-2024-p012"].query("theme == 'sanctions'")["source"].tolist() == ["manual"]

    # one document edited: only it is coded again, its old cache file is removed
    edited = seed.copy()
    row = edited["para_id"] == "csto-news-2024-12-02-p001"
    edited.loc[row, "text"] = edited.loc[row, "text"] + " Participants discussed cybercrime."
    edited.to_parquet(build / "paragraphs.parquet", index=False)
    _run(build / "paragraphs.parquet", tmp_path / "edited", "--build", build, *common)
    assert "(7 of 8 documents' rule coding unchanged since the last run" in capsys.readouterr().out
    after = _cache_files(build)
    changed = sorted(set(files) ^ set(after))
    assert len(after) == 8 and [n.split("@")[0] for n in changed] == ["csto-news-2024-12-02"] * 2
    _run(build / "paragraphs.parquet", tmp_path / "plain3", *common)
    _same_outputs(tmp_path / "plain3", tmp_path / "edited")
    annotated = pd.read_csv(tmp_path / "edited" / "annotated_paragraphs.csv", keep_default_na=False)
    assert "cyber_ict" in annotated.loc[annotated["para_id"] == "csto-news-2024-12-02-p001", "themes"].item().split(";")

    # a changed label (or comment) in the codebook: nothing coded again; a new rule: everything
    text = CODEBOOK.read_text(encoding="utf-8")
    for name in ("aliases.yml", "spelling.yml"):  # the rule-language files the codebook names, beside it
        (tmp_path / name).write_text((CODEBOOK.parent / name).read_text(encoding="utf-8"), encoding="utf-8")
    relabelled = tmp_path / "relabelled.yml"
    relabelled.write_text(text.replace("label: Terrorism and violent extremism", "label: Terrorism", 1) + "# note\n",
                          encoding="utf-8")
    assert "label: Terrorism\n" in relabelled.read_text(encoding="utf-8")
    main(["--build", str(build), "--codebook", str(relabelled), "--reports", str(tmp_path / "relabel")])
    assert "(8 of 8 documents' rule coding" in capsys.readouterr().out
    more = tmp_path / "more.yml"
    more.write_text(text.replace("      - CTWG", "      - videoconferencing\n      - CTWG", 1), encoding="utf-8")
    assert "videoconferencing" in [t.source for t in load_codebook(more).theme("terrorism").terms]
    main(["--build", str(build), "--codebook", str(more), "--reports", str(tmp_path / "more"), "--chunk-size", "7"])
    assert "(0 of 8 documents' rule coding unchanged since the last run" in capsys.readouterr().out
    assert len(_cache_files(build)) == 8  # the files of the old codebook are gone
    main(["--paragraphs", str(build / "paragraphs.parquet"), "--codebook", str(more), "--reports", str(tmp_path / "plain4")])
    _same_outputs(tmp_path / "plain4", tmp_path / "more")
    annotated = pd.read_csv(tmp_path / "more" / "annotated_paragraphs.csv", keep_default_na=False)
    assert "terrorism" in annotated.loc[annotated["para_id"] == "csto-news-2024-12-02-p001", "themes"].item().split(";")
    # a new form in the aliases file changes what the rules match: everything coded again
    aliases = tmp_path / "aliases.yml"
    aliases.write_text(aliases.read_text(encoding="utf-8").replace("ODKB]", "ODKB, Tashkent Treaty]"), encoding="utf-8")
    main(["--build", str(build), "--codebook", str(more), "--reports", str(tmp_path / "more2")])
    assert "(0 of 8 documents' rule coding unchanged since the last run" in capsys.readouterr().out


def test_cache_files_of_an_older_format_are_removed(seed, tmp_path, capsys):
    build = tmp_path / "build"
    build.mkdir()
    seed.to_parquet(build / "paragraphs.parquet", index=False)
    main(["--build", str(build), "--codebook", str(CODEBOOK), "--reports", str(tmp_path / "a")])
    assert len(_cache_files(build)) == 8 and all(name.endswith(".arrow") for name in _cache_files(build))
    old = build / "annotations" / "isw-kazan-2024@0123456789abcdef0123.parquet"  # per-document Parquet, before .arrow
    old.write_bytes(b"PAR1")
    capsys.readouterr()
    main(["--build", str(build), "--codebook", str(CODEBOOK), "--reports", str(tmp_path / "b")])
    assert "(8 of 8 documents' rule coding unchanged" in capsys.readouterr().out
    assert not old.exists() and len(_cache_files(build)) == 8
    _same_outputs(tmp_path / "a", tmp_path / "b")


def test_a_damaged_or_vanished_cache_file_is_coded_again(seed, tmp_path, capsys):
    build = tmp_path / "build"
    build.mkdir()
    seed.to_parquet(build / "paragraphs.parquet", index=False)
    main(["--build", str(build), "--codebook", str(CODEBOOK), "--reports", str(tmp_path / "a")])
    files = sorted((build / "annotations").iterdir())
    files[0].write_bytes(b"not parquet")
    files[1].unlink()
    capsys.readouterr()
    main(["--build", str(build), "--codebook", str(CODEBOOK), "--reports", str(tmp_path / "b")])
    assert "(6 of 8 documents' rule coding unchanged" in capsys.readouterr().out
    _same_outputs(tmp_path / "a", tmp_path / "b")
    assert sorted((build / "annotations").iterdir()) == files
    assert pa.ipc.open_file(files[0]).read_all().num_rows > 0


def test_cache_needs_each_documents_paragraphs_together(seed, tmp_path):
    body = seed[seed["kind"] == "body"]
    mixed = pd.concat([body[body["doc_id"] == "isw-kazan-2024"].iloc[:2], body[body["doc_id"] == "brics-kazan-2024"],
                       body[body["doc_id"] == "isw-kazan-2024"].iloc[2:]], ignore_index=True)
    mixed.to_parquet(tmp_path / "paragraphs.parquet", index=False)
    with pytest.raises(AnnotationError, match=r"paragraphs\.parquet: the body paragraphs of document 'isw-kazan-2024' are "
                                              r"not consecutive \(again at paragraph isw-kazan-2024-p003\)\. Rebuild"):
        main(["--build", str(tmp_path), "--codebook", str(CODEBOOK), "--reports", str(tmp_path / "r")])
    # without the cache the order does not matter
    assert main(["--paragraphs", str(tmp_path / "paragraphs.parquet"), "--codebook", str(CODEBOOK),
                 "--reports", str(tmp_path / "r")]) == 0


def test_cli_needs_paragraphs_or_build(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["--codebook", str(CODEBOOK), "--reports", str(tmp_path)])
    assert "give --paragraphs or --build (the folder of paragraphs.parquet)" in capsys.readouterr().err


def test_document_key_and_codebook_fingerprint():
    from dataclasses import replace

    from helpers.annotation.annotate import codebook_fingerprint, document_key

    cb = load_codebook(CODEBOOK)
    h = codebook_fingerprint(cb)
    assert codebook_fingerprint(replace(cb, themes=(replace(cb.themes[0], label="x"),) + cb.themes[1:])) == h
    assert codebook_fingerprint(replace(cb, themes=(replace(cb.themes[0], regex=()),) + cb.themes[1:])) != h
    assert codebook_fingerprint(replace(cb, themes=cb.themes[::-1])) != h
    key = document_key("d", ["d-p001", "d-p002"], ["One.", "Two."], h)
    assert len(key) == 20 and key == document_key("d", ["d-p001", "d-p002"], ["One.", "Two."], h)
    for other in (document_key("d", ["d-p001", "d-p002"], ["One.", "Two!"], h),
                  document_key("d", ["d-p001", "d-p003"], ["One.", "Two."], h),
                  document_key("d", ["d-p001"], ["One.Two."], h),
                  document_key("d", ["d-p001", "d-p002"], ["One.", "Two."], "0" * 64)):
        assert other != key


def test_two_dask_workers_give_byte_identical_output(seed, tmp_path, capsys):
    pytest.importorskip("dask.distributed")
    build1, build2 = tmp_path / "b1", tmp_path / "b2"
    for b in (build1, build2):
        b.mkdir()
        seed.to_parquet(b / "paragraphs.parquet", index=False)
    common = ["--codebook", str(CODEBOOK), "--overrides", str(OVERRIDES),
              "--validation", str(ROOT / "data" / "annotations" / "validation.csv"), "--chunk-size", "7"]
    main(["--build", str(build1), "--reports", str(tmp_path / "one"), *common])
    main(["--build", str(build2), "--reports", str(tmp_path / "two"), "--workers", "2", *common])
    _same_outputs(tmp_path / "one", tmp_path / "two")
    assert _cache_files(build1) == _cache_files(build2)
    for name in _cache_files(build1):
        assert pa.ipc.open_file(build1 / "annotations" / name).read_all().equals(pa.ipc.open_file(build2 / "annotations" / name).read_all())


# --------------------------------------------------------------------------- rules scoped to the speaker

def test_speaker_kinds():
    assert speaker_kinds(["CSTO", "Armenia", "unknown", "", "EU"], ["", "ARM", "", "", None]).tolist() == \
        ["organizations", "states", "", "", "organizations"]
    assert speaker_kinds(["CSTO"], None).tolist() == [""]  # no iso3 column: the speaker's kind is unknown


def test_the_organization_counts_for_an_organisation_speaking_not_for_a_state(seed, tmp_path):
    # "the Organization" is the CSTO in the Secretary General's speech; the same words in a
    # state's speech (here the speech relabelled as Armenia's) mean the UN and must not count.
    as_state = seed.copy()
    minsk = as_state["doc_id"] == "csto-sg-minsk-2024"
    as_state.loc[minsk, "organization"] = "Armenia"
    as_state.loc[minsk, "iso3"] = "ARM"
    scoped = r"(?-i:\b(?:[Tt]he|[Oo]ur|[Ii]ts)\s{1,3}Organization\b)"
    for table, counted in ((seed, True), (as_state, False)):
        coding = code_paragraphs(table, CODEBOOK)
        ev = coding.evidence
        assert (ev.loc[ev["doc_id"] == "csto-sg-minsk-2024", "rule"] == scoped).sum() == (5 if counted else 0)
        assert (ev.loc[ev["doc_id"] == "csto-sg-unsc-2024", "rule"] == scoped).sum() == 10  # still the CSTO speaking
        # p014 is coded regional_organizations by that rule alone
        assert ("regional_organizations" in themes_of(coding, "csto-sg-minsk-2024-p014")) is counted
        assert "regional_organizations" in themes_of(coding, "csto-sg-unsc-2024-p016")
    # The streaming command, cold and with the per-document cache warm, codes the same way.
    build = tmp_path / "build"
    build.mkdir()
    as_state.to_parquet(build / "paragraphs.parquet", index=False)
    plain = code_paragraphs(as_state, CODEBOOK).paragraphs
    for run in ("cold", "warm"):
        reports = tmp_path / run
        assert main(["--build", str(build), "--codebook", str(CODEBOOK), "--reports", str(reports)]) == 0
        streamed = pd.read_csv(reports / "annotated_paragraphs.csv", dtype=str, keep_default_na=False)
        assert streamed["themes"].tolist() == plain["themes"].tolist()


def test_a_theme_with_a_from_date_codes_no_document_dated_before_it(seed, tmp_path):
    # russia_ukraine_war has `from: 2014-02-20`: ISW's Kazan commentary (9 paragraphs on the war) redated to
    # 2013 has none, and its other themes are unchanged; the streaming command, cold and warm, agrees.
    isw = seed["doc_id"] == "isw-kazan-2024"
    old = seed.assign(date=seed["date"].where(~isw, "2013-10-24"))
    now, then = code_paragraphs(seed, CODEBOOK).paragraphs, code_paragraphs(old, CODEBOOK).paragraphs
    war = now["themes_rules"].str.contains("russia_ukraine_war")
    assert war.sum() == 9 and set(now.loc[war, "doc_id"]) == {"isw-kazan-2024"}
    assert not then["themes_rules"].str.contains("russia_ukraine_war").any()
    strip = lambda t: ";".join(x for x in t.split(";") if x != "russia_ukraine_war")  # noqa: E731
    assert then["themes_rules"].tolist() == now["themes_rules"].map(strip).tolist()
    build = tmp_path / "build"
    build.mkdir()
    old.to_parquet(build / "paragraphs.parquet", index=False)
    for run in ("cold", "warm"):
        reports = tmp_path / run
        assert main(["--build", str(build), "--codebook", str(CODEBOOK), "--reports", str(reports)]) == 0
        streamed = pd.read_csv(reports / "annotated_paragraphs.csv", dtype=str, keep_default_na=False)
        assert streamed["themes"].tolist() == then["themes"].tolist()


def test_drawn_sample_is_scored_by_split_with_a_second_coder(parquet, tmp_path, capsys):
    """A sample of helpers.annotation.validation_sample: tune rows are in-sample, test rows held-out, uncoded rows skipped;
    FILE.second-coder.csv beside it gives the two coders' agreement."""
    text = dict(pd.read_parquet(parquet, columns=["para_id", "text"]).itertuples(index=False))

    def write(path, rows):  # as validation_sample draws them: each paragraph's text kept beside its coding
        pd.DataFrame([{"para_id": p, "doc_id": "d", "stratum": "all", "inclusion_probability": 0.5, "split": split,
                       "text": text[p], "themes": themes, "coder": coder} for p, split, themes, coder in rows]).to_csv(path, index=False)

    sample = tmp_path / "s.csv"
    write(sample, [("brics-kazan-2024-p012", "tune", "drug_trafficking;emerging_tech;illicit_finance;terrorism", "a"),
                   ("csto-sg-minsk-2024-p012", "test", "world_order", "a"),
                   ("isw-kazan-2024-p008", "test", "", "a"),
                   ("isw-kazan-2024-p009", "test", "", "")])  # not coded yet
    write(tmp_path / "s.second-coder.csv", [("csto-sg-minsk-2024-p012", "test", "world_order", "b"),
                                            ("isw-kazan-2024-p008", "test", "world_order", "b")])
    reports = tmp_path / "r"
    assert main(["--paragraphs", str(parquet), "--codebook", str(CODEBOOK), "--validation", str(sample),
                 "--reports", str(reports)]) == 0
    out = capsys.readouterr().out
    agreement = pd.read_csv(reports / "agreement.csv")
    assert agreement.groupby("sample").size().to_dict() == {"held-out": 2 * 23, "in-sample": 2 * 23}
    held = agreement[(agreement["sample"] == "held-out") & (agreement["theme"] == "(overall)")
                     & (agreement["annotation"] == "rules")].iloc[0]
    # 2 held-out paragraphs x 21 themes: the rules miss world_order of minsk p012 (see the CLI test above)
    assert [held["n"], held["tp"], held["fp"], held["fn"]] == [42, 0, 0, 1]
    scored = pd.read_csv(reports / "validation_scored.csv", keep_default_na=False)
    assert scored.columns.tolist() == SCORED_COLUMNS and len(scored) == 3
    assert scored["sample"].tolist() == ["in-sample", "held-out", "held-out"]
    coders = pd.read_csv(reports / "coder_agreement.csv").set_index("theme")
    # the second coder adds world_order to isw p008: tp 1, fp 1 -> precision 0.5, recall 1, F1 2/3
    assert coders.loc["world_order", ["tp", "fp", "fn", "precision", "recall"]].tolist() == [1, 1, 0, 0.5, 1.0]
    assert "held-out  second coder vs first" in out
    assert out.index("held-out  rules alone") < out.index("in-sample rules alone")
    # the held-out rows by period of their documents' dates: two paragraphs of October 2024 make one period
    by_period = pd.read_csv(reports / "agreement_by_period.csv", dtype={"period": str})
    assert by_period[["annotation", "period", "paragraphs", "tp", "fp", "fn"]].values.tolist() == [
        ["rules", "2024", 2, 0, 0, 1], ["final", "2024", 2, 0, 0, 1]]
    # without the validation sample, the files that describe it are removed, not left stale
    assert main(["--paragraphs", str(parquet), "--codebook", str(CODEBOOK), "--reports", str(reports)]) == 0
    assert not (reports / "validation_scored.csv").exists() and not (reports / "coder_agreement.csv").exists()
    assert not (reports / "agreement_by_period.csv").exists()


def _annotate_drawn_sample(seed, tmp_path, rows, doc_id):
    """Annotate the seed paragraphs (``tmp_path/build``) with a drawn sample of ``rows`` (para_id, themes, stored text)
    as ``tmp_path/validation.csv``, reports into ``tmp_path/r``; returns the build folder, the sample and its path."""
    build = tmp_path / "build"
    build.mkdir()
    seed.to_parquet(build / "paragraphs.parquet", index=False)
    sample = pd.DataFrame(rows, columns=["para_id", "themes", "text"]).assign(
        doc_id=doc_id, stratum="all", inclusion_probability=0.5, split="test", coder="a")
    validation = tmp_path / "validation.csv"
    sample.to_csv(validation, index=False)
    assert main(["--build", str(build), "--codebook", str(CODEBOOK), "--validation", str(validation),
                 "--reports", str(tmp_path / "r")]) == 0
    return build, sample, validation


def test_drawn_rows_the_cleaning_no_longer_counts_as_body_are_set_aside(seed, tmp_path, capsys):
    """A drawn sample keeps each paragraph's text; when a cleaning rule later makes a drawn paragraph a salutation
    ("Ladies and Gentlemen," once the kind patterns ignore case), the row is set aside with a warning, not an error
    that would stop every build of the corpus. A row without text names its paragraph by hand: that still stops."""
    text = dict(zip(seed["para_id"], seed["text"]))
    rows = [("csto-sg-minsk-2024-p004", "", text["csto-sg-minsk-2024-p004"]),
            ("csto-sg-minsk-2024-p005", "", text["csto-sg-minsk-2024-p005"]),   # "Ladies and gentlemen,": a salutation
            ("csto-sg-minsk-2024-p034", "", text["csto-sg-minsk-2024-p034"])]   # "Thank you for your attention.": a closing
    build, sample, validation = _annotate_drawn_sample(seed, tmp_path, rows, "csto-sg-minsk-2024")
    warning = (f"{validation}: 2 row(s) of the validation sample name paragraphs the cleaning no longer counts as body text "
               "(closing, salutation; see the cleaning rules): line(s) 3, 4. They are set aside; only body paragraphs are coded.")
    assert f"warning: {warning}\n" in capsys.readouterr().err
    assert pd.read_csv(tmp_path / "r" / "validation_scored.csv")["para_id"].tolist() == ["csto-sg-minsk-2024-p004"]
    sample.drop(columns="text").to_csv(validation, index=False)
    with pytest.raises(AnnotationError, match=r"line 3: paragraph 'csto-sg-minsk-2024-p005' is a salutation paragraph"):
        main(["--build", str(build), "--codebook", str(CODEBOOK), "--validation", str(validation), "--reports", str(tmp_path / "r")])


# --------------------------------------------------------------------------- contradictory and set-aside rows

def test_contradictory_overrides_say_which_row_wins(seed, parquet, tmp_path, capsys):
    from helpers.annotation.annotate import read_overrides
    from helpers.annotation.codebook import load_codebook

    p = write_overrides(tmp_path, [
        "brics-kazan-2024-p012,world_order,add,ana,first thought",
        "brics-kazan-2024-p011,terrorism,add,ana,fine",
        "brics-kazan-2024-p012,world_order,remove,bob,second thought",
    ])
    warning = (f"{p}: contradictory overrides for paragraph brics-kazan-2024-p012, theme 'world_order': line 2 (add), "
               "line 4 (remove). The last row wins (line 4: remove); delete the row that is wrong.")
    assert read_overrides(p, load_codebook(CODEBOOK)).attrs["warnings"] == [warning]
    assert main(["--paragraphs", str(parquet), "--codebook", str(CODEBOOK), "--overrides", str(p),
                 "--reports", str(tmp_path / "r")]) == 0
    assert f"warning: {warning}\n" in capsys.readouterr().err


def test_rows_of_documents_skipped_by_the_ingest_are_set_aside(seed, tmp_path, capsys):
    build = tmp_path / "build"
    build.mkdir()
    seed[seed["doc_id"] != "isw-kazan-2024"].to_parquet(build / "paragraphs.parquet", index=False)
    (build / "skipped.csv").write_text("doc_id,file,line,error\nisw-kazan-2024,002.txt,3,broken\n", encoding="utf-8")
    overrides = write_overrides(tmp_path, ["isw-kazan-2024-p008,world_order,add,ana,x", "brics-kazan-2024-p011,terrorism,add,ana,y"])
    validation = tmp_path / "validation.csv"
    validation.write_text("para_id,themes,coder\nbrics-kazan-2024-p011,terrorism,t\nisw-kazan-2024-p008,,t\n", encoding="utf-8")
    assert main(["--build", str(build), "--codebook", str(CODEBOOK), "--overrides", str(overrides),
                 "--validation", str(validation), "--reports", str(tmp_path / "r")]) == 0
    expected = [
        f"{overrides}, line 2: paragraph 'isw-kazan-2024-p008' belongs to document 'isw-kazan-2024', which the ingest skipped "
        "(ON_ERROR=skip); this row of the overrides is set aside.",
        f"{validation}, line 3: paragraph 'isw-kazan-2024-p008' belongs to document 'isw-kazan-2024', which the ingest "
        "skipped (ON_ERROR=skip); this row of the validation sample is set aside.",
    ]
    err = capsys.readouterr().err
    assert all(f"warning: {w}\n" in err for w in expected)
    assert pd.read_csv(build / "annotation_warnings.csv")["warning"].tolist() == expected


def test_a_regex_matching_the_separator_between_texts_is_ignored(tmp_path):
    """Found by bench/fuzz_inputs.py: '^(?:a|aa)*\\s+' matched the blank before the first text and
    gave paragraph -1 (a traceback later)."""
    p = tmp_path / "cb.yml"
    p.write_text("groups: {g: G}\nthemes:\n  - {id: t, label: T, definition: T., group: g, regex: ['^(?:a|aa)*\\s+', '\\s+$']}\n",
                 encoding="utf-8")
    m = Matcher(load_codebook(p))
    assert found(m, "aaaa aab WHO") == []
    assert m.match(["x", "y"]).empty


def test_coded_rows_follow_their_text_to_a_new_id_or_are_set_aside(seed, tmp_path, capsys):
    """A drawn sample keeps each paragraph's text: when re-splitting gives a para_id other text, the row
    follows its text to the one paragraph of its document that has it (numbers shift when an earlier
    paragraph is joined); when no paragraph has it any more, the coder's themes describe nothing there, so
    the row is set aside with one warning, not scored."""
    text = dict(zip(seed["para_id"], seed["text"]))
    rows = [("brics-kazan-2024-p011", "terrorism", text["brics-kazan-2024-p011"]),        # unchanged
            ("brics-kazan-2024-p012", "", "  " + text["brics-kazan-2024-p012"].replace(" ", "  ") + " "),  # white space only
            ("brics-kazan-2024-p013", "terrorism", "A line that was a paragraph before the split changed."),
            ("brics-kazan-2024-p999", "", "A paragraph that no longer exists."),
            ("brics-kazan-2024-p003", "un_system", text["brics-kazan-2024-p005"]),  # coded as p003: now p005
            ("isw-kazan-2024-p001", "", text["brics-kazan-2024-p006"])]  # another document's text: not followed
    build, _, validation = _annotate_drawn_sample(seed, tmp_path, rows, "brics-kazan-2024")
    warning = (f"{validation}: 3 row(s) of the validation sample name paragraphs whose text is no paragraph's any more "
               "(the corpus, or how it is split into paragraphs, changed): line(s) 4, 5, 7. They are set aside; "
               "code those paragraphs again, or draw a fresh sample.")
    assert f"warning: {warning}\n" in capsys.readouterr().err
    assert pd.read_csv(build / "annotation_warnings.csv")["warning"].tolist() == [warning]
    scored = pd.read_csv(tmp_path / "r" / "validation_scored.csv", keep_default_na=False)
    assert sorted(scored["para_id"]) == ["brics-kazan-2024-p005", "brics-kazan-2024-p011", "brics-kazan-2024-p012"]
    assert scored.set_index("para_id").loc["brics-kazan-2024-p005", "gold"] == "un_system"  # the coder's themes, moved with the text
