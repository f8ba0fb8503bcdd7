"""The notebooks: committed clean, executed with papermill on the seed corpus, and what readers get.

Builds the seed corpus's reports (ingest, annotate, analyse) under a temporary folder, runs every
section notebook (``notebooks/NN_*.ipynb``) with papermill on the project kernel and renders the
briefing to HTML and PDF. Then: the DataFrames and figures the notebooks make are read back from
the kernel (a probe cell appended to a copy of the notebook prints them as JSON) and compared
with the CSV files of the reports folder; the HTML is checked in headless Chromium, the PDF's
headings and vectors; a notebook dropped in (99_extra) becomes the last section; running the
notebooks with other parameters leaves the reports folder byte-identical; hostile text stays text.
"""

from __future__ import annotations

import ast
import base64
import csv
import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from bs4 import BeautifulSoup
from pypdf import PdfReader

from helpers.report import render
from helpers.analysis.analysis import read_annotated, read_evidence, write_analysis_tables
from helpers.annotation.annotate import annotate_corpus
from helpers.corpus.corpus import ingest
from helpers.errors import RenderError
from helpers.report.findings import SECTIONS
from helpers.params import DEFAULTS
from helpers.provenance import PROJECT_ROOT, git_commit

NOTEBOOKS = sorted((PROJECT_ROOT / "notebooks").glob("*.ipynb"))
SECTION_NOTEBOOKS = render.section_notebooks(PROJECT_ROOT / "notebooks")
DATA = PROJECT_ROOT / "data"
CODEBOOK = DATA / "codebook.yml"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
HEADINGS = ["1. Key findings", "2. The corpus and its cleaning", "3. Themes", "4. Themes by document", "5. Change over time",
            "6. Co-occurrence", "7. Overlap", "8. Verbatim reuse", "9. Distinctive language", "10. Evidence: quotes per theme",
            "11. Methods and provenance"]


def build_reports(corpus: Path, reports: Path, build: Path, validation: bool = True) -> None:
    """What make does before rendering: ingest, annotate (with the validation sample), analyse."""
    ingest(corpus, build)
    val = corpus / "annotations" / "validation.csv"
    annotate_corpus(build / "paragraphs.parquet", CODEBOOK, reports, validation_path=val if validation and val.is_file() else None)
    write_analysis_tables(read_annotated(reports / "annotated_paragraphs.csv"), read_evidence(reports), reports)


def folder_digest(folder: Path) -> dict[str, str]:
    """SHA-256 of every file under ``folder`` by relative path."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def seed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("seed")
    reports, build = tmp / "reports", tmp / "build"
    build_reports(DATA, reports, build)
    html, pdf = reports / "briefing.html", reports / "briefing.pdf"
    params = {"corpus": str(DATA), "codebook": str(CODEBOOK), "reports": str(reports), "build": str(build)}
    render.render_briefing(SECTION_NOTEBOOKS, parameters=params, executed_dir=reports / "notebooks", html_path=html, pdf_path=pdf)
    text = html.read_text(encoding="utf-8")
    return {"tmp": tmp, "reports": reports, "build": build, "html": html, "pdf": pdf, "params": params,
            "text": text, "soup": BeautifulSoup(text, "html.parser"), "commit": git_commit()}


def probe(name: str, params: dict, expression: str, tmp_path: Path) -> object:
    """Run notebook ``name`` with papermill and return ``expression`` evaluated in its kernel at the end (via JSON)."""
    nb = nbformat.read(str(PROJECT_ROOT / "notebooks" / name), as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(f"import json as _json\nprint('PROBE' + _json.dumps({expression}, default=str))"))
    path = tmp_path / name
    nbformat.write(nb, str(path))
    executed = render.execute_notebook(path, tmp_path / "executed" / name, params)
    out = "".join(o.get("text", "") for o in executed.cells[-1].outputs if o.get("name") == "stdout")
    return json.loads(out.split("PROBE", 1)[1])


def csv_table(seed, name: str) -> pd.DataFrame:
    return pd.read_csv(seed["reports"] / name, keep_default_na=False, na_values={"share": [""]})


# ------------------------------------------------------------------ committed notebooks

def test_the_sections_are_the_numbered_notebooks_and_the_cookbook_is_not_one():
    assert [p.name for p in SECTION_NOTEBOOKS] == [
        "01_key_findings.ipynb", "02_corpus.ipynb", "03_themes.ipynb", "04_document_themes.ipynb", "05_trends.ipynb",
        "06_cooccurrence.ipynb", "07_overlap.ipynb", "08_reuse.ipynb", "09_language.ipynb", "10_quotes.ipynb", "11_methods.ipynb"]
    assert {p.name for p in NOTEBOOKS} - {p.name for p in SECTION_NOTEBOOKS} == {"cookbook.ipynb"}


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
    assert "matplotlib.use" not in "".join(c.source for c in code)  # figures show inline in JupyterLab


# ------------------------------------------------------------------ values the notebooks compute

def test_theme_shares_plotted_and_tabled_equal_theme_frequencies_csv(seed, tmp_path):
    got = probe("03_themes.ipynb", seed["params"], """{
        "order": order, "labels": labels,
        "panels": [[ax.get_title(loc="left"), [p.get_width() for p in ax.patches]] for ax in fig.axes if ax.get_visible()],
        "wide": wide.to_dict("records")}""", tmp_path)
    freq = csv_table(seed, "theme_frequencies.csv")
    org = freq[freq["by"] == "organization"].set_index(["group", "theme"])
    assert [title for title, _ in got["panels"]] == ["BRICS", "CSTO", "ISW"]
    for group, widths in got["panels"]:
        assert widths == pytest.approx([100 * org.loc[(group, t), "share"] for t in got["order"]], abs=1e-9), group
    # the order is by pooled share: the most frequent theme of the whole corpus first
    pooled = freq[freq["by"] == "organization"].groupby("theme")["paragraphs"].sum()
    assert got["order"][0] == pooled.idxmax() == "regional_organizations"
    row = next(r for r in got["wide"] if r["Theme"] == got["labels"]["regional_organizations"])
    csto = org.loc[("CSTO", "regional_organizations")]
    assert row["CSTO"].startswith(f"{int(csto['paragraphs'])}/{int(csto['body_paragraphs'])} · {round(100 * csto['share'])}%")
    assert row["All"].startswith(f"{int(pooled['regional_organizations'])}/118 · ")


def test_corpus_tables_count_the_annotated_paragraphs(seed, tmp_path):
    got = probe("02_corpus.ipynb", seed["params"], '{"docs": docs.to_dict("records"), "cleaning": cleaning.to_dict("records")}', tmp_path)
    annotated = read_annotated(seed["reports"] / "annotated_paragraphs.csv")
    docs = pd.DataFrame(got["docs"])
    assert len(docs) == annotated["doc_id"].nunique() == 8
    assert docs.set_index("doc_id")["body"].to_dict() == annotated.groupby("doc_id").size().to_dict()
    assert int(docs["words"].sum()) == int(annotated["n_words"].sum()) == 6389
    removed = pd.read_csv(seed["build"] / "cleaning.csv")
    assert {r["doc_id"]: r["fragments"] for r in got["cleaning"]} == removed.groupby("doc_id").size().to_dict()


def test_cooccurrence_bars_are_the_lifts_of_cooccurrence_csv(seed, tmp_path):
    got = probe("06_cooccurrence.ipynb", seed["params"], """{
        "pairs": top[["theme_a", "theme_b", "lift"]].values.tolist(),
        "bars": [p.get_width() for p in figures.plot_cooccurrence(top, labels=labels, source=source).axes[0].patches]}""", tmp_path)
    cooc = csv_table(seed, "cooccurrence.csv").sort_values(["lift", "paragraphs", "theme_a", "theme_b"],
                                                           ascending=[False, False, True, True], kind="mergesort").head(10)
    assert [p[:2] for p in got["pairs"]] == cooc[["theme_a", "theme_b"]].values.tolist()
    assert got["bars"] == pytest.approx(cooc["lift"].tolist())
    assert got["bars"][0] == pytest.approx(cooc["lift"].max())


def test_reuse_tables_are_text_reuse_csv_with_highlights(seed, tmp_path):
    got = probe("08_reuse.ipynb", seed["params"], """{
        "rows": len(reuse), "words": reuse["words"].tolist(), "side": side.to_dict("records"),
        "kinds": summaries["kinds"].to_dict("records")}""", tmp_path)
    reuse = csv_table(seed, "text_reuse.csv")
    assert got["rows"] == len(reuse) == 12
    assert sorted(got["words"]) == sorted(reuse["words"].tolist())
    longest = reuse.sort_values("words", ascending=False, kind="mergesort")["words"].head(5).tolist()
    assert [int(r["pair"].split(", ")[1].split()[0]) for r in got["side"]] == longest
    assert all("<mark>" in r["earlier"] and "<mark>" in r["later"] for r in got["side"])
    assert {k["kind"]: k["passages"] for k in got["kinds"]} == {"cross": 0, "self": 12}


def test_key_findings_are_computed_and_link_to_sections(seed, tmp_path):
    got = probe("01_key_findings.ipynb", seed["params"], "[[f.text, f.section] for f in found]", tmp_path)
    assert 5 <= len(got) <= 8
    assert got[0][0].startswith("The briefing reads 118 body paragraphs in 8 documents by 3 organisations")
    for text, section in got:
        assert re.search(r"\d", text) and f'id="{section}"' in seed["text"], section


def test_agreement_table_and_figure_equal_agreement_csv(seed, tmp_path):
    got = probe("11_methods.ipynb", seed["params"], """{"table": table.to_dict("records"),
        "bars": [p.get_width() for ax in figures.plot_agreement(table, source=source).axes if ax.get_visible() for p in ax.patches]}""",
                tmp_path)
    agreement = pd.read_csv(seed["reports"] / "agreement.csv")
    final = agreement[(agreement["annotation"] == "final") & (agreement["sample"] == "in-sample")].set_index("theme")
    table = pd.DataFrame(got["table"])
    micro = table[table["theme"] == "All decisions (micro)"].iloc[0]
    assert micro["f1"] == pytest.approx(final.loc["(overall)", "f1"]) and micro["sample"] == "in-sample"
    assert micro["f1_low"] == pytest.approx(final.loc["(overall)", "f1_low"])
    assert int(table[table["theme"] != "All decisions (micro)"]["hand"].iloc[0]) == int(final.iloc[0]["gold_pos"])
    shown = table[~table["theme"].str.startswith("Mean")].dropna(subset=["f1"])
    assert got["bars"] == pytest.approx(shown["f1"].tolist())


def test_distinctive_terms_are_keyness_csv(seed, tmp_path):
    got = probe("09_language.ipynb", seed["params"], 'rt.top_terms(terms, "CSTO", 5)[["term", "ll"]].values.tolist()', tmp_path)
    k = csv_table(seed, "keyness.csv")
    k = k[(k["group"] == "CSTO") & (k["direction"] == "over")].sort_values(["ll", "term"], ascending=[False, True], kind="mergesort")
    assert [t for t, _ in got] == k["term"].head(5).tolist()
    assert [ll for _, ll in got] == pytest.approx(k["ll"].head(5).tolist())


def test_executed_notebooks_are_in_reports_with_figures_and_pandas_tables(seed):
    executed = sorted((seed["reports"] / "notebooks").glob("*.ipynb"))
    assert [p.name for p in executed] == [p.name for p in SECTION_NOTEBOOKS]
    svgs, tables = [], 0
    for path in executed:
        nb = nbformat.read(str(path), as_version=4)
        for cell in nb.cells:
            for out in cell.get("outputs", []):
                data = out.get("data", {})
                if "image/svg+xml" in data:
                    svgs.append(data["image/svg+xml"])
                html = data.get("text/html", "")
                if "<table" in html and ('class="dataframe"' in html or '<table id="T_' in html):
                    tables += 1
        assert nb.metadata["papermill"]["parameters"]["reports"] == str(seed["reports"])
    assert len(svgs) >= 6 and tables >= 6
    # every chart of the briefing is one of those outputs
    shown = re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"', seed["text"])
    assert len(shown) == len(svgs)
    assert {base64.b64decode(s).decode("utf-8") for s in shown} == set(svgs)


# ------------------------------------------------------------------ the rendered briefing

def test_briefing_sections_findings_and_captions(seed):
    text, soup = seed["text"], seed["soup"]
    for section in SECTIONS:
        assert f'id="{section}"' in text, section
    assert [h.get_text(" ", strip=True) for h in soup.select("main h2[id]")] == HEADINGS
    heading = soup.find("h2", id="key-findings")
    items = heading.find_next("ul").find_all("li")
    assert 5 <= len(items) <= 8
    for item in items:
        target = item.find("a", class_="see")["href"][1:]
        assert soup.find(id=target) is not None
    assert "The briefing reads 118 body paragraphs in 8 documents by 3 organisations" in items[0].get_text(" ", strip=True)
    captions = [p.get_text(" ", strip=True) for p in soup.select("p.caption")]
    figures = [c for c in captions if c.startswith("Figure")]
    tables = [c for c in captions if c.startswith("Table")]
    assert [c.split(".")[0] for c in figures] == [f"Figure {i}" for i in range(1, len(figures) + 1)]
    assert [c.split(".")[0] for c in tables] == [f"Table {i}" for i in range(1, len(tables) + 1)]
    assert len(figures) >= 6 and len(tables) >= 6
    assert len(soup.select('img[src^="data:image/svg+xml;base64,"]')) == len(figures)
    assert all(len(img["alt"]) >= 20 for img in soup.select("main img"))


def test_briefing_shows_no_code(seed):
    text = seed["text"]
    for code in ("load.load_selection", "import pandas", "rt.style_table", "figures.plot_", "organizations = []"):
        assert code not in text
    assert "In&nbsp;[" not in text and "For analysts." not in text and "Ranking with ties" not in text


def test_briefing_cites_quotes_and_highlights_reuse(seed):
    text = seed["text"]
    assert "Kazan Declaration of the XVI BRICS Summit: international security paragraphs, 2024-10-23, ¶" in text
    assert re.search(r"Reused passage, \d+ words", text)
    assert text.count("<mark>") > 20


def test_briefing_shares_table_equals_theme_frequencies_csv(seed):
    caption = next(p for p in seed["soup"].select("p.caption") if "Body paragraphs carrying each theme" in p.get_text())
    table = caption.find_next("table")
    header = [th.get_text(strip=True) for th in table.find("thead").find_all("th")]
    assert header == ["Theme", "BRICS", "CSTO", "ISW", "All"]
    freq = csv_table(seed, "theme_frequencies.csv")
    org = freq[freq["by"] == "organization"].set_index(["group", "theme"])
    labels = {t["id"]: t["label"] for t in __import__("yaml").safe_load(CODEBOOK.read_text(encoding="utf-8"))["themes"]}
    by_label = {v: k for k, v in labels.items()}
    rows = [[td.get_text(" ", strip=True) for td in tr.find_all("td")] for tr in table.find("tbody").find_all("tr")]
    assert len(rows) == int((freq[freq["by"] == "organization"].groupby("theme")["paragraphs"].sum() > 0).sum())
    for row in rows:
        theme = by_label[row[0]]
        for group, cell in zip(["BRICS", "CSTO", "ISW"], row[1:]):
            r = org.loc[(group, theme)]
            assert cell.startswith(f"{int(r['paragraphs'])}/{int(r['body_paragraphs'])} · {round(100 * r['share'])}% "), (theme, group)


def test_pdf_headings_page_numbers_and_vector_figures(seed):
    reader = PdfReader(str(seed["pdf"]))
    text = "\n".join(p.extract_text() for p in reader.pages)
    for heading in HEADINGS:
        assert heading in text
    assert f"Page 1 of {len(reader.pages)}" in text
    assert "Figure 1." in text and "Table 1." in text
    # charts are SVG vectors: the only raster images are the pixel grids of heatmaps, which the SVG itself embeds
    svgs = [base64.b64decode(s) for s in re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"', seed["text"])]
    embedded = sum(svg.count(b"<image ") for svg in svgs)
    rasters = {image.name for page in reader.pages for image in page.images}  # WeasyPrint shares one resource dict
    assert len(rasters) == embedded < len(svgs)


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


# ------------------------------------------------------------------ a notebook dropped in, other parameters, reruns

EXTRA = [
    nbformat.v4.new_markdown_cell("# Extra analysis"),
    nbformat.v4.new_code_cell("import pandas as pd\npd.DataFrame({'organisation': ['CSTO', 'BRICS'], 'speeches': [6, 1]})"),
    nbformat.v4.new_code_cell("import matplotlib.pyplot as plt\nfig, ax = plt.subplots()\nax.bar(['CSTO', 'BRICS'], [6, 1])\n"
                              "ax.set_title('Speeches per organisation')"),
]


def test_a_notebook_dropped_in_becomes_the_last_section_with_its_figure_and_table(seed, tmp_path):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    for name in ("10_quotes.ipynb", "11_methods.ipynb"):
        shutil.copy(PROJECT_ROOT / "notebooks" / name, folder / name)
    extra = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("corpus = 'data'", metadata={"tags": ["parameters"]})
    extra.cells = [params, *EXTRA]
    extra.metadata["kernelspec"] = {"name": render.KERNEL_NAME, "display_name": "Briefing", "language": "python"}
    nbformat.write(extra, str(folder / "99_extra.ipynb"))
    sections = render.section_notebooks(folder)
    assert [p.name for p in sections] == ["10_quotes.ipynb", "11_methods.ipynb", "99_extra.ipynb"]
    html, pdf = tmp_path / "b.html", tmp_path / "b.pdf"
    render.render_briefing(sections, parameters=seed["params"], executed_dir=tmp_path / "executed", html_path=html, pdf_path=pdf)
    soup = BeautifulSoup(html.read_text(encoding="utf-8"), "html.parser")
    last = soup.select("main h2[id]")[-1]
    assert last.get_text(strip=True) == "3. Extra analysis"
    after = "".join(str(x) for x in last.find_all_next())
    table = last.find_next("table")
    assert "dataframe" in table["class"] and [td.get_text() for td in table.find_all("td")] == ["CSTO", "6", "BRICS", "1"]
    assert 'src="data:image/svg+xml;base64,' in after  # the plain matplotlib figure, as SVG
    assert "plt.subplots" not in str(soup) and "pd.DataFrame" not in str(soup)
    assert soup.find("nav", id="toc").find_all("a")[-1]["href"] == "#extra-analysis"
    pages = PdfReader(str(pdf)).pages
    assert "3. Extra analysis" in pages[-1].extract_text() or "3. Extra analysis" in pages[-2].extract_text()
    assert (tmp_path / "executed" / "99_extra.ipynb").is_file()


def test_running_notebooks_with_other_parameters_leaves_reports_byte_identical(seed, tmp_path):
    before = folder_digest(seed["reports"])
    other = {**seed["params"], "organizations": ["CSTO"], "themes": ["terrorism", "drug_trafficking", "un_system"],
             "date_from": "2024-01-01", "top_n": 3, "build": None}
    for path in SECTION_NOTEBOOKS:
        render.execute_notebook(path, tmp_path / path.name, other)
    assert folder_digest(seed["reports"]) == before
    assert len(before) >= 30 and "briefing.pdf" in before and "notebooks/11_methods.ipynb" in before


def test_the_notebooks_run_from_the_notebooks_folder_with_relative_paths(seed, tmp_path):
    """As in JupyterLab: the kernel starts in notebooks/, the parameters keep their defaults ("data", ...)."""
    executed = render.execute_notebook(PROJECT_ROOT / "notebooks" / "03_themes.ipynb", tmp_path / "t.ipynb",
                                       {"reports": seed["params"]["reports"]}, cwd=PROJECT_ROOT / "notebooks")
    assert any("image/svg+xml" in o.get("data", {}) for c in executed.cells for o in c.get("outputs", []))


def test_cookbook_recipes_run(seed, tmp_path):
    got = probe("cookbook.ipynb", seed["params"], """{"both": len(both), "document": document, "involving": len(involving),
        "trial": trial_shares[["group", "paragraphs"]].values.tolist(), "trial_left": trial.exists()}""", tmp_path)
    annotated = read_annotated(seed["reports"] / "annotated_paragraphs.csv")
    carried = annotated["themes"].fillna("").str.split(";")
    assert got["both"] == int(carried.map(lambda t: "terrorism" in t and "drug_trafficking" in t).sum()) == 7
    reuse = csv_table(seed, "text_reuse.csv")
    assert got["involving"] == int(((reuse["doc_a"] == got["document"]) | (reuse["doc_b"] == got["document"])).sum())
    assert dict(got["trial"])["BRICS"] >= 1  # "energy" in the Kazan Declaration
    assert got["trial_left"] is False


def test_same_inputs_give_byte_identical_briefing_and_executed_notebooks_on_shared_or_fresh_kernels(seed, tmp_path):
    """The seed briefing ran its sections on kernels that run several each; this run starts a kernel per section."""
    if git_commit() != seed["commit"]:
        pytest.skip("the git checkout changed while the tests ran; the commit is printed in the appendix")
    html, pdf = tmp_path / "again.html", tmp_path / "again.pdf"
    render.render_briefing(SECTION_NOTEBOOKS, parameters=seed["params"], executed_dir=tmp_path / "notebooks", html_path=html,
                           pdf_path=pdf, fresh_kernels=True)
    assert html.read_bytes() == seed["html"].read_bytes()
    assert pdf.read_bytes() == seed["pdf"].read_bytes()
    for path in SECTION_NOTEBOOKS:
        assert (tmp_path / "notebooks" / path.name).read_bytes() == (seed["reports"] / "notebooks" / path.name).read_bytes(), path.name


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
    render.render_briefing(SECTION_NOTEBOOKS, parameters={"corpus": str(corpus), "codebook": str(CODEBOOK), "reports": str(reports),
                                                          "top_n": 40, "build": str(build)},
                           executed_dir=reports / "notebooks", html_path=html, pdf_path=None)
    return {"html": html, "text": html.read_text(encoding="utf-8"), "tmp": tmp}


def test_hostile_text_renders_as_text(hostile):
    text = hostile["text"]
    assert "<script" not in text.lower()
    assert "onerror=alert" not in text.replace("&lt;img src=x onerror=alert(1)&gt;", "").replace("&lt;img src=y onerror=alert(2)&gt;", "")
    assert "&lt;script&gt;alert(\"title\")&lt;/script&gt;" in text or "&lt;script&gt;alert(&quot;title&quot;)&lt;/script&gt;" in text
    assert "&lt;script&gt;alert('para')&lt;/script&gt; &lt;img src=y onerror=alert(2)&gt;" in text.replace("&#x27;", "'").replace("&#39;", "'")


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (Debian: apt-get install chromium; .ci/run installs it)")
def test_hostile_text_is_not_live_in_chromium(hostile, tmp_path):
    result = _chromium(hostile["html"].as_uri(), tmp_path, "--dump-dom")
    assert _browser_problems(result.stderr) == []
    dom = result.stdout
    assert "<script" not in dom.lower() and "<img src=\"x\"" not in dom and "<img src=\"y\"" not in dom
    assert "&lt;script&gt;alert('para')&lt;/script&gt;" in dom


def _render_error(params, seed, tmp_path):
    with pytest.raises(RenderError) as info:
        render.execute_notebook(PROJECT_ROOT / "notebooks" / "01_key_findings.ipynb", tmp_path / "b.ipynb", {**seed["params"], **params})
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
    params = {**seed["params"], "organizations": ["CSTO"], "themes": ["terrorism", "drug_trafficking", "illegal_migration"],
              "date_from": "2024-01-01", "title": "CSTO only"}
    html = tmp_path / "b.html"
    render.render_briefing([PROJECT_ROOT / "notebooks" / "01_key_findings.ipynb"], parameters=params, executed_dir=tmp_path / "nb",
                           html_path=html)
    text = html.read_text(encoding="utf-8")
    annotated = read_annotated(seed["reports"] / "annotated_paragraphs.csv")
    chosen = annotated[(annotated["organization"] == "CSTO") & (annotated["date"] >= "2024-01-01")]
    docs = chosen["doc_id"].nunique()
    assert f"The briefing reads {len(chosen)} body paragraphs in {docs} documents by 1 organisation" in text
    findings = BeautifulSoup(text, "html.parser").find("h2", id="key-findings").find_next("ul").get_text(" ", strip=True)
    assert "BRICS" not in findings
    assert "<title>CSTO only</title>" in text
    assert "Selection: CSTO; 3 themes; documents dated 2024-01-01 to" in text
