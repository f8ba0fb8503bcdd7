"""Throw generated malformed and hostile inputs at ``make`` and check each is handled (issue 17).

Run: ``make fuzz`` (or ``.venv/bin/python bench/fuzz_inputs.py [--seed N] [--only SUBSTRING] [--keep]``);
about ten minutes on a two-core machine. Not part of ``make test``.

In a temporary folder: a copy of the seed corpus, a canary file outside it (a unique string), and a
good build (``make report``) into ``reports/``. Then each case makes a copy of the corpus with one
thing broken (manifest rows, encodings, documents, codebook YAML and patterns, cleaning rules,
overrides, validation sample, parameters, groups, paths) and runs ``make annotate`` (``make report``
for the few cases that reach the briefing). A case is *handled* when:

- make exits 0 (an input that should work, or that ``ON_ERROR=skip`` leaves out) or 2 with a line
  ``error: ...`` (one of ours), within the time limit (a hanging rule is a failure);
- no Python traceback is printed (``DEBUG`` is unset);
- a case that stops leaves ``reports/`` byte-identical to the good build's;
- the canary string appears in no output file of the case (reports, build folder) nor in what make printed:
  nothing outside the corpus was read.

Cases marked ``ok`` must succeed and ``stop`` must stop; ``any`` (random corruption) may do either.
The last line is ``fuzz: N tried, M handled``; the exit status is 1 if any case was not handled.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
CODEBOOK = DATA / "codebook.yml"
TIMEOUT = 300
HEADER = "doc_id,file,title,organization,genre,date,source,speaker,language,notes,start_line,end_line"
FIRST_FILE = "000_9261be8fc7c8a342.txt"  # brics-kazan-2024, named by overrides and validation rows


@dataclass
class Env:
    """What a case's setup sees: its corpus copy, its own folder, the canary and its path."""

    corpus: Path
    folder: Path
    canary: str
    secret: Path
    vars: dict[str, str] = field(default_factory=dict)

    def manifest(self) -> Path:
        return self.corpus / "manifest.csv"

    def add_row(self, row: str) -> None:
        m = self.manifest()
        m.write_text(m.read_text(encoding="utf-8").rstrip("\n") + "\n" + row + "\n", encoding="utf-8")

    def write(self, name: str, content: str | bytes) -> Path:
        p = self.folder / name
        p.parent.mkdir(parents=True, exist_ok=True)
        for data in ("aliases.yml", "spelling.yml"):  # the rule-language files a codebook written here names
            if not (self.folder / data).exists():
                (self.folder / data).write_bytes((DATA / data).read_bytes())
        p.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
        return p

    def codebook_with(self, text: str) -> None:
        """A codebook of one extra theme (``text`` = its YAML rules lines) appended to the project's."""
        cb = CODEBOOK.read_text(encoding="utf-8").rstrip("\n") + (
            "\n  - id: fuzz_theme\n    label: Fuzz\n    definition: A generated theme.\n    group: institutions\n" + text)
        self.vars["CODEBOOK"] = str(self.write("codebook.yml", cb))

    def params(self, text: str | bytes) -> None:
        self.vars["PARAMS"] = str(self.write("params.yml", text))


@dataclass
class Case:
    name: str
    expect: str  # "ok", "stop" or "any"
    setup: Callable[[Env], None]
    goal: str = "annotate"


def row(doc_id="fz1", file="fz1.txt", title="Fuzz", org="CSTO", genre="news", date="2024-05-01", start="", end="") -> str:
    return f"{doc_id},{file},{title},{org},{genre},{date},,,,,{start},{end}"


def with_doc(text: str | bytes, name: str = "fz1.txt", **kw) -> Callable[[Env], None]:
    def setup(e: Env) -> None:
        p = e.corpus / name
        p.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
        e.add_row(row(file=name, **kw))
    return setup


def add(r: str) -> Callable[[Env], None]:
    return lambda e: e.add_row(r)


def rule(line: str) -> Callable[[Env], None]:
    return lambda e: e.codebook_with(line)


def params(text: str | bytes) -> Callable[[Env], None]:
    return lambda e: e.params(text)


def setvar(**kw: str) -> Callable[[Env], None]:
    return lambda e: e.vars.update(kw)


def both(*fs: Callable[[Env], None]) -> Callable[[Env], None]:
    def setup(e: Env) -> None:
        for f in fs:
            f(e)
    return setup


def explicit_cases() -> list[Case]:
    c: list[Case] = []
    S, O, A = "stop", "ok", "any"
    # ---- manifest rows: paths outside the corpus
    c += [Case("file ../ outside", S, lambda e: e.add_row(row(file="../outside/secret.txt"))),
          Case("file absolute outside", S, lambda e: e.add_row(row(file=str(e.secret)))),
          Case("file /etc/hostname", S, add(row(file="../../../../../../../../etc/hostname"))),
          Case("file /etc/passwd absolute", S, add(row(file="/etc/passwd"))),
          Case("file sub/../../ outside", S, lambda e: e.add_row(row(file="sub/../../outside/secret.txt"))),
          Case("symlink to outside file", S, lambda e: ((e.corpus / "link.txt").symlink_to(e.secret), e.add_row(row(file="link.txt")))),
          Case("symlinked folder outside", S, lambda e: ((e.corpus / "ext").symlink_to(e.secret.parent),
                                                          e.add_row(row(file="ext/secret.txt")))),
          Case("symlink outside, ON_ERROR=skip", O, lambda e: ((e.corpus / "link.txt").symlink_to(e.secret),
                                                                e.add_row(row(file="link.txt")), e.vars.update(ON_ERROR="skip"))),
          Case("absolute outside, ON_ERROR=skip", O, lambda e: (e.add_row(row(file=str(e.secret))), e.vars.update(ON_ERROR="skip"))),
          Case("symlink inside to inside", O, lambda e: ((e.corpus / "same.txt").symlink_to(e.corpus / FIRST_FILE),
                                                          e.add_row(row(file="same.txt")))),
          ]
    # ---- manifest rows: fields
    c += [Case(f"date {d!r}", S, add(row(date=d))) for d in ("2024-13-45", "2024-02-30", "24/10/2024", "", "2024-1-1", "२०२४-०१-०१")]
    c += [Case(f"doc_id {d!r}", S, add(row(doc_id=d))) for d in ("", "bad id", "../x", "brics-kazan-2024", "ü-doc")]
    c += [Case(f"file {f!r}", S, add(row(file=f))) for f in ("", "missing.txt", "doc.docx", "annotations", ".")]
    c += [Case(f"lines {a!r}-{b!r}", S, add(row(file=FIRST_FILE, start=a, end=b)))
          for a, b in (("0", ""), ("-1", ""), ("abc", ""), ("9", "3"), ("100000", ""))]
    c += [Case("empty title and organisation", O, add(row(file=FIRST_FILE, title="", org=""))),
          Case("formula title =HYPERLINK", O, add(row(file=FIRST_FILE, title='"=HYPERLINK(""http://x.example"",""click"")"'))),
          Case("formula title +, -, @", O, add(row(file=FIRST_FILE, title="+1+cmd|' /C calc'!A0", org="-CSTO", genre="@SUM(1)"))),
          Case("unquoted comma: extra field", S, add(row(title="a, b"))),
          ]
    # ---- manifest as a whole
    c += [Case("manifest deleted", S, lambda e: e.manifest().unlink()),
          Case("manifest empty", S, lambda e: e.manifest().write_text("", encoding="utf-8")),
          Case("manifest header only", S, lambda e: e.manifest().write_text(HEADER + "\n", encoding="utf-8")),
          Case("manifest missing column date", S, lambda e: e.manifest().write_text(
              e.manifest().read_text(encoding="utf-8").replace(",date,", ",day,", 1), encoding="utf-8")),
          Case("manifest Latin-1", S, lambda e: e.manifest().write_bytes(
              e.manifest().read_text(encoding="utf-8").replace("Kazan", "Kazañ").encode("latin-1", "replace"))),
          Case("manifest UTF-16", S, lambda e: e.manifest().write_bytes(e.manifest().read_text(encoding="utf-8").encode("utf-16"))),
          Case("manifest with BOM and CRLF", O, lambda e: e.manifest().write_bytes(
              b"\xef\xbb\xbf" + e.manifest().read_text(encoding="utf-8").replace("\n", "\r\n").encode("utf-8"))),
          Case("manifest binary garbage", S, lambda e: e.manifest().write_bytes(bytes(range(256)) * 4)),
          Case("manifest is a folder", S, lambda e: (e.manifest().unlink(), e.manifest().mkdir())),
          ]
    # ---- document contents
    c += [Case("document Latin-1", S, with_doc("Sécurité collective.".encode("latin-1"))),
          Case("document UTF-16", S, with_doc("Collective security.".encode("utf-16"))),
          Case("document empty", S, with_doc("")),
          Case("document only blanks", S, with_doc(" \n\n\t\n")),
          Case("document only boilerplate", S, with_doc("Advertisement:\n\nMust read\n")),
          Case("document with NUL and escapes", O, with_doc("We condemn\x00 terrorism\x1b[0m in all its forms.\x7f\n\nDialogue.")),
          Case("document one huge line", O, with_doc("security " * 60_000)),
          Case("document long run of a", O, with_doc("a" * 100_000 + "!")),
          Case("document broken PDF", S, with_doc(b"%PDF-1.4\n1 0 obj <<>> endobj\n", name="fz1.pdf")),
          Case("document garbage PDF", S, with_doc(b"not a pdf at all", name="fz1.pdf")),
          Case("document HTML with script", O, with_doc("<html><body><script>alert(1)</script><p>We condemn terrorism.</p>"
                                                        "<p><img src=x onerror=alert(1)>Dialogue.</p></body></html>", name="fz1.html")),
          Case("document broken Latin-1, ON_ERROR=skip", O, both(with_doc("Caf\xe9".encode("latin-1")), setvar(ON_ERROR="skip"))),
          Case("overrides' document unreadable, ON_ERROR=skip", O, lambda e: ((e.corpus / FIRST_FILE).write_bytes(b"\xff\xfe\x00"),
                                                                              e.vars.update(ON_ERROR="skip"))),
          ]
    # ---- codebook YAML and patterns
    c += [Case("regex (?:a+)+$ (catastrophic in re)", O, both(rule("    regex: ['(?:a+)+$']\n"), with_doc("a" * 50_000 + "!"))),
          Case("regex (a|aa)+b", S, rule("    regex: ['(a|aa)+b']\n")),
          Case("regex (?:a|aa)+b on aaaa...", O, both(rule("    regex: ['(?:a|aa)+b']\n"), with_doc("a" * 50_000))),
          Case("regex look-ahead", S, rule("    regex: ['terror(?=ism)']\n")),
          Case("regex look-behind", S, rule("    regex: ['(?<!anti-)terror']\n")),
          Case("regex back-reference", S, rule("    regex: ['(?:(a)\\1)']\n")),
          Case("regex unclosed", S, rule("    regex: ['(unclosed']\n")),
          Case("regex matches empty", S, rule("    regex: ['x*']\n")),
          Case("regex \\b next to Cyrillic", S, rule("    regex: ['\\bмир\\b']\n")),
          Case("regex \\b around +", O, rule("    regex: ['\\b\\+\\+\\b']\n")),
          Case("regex verbose flag", S, rule("    regex: ['(?x) a b']\n")),
          Case("regex \\W in class", S, rule("    regex: ['[\\W]ab']\n")),
          Case("regex huge repetition", S, rule("    regex: ['a{1000}{1000}']\n")),
          Case("regex scoped bad speakers", S, rule("    regex:\n      - {pattern: 'CSTO', speakers: aliens}\n")),
          Case("term bad syntax", S, rule("    terms: ['(bad']\n")),
          Case("theme without rules", S, rule("    terms: []\n")),
          Case("codebook tab indentation", S, lambda e: e.vars.update(CODEBOOK=str(e.write("cb.yml", "groups:\n\tg: G\n")))),
          Case("codebook duplicate key", S, lambda e: e.vars.update(CODEBOOK=str(e.write("cb.yml", "groups: {g: G}\ngroups: {h: H}\nthemes: []\n")))),
          Case("codebook a list", S, lambda e: e.vars.update(CODEBOOK=str(e.write("cb.yml", "- a\n- b\n")))),
          Case("codebook Latin-1", S, lambda e: e.vars.update(CODEBOOK=str(e.write("cb.yml", CODEBOOK.read_text(encoding="utf-8").replace(
              "Terrorism", "Terrorisme é", 1).encode("latin-1", "replace"))))),
          Case("codebook empty", S, lambda e: e.vars.update(CODEBOOK=str(e.write("cb.yml", "")))),
          Case("codebook YAML date label", S, rule("    terms: [a]\n    version: 2024-13-45\n")),
          Case("codebook aliases (small laugh)", S, lambda e: e.vars.update(CODEBOOK=str(e.write("cb.yml",
              "a: &a [x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b]\n"
              "groups: {g: G}\nthemes: [*c]\n")))),
          Case("codebook missing", S, lambda e: e.vars.update(CODEBOOK=str(e.folder / "missing.yml"))),
          Case("codebook is a folder", S, lambda e: (e.folder.joinpath("cbdir").mkdir(), e.vars.update(CODEBOOK=str(e.folder / "cbdir")))),
          ]
    # ---- cleaning rules
    c += [Case("cleaning look-behind", S, lambda e: e.vars.update(CLEANING=str(e.write("cl.yml", "boilerplate:\n  - {name: x, pattern: '(?<=a)b'}\n")))),
          Case("cleaning catastrophic (?:a+)+$", O, both(lambda e: e.vars.update(CLEANING=str(e.write("cl.yml", (DATA / "cleaning.yml").read_text(
              encoding="utf-8").replace("boilerplate:\n", "boilerplate:\n  - {name: fuzz, pattern: '^(?:a+)+$'}\n", 1)))),
              with_doc("a" * 50_000 + "!\n\nWe condemn terrorism."))),
          Case("cleaning unclosed", S, lambda e: e.vars.update(CLEANING=str(e.write("cl.yml", "boilerplate:\n  - {name: x, pattern: '(a'}\n")))),
          Case("cleaning bad kind", S, lambda e: e.vars.update(CLEANING=str(e.write("cl.yml", "kinds:\n  poem: ['^x']\n")))),
          ]
    # ---- overrides and validation sample
    ov = "para_id,theme,action,coder,note\n"
    va = "para_id,themes,coder\n"

    def overrides(text: str | bytes) -> Callable[[Env], None]:
        return lambda e: (e.corpus / "annotations" / "overrides.csv").write_bytes(text.encode("utf-8") if isinstance(text, str) else text)

    def validation(text: str | bytes) -> Callable[[Env], None]:
        return lambda e: (e.corpus / "annotations" / "validation.csv").write_bytes(text.encode("utf-8") if isinstance(text, str) else text)

    c += [Case("override unknown theme", S, overrides(ov + "brics-kazan-2024-p012,terror,add,ana,\n")),
          Case("override bad action", S, overrides(ov + "brics-kazan-2024-p012,terrorism,delete,ana,\n")),
          Case("override unknown paragraph", S, overrides(ov + "brics-kazan-2024-p999,terrorism,add,ana,\n")),
          Case("override title paragraph", S, overrides(ov + "brics-kazan-2024-p001,terrorism,add,ana,\n")),
          Case("override no coder", S, overrides(ov + "brics-kazan-2024-p012,terrorism,add,,\n")),
          Case("overrides header missing", S, overrides("para_id,theme\nx,y\n")),
          Case("overrides Latin-1", S, overrides((ov + "brics-kazan-2024-p012,terrorism,add,Jérôme,\n").encode("latin-1"))),
          Case("overrides contradictory", O, overrides(ov + "brics-kazan-2024-p012,world_order,add,ana,\n"
                                                         "brics-kazan-2024-p012,world_order,remove,bob,\n")),
          Case("override formula note", O, overrides(ov + "brics-kazan-2024-p012,sanctions,add,=cmd|' /C calc'!A0,@SUM(1)\n")),
          Case("validation duplicate", S, validation(va + "brics-kazan-2024-p012,terrorism,t\nbrics-kazan-2024-p012,,t\n")),
          Case("validation unknown theme", S, validation(va + "brics-kazan-2024-p012,terror,t\n")),
          Case("validation unknown paragraph", S, validation(va + "nope-p001,terrorism,t\n")),
          Case("validation UTF-16", S, validation(va.encode("utf-16"))),
          ]
    # ---- parameters
    c += [Case(f"params {t.strip()!r}", S, params(t)) for t in (
        "date_from: 2024-13-45\n", "date_to: 2024-02-30\n", "date_from: 2025-01-01\ndate_to: 2024-01-01\n", "top_n: abc\n",
        "top_n: -1\n", "min_reuse_words: 0\n", "organisations: [CSTO]\n", "organizations: [Atlantis]\n", "themes: [nothing]\n",
        "group_by: continents\n", "- a list\n", "title: [unclosed\n", "date_from: 20240101\n", "reports: /elsewhere\n",
        "organizations: [CSTO]\ndate_from: 2030-01-01\n", "title: {a: 1}\n")]
    c += [Case("params Latin-1", S, params("title: Sécurité\n".encode("latin-1"))),
          Case("params empty file", O, params("")),
          Case("params missing", S, lambda e: e.vars.update(PARAMS=str(e.folder / "nope.yml"))),
          Case("params good selection", O, params("organizations: [CSTO]\ndate_from: 2024-01-01\ntop_n: 3\n"), goal="report"),
          ]
    # ---- paths and make variables
    c += [Case("corpus with spaces and apostrophe", O, lambda e: e.vars.update(CORPUS=str(move(e, "My Documents/O'Brien corpus")))),
          Case("reports with spaces and apostrophe", O, lambda e: e.vars.update(REPORTS=str(e.folder / "Our reports/Dale's"))),
          Case("corpus missing", S, lambda e: e.vars.update(CORPUS=str(e.folder / "no-such-corpus"))),
          Case("corpus is a file", S, lambda e: e.vars.update(CORPUS=str(e.write("file-not-folder", "x")))),
          Case("groups missing", S, lambda e: e.vars.update(GROUPS=str(e.folder / "nope.yml"))),
          Case("groups bad date", S, lambda e: e.vars.update(GROUPS=str(e.write("g.yml", "groups:\n  CSTO: {members: [{iso3: RUS, joined: 2024-13-45}]}\n")))),
          Case("groups bad iso3", S, lambda e: e.vars.update(GROUPS=str(e.write("g.yml", "groups:\n  CSTO: {members: [{iso3: RU, joined: 2002-10-07}]}\n")))),
          Case("GROUP_BY unknown", S, setvar(GROUP_BY="continents")),
          Case("ON_ERROR unknown", S, setvar(ON_ERROR="maybe")),
          Case("organizations file bad code", S, lambda e: e.vars.update(ORGANIZATIONS=str(e.write("o.yml", "names: {XXX: Nowhere}\n")))),
          Case("control characters reach the briefing?", O, with_doc("We condemn\x00 terrorism\x07 and\x1b extremism.\n\nDialogue."), goal="report"),
          Case("formula title through the briefing", O, add(row(file=FIRST_FILE, title='"=HYPERLINK(""http://x.example"",""click"")"')), goal="report"),
          ]
    return c


def move(e: Env, relative: str) -> Path:
    target = e.folder / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(e.corpus), str(target))
    e.corpus = target
    return target


def generated_cases(rng: random.Random, n_manifest: int = 10, n_regex: int = 15, n_params: int = 8, n_yaml: int = 6) -> list[Case]:
    """Random corruption: byte flips and truncations of the manifest, regexes from nasty pieces,
    random parameter values, truncated codebooks."""
    cases: list[Case] = []
    for i in range(n_manifest):
        seed = rng.randrange(1 << 30)

        def corrupt(e: Env, seed=seed) -> None:
            r = random.Random(seed)
            data = bytearray(e.manifest().read_bytes())
            for _ in range(r.randint(1, 6)):
                op = r.choice(("flip", "delete", "insert", "truncate"))
                pos = r.randrange(len(data)) if data else 0
                if op == "flip" and data:
                    data[pos] = r.randrange(256)
                elif op == "delete" and data:
                    del data[pos:pos + r.randint(1, 20)]
                elif op == "insert":
                    data[pos:pos] = r.choice([b",", b'"', b"\n", b"\x00", b"\xff", b"../", b"/etc/passwd", b"\r", b"=1+1"])
                elif op == "truncate":
                    del data[pos:]
            e.manifest().write_bytes(bytes(data))
        cases.append(Case(f"random manifest corruption #{i} (seed {seed})", "any", corrupt))
    pieces = ["a", "b", "(?:a+)+", "(?:a|aa)*", "\\b", "\\w+", "[^x]*", "(?=a)", "(?!b)", "(?<=c)", "\\1", "(a)", "{2,}", "*", "+?",
              ".*", "$", "^", "(?i)", "(?-i:WHO)", "[", ")", "\\", "мир", "\\d{1,3}", "|", "(?P<n>x)", "(?P=n)", "\\s+", "\\Z", "\\u0041"]
    for i in range(n_regex):
        pattern = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 6)))
        quoted = pattern.replace("'", "''")
        cases.append(Case(f"random regex {pattern!r}", "any", both(rule(f"    regex: ['{quoted}']\n"), with_doc("a" * 20_000 + " aab WHO мир 123"))))
    values = ["2024-13-45", "null", "[]", "-5", "0", "abc", "2024-01-01", "[CSTO, BRICS]", "{x: 1}", "'=cmd'", "1e309", "!!python/object:os.system ls",
              "*undefined_alias", "&a [*a]"]
    names = ["date_from", "date_to", "top_n", "organizations", "themes", "group_by", "min_reuse_words", "title", "unknown_name"]
    for i in range(n_params):
        text = "".join(f"{rng.choice(names)}: {rng.choice(values)}\n" for _ in range(rng.randint(1, 3)))
        cases.append(Case(f"random params {text.strip()!r}", "any", params(text)))
    full = CODEBOOK.read_text(encoding="utf-8")
    for i in range(n_yaml):
        cut = rng.randrange(len(full))
        cases.append(Case(f"codebook truncated at {cut}", "any", lambda e, cut=cut: e.vars.update(CODEBOOK=str(e.write("cb.yml", full[:cut])))))
    return cases


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()} if folder.is_dir() else {}


def make(goal: str, variables: dict[str, str]) -> tuple[int | None, str, float]:
    env = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    args = ["make", "--no-print-directory", "-C", str(ROOT), goal] + [f"{k}={v}" for k, v in variables.items()]
    started = time.perf_counter()
    try:
        proc = subprocess.run(args, capture_output=True, text=True, errors="replace", env=env, timeout=TIMEOUT)
    except subprocess.TimeoutExpired as exc:
        out = (exc.stdout or b"").decode("utf-8", "replace") if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        return None, out, time.perf_counter() - started
    return proc.returncode, proc.stdout + proc.stderr, time.perf_counter() - started


def contains(folder: Path, needle: bytes) -> list[str]:
    hits = []
    if folder.is_dir():
        for p in folder.rglob("*"):
            if p.is_file() and not p.is_symlink() and needle in p.read_bytes():
                hits.append(str(p))
    return hits


FORMULA_CELL = re.compile(r'(?m)(?:^|,)"[=+@]')


def run_case(i: int, case: Case, tmp: Path, base: Path, baseline: dict[str, bytes], canary: str, secret: Path) -> list[str]:
    folder = tmp / "cases" / f"{i:03d}"
    corpus = folder / "corpus"
    shutil.copytree(base, corpus, symlinks=True)
    e = Env(corpus=corpus, folder=folder, canary=canary, secret=secret)
    e.vars = {"CORPUS": str(corpus), "BUILD": str(folder / "build")}
    case.setup(e)
    # the case's reports folder starts as a copy of the good build's: a case that stops must leave it so
    reports = Path(e.vars.setdefault("REPORTS", str(folder / "reports")))
    shutil.copytree(tmp / "reports", reports, dirs_exist_ok=True)
    status, output, seconds = make(case.goal, e.vars)
    problems = []
    if status is None:
        problems.append(f"no answer within {TIMEOUT} s")
    elif status not in (0, 2):
        problems.append(f"exit status {status}")
    if "Traceback (most recent call last)" in output:
        problems.append("Python traceback printed")
    ours = any(line.startswith("error: ") for line in output.splitlines())
    if status == 2 and not ours:
        problems.append("stopped without one of our 'error: ' messages")
    if case.expect == "stop" and status != 2:
        problems.append(f"expected to stop, exit status {status}")
    if case.expect == "ok" and status != 0:
        problems.append(f"expected to work, exit status {status}")
    if status != 0 and snapshot(reports) != baseline:
        problems.append("the previous reports changed")
    leaks = contains(reports, canary.encode()) + contains(folder / "build", canary.encode()) + contains(ROOT / "build" / "links", canary.encode())
    if canary in output:
        leaks.append("make's output")
    if leaks:
        problems.append(f"canary from outside the corpus found in {', '.join(leaks[:3])}")
    if status == 0:
        for name in ("annotated_paragraphs.csv", "evidence.csv"):
            if reports.is_dir() and (reports / name).is_file():
                text = (reports / name).read_text(encoding="utf-8")
                if FORMULA_CELL.search(text) or "\x00" in text:
                    problems.append(f"{name} holds an unneutralised formula or a NUL")
        html = reports / "briefing.html"
        if case.goal == "report" and html.is_file() and ("\x00" in html.read_text(encoding="utf-8") or "\x1b" in html.read_text(encoding="utf-8")):
            problems.append("control characters reached briefing.html")
    last = next((line for line in reversed(output.splitlines()) if line.startswith("error: ")), "")
    print(f"[{i:3d}] {'ok  ' if not problems else 'FAIL'} {case.expect:4s} exit {status} {seconds:5.1f}s {case.name}"
          + (f"\n        {last[:200]}" if last else "") + "".join(f"\n        !! {p}" for p in problems), flush=True)
    if not problems:
        shutil.rmtree(folder, ignore_errors=True)
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--only", help="run only the cases whose name contains this")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args(argv)
    cases = explicit_cases() + generated_cases(random.Random(args.seed))
    if args.only:
        cases = [c for c in cases if args.only in c.name]
    tmp = Path(tempfile.mkdtemp(prefix="fuzz-inputs-"))
    try:
        base = tmp / "corpus"
        shutil.copytree(DATA, base, ignore=shutil.ignore_patterns("*.yml", "*.yaml"))
        canary = f"CANARY-{uuid.uuid4().hex}"
        secret = tmp / "outside" / "secret.txt"
        secret.parent.mkdir()
        secret.write_text(f"{canary} must never be read.\n\nIt lies outside every corpus.\n", encoding="utf-8")
        goal = "report" if any(c.expect == "stop" for c in cases) else "annotate"
        status, output, seconds = make(goal, {"CORPUS": str(base), "REPORTS": str(tmp / "reports"), "BUILD": str(tmp / "build")})
        if status != 0:
            print(output)
            print("fuzz: the good build failed; nothing tried")
            return 1
        print(f"good build ({goal}) in {seconds:.1f} s -> {tmp / 'reports'}", flush=True)
        baseline = snapshot(tmp / "reports")
        failed = 0
        for i, case in enumerate(cases):
            failed += bool(run_case(i, case, tmp, base, baseline, canary, secret))
        if snapshot(tmp / "reports") != baseline:
            print("!! the good build's reports changed during the run")
            failed += 1
        print(f"fuzz: {len(cases)} tried, {len(cases) - failed} handled")
        return 1 if failed else 0
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
