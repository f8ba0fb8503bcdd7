"""Score a codebook's `afghanistan` theme on the focused samples of this folder (tune.csv, test.csv).

Usage (from the repository root): ``.venv/bin/python data/validation/afghanistan-self-reference/score.py
[--codebook data/codebook.yml]``. The rules run on each paragraph's text as stored here (the theme has no
speaker scope and no start date, so the text is all they read). Prints, per sample and group, how many
paragraphs the coder judged to be about Afghanistan and how many the rules code, then precision and recall
of the rules against the coder over the whole sample. Recall is within the sample: every paragraph but the
`own_not_coded` controls was drawn from what the earlier rules coded.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from helpers.annotation.annotate import annotate_paragraphs

HERE = Path(__file__).resolve().parent


def score(sample: pd.DataFrame, codebook: str) -> pd.DataFrame:
    """``sample`` with ``rules`` (bool: the codebook codes `afghanistan`) added."""
    # the other columns of a paragraph table: the theme's rules read none of them
    paras = sample.assign(doc_id=sample["para_id"].str.rsplit("-p", n=1).str[0], kind="body", title="", organization="",
                          genre="speech", date="", source_para=pd.NA, position=0, n_words=0, label_chars=0)
    coded = annotate_paragraphs(paras, codebook).set_index("para_id")["themes"].fillna("")
    return sample.assign(rules=sample["para_id"].map(coded.str.split(";").apply(lambda t: "afghanistan" in t)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--codebook", default="data/codebook.yml")
    args = parser.parse_args()
    for split in ("tune", "test"):
        m = score(pd.read_csv(HERE / f"{split}.csv", dtype={"note": str}), args.codebook)
        gold = m["afghanistan"].eq(1)
        print(f"== {split}.csv ({len(m)} paragraphs)")
        for (group, era), d in m.groupby(["group", "era"]):
            print(f"  {group:14s} {era:10s} n={len(d):3d}  coder yes={int(d['afghanistan'].sum()):3d}  rules yes={int(d['rules'].sum()):3d}"
                  f"  both={int((d['rules'] & d['afghanistan'].eq(1)).sum()):3d}")
        tp, fp, fn = int((m["rules"] & gold).sum()), int((m["rules"] & ~gold).sum()), int((~m["rules"] & gold).sum())
        print(f"  precision {tp / (tp + fp):.3f} ({tp}/{tp + fp}), recall {tp / (tp + fn):.3f} ({tp}/{tp + fn})")


if __name__ == "__main__":
    main()
