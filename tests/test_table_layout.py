"""Column widths set at render (helpers.report.table_layout), checked by hand against the CSS auto-layout rule."""

from bs4 import BeautifulSoup

from helpers.report.table_layout import column_widths, size_table_columns


def test_widths_follow_the_longest_cells_when_they_fit():
    # Theme: header 5+3, longest cell 21+3 = 24 characters; All: header 3+3, "36 %" is a number, 4+3 = 7 -> 24:7 of 31
    rows = [[("Theme", True), ("All", True)], [("United Nations system", False), ("36 %", False)]]
    assert column_widths(rows) == [77.4, 22.6]


def test_room_left_is_shared_by_how_much_more_each_column_wants():
    # Quote: narrowest 8 (header), widest 50*4+49+3 = 252; N: narrowest and widest 5 ("12" + 3).
    # 252 + 5 > 110, so Quote gets 8 + (110 - 13) = 105 and N keeps 5: 105/110 and 5/110.
    rows = [[("Quote", True), ("N", True)], [(" ".join(["word"] * 50), False), ("12", False)]]
    assert column_widths(rows) == [95.5, 4.5]


def test_long_body_words_count_only_up_to_the_cap_but_header_words_whole():
    rows = [[("Internationalisation", True), ("x", True)], [("a" * 40, False), ("y", False)]]
    narrow_header = len("Internationalisation") + 3  # 23: a header word is never broken
    assert column_widths(rows, available=narrow_header + 4) == [85.2, 14.8]  # widest: 43 and 4 do not fit; room 0
    assert column_widths([[("a" * 40, False), ("y", False)]], available=25) == [84.0, 16.0]  # 16 + 3 = 19 and 4: room 2 to col 0


def test_narrowest_widths_a_little_too_wide_are_shrunk_into_the_padding():
    rows = [[("abcdefghijklmnop", True), ("abc", True)]]  # narrowest 16 + 3 = 19 and 3 + 3 = 6: 25 characters
    assert column_widths(rows, available=24) == [76.0, 24.0]  # 19 and 6 of 25, shrunk by 1/25: each keeps 2.2+ padding
    assert column_widths(rows, available=21) is None  # 19 x 21/25 = 16.0 < 17: the header word would not fit


def test_tables_that_cannot_be_sized_are_left_to_the_automatic_layout():
    assert column_widths([]) is None
    assert column_widths([[("a", True), ("b", True)], [("c", False)]]) is None  # ragged
    assert column_widths([[(f"header{i}", True) for i in range(20)]]) is None  # 20 x 10 characters > 110


def test_size_table_columns_adds_a_colgroup_to_plain_tables_only():
    soup = BeautifulSoup(
        '<table id="a"><tr><th>Theme</th><th>All</th></tr><tr><td>United Nations system</td><td>36 %</td></tr></table>'
        '<table id="b" class="side"><tr><td>x</td><td>y</td></tr></table>'
        '<table id="c"><tr><th colspan="2">Both</th></tr><tr><td>x</td><td>y</td></tr></table>', "html.parser")
    assert size_table_columns(soup) == 1
    a, b, c = soup.find(id="a"), soup.find(id="b"), soup.find(id="c")
    assert [col["style"] for col in a.find_all("col")] == ["width: 77.4%", "width: 22.6%"]
    assert a["class"] == ["sized"]
    assert b.find("colgroup") is None and c.find("colgroup") is None
