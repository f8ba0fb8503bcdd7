"""Extract the complete UN General Debate Corpus (UNGDC v13, 1946-2024) into a corpus folder, outside this repository.

The texts come from a git snapshot of the public repository
``SarahFranzen/Emotions_in_the_United_Nations_General_Debates``, which holds them as
``data/data_original/TXT/Session NN - YYYY/ISO_NN_YYYY.txt`` (the macOS ``._*`` files are skipped).
Writes ``OUT/txt/ISO_NN_YYYY.txt`` (bytes as published) and ``OUT/manifest.csv`` in the layout of
``../shared/corpora/ungdc-2015-2024`` (``doc_id,file,title,organization,genre,date,speaker,
language,source,notes``):

- ``organization``: the state's name as the shared slice spells it (its last spelling there),
  else the ISO 3166 name (current or historic, from pycountry), else the code as written
  (e.g. ``EU``);
- ``date``: the opening day of the session's general debate where the shared slice records it
  (2015-2024); for earlier sessions the corpus records no day, so 15 September of the session's
  year, said in ``notes``;
- ``title``: "Statement by <organization> in the general debate of the <NN>th session of the UN
  General Assembly", as in the slice; ``speaker`` empty (not in the text files).

Never commit the output. Usage::

    python bench/extract_ungdc.py /work/.mirror/SarahFranzen+Emotions_in_the_United_Nations_General_Debates/repo \\
        /work/data/ungdc-full
"""

from __future__ import annotations

import argparse
import csv
import io
import re
import subprocess
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SLICE = ROOT.parent / "shared" / "corpora" / "ungdc-2015-2024"
PREFIX = "data/data_original/TXT"
NAME = re.compile(r"^([A-Z0-9]+)_(\d+)_(\d{4})\.txt$")
FIELDS = ["doc_id", "file", "title", "organization", "genre", "date", "speaker", "language", "source", "notes"]


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def slice_names_and_dates() -> tuple[dict[str, str], dict[str, str]]:
    names, dates = {}, {}
    with (SLICE / "manifest.csv").open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            iso, session, _ = row["doc_id"].split("_")
            if row["organization"]:
                names[iso] = row["organization"]
            dates[session] = row["date"]
    return names, dates


def country_name(iso: str, names: dict[str, str]) -> str:
    if iso in names:
        return names[iso]
    try:
        import pycountry
    except ImportError:  # pragma: no cover - a pinned dependency
        return iso
    found = pycountry.countries.get(alpha_3=iso) or pycountry.historic_countries.get(alpha_3=iso)
    return found.name if found is not None else iso


def extract(snapshot: Path, out: Path) -> int:
    names, dates = slice_names_and_dates()
    archive = subprocess.run(["git", f"--git-dir={snapshot}", "archive", "--format=tar", "HEAD", PREFIX],
                             check=True, capture_output=True).stdout
    (out / "txt").mkdir(parents=True, exist_ok=True)
    rows = []
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        for member in tar:
            base = member.name.rsplit("/", 1)[-1]
            m = NAME.match(base)
            if not member.isfile() or base.startswith("._") or not m:
                continue
            iso, session, year = m.group(1), int(m.group(2)), m.group(3)
            data = tar.extractfile(member).read()
            (out / "txt" / base).write_bytes(data)
            org = country_name(iso, names)
            date = dates.get(str(session))
            note = "date is the opening day of the general debate; the day of the speech is not recorded"
            if date is None:
                date = f"{year}-09-15"
                note = "the corpus records neither the day of the speech nor of the debate: 15 September of the session's year"
            rows.append({"doc_id": base[:-4], "file": f"txt/{base}",
                         "title": f"Statement by {org} in the general debate of the {ordinal(session)} session of the UN General Assembly",
                         "organization": org, "genre": "speech", "date": date, "speaker": "", "language": "en",
                         "source": f"UN General Debate Corpus v13, {base}", "notes": note})
    rows.sort(key=lambda r: (r["date"], r["doc_id"]))
    with (out / "manifest.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    return len(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("snapshot", type=Path, help="git directory of the snapshot (bare repository)")
    parser.add_argument("out", type=Path, help="corpus folder to write (outside this repository)")
    args = parser.parse_args(argv)
    out = args.out.resolve()
    if out == ROOT or ROOT in out.parents:
        sys.exit(f"error: {out} is inside the repository; write the corpus elsewhere (e.g. /work/data/ungdc-full).")
    n = extract(args.snapshot, out)
    print(f"wrote {n:,} speeches and {out / 'manifest.csv'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
