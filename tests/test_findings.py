"""Key findings: sentences built from the analysis tables, numbers checked by hand, uncertainty respected."""

from __future__ import annotations

import pandas as pd

from helpers import findings
from helpers.cooccurrence import theme_cooccurrence
from helpers.frequencies import rank_themes, theme_frequencies
from helpers.overlap import document_similarity, find_reuse, reuse_by_document_pair

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
    assert out[0].html().endswith('(<a class="see" href="#corpus">see 2. The corpus</a>)')


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
    assert f.text.startswith("Read the counts with care: against 60 hand-coded paragraphs")
    assert findings.agreement_finding(None, None) is None


def test_findings_html_is_a_list():
    html = findings.findings_html([findings.Finding("A <b>", "themes")])
    assert html == '<ul class="findings"><li>A <b> (<a class="see" href="#themes">see 3. Themes</a>)</li></ul>'
