"""The notebooks: committed clean, executed with papermill on the seed corpus, and what readers get.

Builds the seed corpus's reports (ingest, annotate, analyse) under a temporary folder, runs
every notebook in ``notebooks/`` with papermill on the project kernel, renders the briefing
to HTML and PDF, then checks the HTML in headless Chromium, the PDF's headings and theme
counts against ``theme_frequencies.csv``, a corpus with hostile HTML-like text, and
parameter errors.
"""

from __future__ import annotations

import ast
import csv
import os
import re
import shutil
import subprocess
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from pypdf import PdfReader

from helpers import render
from helpers.analysis import read_annotated, read_evidence, write_analysis_tables
from helpers.annotate import annotate_corpus
from helpers.corpus import ingest
from helpers.errors import RenderError
from helpers.findings import SECTIONS
from helpers.params import DEFAULTS
from helpers.provenance import PROJECT_ROOT, git_commit

NOTEBOOKS = sorted((PROJECT_ROOT / "notebooks").glob("*.ipynb"))
DATA = PROJECT_ROOT / "data"
CODEBOOK = DATA / "codebook.yml"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
HEADINGS = ["1. Key findings", "2. The corpus", "3. Themes", "4. Co-occurrence", "5. Overlap",
            "6. Distinctive language and evidence", "7. Methods and provenance"]


def build_reports(corpus: Path, reports: Path, build: Path, validation: bool = True) -> None:
    """What make does before rendering: ingest, annotate (with the validation sample), analyse."""
    ingest(corpus, build)
    val = corpus / "annotations" / "validation.csv"
    annotate_corpus(build / "paragraphs.parquet", CODEBOOK, reports, validation_path=val if validation and val.is_file() else None)
    write_analysis_tables(read_annotated(reports / "annotated_paragraphs.csv"), read_evidence(reports), reports)


@pytest.fixture(scope="module")
def seed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("seed")
    reports, build = tmp / "reports", tmp / "build"
    build_reports(DATA, reports, build)
    html, pdf = reports / "briefing.html", reports / "briefing.pdf"
    params = {"corpus": str(DATA), "codebook": str(CODEBOOK), "reports": str(reports)}
    render.render_briefing(PROJECT_ROOT / "notebooks" / "briefing.ipynb", parameters=params, build_dir=build,
                           html_path=html, pdf_path=pdf)
    return {"tmp": tmp, "reports": reports, "build": build, "html": html, "pdf": pdf, "params": params,
            "text": html.read_text(encoding="utf-8"), "commit": git_commit()}


# ------------------------------------------------------------------ committed notebooks

def test_there_are_four_notebooks():
    assert [p.name for p in NOTEBOOKS] == ["01_corpus_overview.ipynb", "02_themes.ipynb", "03_overlap_reuse.ipynb", "briefing.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_committed_without_outputs_and_with_parameters_cell(path):
    nb = nbformat.read(str(path), as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.outputs == [] and c.execution_count is None for c in code), "clear outputs before committing"
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    assigned = {}
    for node in ast.parse(tagged[0].source).body:
        assert isinstance(node, ast.Assign), "the parameters cell only assigns values"
        assigned[node.targets[0].id] = ast.literal_eval(node.value)
    assert assigned == DEFAULTS
    assert nb.metadata["kernelspec"]["name"] == render.KERNEL_NAME
    assert all("execution" not in c.metadata for c in nb.cells)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_thin(path):
    """Narrative and calls: no function or class definitions, no loops, short cells."""
    nb = nbformat.read(str(path), as_version=4)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        tree = ast.parse(cell.source)
        assert not [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef, ast.For, ast.While))]
        if "parameters" in cell.metadata.get("tags", []):
            continue  # one assignment per parameter, checked against DEFAULTS above
        assert len(cell.source.splitlines()) <= 14


# ------------------------------------------------------------------ execution on the seed corpus

@pytest.mark.parametrize("name", ["01_corpus_overview.ipynb", "02_themes.ipynb", "03_overlap_reuse.ipynb"])
def test_analyst_notebooks_execute(seed, name, tmp_path):
    executed = render.execute_notebook(PROJECT_ROOT / "notebooks" / name, tmp_path / name, seed["params"])
    errors = [o for c in executed.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert errors == []
    html = "".join(o.get("data", {}).get("text/html", "") for c in executed.cells for o in c.get("outputs", []))
    assert "<table" in html
    if name == "03_overlap_reuse.ipynb":
        assert "Reused passage" in html and "<mark>" in html


def test_briefing_sections_and_findings(seed):
    text = seed["text"]
    for section, heading in SECTIONS.items():
        assert f'id="{section}"' in text, section
    for heading in HEADINGS:
        assert f">{heading}</h2>" in text
    findings = re.search(r'<ul class="findings">(.*?)</ul>', text, re.S).group(1)
    items = re.findall(r"<li>(.*?)</li>", findings, re.S)
    assert 5 <= len(items) <= 8
    for item in items:
        assert re.search(r"\d", item)
        target = re.search(r'<a class="see" href="#([^"]+)">', item).group(1)
        assert f'id="{target}"' in text
    assert "The briefing reads 118 body paragraphs in 8 documents by 3 organisations" in items[0]


def test_briefing_cites_quotes_and_highlights_reuse(seed):
    text = seed["text"]
    assert "Kazan Declaration of the XVI BRICS Summit: international security paragraphs, 2024-10-23, ¶" in text
    assert re.search(r"Reused passage, \d+ words; shared words highlighted\.", text)
    assert text.count("<mark>") > 20
    assert re.search(r"Figure \d+\.</strong>", text) and "Table 1.</strong>" in text
    assert len(re.findall(r'<img alt="[^"]{20,}" src="data:image/svg\+xml;base64,', text)) >= 5


def test_pdf_headings_and_theme_counts_equal_theme_frequencies_csv(seed):
    reader = PdfReader(str(seed["pdf"]))
    lines = [ln.strip() for p in reader.pages for ln in p.extract_text().splitlines()]
    text = "\n".join(lines)
    for heading in HEADINGS:
        assert heading in text
    assert f"Page 1 of {len(reader.pages)}" in text
    freq = pd.read_csv(seed["reports"] / "theme_frequencies.csv")
    org = freq[freq["by"] == "organization"]
    orgs = sorted(org["group"].unique())
    assert orgs == ["BRICS", "CSTO", "ISW"]
    expected = {}
    for theme, g in org.groupby("theme"):
        g = g.set_index("group")
        expected[theme] = [(int(g.loc[o, "paragraphs"]), int(g.loc[o, "body_paragraphs"]), round(100 * g.loc[o, "share"])) for o in orgs]
        expected[theme].append((int(g["paragraphs"].sum()), int(g["body_paragraphs"].sum()), None))
    start = lines.index(next(ln for ln in lines if ln.startswith("Table 3. Body paragraphs carrying each theme")))
    found = {}
    for i, ln in enumerate(lines[start:], start):
        if ln in expected and ln not in found:
            cells = []
            for nxt, share in zip(lines[i + 1:i + 40], lines[i + 2:i + 41]):
                m = re.fullmatch(r"(\d+)/(\d+)", nxt)
                if m:
                    pct = re.match(r"(\d+)%", share)
                    cells.append((int(m.group(1)), int(m.group(2)), int(pct.group(1)) if pct else None))
                if len(cells) == len(orgs) + 1:
                    break
            found[ln] = cells
    carried = {t for t, rows in expected.items() if rows[-1][0] > 0}
    assert set(found) >= carried
    for theme in carried:
        got = found[theme]
        assert [c[:2] for c in got] == [e[:2] for e in expected[theme]], theme
        assert [c[2] for c in got[:-1]] == [e[2] for e in expected[theme][:-1]], theme


def test_tables_and_figures_fit_the_page(seed):
    """Lay the HTML out with WeasyPrint and check no table or image box reaches past the right margin."""
    from weasyprint import HTML

    doc = HTML(string=seed["text"]).render()
    overflow = []
    for number, page in enumerate(doc.pages, 1):
        page_box = page._page_box
        right = page_box.content_box_x() + page_box.width

        def walk(box):
            if box.element_tag in ("table", "img") and box.position_x + box.margin_width() > right + 0.5:
                overflow.append((number, box.element_tag, box.position_x + box.margin_width() - right))
            for child in getattr(box, "children", []):
                walk(child)

        walk(page_box)
    assert overflow == []
    assert len(doc.pages) > 10


# ------------------------------------------------------------------ Chromium

def _chromium(url: str, tmp: Path, *extra: str) -> subprocess.CompletedProcess:
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--no-first-run", f"--user-data-dir={tmp / 'profile'}", "--enable-logging=stderr", "--v=0"]
    return subprocess.run([CHROMIUM, *flags, *extra, url], capture_output=True, text=True, timeout=120)


def _browser_problems(stderr: str) -> list[str]:
    bad = re.compile(r"CONSOLE|Content Security Policy|Refused to|net::ERR_|Failed to load resource", re.I)
    return [ln for ln in stderr.splitlines() if bad.search(ln)]


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (Debian: apt-get install chromium; .ci/run installs it)")
def test_chromium_detector_catches_a_bad_page(tmp_path):
    """Negative control: a page with an inline script and a remote image under the same CSP is flagged."""
    bad = tmp_path / "bad.html"
    bad.write_text("<!DOCTYPE html><html><head><meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'\"></head>"
                   "<body><p>x</p><script>console.log('live')</script><img src=\"https://example.invalid/x.png\"></body></html>", encoding="utf-8")
    result = _chromium(bad.as_uri(), tmp_path, "--dump-dom")
    assert len(_browser_problems(result.stderr)) >= 2


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (Debian: apt-get install chromium; .ci/run installs it)")
def test_briefing_in_chromium_has_no_errors_blocked_resources_or_blank_page(seed, tmp_path):
    from PIL import Image

    result = _chromium(seed["html"].as_uri(), tmp_path, "--dump-dom")
    assert result.returncode == 0
    assert _browser_problems(result.stderr) == []
    dom = result.stdout
    assert "<script" not in dom.lower()
    for heading in HEADINGS:
        assert heading in dom
    shot = tmp_path / "shot.png"
    result = _chromium(seed["html"].as_uri(), tmp_path, f"--screenshot={shot}", "--window-size=1200,2000")
    assert _browser_problems(result.stderr) == []
    image = Image.open(shot).convert("L")
    lo, hi = image.getextrema()
    assert hi - lo > 100, "blank page"
    dark = sum(image.histogram()[:128])
    assert dark > 0.005 * image.width * image.height, "almost blank page"


# ------------------------------------------------------------------ hostile text, parameters, findings change

@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile")
    corpus = tmp / "corpus"
    shutil.copytree(DATA, corpus, ignore=shutil.ignore_patterns("annotations"))
    rows = list(csv.DictReader((corpus / "manifest.csv").open(encoding="utf-8", newline="")))
    for row in rows:
        if row["doc_id"] == "brics-kazan-2024":
            row["title"] = 'Kazan <script>alert("title")</script> & <img src=x onerror=alert(1)>'
    with (corpus / "manifest.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    raw = corpus / "000_9261be8fc7c8a342.txt"
    text = raw.read_text(encoding="utf-8")
    hostile_text = "<script>alert('para')</script> <img src=y onerror=alert(2)> "
    for anchor in ("We reiterate our unequivocal condemnation of terrorism", "in accordance with the Charter of the United Nations"):
        assert anchor in text
        text = text.replace(anchor, hostile_text + anchor, 1)
    raw.write_text(text, encoding="utf-8")
    reports, build = tmp / "reports", tmp / "build"
    build_reports(corpus, reports, build, validation=False)
    html = reports / "briefing.html"
    render.render_briefing(PROJECT_ROOT / "notebooks" / "briefing.ipynb",
                           parameters={"corpus": str(corpus), "codebook": str(CODEBOOK), "reports": str(reports), "top_n": 40},
                           build_dir=build, html_path=html, pdf_path=None)
    return {"html": html, "text": html.read_text(encoding="utf-8"), "tmp": tmp}


def test_hostile_text_renders_as_text(hostile):
    text = hostile["text"]
    assert "<script" not in text.lower()
    assert "onerror=alert" not in text.replace("&lt;img src=x onerror=alert(1)&gt;", "").replace("&lt;img src=y onerror=alert(2)&gt;", "")
    assert "&lt;script&gt;alert(\"title\")&lt;/script&gt;" in text
    assert "&lt;script&gt;alert('para')&lt;/script&gt; &lt;img src=y onerror=alert(2)&gt;" in text


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (Debian: apt-get install chromium; .ci/run installs it)")
def test_hostile_text_is_not_live_in_chromium(hostile, tmp_path):
    result = _chromium(hostile["html"].as_uri(), tmp_path, "--dump-dom")
    assert _browser_problems(result.stderr) == []
    dom = result.stdout
    assert "<script" not in dom.lower() and "<img src=\"x\"" not in dom and "<img src=\"y\"" not in dom
    assert "&lt;script&gt;alert('para')&lt;/script&gt;" in dom


def _render_error(params, seed, tmp_path):
    with pytest.raises(RenderError) as info:
        render.execute_notebook(PROJECT_ROOT / "notebooks" / "briefing.ipynb", tmp_path / "b.ipynb", {**seed["params"], **params})
    return str(info.value)


def test_unknown_organisation_stops_with_clear_error(seed, tmp_path):
    msg = _render_error({"organizations": ["NATO"]}, seed, tmp_path)
    assert "failed with ParameterError: parameter 'organizations': unknown 'NATO'. Must be among {BRICS, CSTO, ISW}" in msg
    assert str(tmp_path / "b.ipynb") in msg


def test_unknown_group_by_stops_with_the_choices(seed, tmp_path):
    msg = _render_error({"group_by": "bloc"}, seed, tmp_path)
    assert ("failed with ParameterError: parameter 'group_by' must be one of {'organization', 'CSTO', 'SCO', 'BRICS', 'NATO', "
            "'EU', 'blocs', 'eurasian'} (organization, or a group or group set of data/groups.yml). Got 'bloc' instead.") in msg


def test_unknown_theme_and_empty_selection(seed, tmp_path):
    assert "ParameterError: parameter 'themes': unknown 'cyber'. Must be among {afghanistan," in _render_error({"themes": ["cyber"]}, seed, tmp_path)
    assert ("ParameterError: the selection is empty: no body paragraph from {BRICS, CSTO, ISW} dated 2030-01-01 to the end."
            in _render_error({"date_from": "2030-01-01"}, seed, tmp_path))


def test_filtered_briefing_changes_its_findings(seed, tmp_path):
    """The findings are computed: selecting one organisation and fewer themes changes sentences and numbers."""
    reports = tmp_path / "reports"  # the briefing writes its own tables (trends, reuse summaries) next to the briefing
    shutil.copytree(seed["reports"], reports)
    params = {**seed["params"], "reports": str(reports), "organizations": ["CSTO"],
              "themes": ["terrorism", "drug_trafficking", "illegal_migration"], "date_from": "2024-01-01", "title": "CSTO only"}
    html = tmp_path / "b.html"
    render.render_briefing(PROJECT_ROOT / "notebooks" / "briefing.ipynb", parameters=params, build_dir=tmp_path, html_path=html)
    text = html.read_text(encoding="utf-8")
    annotated = read_annotated(seed["reports"] / "annotated_paragraphs.csv")
    chosen = annotated[(annotated["organization"] == "CSTO") & (annotated["date"] >= "2024-01-01")]
    docs = chosen["doc_id"].nunique()
    assert f"The briefing reads {len(chosen)} body paragraphs in {docs} documents by 1 organisation" in text
    assert "BRICS" not in re.search(r'<ul class="findings">(.*?)</ul>', text, re.S).group(1)
    assert "<title>CSTO only</title>" in text
    assert "Selection: CSTO; 3 themes; documents dated 2024-01-01 to" in text


def test_same_inputs_give_byte_identical_briefing_and_csvs(seed, tmp_path):
    """A second build from the same inputs: HTML, PDF and every CSV byte for byte the same."""
    reports, build = tmp_path / "reports", tmp_path / "build"
    build_reports(DATA, reports, build)
    params = {**seed["params"], "reports": str(reports)}
    render.render_briefing(PROJECT_ROOT / "notebooks" / "briefing.ipynb", parameters=params, build_dir=build,
                           html_path=reports / "briefing.html", pdf_path=reports / "briefing.pdf")
    commit = re.compile(r"git commit <code>[^<]*</code>")  # an input too: another engineer may commit meanwhile
    first = commit.sub("", seed["text"].replace(str(seed["reports"]), "REPORTS"))
    second = commit.sub("", (reports / "briefing.html").read_text(encoding="utf-8").replace(str(reports), "REPORTS"))
    assert first == second
    names = sorted(p.name for p in seed["reports"].glob("*.csv"))
    assert "theme_frequencies.csv" in names and "annotated_paragraphs.csv" in names
    for name in names:
        assert (reports / name).read_bytes() == (seed["reports"] / name).read_bytes(), name
    # The reports folder's path is a parameter printed in the appendix; with the same path the PDF is identical too.
    again = tmp_path / "again.pdf"
    if git_commit() != seed["commit"]:
        pytest.skip("the git checkout changed while the tests ran; the commit is printed in the appendix, so the PDFs differ by it")
    render.render_briefing(PROJECT_ROOT / "notebooks" / "briefing.ipynb", parameters=seed["params"], build_dir=build,
                           html_path=tmp_path / "again.html", pdf_path=again)
    assert (tmp_path / "again.html").read_bytes() == seed["html"].read_bytes()
    assert again.read_bytes() == seed["pdf"].read_bytes()
