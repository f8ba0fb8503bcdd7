"""A fixed 30-speech sample of the UN General Debate corpus (2015-2024), with hand-checked facts.

Sample rule: the speeches of the CSTO/SCO/BRICS core states RUS, BLR, KAZ, KGZ, TJK, ARM,
CHN, IND, BRA and ZAF in the 71st (2016), 75th (2020) and 79th (2024) sessions. The corpus is
read from ../shared/corpora (never copied into the project); the tests skip without it.

Checked by reading the files (grep, then the sentences):
- only RUS_71_2016 ("dialogue with NATO, including through the Collective Security Treaty
  Organization") and TJK_75_2020 ("... the Shanghai Cooperation Organization and the
  Collective Security Treaty Organization") name the CSTO;
- BRICS is named in RUS_79_2024, BLR_79_2024 and BRA_79_2024 only;
- ZAF_71_2016 has no organisation in the corpus manifest (it becomes 'unknown').
"""

from __future__ import annotations

import pandas as pd
import pytest

from helpers.annotation.annotate import code_paragraphs
from helpers.corpus.corpus import ingest, read_paragraphs
from helpers.corpus.groups import assign_groups
from helpers.analysis.trends import members_vs_rest

from conftest import ROOT, UNGDC, write_ungdc_sample

pytestmark = pytest.mark.skipif(not (UNGDC / "manifest.csv").is_file(), reason=f"{UNGDC} not present")


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    folder = write_ungdc_sample(tmp_path_factory.mktemp("ungdc-sample"))
    build = tmp_path_factory.mktemp("ungdc-build")
    counts = ingest(folder, build)
    paragraphs = read_paragraphs(build / "paragraphs.parquet")
    coding = code_paragraphs(paragraphs, ROOT / "data" / "codebook.yml")
    return counts, paragraphs, coding, pd.read_csv(build / "documents.csv", keep_default_na=False)


def test_sample_is_thirty_speeches_with_canonical_names(sample):
    counts, paragraphs, _, documents = sample
    assert counts["documents"] == 30
    names = documents.set_index("doc_id")["organization"]
    assert names["RUS_71_2016"] == names["RUS_75_2020"] == names["RUS_79_2024"] == "Russian Federation"
    assert names["CHN_79_2024"] == "China"
    assert names["ZAF_71_2016"] == "unknown"
    assert "field 'organization' is empty; using 'unknown'" in documents.set_index("doc_id").loc["ZAF_71_2016", "warnings"]


def _docs_with_term(coding, theme, pattern):
    ev = coding.evidence
    hits = ev[(ev["theme"] == theme) & ev["term"].str.contains(pattern, case=False, regex=True)]
    return sorted(hits["doc_id"].unique())


def test_which_speeches_name_the_csto(sample):
    _, _, coding, _ = sample
    assert _docs_with_term(coding, "regional_organizations", r"CSTO|Collective Security Treaty") == ["RUS_71_2016", "TJK_75_2020"]


def test_which_speeches_name_brics(sample):
    _, _, coding, _ = sample
    assert _docs_with_term(coding, "regional_organizations", r"^BRICS$") == ["BLR_79_2024", "BRA_79_2024", "RUS_79_2024"]


def test_bloc_membership_follows_the_date(sample):
    _, _, coding, documents = sample
    blocs = assign_groups(documents, "blocs").groupby("doc_id")["group"].apply(lambda s: sorted(s)).to_dict()
    assert blocs["BLR_75_2020"] == ["CSTO"]
    assert blocs["BLR_79_2024"] == ["CSTO", "SCO"]          # SCO member since July 2024
    assert blocs["IND_71_2016"] == ["BRICS"]                # SCO member since June 2017
    assert blocs["IND_75_2020"] == ["BRICS", "SCO"]
    assert blocs["ARM_79_2024"] == ["CSTO"]
    assert blocs["ZAF_71_2016"] == ["none"]                 # no organisation recorded: cannot be placed
    assert blocs["ZAF_75_2020"] == ["BRICS"]


def test_csto_members_against_the_rest(sample):
    _, _, coding, documents = sample
    annotated = coding.paragraphs
    v = members_vs_rest(annotated, assign_groups(documents, "CSTO"), unit="document").set_index(["group", "theme"])
    row = v.loc[("CSTO", "regional_organizations")]
    # CSTO members in the sample: ARM, BLR, KAZ, KGZ, RUS, TJK x 3 sessions = 18 speeches; the rest 12
    assert (row["members_total"], row["rest_total"]) == (18, 12)
    assert row["members_carrying"] + row["rest_carrying"] == coding.annotations.query(
        "theme == 'regional_organizations'")["doc_id"].nunique()


def test_the_organization_in_a_state_speech_is_not_a_regional_organisation(sample):
    # 'the Organization' / 'our Organization' means the UN in these speeches: the codebook's
    # rule for it is scoped to organisations speaking, so none of the 30 states' uses count.
    _, paragraphs, coding, _ = sample
    uses = paragraphs["text"].str.count(r"\b(?:[Tt]he|[Oo]ur|[Ii]ts)\s{1,3}Organization\b").sum()
    assert uses >= 20  # the phrase is common in the sample ...
    ev = coding.evidence
    regional = ev[ev["theme"] == "regional_organizations"]
    assert not regional["term"].str.fullmatch(r"(?:[Tt]he|[Oo]ur|[Ii]ts)\s{1,3}Organization").any()  # ... never regional
    un = ev[ev["theme"] == "un_system"]  # ... but the UN, by the rule scoped to states speaking
    assert un["term"].str.fullmatch(r"(?:[Tt]he|[Oo]ur|[Ii]ts|[Tt]his)\s{1,3}(?:[a-z]+\s{1,3})?Organization").sum() >= 20
