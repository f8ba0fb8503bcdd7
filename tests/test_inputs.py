"""Tests for helpers.corpus.inputs and for hostile or broken input through make (issue 17).

Unit tests check :func:`check_inputs`'s exact messages on tiny inputs. The end-to-end tests run
``make`` on a copy of the seed corpus in a temporary folder: first a good ``make annotate``, then
each bad input, asserting the message, exit status 2, no traceback and a reports folder
byte-identical to the good build's.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from helpers.errors import AnnotationError, CodebookError, CorpusError, GroupsError, ParameterError
from helpers.corpus.inputs import check_inputs

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
CODEBOOK = DATA / "codebook.yml"
HEADER = "doc_id,file,title,organization,genre,date\n"


def _corpus(folder: Path, rows: str = "d1,a.txt,T,CSTO,speech,2024-01-01\nd2,b.txt,T,BRICS,speech,2024-06-01\n") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "a.txt").write_text("We condemn terrorism.", encoding="utf-8")
    (folder / "b.txt").write_text("Dialogue on security.", encoding="utf-8")
    (folder / "manifest.csv").write_text(HEADER + rows, encoding="utf-8")
    return folder


def _params(tmp_path: Path, text: str) -> str:
    p = tmp_path / "p.yml"
    p.write_text(text, encoding="utf-8")
    return str(p)


# ---------------------------------------------------------------- check_inputs


def test_good_inputs_pass_and_return_warnings(tmp_path):
    corpus = _corpus(tmp_path / "c", "d1,a.txt,T,,speech,2024-01-01\n")
    warnings = check_inputs(corpus, CODEBOOK, params=_params(tmp_path, "organizations: [unknown]\ntop_n: 3\n"))
    assert warnings == [f"{corpus / 'manifest.csv'}, line 2 (doc_id 'd1'): field 'organization' is empty; using 'unknown'. "
                        "Fill it in to group this document correctly."]


@pytest.mark.parametrize("text,message", [
    ("date_from: 2024-13-45\n", "{p}: parameter 'date_from' must be a date YYYY-MM-DD or null. Got '2024-13-45' instead: there is no month 13."),
    ("top_n: 0\n", "{p}: parameter 'top_n' must be a whole number of at least 1. Got 0 instead."),
    ("organisations: [CSTO]\n", "{p}: unknown parameter 'organisations'. Known parameters: "),
    ("organizations: [NATO]\n", "{p}: parameter 'organizations': unknown 'NATO'. Must be among {BRICS, CSTO} "
                                "(organisations in the corpus manifest)."),
    ("themes: [terror]\n", "{p}: parameter 'themes': unknown 'terror'. Must be among {"),
    ("group_by: blok\n", "{p}: parameter 'group_by' must be one of {'organization', 'CSTO', "),
    ("organizations: [CSTO]\ndate_from: 2024-03-01\n", "{p}: the selection is empty: no document from {CSTO} dated 2024-03-01 "
                                                        "to the end. Widen the dates or choose other organisations."),
    ("reports: elsewhere\n", "{p}: parameter 'reports' is 'elsewhere' but make passes '"),
])
def test_bad_parameters_are_found_before_anything_runs(tmp_path, text, message):
    corpus = _corpus(tmp_path / "c")
    p = _params(tmp_path, text)
    with pytest.raises(ParameterError) as exc:
        check_inputs(corpus, CODEBOOK, params=p, reports=str(tmp_path / "r"))
    assert str(exc.value).startswith(message.replace("{p}", p))


@pytest.mark.parametrize("kind,error,message", [
    ("codebook", ParameterError, "{f}: codebook not found (CODEBOOK={f}). Pass CODEBOOK=<an existing YAML codebook>, e.g. data/codebook.yml."),
    ("params", ParameterError, "{f}: parameter file not found (PARAMS={f}). Pass PARAMS=<an existing YAML file>, or leave PARAMS out."),
    ("groups", ParameterError, "{f}: groups file not found (GROUPS={f}). Pass GROUPS=<an existing YAML file> or restore data/groups.yml."),
])
def test_missing_input_files_are_named(tmp_path, kind, error, message):
    corpus = _corpus(tmp_path / "c")
    missing = str(tmp_path / "nope.yml")
    args = {"codebook": CODEBOOK, kind: missing}
    codebook = args.pop("codebook")
    with pytest.raises(error) as exc:
        check_inputs(corpus, codebook, **args)
    assert str(exc.value) == message.format(f=missing)


def test_missing_manifest(tmp_path):
    corpus = _corpus(tmp_path / "c")
    (corpus / "manifest.csv").unlink()
    with pytest.raises(CorpusError, match=r"manifest\.csv: manifest not found\. A corpus folder needs a manifest\.csv"):
        check_inputs(corpus, CODEBOOK)


def test_each_kind_of_input_is_validated(tmp_path):
    corpus = _corpus(tmp_path / "c")
    bad_codebook = tmp_path / "cb.yml"
    bad_codebook.write_text("groups: {g: G}\nthemes:\n  - {id: x, label: L, definition: D., group: g, regex: ['a(?=b)']}\n",
                            encoding="utf-8")
    with pytest.raises(CodebookError, match=r"cb\.yml, line 3, theme 'x': regex 'a\(\?=b\)' \(line 3\) uses a look-ahead"):
        check_inputs(corpus, bad_codebook)
    overrides = tmp_path / "o.csv"
    overrides.write_text("para_id,theme,action,coder,note\nd1-p001,terrorism,delete,ana,\n", encoding="utf-8")
    with pytest.raises(AnnotationError, match=r"o\.csv, line 2: action must be one of \{add, remove\}\. Got 'delete' instead\."):
        check_inputs(corpus, CODEBOOK, overrides=str(overrides))
    validation = tmp_path / "v.csv"
    validation.write_text("para_id,themes,coder\nd1-p001,terror,t\n", encoding="utf-8")
    with pytest.raises(AnnotationError, match=r"v\.csv, line 2: unknown theme 'terror' for paragraph d1-p001\."):
        check_inputs(corpus, CODEBOOK, validation=str(validation))
    groups = tmp_path / "g.yml"
    groups.write_text("groups:\n  CSTO: {members: [{iso3: RU, joined: 2002-10-07}]}\n", encoding="utf-8")
    with pytest.raises(GroupsError, match=r"g\.yml: group 'CSTO', member 1: 'iso3' must be a three-letter"):
        check_inputs(corpus, CODEBOOK, groups=str(groups))
    cleaning = tmp_path / "cl.yml"
    cleaning.write_text("boilerplate:\n  - {name: ad, pattern: '^(?!x)Advert'}\n", encoding="utf-8")
    with pytest.raises(CorpusError, match=r"cl\.yml: boilerplate rule 'ad': the pattern '\^\(\?!x\)Advert' uses a look-ahead"):
        check_inputs(corpus, CODEBOOK, cleaning=str(cleaning))


def test_contradictory_overrides_are_a_warning(tmp_path):
    corpus = _corpus(tmp_path / "c")
    overrides = tmp_path / "o.csv"
    overrides.write_text("para_id,theme,action,coder,note\nd1-p001,terrorism,add,ana,\nd1-p001,terrorism,remove,bob,\n",
                         encoding="utf-8")
    assert check_inputs(corpus, CODEBOOK, overrides=str(overrides)) == [
        f"{overrides}: contradictory overrides for paragraph d1-p001, theme 'terrorism': line 2 (add), line 3 (remove). "
        "The last row wins (line 3: remove); delete the row that is wrong."]


# ---------------------------------------------------------------- end to end through make


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _make(goal: str, **variables: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "MAKEFLAGS", "MAKELEVEL")}
    args = ["make", "--no-print-directory", "-C", str(ROOT), goal] + [f"{k}={v}" for k, v in variables.items()]
    return subprocess.run(args, capture_output=True, text=True, env=env, timeout=600)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A copy of the seed corpus, annotated once by make: (folder, make variables, reports snapshot)."""
    tmp = tmp_path_factory.mktemp("inputs-e2e")
    corpus = tmp / "corpus"
    shutil.copytree(DATA, corpus, ignore=shutil.ignore_patterns("*.yml"))
    (tmp / "outside.txt").write_text("CANARY-7f3a outside the corpus.", encoding="utf-8")
    variables = {"CORPUS": str(corpus), "REPORTS": str(tmp / "reports"), "BUILD": str(tmp / "build")}
    proc = _make("annotate", **variables)
    assert proc.returncode == 0, proc.stderr
    return tmp, variables, _snapshot(tmp / "reports")


def _assert_stopped(proc: subprocess.CompletedProcess, message: str, reports: Path, before: dict[str, bytes]) -> None:
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert f"error: {message}" in proc.stderr, proc.stderr
    assert _snapshot(reports) == before


def test_make_stops_on_bad_parameters_before_writing(built):
    tmp, variables, before = built
    params = tmp / "bad-date.yml"
    params.write_text("date_from: 2024-13-45\n", encoding="utf-8")
    codebook = tmp / "codebook.yml"  # a changed codebook: annotation would rewrite the reports
    codebook.write_text(CODEBOOK.read_text(encoding="utf-8") + "\n# changed\n", encoding="utf-8")
    for name in ("aliases.yml", "spelling.yml"):  # the rule-language files the codebook names, beside it
        (tmp / name).write_bytes((CODEBOOK.parent / name).read_bytes())
    proc = _make("report", **variables, PARAMS=str(params), CODEBOOK=str(codebook))
    _assert_stopped(proc, f"{params}: parameter 'date_from' must be a date YYYY-MM-DD or null. Got '2024-13-45' instead: there is no month 13.",
                    tmp / "reports", before)


@pytest.mark.parametrize("variable,message", [
    ("CODEBOOK", "{f}: codebook not found (CODEBOOK={f}). Pass an existing YAML codebook, e.g. CODEBOOK=data/codebook.yml."),
    ("PARAMS", "{f}: parameter file not found (PARAMS={f}). Pass an existing YAML file, e.g. "
               "PARAMS=notebooks/params/csto-2024.yml, or leave PARAMS out."),
])
def test_make_names_a_missing_codebook_or_parameter_file(built, variable, message):
    tmp, variables, before = built
    missing = str(tmp / "missing.yml")
    proc = _make("report", **variables, **{variable: missing})
    _assert_stopped(proc, message.format(f=missing), tmp / "reports", before)


@pytest.mark.parametrize("jobs", ["0", "two", "1 2", ""])
def test_make_refuses_a_jobs_value_that_is_no_positive_whole_number(built, jobs):
    tmp, variables, before = built
    proc = _make("report", **variables, JOBS=jobs)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"JOBS={jobs}: give the number of stages make may run at once as a whole number from 1, e.g. JOBS=2" in proc.stderr
    assert _snapshot(tmp / "reports") == before


def test_make_stops_when_the_manifest_is_deleted_after_a_good_build(built):
    tmp, variables, before = built
    manifest = tmp / "corpus" / "manifest.csv"
    kept = manifest.read_bytes()
    manifest.unlink()
    try:
        proc = _make("report", **variables)
    finally:
        manifest.write_bytes(kept)
    _assert_stopped(proc, f"{manifest}: manifest not found. CORPUS={tmp / 'corpus'} must be a folder with a manifest.csv",
                    tmp / "reports", before)


def test_make_never_reads_a_file_outside_the_corpus(built):
    tmp, variables, before = built
    corpus = tmp / "hostile"
    shutil.copytree(tmp / "corpus", corpus)
    manifest = corpus / "manifest.csv"
    manifest.write_text(manifest.read_text(encoding="utf-8") + "evil,../outside.txt,Evil,CSTO,news,2024-01-01,,,,,,\n",
                        encoding="utf-8")
    line = len(manifest.read_text(encoding="utf-8").splitlines())
    proc = _make("annotate", **{**variables, "CORPUS": str(corpus), "BUILD": str(tmp / "build-hostile")})
    _assert_stopped(proc, f"{manifest}, line {line}, field 'file': '../outside.txt' is outside the corpus folder {corpus} "
                          "(after following links).", tmp / "reports", before)
    skip = _make("annotate", **{**variables, "CORPUS": str(corpus), "BUILD": str(tmp / "build-hostile"),
                                "REPORTS": str(tmp / "reports-skip"), "ON_ERROR": "skip"})
    assert skip.returncode == 0, skip.stderr
    for folder in (tmp / "reports-skip", tmp / "build-hostile"):
        for path in folder.rglob("*"):
            assert not path.is_file() or b"CANARY-7f3a" not in path.read_bytes(), path


def test_make_neutralises_formulas_and_cleans_a_killed_builds_temporaries(built):
    tmp, variables, _ = built
    corpus = tmp / "formula"
    shutil.copytree(tmp / "corpus", corpus)
    manifest = corpus / "manifest.csv"
    text = manifest.read_text(encoding="utf-8")
    manifest.write_text(text.replace("Kazan Declaration of the XVI BRICS Summit", '=HYPERLINK(""http://x.example"",""click"")', 1),
                        encoding="utf-8")
    reports, build = tmp / "reports-formula", tmp / "build-formula"
    stale = [reports / ".annotated_paragraphs.csv.999999999.abcdefgh.tmp", build / ".paragraphs.parquet.999999999.abcdefgh.tmp"]
    for p in stale:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("left by a killed build", encoding="utf-8")
    proc = _make("annotate", **{**variables, "CORPUS": str(corpus), "REPORTS": str(reports), "BUILD": str(build)})
    assert proc.returncode == 0, proc.stderr
    assert not any(p.exists() for p in stale)
    annotated = (reports / "annotated_paragraphs.csv").read_text(encoding="utf-8")
    assert '"\'=HYPERLINK(""http://x.example"",""click""): international security paragraphs"' in annotated
    assert '"=HYPERLINK' not in annotated


def test_skipped_documents_rows_in_overrides_and_validation_are_set_aside(built):
    tmp, variables, _ = built
    corpus = tmp / "skip"
    shutil.copytree(tmp / "corpus", corpus)
    first = next(line for line in (corpus / "manifest.csv").read_text(encoding="utf-8").splitlines()[1:])
    doc, file = first.split(",")[:2]
    (corpus / file).write_bytes(b"\xff\xfe not UTF-8")  # the file of the documents the overrides and validation name
    proc = _make("annotate", **{**variables, "CORPUS": str(corpus), "REPORTS": str(tmp / "reports-skip2"),
                                "BUILD": str(tmp / "build-skip2"), "ON_ERROR": "skip"})
    assert proc.returncode == 0, proc.stderr
    assert f"which the ingest skipped (ON_ERROR=skip); this row of the validation sample is set aside." in proc.stderr
    assert (tmp / "reports-skip2" / "annotated_paragraphs.csv").is_file()


def test_a_corpus_and_reports_folder_with_spaces_and_an_apostrophe(tmp_path):
    home = tmp_path / "My Documents"
    corpus = home / "O'Brien corpus"
    shutil.copytree(DATA, corpus)
    reports = home / "O'Brien reports"
    proc = _make("annotate", CORPUS=str(corpus), REPORTS=str(reports))
    assert proc.returncode == 0, proc.stderr
    first = _snapshot(reports)
    assert set(first) >= {"annotated_paragraphs.csv", "annotations.csv", "evidence.csv"}
    proc = _make("report", CORPUS=str(corpus), REPORTS=str(reports))
    assert proc.returncode == 0, proc.stderr
    assert (reports / "briefing.html").stat().st_size > 0 and (reports / "briefing.pdf").stat().st_size > 0
    done = _snapshot(reports)
    again = _make("report", CORPUS=str(corpus), REPORTS=str(reports))
    assert again.returncode == 0 and "-m helpers" not in again.stdout  # nothing ran
    assert _snapshot(reports) == done


@pytest.mark.parametrize("kind,content,message", [
    ("codebook", b"groups: {g: G}\nthemes:\n  - {id: x, label: S\xe9c, definition: D., group: g, terms: [a]}\n",
     "{f}, line 3, column 21: not valid UTF-8 (byte 0xe9; the file looks saved as Latin-1 or Windows-1252). "
     "Re-save the codebook as UTF-8."),
    ("overrides", b"para_id,theme,action,coder,note\nd1-p001,terrorism,add,J\xe9r,\n",
     "{f}, line 2, column 24: not valid UTF-8 (byte 0xe9; the file looks saved as Latin-1 or Windows-1252). "
     "Re-save the overrides file as UTF-8 (in a spreadsheet program: 'CSV UTF-8')."),
    ("validation", b"para_id,themes,coder\nd1-p001,terrorism,t\nd1-p001,,t\n",
     "{f}, line 3: paragraph d1-p001 is coded twice (first at line 2). Keep one row."),
    ("cleaning", b"boilerplate: []\nsince: 2024-13-45\n",
     "{f}: a value cannot be read (month must be in 1..12); a date must be a real day (YYYY-MM-DD). Fix or quote it."),
    ("groups", b"groups:\n  CSTO: {members: [{iso3: RUS, joined: 2024-13-45}]}\n",
     "{f}: group 'CSTO', member 1 (RUS), field 'joined': '2024-13-45' is not a date in YYYY-MM-DD form."),
    ("params", b"title: Caf\xe9\n", "{f}, line 1, column 11: not valid UTF-8 (byte 0xe9; the file looks saved as "
                                   "Latin-1 or Windows-1252). Re-save the parameter file as UTF-8."),
])
def test_unreadable_input_files_give_a_message_not_a_traceback(tmp_path, kind, content, message):
    corpus = _corpus(tmp_path / "c")
    f = tmp_path / ("input.csv" if kind in ("overrides", "validation") else "input.yml")
    f.write_bytes(content)
    args = {"codebook": CODEBOOK, kind: str(f)}
    codebook = args.pop("codebook")
    with pytest.raises((AnnotationError, CodebookError, CorpusError, GroupsError, ParameterError)) as exc:
        check_inputs(corpus, codebook, **args)
    assert str(exc.value).startswith(message.format(f=f)), str(exc.value)


@pytest.mark.parametrize(("goals", "ingest", "annotate"), [
    ("annotate", "2", "2"),            # the annotation is all make builds: it matches in JOBS processes
    ("report", "2", "1"),              # beside the text analysis: one process
    ("annotate analyse", "2", "1"),
])
def test_make_forks_the_annotation_only_when_it_runs_alone(tmp_path, goals, ingest, annotate):
    env = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "MAKEFLAGS", "MAKELEVEL")}
    args = ["make", "-n", "--no-print-directory", "-C", str(ROOT), *goals.split(), "JOBS=2",
            f"REPORTS={tmp_path / 'r'}", f"BUILD={tmp_path / 'b'}"]
    out = subprocess.run(args, capture_output=True, text=True, env=env, timeout=120).stdout
    assert re.search(rf"helpers\.corpus\.corpus .*--processes {ingest}\b", out.replace("\\\n", " "))
    assert re.search(rf"helpers\.annotation\.annotate .*--processes {annotate}\b", out)
