"""Shared test helpers: the fixed 30-speech sample of the UN General Debate corpus."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
UNGDC = ROOT.parent / "shared" / "corpora" / "ungdc-2015-2024"
# Sample rule: the CSTO/SCO/BRICS core states in the 71st (2016), 75th (2020) and 79th (2024) sessions.
UNGDC_STATES = ["RUS", "BLR", "KAZ", "KGZ", "TJK", "ARM", "CHN", "IND", "BRA", "ZAF"]
UNGDC_SESSIONS = ["71_2016", "75_2020", "79_2024"]


def write_ungdc_sample(folder: Path) -> Path:
    """Write a corpus folder with the 30 sample speeches copied from ../shared and their manifest rows.

    Copies, not absolute paths: only files inside the corpus folder are read (never into the
    project: ``folder`` is a temporary folder). Returns ``folder``.
    """
    folder.mkdir(parents=True, exist_ok=True)
    wanted = {f"{s}_{n}" for s in UNGDC_STATES for n in UNGDC_SESSIONS}
    with (UNGDC / "manifest.csv").open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        rows = [r for r in reader if r["doc_id"] in wanted]
        fields = reader.fieldnames
    for r in rows:
        target = folder / r["file"]
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(UNGDC / r["file"], target)
    with (folder / "manifest.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    return folder
