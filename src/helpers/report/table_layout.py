"""Column widths for the briefing's tables, set once at render so the PDF engine need not measure every word.

WeasyPrint's automatic table layout finds each cell's narrowest and widest width by breaking its
text at every word, and does it again on each page a long table continues onto: on the UNGDC slice
that was two thirds of the time spent printing the PDF. :func:`size_table_columns` computes the
widths by the same rule (CSS 2.1 automatic layout: widest widths when they fit, else narrowest
widths plus the room left shared in proportion to how much more each column wants), with
characters as the unit, writes them as a ``<colgroup>`` and marks the table ``sized``, which the
stylesheet lays out with ``table-layout: fixed``. Browsers and the PDF then show the same columns.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

#: Characters of the briefing's table font (7.8 pt) that fit across the printed page (A4, 15 mm margins).
AVAILABLE_CHARS = 110
#: A cell's left and right padding, in characters.
PADDING_CHARS = 3
#: Body cells may break long words (``overflow-wrap: anywhere``); their longest word counts up to this many characters.
MAX_UNBROKEN_CHARS = 16
NUMBER = re.compile(r"[-+−]?[\d.,]+\s*%?")


def column_widths(rows: Sequence[Sequence[tuple[str, bool]]], available: int = AVAILABLE_CHARS) -> list[float] | None:
    """Column widths in percent (one decimal, summing to 100) for a table of ``rows`` of ``(text, is_header)`` cells.

    A column's narrowest width is its longest unbreakable piece (a header word, a number, a body
    word up to :data:`MAX_UNBROKEN_CHARS`), its widest the longest cell text, both plus padding.
    When the narrowest widths alone overflow ``available`` by less than their padding (each column keeps at
    least one character of it), they are shrunk to fit: every unbreakable piece still fits its column.
    ``None`` (left to the automatic layout) when the rows have different numbers of cells, there is
    none, or the narrowest widths alone do not fit in ``available`` even so.
    """
    if not rows or len({len(r) for r in rows}) != 1 or not rows[0]:
        return None
    n = len(rows[0])
    narrow, wide = [1] * n, [1] * n
    for row in rows:
        for j, (text, header) in enumerate(row):
            words = text.split()
            longest = max((len(w) for w in words), default=0)
            if NUMBER.fullmatch(text):
                unbroken = len(text)
            else:
                unbroken = longest if header else min(longest, MAX_UNBROKEN_CHARS)
            narrow[j] = max(narrow[j], unbroken + PADDING_CHARS)
            wide[j] = max(wide[j], len(" ".join(words)) + PADDING_CHARS)
    if sum(narrow) > available:
        shrink = available / sum(narrow)
        if any(m * shrink < m - PADDING_CHARS + 1 for m in narrow):
            return None
        widths = [float(m) for m in narrow]
    elif sum(wide) <= available:
        widths = [float(w) for w in wide]
    else:
        room = available - sum(narrow)
        extra = [w - m for w, m in zip(wide, narrow)]
        total = sum(extra) or 1
        widths = [m + room * e / total for m, e in zip(narrow, extra)]
    scale = 100 / sum(widths)
    percent = [round(w * scale, 1) for w in widths]
    percent[-1] = round(100 - sum(percent[:-1]), 1)
    return percent


def size_table_columns(soup: Any) -> int:
    """Give every plain table of ``soup`` (BeautifulSoup, changed in place) a ``<colgroup>`` of :func:`column_widths`
    and the class ``sized``. Tables with merged cells, a colgroup of their own or a class ``side`` (fixed
    already) are left to the automatic layout. Output: how many tables were sized."""
    sized = 0
    for table in soup.find_all("table"):
        if "side" in (table.get("class") or []) or table.find("colgroup") is not None or table.find("table") is not None:
            continue
        cells = table.find_all(["th", "td"])
        if any(c.get("colspan", "1") != "1" or c.get("rowspan", "1") != "1" for c in cells):
            continue
        rows = [[(c.get_text(" ", strip=True), c.name == "th") for c in tr.find_all(["th", "td"], recursive=False)]
                for tr in table.find_all("tr")]
        widths = column_widths([r for r in rows if r])
        if widths is None:
            continue
        group = soup.new_tag("colgroup")
        for w in widths:
            group.append(soup.new_tag("col", style=f"width: {w}%"))
        table.insert(0, group)
        table["class"] = [*(table.get("class") or []), "sized"]
        sized += 1
    return sized
