"""Tests for helpers.annotation.codebook: schema validation with exact messages, term syntax, REFI-QDA export."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from helpers.annotation.codebook import (
    QDC_NAMESPACE,
    codebook_to_qdc,
    inflections,
    load_codebook,
    main,
    parse_term,
)
from helpers.errors import CodebookError

ROOT = Path(__file__).resolve().parents[1]
PROJECT_CODEBOOK = ROOT / "data" / "codebook.yml"
REQUIRED_THEMES = [
    "terrorism", "drug_trafficking", "illegal_migration", "cyber_ict", "wmd_nonproliferation", "outer_space",
    "un_system", "international_law", "peaceful_settlement", "armed_conflict", "world_order", "peacekeeping",
    "afghanistan", "biosecurity", "sanctions", "military_cooperation", "emerging_tech", "energy_security",
    "illicit_finance", "regional_organizations", "russia_ukraine_war",
]

GOOD = """\
name: test
groups:
  threats: Threats
  order: Order
themes:
  - id: terrorism
    label: Terrorism
    definition: Terrorism of any kind.
    group: threats
    terms: [terror*]
  - id: law
    label: Law
    definition: International law.
    group: order
    regex: ['\\binternational\\s+law\\b']
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "cb.yml"
    p.write_text(text, encoding="utf-8")
    return p


def test_project_codebook_has_required_themes_with_fields():
    cb = load_codebook(PROJECT_CODEBOOK)
    assert set(REQUIRED_THEMES) <= set(cb.theme_ids)
    for t in cb.themes:
        assert t.label and t.definition.endswith(".") and t.group in cb.groups
        assert t.terms or t.regex
    table = cb.to_frame()
    assert list(table.columns) == ["theme", "label", "group", "group_label", "definition", "n_terms", "n_regex", "n_exclude"]
    assert table.loc[table["theme"] == "terrorism", "group"].item() == "transnational_threats"


def test_good_codebook_parses(tmp_path):
    cb = load_codebook(write(tmp_path, GOOD))
    assert cb.theme_ids == ["terrorism", "law"]
    assert cb.groups == {"threats": "Threats", "order": "Order"}
    assert cb.theme("terrorism").terms[0].prefix is True
    assert cb.theme("law").regex == ("\\binternational\\s+law\\b",)
    assert "law" in cb and "nope" not in cb
    with pytest.raises(CodebookError, match=r"unknown theme 'nope'\. Known themes: terrorism, law\."):
        cb.theme("nope")


def test_regex_rules_may_be_scoped_to_organisations_or_states(tmp_path):
    text = GOOD.replace("    regex: ['\\binternational\\s+law\\b']\n",
                        "    regex:\n      - '\\binternational\\s+law\\b'\n"
                        "      - pattern: '(?-i:\\bour\\s+Organization\\b)'\n        speakers: organizations\n")
    assert text != GOOD
    cb = load_codebook(write(tmp_path, text))
    law = cb.theme("law")
    assert law.regex == ("\\binternational\\s+law\\b", "(?-i:\\bour\\s+Organization\\b)")
    assert [law.speakers_of(k) for k in range(2)] == ["", "organizations"]
    assert cb.theme("terrorism").regex_speakers == ()  # unscoped themes carry no scope at all
    project = load_codebook(PROJECT_CODEBOOK).theme("regional_organizations")
    # "the Community" and the case-sensitive AU, then "the Organization" (the CSTO in its own texts)
    assert [project.speakers_of(k) for k in range(len(project.regex))] == ["", "", "organizations"]


@pytest.mark.parametrize("written, day", [("2014-02-20", "2014-02-20"), ("'2014-02-20'", "2014-02-20"), ("2014", "2014-01-01")])
def test_a_theme_may_code_only_documents_from_a_date(tmp_path, written, day):
    text = GOOD.replace("    regex: ['\\binternational\\s+law\\b']\n",
                        f"    regex: ['\\binternational\\s+law\\b']\n    from: {written}\n")
    assert text != GOOD
    cb = load_codebook(write(tmp_path, text))
    assert cb.theme("law").from_date == day
    assert cb.theme("terrorism").from_date == ""  # no 'from': any date
    # the project's war began with the seizure of Crimea: "Ukraine" in a speech of 1963 is no war
    assert load_codebook(PROJECT_CODEBOOK).theme("russia_ukraine_war").from_date == "2014-02-20"


@pytest.mark.parametrize(
    "word, forms",
    [
        ("conflict", ["conflict", "conflicts"]),
        ("policy", ["policy", "policies", "policys"]),
        ("day", ["day", "days"]),
        ("crisis", ["crisis", "crisises", "crisiss"]),
        ("approach", ["approach", "approaches", "approachs"]),
        ("organization", ["organization", "organizations", "organisation", "organisations"]),
        ("weaponize", ["weaponize", "weaponizes", "weaponise", "weaponises"]),
        ("19", ["19"]),
    ],
)
def test_inflections(word, forms):
    assert inflections(word) == forms


@pytest.mark.parametrize(
    "raw, words, prefix, inflect",
    [
        ("terror*", ("terror",), True, True),
        ("=trainings", ("trainings",), False, False),
        ("Foreign  Terrorist Fighter", ("foreign", "terrorist", "fighter"), False, True),
        ("counter-terrorism", ("counter", "terrorism"), False, True),
        ("A/RES", ("a", "res"), False, True),
        ("information and communication technolog*", ("information", "and", "communication", "technolog"), True, True),
    ],
)
def test_parse_term(raw, words, prefix, inflect):
    t = parse_term(raw)
    assert (t.words, t.prefix, t.inflect) == (words, prefix, inflect)


def test_term_forms_inflect_last_word_only():
    assert parse_term("foreign terrorist fighter").forms() == [
        ("foreign", "terrorist", "fighter"), ("foreign", "terrorist", "fighters")]
    assert parse_term("=trainings").forms() == [("trainings",)]


@pytest.mark.parametrize(
    "raw, message",
    [
        ("U.N.", "terms may contain letters, digits"),
        ("te*rror", "terms may contain letters, digits"),
        ("ab*", "a prefix wildcard needs at least three characters"),
        ("counter-*", "a prefix wildcard needs at least three characters of a word"),
    ],
)
def test_parse_term_rejects(raw, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_term(raw)


THEME = "  - id: {id}\n    label: L\n    definition: D.\n    group: {group}\n{rules}"


@pytest.mark.parametrize(
    "text, message",
    [
        # bad YAML: the line of the problem is named
        ("groups:\n  a: A\nthemes:\n  - id: x\n    label: [unclosed\n",
         r"cb\.yml, line 6, column 1: invalid YAML: .*Fix the syntax there\."),
        # a theme id defined twice
        ("groups:\n  g: G\nthemes:\n" + THEME.format(id="x", group="g", rules="    terms: [a]\n")
         + THEME.format(id="x", group="g", rules="    terms: [b]\n"),
         r"cb\.yml, line 9, theme 'x': duplicate id \(first defined at line 4\)\. Theme ids must be unique\."),
        # a key twice in one mapping (YAML would silently keep the last one)
        ("groups:\n  g: G\nthemes:\n  - id: x\n    label: L\n    label: M\n    definition: D.\n    group: g\n    terms: [a]\n",
         r"cb\.yml, line 6: key 'label' appears twice in the same mapping \(first at line 5\)"),
        # a regex that does not compile
        ("groups:\n  g: G\nthemes:\n" + THEME.format(id="x", group="g", rules="    regex: ['(unclosed']\n"),
         r"cb\.yml, line 4, theme 'x': regex '\(unclosed' \(line 8\) does not compile: missing \), unterminated subpattern"),
        # the pattern is shown as written in the file, backslashes not doubled
        ("groups:\n  g: G\nthemes:\n" + THEME.format(id="x", group="g", rules="    regex: ['\\bRA(TS']\n"),
         r"theme 'x': regex '\\bRA\(TS' \(line 8\) does not compile: missing \)"),
        # a regex with a capturing group
        ("groups:\n  g: G\nthemes:\n" + THEME.format(id="x", group="g", rules="    regex: ['(a|b)c']\n"),
         r"theme 'x': regex '\(a\|b\)c' \(line 8\) has a capturing group; write \(\?:\.\.\.\) instead of \(\.\.\.\)\."),
        # a regex that matches nothing at all
        ("groups:\n  g: G\nthemes:\n" + THEME.format(id="x", group="g", rules="    regex: ['a*']\n"),
         r"theme 'x': regex 'a\*' \(line 8\) matches the empty text; it must match a word\."),
        # a global flag in the middle of the combined pattern
        ("groups:\n  g: G\nthemes:\n" + THEME.format(id="x", group="g", rules="    regex: ['(?i)abc']\n"),
         r"theme 'x': regex '\(\?i\)abc' \(line 8\) does not compile: global flags not at the start"),
        # an unknown group
        ("groups:\n  g: G\nthemes:\n" + THEME.format(id="x", group="nope", rules="    terms: [a]\n"),
         r"cb\.yml, line 4, theme 'x': unknown group 'nope'\. Declared groups: g\. Use one of them or declare"),
        # a theme with no rule
        ("groups:\n  g: G\nthemes:\n" + THEME.format(id="x", group="g", rules="    exclude: [a]\n"),
         r"cb\.yml, line 4, theme 'x': the theme has no rule\. Give it at least one entry under 'terms' or 'regex'\."),
        # a missing field
        ("groups:\n  g: G\nthemes:\n  - id: x\n    label: L\n    group: g\n    terms: [a]\n",
         r"cb\.yml, line 4, theme 'x': field 'definition' is missing\. Expected one sentence"),
        # a field of the wrong type
        ("groups:\n  g: G\nthemes:\n" + THEME.format(id="x", group="g", rules="    terms: terror\n"),
         r"theme 'x': field 'terms' must be a list \(list of words or phrases \(see the rule syntax\)\)\. Got 'terror' instead\."),
        # an unknown field (a typo would otherwise be ignored)
        ("groups:\n  g: G\nthemes:\n" + THEME.format(id="x", group="g", rules="    term: [a]\n"),
         r"theme 'x': unknown field\(s\) 'term'\. Allowed fields: id, label, definition, group, terms, regex, exclude, from\."),
        # a term outside the syntax
        ("groups:\n  g: G\nthemes:\n" + THEME.format(id="x", group="g", rules="    terms: ['U.N.']\n"),
         r"theme 'x': terms item 'U\.N\.' \(line 8\) is not valid: terms may contain letters"),
        # a bad id
        ("groups:\n  g: G\nthemes:\n" + THEME.format(id="Bad-Id", group="g", rules="    terms: [a]\n"),
         r"theme 'Bad-Id': id must be lower-case letters, digits and '_', starting with a letter\."),
        # a 'from' that is no day
        ("groups:\n  g: G\nthemes:\n" + THEME.format(id="x", group="g", rules="    terms: [a]\n    from: '2014-02-30'\n"),
         r"cb\.yml, line 4, theme 'x': field 'from' must be a day \(YYYY-MM-DD, e\.g\. 2014-02-20\) or a year \(e\.g\. 2014\)\. "
         r"Got '2014-02-30' instead\."),
        # written unquoted, YAML reads it as a date: one that is no real day is refused at its line
        ("groups:\n  g: G\nthemes:\n" + THEME.format(id="x", group="g", rules="    terms: [a]\n    from: 2014-02-30\n"),
         r"cb\.yml, line 9, column 11: invalid YAML: '2014-02-30' is not a real date \(day is out of range for month\): "
         r"write a real day as YYYY-MM-DD\."),
        ("groups:\n  g: G\nthemes:\n" + THEME.format(id="x", group="g", rules="    terms: [a]\n    from: [2014]\n"),
         r"theme 'x': field 'from' must be text or a number or a date \(first date"),
        # a speaker-scoped regex with an unknown scope, or with a key missing or misspelt
        ("groups:\n  g: G\nthemes:\n" + THEME.format(id="x", group="g", rules="    regex:\n      - pattern: 'abc'\n        speakers: everyone\n"),
         r"cb\.yml, line 4, theme 'x': regex item 1 \(line 9\): speakers must be one of organizations, states\. Got 'everyone' instead\."),
        ("groups:\n  g: G\nthemes:\n" + THEME.format(id="x", group="g", rules="    regex:\n      - patern: 'abc'\n        speakers: states\n"),
         r"theme 'x': regex item 1 \(line 9\) must be a pattern, or a mapping with exactly 'pattern' and 'speakers'\. "
         r"Got keys 'patern', 'speakers' instead\."),
        ("groups:\n  g: G\nthemes:\n" + THEME.format(id="x", group="g", rules="    regex:\n      - pattern: '(a'\n        speakers: states\n"),
         r"theme 'x': regex '\(a' \(line 9\) does not compile"),
        # top level problems
        ("- just\n- a list\n", r"cb\.yml: a codebook must be a mapping with 'groups' and 'themes'\. Got list instead\."),
        ("themes: []\n", r"cb\.yml: field 'groups' is missing\. Expected mapping of group id -> label\."),
        ("groups: {}\nthemes: []\n", r"cb\.yml: 'groups' is empty\."),
        ("groups:\n  g: G\nthemes: []\n", r"cb\.yml: 'themes' is empty\. Define at least one theme\."),
    ],
)
def test_malformed_codebooks(tmp_path, text, message):
    with pytest.raises(CodebookError, match=message):
        load_codebook(write(tmp_path, text))


def test_missing_file(tmp_path):
    with pytest.raises(CodebookError, match=r"nope\.yml: codebook file not found\."):
        load_codebook(tmp_path / "nope.yml")


def test_qdc_export_is_refi_codebook_and_deterministic(tmp_path):
    cb = load_codebook(PROJECT_CODEBOOK)
    xml = codebook_to_qdc(cb)
    assert xml == codebook_to_qdc(load_codebook(PROJECT_CODEBOOK))
    root = ET.fromstring(xml.split("\n", 1)[1])
    ns = {"q": QDC_NAMESPACE}
    assert root.tag == f"{{{QDC_NAMESPACE}}}CodeBook"
    groups = root.findall("q:Codes/q:Code", ns)
    themes = root.findall("q:Codes/q:Code/q:Code", ns)
    assert len(groups) == len({t.group for t in cb.themes})
    assert all(g.get("isCodable") == "false" for g in groups)
    assert len(themes) == len(cb.themes) and all(t.get("isCodable") == "true" for t in themes)
    guids = [c.get("guid") for c in root.iter(f"{{{QDC_NAMESPACE}}}Code")]
    assert len(set(guids)) == len(guids)
    assert all(re.fullmatch(r"[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}", g) for g in guids)
    terror = next(t for t in themes if t.get("name") == cb.theme("terrorism").label)
    assert terror.find("q:Description", ns).text.startswith("[terrorism] Terrorism and counter-terrorism")


def test_cli_checks_and_exports(tmp_path, capsys):
    out = tmp_path / "cb.qdc"
    assert main(["--codebook", str(PROJECT_CODEBOOK), "--qdc", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "21 themes in 7 groups" in printed and out.read_text(encoding="utf-8").startswith("<?xml")


# ---------------------------------------------------------------- rules run in linear time (RE2)

@pytest.mark.parametrize("pattern,message", [
    ("(?:a+)+$|xyz", None),  # catastrophic for Python's re, linear for RE2: accepted and run safely
    ("terror(?=ism)", r"regex 'terror\(\?=ism\)' \(line 8\) uses a look-ahead or look-behind \(\(\?=\.\.\.\), \(\?!\.\.\.\), "
                      r"\(\?<=\.\.\.\), \(\?<!\.\.\.\)\), which cannot run in linear time; rewrite it without, or use an "
                      r"'exclude' phrase for what must not follow\."),
    (r"(?:ab)\w+(?<!x)", r"regex '\(\?:ab\)\\w\+\(\?<!x\)' \(line 8\) uses a look-ahead or look-behind"),
    (r"(?P<w>ab)(?P=w)", r"regex '\(\?P<w>ab\)\(\?P=w\)' \(line 8\) (uses a back-reference|has a capturing group)"),
    (r"[\W]ab", r"regex '\[\\W\]ab' \(line 8\) '\\W' inside \[\.\.\.\] cannot be run by RE2"),
    (r"\bмир\b", r"regex '\\bмир\\b' \(line 8\): '\\b' next to 'м' cannot be checked by RE2, whose word boundary knows "
                 r"ASCII letters only; drop it \(a match must start and end at a word boundary anyway\)\."),
])
def test_regex_rules_must_run_in_linear_time(tmp_path, pattern, message):
    path = write(tmp_path, "groups:\n  g: G\nthemes:\n" + THEME.format(id="x", group="g", rules=f"    regex: ['{pattern}']\n"))
    if message is None:
        assert load_codebook(path).theme("x").regex == (pattern,)
    else:
        with pytest.raises(CodebookError, match=r"cb\.yml, line 4, theme 'x': " + message):
            load_codebook(path)


def test_a_rule_that_may_never_match_is_a_warning(tmp_path):
    path = write(tmp_path, "groups:\n  g: G\nthemes:\n" + THEME.format(id="x", group="g", rules="    regex: ['\\b\\+\\+\\b', 'C\\+\\+']\n"))
    assert load_codebook(path).warnings == (
        f"{path}, line 4, theme 'x': regex '\\b\\+\\+\\b' (line 8): '\\b' next to '+', which is not a letter or digit, "
        "holds only where a letter or digit is on its other side, so the rule may never match; drop the '\\b' or move it "
        "next to a letter or digit.",)
