"""PatternSet: one RE2 pass answering whether any of several patterns matches."""

import pickle

from helpers.safe_regex import PatternSet, compile_pattern


def test_pattern_set_answers_as_the_patterns_one_by_one():
    rules = PatternSet([compile_pattern(r"^Advertisement:?$"), compile_pattern(r"^Source: .{1,10}$"), compile_pattern(r"\bpage (\d+)")])
    assert [rules.any_search(t) for t in ("Advertisement", "Advertisement here", "Source: UN", "see page 4", "", "Source: ")] == \
        [True, False, True, True, False, False]
    # match: at the start of the text only
    assert [rules.any_match(t) for t in ("page 4 of 5", "see page 4", "Advertisement:")] == [True, False, True]


def test_pattern_set_keeps_each_patterns_flags_and_python_classes():
    rules = PatternSet([compile_pattern("(?i)abc"), compile_pattern("ABD")])
    assert [rules.any_search(t) for t in ("xAbC", "ABD", "abd")] == [True, True, False]
    assert PatternSet([compile_pattern(r"^\w+$")]).any_search("мир") is True  # \w is Unicode, as in Python


def test_pattern_set_of_mixed_case_rules_and_of_none():
    mixed = PatternSet([compile_pattern("abc", ignorecase=True), compile_pattern("XYZ")])
    assert [mixed.any_search(t) for t in ("ABC", "XYZ", "xyz")] == [True, True, False]
    assert PatternSet([]).any_search("anything") is False and PatternSet([]).any_match("anything") is False


def test_pattern_set_pickles_by_its_patterns():
    rules = pickle.loads(pickle.dumps(PatternSet([compile_pattern("^Key ?words:")])))
    assert [p.pattern for p in rules.patterns] == ["^Key ?words:"]
    assert rules.any_match("Keywords: x") is True and rules.any_match("x Keywords:") is False


def test_spans_of_windows_of_one_encoded_text_are_those_of_the_text():
    from helpers.safe_regex import EncodedText

    text = "Мир: peace and peaceful talks; café peace."
    pattern = compile_pattern(r"\bpeace\w*", ignorecase=True, capture=False)
    assert pattern.groups == 0 and compile_pattern(r"(a)(b)").groups == 2
    encoded = EncodedText(text)
    assert encoded.byte(3) == 6 and encoded.char(6) == 3 and encoded.byte(len(text)) == len(text.encode("utf-8"))
    assert pattern.spans(encoded, 0, len(text)) == pattern.spans(text, 0, len(text)) == [(5, 10), (15, 23), (36, 41)]
    assert pattern.spans(encoded, 16, 30) == []  # the window starts inside a word: \b sees the "p" before it
    assert pattern.spans(encoded, 15, 20) == [(15, 20)]  # the window's end is the end of the text
    ascii_text = EncodedText("peace")
    assert ascii_text.byte(5) == 5 and pattern.spans(ascii_text, 0, 5) == [(0, 5)]


def test_spans_in_ascii_and_non_ascii_windows_are_those_of_python_re():
    import re

    from helpers.safe_regex import EncodedText

    text = "Peace_1 talks\x1c2\u00a0state-building; café 12 peace\u0660 ok. Aid flows, peace."
    encoded = EncodedText(text)
    for source in (r"\w+\s+\w+", r"[^\w\s.;]+\w*", r"\d+\D", r"\S+\s\S", r"peace\W*\w{2}", r"[\w-]+ing\b"):
        pattern = compile_pattern(source, ignorecase=True, capture=False)
        py = re.compile(source, re.IGNORECASE)
        for lo, hi in ((0, len(text)), (0, 13), (8, 30), (31, 46), (47, len(text))):  # ASCII windows and not
            expected, pos = [], lo
            while pos <= hi and (m := py.search(text, pos, hi)):
                expected.append(m.span())
                pos = m.start() + 1
            assert pattern.spans(encoded, lo, hi) == expected, (source, lo, hi)
