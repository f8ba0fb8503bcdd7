"""Key findings: sentences built from the analysis tables, numbers checked by hand, uncertainty respected."""

from __future__ import annotations

import pandas as pd

from helpers.report import findings
from helpers.analysis.cooccurrence import theme_cooccurrence
from helpers.analysis.frequencies import rank_themes, theme_frequencies
from helpers.analysis.overlap import document_similarity, find_reuse, reuse_by_document_pair

LABELS = {"terrorism": "Terrorism", "drugs": "Drugs", "cyber": "Cyber <ICT>"}
PASSAGE = "the member states reaffirm their determination to counter terrorism in all its forms and manifestations together"


def annotated(themes_a: list[str], themes_b: list[str]) -> pd.DataFrame:
    """Two documents: A (org X, 2020, len(themes_a) paragraphs), B (org Y, 2024)."""
    rows = []
    for i, t in enumerate(themes_a, 1):
        rows.append({"para_id": f"a-p{i}", "doc_id": "a", "title": "Doc A", "organization": "X", "genre": "speech",
                     "date": "2020-01-01", "source_para": None, "position": i, "text": f"{PASSAGE} number {i} alpha", "themes": t})
    for i, t in enumerate(themes_b, 1):
        rows.append({"para_id": f"b-p{i}", "doc_id": "b", "title": "Doc <B>", "organization": "Y", "genre": "speech",
                     "date": "2024-01-01", "source_para": None, "position": i, "text": f"words of paragraph {i} beta gamma", "themes": t})
    return pd.DataFrame(rows)


def findings_for(a: pd.DataFrame) -> list[findings.Finding]:
    docs = a.drop_duplicates("doc_id")[["doc_id", "title", "organization", "date"]]
    fo = theme_frequencies(a, by="organization", themes=list(LABELS))
    fa = theme_frequencies(a.assign(organization="All"), by="organization", themes=list(LABELS))
    reuse = find_reuse(a, min_words=12)
    return findings.key_findings(
        documents=docs, n_body=len(a), ranked_overall=rank_themes(fa, top=None), ranked_by_org=rank_themes(fo, top=None),
        freq_by_org=fo, cooccurrence=theme_cooccurrence(a, min_support=2), min_support=2, similarity=document_similarity(a),
        reuse_pairs=reuse_by_document_pair(reuse, a), min_reuse_words=12, labels=LABELS,
        titles=dict(zip(docs["doc_id"], docs["title"])), agreement={"precision": 0.9, "recall": 0.8, "f1": 0.847, "kappa": 0.81},
        agreement_n=60,
    )


def test_findings_are_computed_with_their_numbers_and_links():
    a = annotated(["terrorism;drugs"] * 20 + ["terrorism"] * 4, ["cyber"] * 10 + [""] * 10)
    out = findings_for(a)
    assert 5 <= len(out) <= 8
    texts = [f.text for f in out]
    assert texts[0] == "The briefing reads 44 body paragraphs in 2 documents by 2 organisations (X (1) and Y (1) documents), dated 2020-01-01 to 2024-01-01."
    # 24/44 = 54.5%; Wilson 95%: 40.1-68.3 %; the next theme, Drugs, 20/44 = 45% overlaps it.
    assert texts[1] == ("The most frequent themes are <em>Terrorism</em> (55%) and <em>Drugs</em> (45%) (of 44 body paragraphs), "
                        "whose 95% intervals overlap, so none clearly leads.")
    assert texts[2].startswith("In X texts (24 paragraphs), <em>Terrorism</em> (100%) and <em>Drugs</em> (83%) are level within their intervals; "
                               "in Y texts (20 paragraphs), <em>Cyber &lt;ICT&gt;</em> leads (50%, 95% CI 30–70%)")
    assert texts[3] == ("<em>Terrorism</em> separates the organisations most: 100% of X paragraphs (24 of 24) against 0% of Y paragraphs "
                        "(0 of 20); the 95% intervals do not overlap.")
    # drugs+terrorism: 20 joint, expected 24*20/44 = 10.9, lift 1.83
    assert texts[4] == "<em>Drugs</em> and <em>Terrorism</em> travel together most: they share 20 paragraphs where independence predicts 10.9 (lift 1.8)."
    assert not any("“Doc A” and “Doc &lt;B&gt;”" in t for t in texts)  # no reuse across A and B
    assert "No passage of 12 or more words recurs almost verbatim across documents." in texts
    assert texts[-1].startswith("The automatic coding agrees well enough")
    assert [f.section for f in out][:5] == ["corpus", "themes", "themes-by-organization", "themes-by-organization", "cooccurrence"]
    assert out[0].html().endswith('(<a class="see" href="#corpus">see The corpus and its cleaning</a>)')


def test_changing_the_corpus_changes_the_sentences():
    before = [f.text for f in findings_for(annotated(["terrorism;drugs"] * 20 + ["terrorism"] * 4, ["cyber"] * 10 + [""] * 10))]
    after = [f.text for f in findings_for(annotated(["terrorism"] * 30, ["cyber"] * 3 + [""] * 27))]
    assert before != after
    assert after[0].startswith("The briefing reads 60 body paragraphs")
    # 30/60 = 50% terrorism, 3/60 = 5% cyber: the intervals separate, so one theme leads clearly
    assert after[1] == ("The most frequent theme is <em>Terrorism</em> (30 of 60 body paragraphs, 50%, 95% CI 38–62%), "
                        "clearly ahead of <em>Cyber &lt;ICT&gt;</em> (5%).")
    assert "No two themes share 2 or more paragraphs, so no co-occurrence is reported." in after


def test_reuse_finding_names_documents_and_shares():
    pairs = pd.DataFrame([{"doc_a": "a", "doc_b": "b", "passages": 2, "words_reused_a": 30, "words_a": 100, "share_a": 0.3,
                           "words_reused_b": 30, "words_b": 60, "share_b": 0.5}])
    f = findings.reuse_finding(pairs, {"a": "Doc A", "b": "Doc <B>"}, 12)
    assert f.text == ("“Doc A” and “Doc &lt;B&gt;” share 2 passages of at least 12 words almost word for word, "
                      "covering 30% of the first text's words and 50% of the second's.")
    assert f.section == "reuse"


def test_agreement_finding_warns_when_kappa_is_low():
    f = findings.agreement_finding({"precision": 0.5, "recall": 0.4, "f1": 0.44, "kappa": 0.3}, 60)
    assert f.text.startswith("Read the counts with care: against 60 held-out hand-coded paragraphs, never read to write the rules, the automatic")
    assert findings.agreement_finding(None, None) is None


def test_agreement_finding_labels_in_sample_figures_and_quotes_the_logged_held_out_range():
    overall = {"precision": 0.929, "recall": 0.981, "f1": 0.955, "kappa": 0.949}
    logged = pd.DataFrame({"paragraphs": [200, 200], "f1": [0.8348, 0.8710]})
    f = findings.agreement_finding(overall, 118, "in-sample", logged)
    assert f.text == ("The automatic coding agrees well enough to read the counts as indicative: against the 118 hand-coded "
                      "paragraphs its rules were written from (in-sample, so an upper bound) it reaches precision 0.93, recall 0.98, "
                      "F1 0.95 and Cohen's κ 0.95. On text the rules were not written from (2 logged held-out scorings of 200 "
                      "hand-coded UN General Debate paragraphs), this codebook reaches F1 0.83 to 0.87.")
    logged = pd.DataFrame({"paragraphs": [200, 196, 183, 184], "f1": [0.8348, 0.8710, 0.8696, 0.8143]})
    assert "(4 logged held-out scorings of 183 to 200 hand-coded UN General Debate paragraphs), this codebook reaches " \
           "F1 0.81 to 0.87." in findings.agreement_finding(overall, 118, "in-sample", logged).text
    # dev figures are named as such, and the log's dev scorings are not quoted as held-out ones
    logged = pd.DataFrame({"paragraphs": [200, 161], "f1": [0.8322, 0.8317], "sample": ["held-out", "dev"]})
    dev = findings.agreement_finding(overall, 161, "dev", logged)
    assert ("against 161 hand-coded dev paragraphs, never read to write the rules but scored while choosing between them "
            "(so somewhat flattering), it reaches precision 0.93") in dev.text
    assert "(1 logged held-out scoring of 200 hand-coded UN General Debate paragraphs), this codebook reaches F1 0.83." in dev.text
    held_out = findings.agreement_finding(overall, 200, "held-out")
    assert "against 200 held-out hand-coded paragraphs, never read to write the rules, it reaches" in held_out.text and "logged" not in held_out.text


def test_finding_links_to_its_section_by_id():
    assert findings.Finding("A <b>", "themes").html() == 'A <b> (<a class="see" href="#themes">see Themes</a>)'


def _changes(q: float, group: str = "G", years: int = 3) -> pd.DataFrame:
    return pd.DataFrame([{"group": group, "theme": "terrorism", "first_year": "2016", "last_year": "2024", "share_first": 0.5,
                          "share_last": 0.1, "change": -0.4, "change_low": -0.6, "change_high": -0.2, "trend_z": -3.24,
                          "p_value": q / 2, "q_value": q, "years": years, "total": 300},
                         {"group": group, "theme": "drugs", "first_year": "2016", "last_year": "2024", "share_first": 0.1,
                          "share_last": 0.15, "change": 0.05, "change_low": -0.05, "change_high": 0.15, "trend_z": 0.8,
                          "p_value": 0.4, "q_value": 0.4, "years": years, "total": 300}])


def test_trend_finding_states_the_change_its_interval_and_test():
    f = findings.trend_finding(_changes(0.01), LABELS)
    assert f.section == "themes-over-time"
    assert f.text == ("<em>Terrorism</em> fell most clearly in G texts: from 50% of body paragraphs in 2016 to 10% in 2024 "
                      "(change -40 points, 95% CI -60 to -20; trend test z = -3.2, q = 0.010); no other group-theme trend passes the test.")
    pooled = findings.trend_finding(_changes(0.0001, group="All organisations"), LABELS, unit="documents")
    assert "fell most clearly across all organisations: from 50% of documents in 2016" in pooled.text
    assert "q &lt; 0.001" in pooled.text


def test_trend_finding_without_a_clear_change_or_without_three_years():
    f = findings.trend_finding(_changes(0.3), LABELS)
    assert f.text.startswith("No theme's share changed clearly over the years: the largest move, <em>Terrorism</em> in G texts (50% in 2016 "
                             "to 10% in 2024), does not pass the trend test (q = 0.30).")
    assert findings.trend_finding(_changes(0.01, years=2), LABELS) is None
    assert findings.trend_finding(_changes(0.01), LABELS, groups=["other"]) is None


def test_versus_finding_names_the_clearest_difference():
    v = pd.DataFrame([{"group": "CSTO", "theme": "drugs", "members_carrying": 30, "members_total": 100, "members_share": 0.3,
                       "rest_carrying": 20, "rest_total": 200, "rest_share": 0.1, "difference": 0.2, "diff_low": 0.1, "diff_high": 0.3,
                       "z": 4.5, "p_value": 0.0005, "q_value": 0.001},
                      {"group": "CSTO", "theme": "cyber", "members_carrying": 40, "members_total": 100, "members_share": 0.4,
                       "rest_carrying": 20, "rest_total": 200, "rest_share": 0.1, "difference": 0.3, "diff_low": -0.01, "diff_high": 0.5,
                       "z": 1.5, "p_value": 0.1, "q_value": 0.1}])
    f = findings.versus_finding(v, LABELS)
    assert f.text == ("CSTO members raise <em>Drugs</em> more often than the other speakers: 30% of their body paragraphs against 10% "
                      "(difference +20 points, 95% CI +10 to +30, q = 0.001).")
    assert findings.versus_finding(v.iloc[1:], LABELS).text.startswith("No group's members differ clearly")
    assert findings.versus_finding(v.iloc[:0], LABELS) is None


def test_reuse_kind_finding_splits_cross_and_self():
    kinds = pd.DataFrame({"kind": ["cross", "self"], "passages": [30, 90], "document_pairs": [10, 40], "organization_pairs": [8, 20],
                          "organizations": [12, 20], "words": [500, 2000]})
    passages = pd.DataFrame({"documents": [7], "organizations": [5]})
    f = findings.reuse_kind_finding(kinds, passages, 12)
    assert f.text == ("Of 120 reused passages of at least 12 words, 30 (25%) repeat another organisation's wording and 90 (75%) are "
                      "organisations reusing their own earlier texts. The most widely carried passage appears in 7 documents by 5 organisations.")
    assert findings.reuse_kind_finding(kinds.assign(passages=0), passages, 12) is None


def test_corpus_finding_at_scale_counts_instead_of_naming():
    docs = pd.DataFrame({"doc_id": [f"d{i}" for i in range(20)], "organization": [f"Org {i % 10}" for i in range(20)],
                         "date": ["2016-09-20"] * 10 + ["2017-09-19"] * 9 + ["2018-09-25"]})
    f = findings.corpus_finding(docs, 1234, groups=pd.DataFrame({"group": ["CSTO", "none"], "documents": [4, 16]}))
    assert f.text == ("The briefing reads 1,234 body paragraphs in 20 documents by 10 organisations (1 to 10 documents a year over 3 years), "
                      "dated 2016-09-20 to 2018-09-25. Grouped by membership on each document's date: CSTO (4) and none (16) documents; "
                      "a speech whose state belongs to several groups counts in each of them.")


def test_organization_lead_finding_says_once_when_every_group_has_the_same_lead():
    rows = [{"group": g, "theme": "terrorism", "tie_group": 1, "share": 0.3, "ci_low": 0.25, "ci_high": 0.35, "body_paragraphs": 100}
            for g in ("BRICS", "CSTO", "SCO")]
    rows += [{"group": g, "theme": "drugs", "tie_group": 2, "share": 0.1, "ci_low": 0.05, "ci_high": 0.15, "body_paragraphs": 100}
             for g in ("BRICS", "CSTO", "SCO")]
    f = findings.organization_lead_finding(pd.DataFrame(rows), LABELS, "groups")
    assert f.text == ("<em>Terrorism</em> clearly leads in the texts of all 3 groups: BRICS 30% (95% CI 25–35%); "
                      "CSTO 30% (95% CI 25–35%); SCO 30% (95% CI 25–35%).")


def test_similarity_finding_prefers_profiles_with_several_shared_themes():
    from helpers.report.findings import similarity_finding

    sim = pd.DataFrame({
        "doc_a": ["a", "c"], "doc_b": ["b", "d"], "organization_a": ["X", "X"], "organization_b": ["Y", "Z"],
        "cosine": [1.0, 0.9], "shared_themes": ["terrorism", "terrorism;un_system;world_order"],
    })
    f = similarity_finding(sim, {})
    assert "“c” (X) and “d” (Z): cosine 0.90, 3 themes in common." in f.text
    one = similarity_finding(sim.iloc[:1], {})
    assert one.text.endswith("cosine 1.00, 1 theme in common.")


def test_a_selection_mostly_outside_the_scored_period_is_warned_about():
    from helpers.report.report_tables import held_out_coverage

    held_out = pd.DataFrame({"f1": [0.8, 0.9], "sample_from": ["2015-09-28", "2016-01-01"], "sample_to": ["2023-09-01", "2024-09-24"]})
    # by year: December 2024 (after the last scored speech of September) is of the scored years, 2025 is not
    paragraphs = pd.DataFrame({"date": ["1946-10-01", "1993-09-27", "2015-01-02", "2020-01-01", "2024-12-05", "2025-01-01"]})
    coverage = held_out_coverage(held_out, paragraphs)
    assert coverage == {"from": "2015", "to": "2024", "outside": 3, "total": 6, "share": 0.5}
    finding = findings.coverage_finding(coverage)
    assert finding.section == "agreement"
    assert finding.text.startswith("Read the theme counts of older or newer text with care: 3 of the 6 body paragraphs (50%) "
                                   "are dated outside 2015\u20132024, the years of the hand-coded paragraphs the rules were scored on")
    inside = held_out_coverage(held_out, paragraphs.iloc[2:5])
    assert inside["outside"] == 0 and findings.coverage_finding(inside) is None  # nothing to warn about
    assert held_out_coverage(held_out.assign(sample_from="", sample_to=""), paragraphs) is None  # scorings not dated
    assert held_out_coverage(pd.DataFrame(), paragraphs) is None
