"""Rendering: papermill on the project kernel, script-free HTML with contents, A4 PDF, reproducible, failures reported.

Runs small fixture notebooks written into tmp_path (including a broken one), and asserts
what a reader sees.
"""

from __future__ import annotations

import re

import nbformat
import pytest
from pypdf import PdfReader

from helpers.report import render
from helpers.errors import RenderError

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def _notebook(path, cells, parameters="n = 3\nlabel = 'plain'"):
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell(parameters)
    params.metadata["tags"] = ["parameters"]
    nb.cells = [
        nbformat.v4.new_markdown_cell("Analyst note: not for readers.", metadata={"tags": ["remove-cell"]}),
        params,
        *cells,
    ]
    nb.metadata["kernelspec"] = {"name": render.KERNEL_NAME, "display_name": "Briefing", "language": "python"}
    nbformat.write(nb, str(path))
    return path


def _good(tmp_path, name="good.ipynb"):
    return _notebook(tmp_path / name, [
        nbformat.v4.new_markdown_cell("## Introduction {#intro}\n\nNarrative text."),
        nbformat.v4.new_code_cell(
            "import html\nfrom IPython.display import HTML, display\n"
            "display(HTML(f'<p id=\"result\">n squared is {n * n}; label {html.escape(label)}</p>'))\n"
            "print('to stderr', file=__import__('sys').stderr)"),
        nbformat.v4.new_markdown_cell("# A chart {#chart}\n\n### Detail {#chart-detail}"),
        nbformat.v4.new_code_cell(
            "import pandas as pd\nfrom helpers.report import charts\n"
            "df = pd.DataFrame({'o': ['A', 'A', 'B', 'B'], 't': ['x', 'y', 'x', 'y'], 's': [.5, .2, .1, .4]})\n"
            "charts.small_multiples(df, panel='o', category='t', value='s', title='A says x', xlabel='Share (%)', source='fixture')",
            metadata={"caption": "Shares <b>per</b> organisation.", "alt": "two panels", "label": "fig-shares"}),
        nbformat.v4.new_code_cell("df.pivot(index='t', columns='o', values='s')", metadata={"caption": "The shares as a table."}),
        nbformat.v4.new_code_cell("1 + 1"),
    ])


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("render")
    nb = _good(tmp)
    out = {"html": tmp / "out" / "b.html", "pdf": tmp / "out" / "b.pdf", "build": tmp / "build"}
    executed = render.render_briefing([nb], parameters={"n": 7, "label": HOSTILE, "title": "T <i>"},
                                      executed_dir=out["build"] / "notebooks", html_path=out["html"], pdf_path=out["pdf"])
    out["executed"] = executed
    out["text"] = out["html"].read_text(encoding="utf-8")
    out["nb"] = nb
    out["tmp"] = tmp
    return out


def test_parameters_reach_the_kernel_and_the_executed_notebook_is_kept(rendered):
    assert '<p id="result">n squared is 49;' in rendered["text"]
    kept = rendered["build"] / "notebooks" / "good.ipynb"
    assert kept.is_file()
    nb = nbformat.read(str(kept), as_version=4)
    assert nb.metadata["papermill"]["parameters"]["n"] == 7
    assert [c["id"] for c in nb.cells] == [f"cell-{i}" for i in range(1, len(nb.cells) + 1)]
    raw = kept.read_text(encoding="utf-8")
    for volatile in ('"start_time"', '"end_time"', '"duration"', '"iopub.execute_input"'):
        assert volatile not in raw
    assert nb.metadata["kernelspec"]["name"] == render.KERNEL_NAME


def test_project_kernel_runs_this_interpreter():
    import sys

    from jupyter_client.kernelspec import KernelSpecManager

    render.ensure_kernel()
    spec = KernelSpecManager().get_kernel_spec(render.KERNEL_NAME)
    assert spec.argv[0] == sys.executable or spec.argv[0].endswith("/.venv/bin/python")
    assert "--IPKernelApp.log_level=ERROR" in spec.argv
    assert "--InlineBackend.figure_formats=svg" in spec.argv  # figures inline, as vectors
    assert spec.env == {"MATPLOTLIBRC": str(render.MATPLOTLIBRC), "SOURCE_DATE_EPOCH": render.DEFAULT_SOURCE_DATE_EPOCH}


def test_readers_see_no_code_prompts_or_parameters(rendered):
    text = rendered["text"]
    assert "<script" not in text.lower()
    assert "In&nbsp;[" not in text and "Out[" not in text
    assert "import pandas" not in text and "charts.small_multiples" not in text
    assert "n = 3" not in text and "label = " not in text  # the parameters cell
    assert "Parameters" not in text  # papermill's injected-parameters cell
    assert "Analyst note" not in text  # remove-cell
    assert "to stderr" not in text
    assert ">2</pre>" in text  # an execute_result is shown, without its prompt


def test_hostile_parameter_text_is_escaped(rendered):
    text = rendered["text"]
    assert '&lt;script&gt;alert("x")&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;' in text
    assert "onerror=alert(1)>" not in text
    assert "<title>T &lt;i&gt;</title>" in text


def test_html_is_self_contained_with_csp_and_contents(rendered):
    text = rendered["text"]
    csp = re.search(r'<meta content="([^"]*)" http-equiv="Content-Security-Policy"/>', text).group(1)
    assert csp.startswith("default-src 'none'; img-src data:; style-src 'unsafe-inline'")
    assert "script-src" not in csp  # scripts fall back to default-src 'none'
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", text)
    assert "@import" not in text and "require.js" not in text.lower() and "mathjax" not in text.lower()
    toc = re.search(r'<nav aria-label="Contents" class="toc" id="toc">(.*?)</nav>', text, re.S).group(1)
    assert re.findall(r'href="#([^"]+)"', toc) == ["intro", "chart", "chart-detail"]
    # one notebook is one section: its first heading is numbered N., the later ones N.k
    assert '<h2 id="intro">1. Introduction</h2>' in text and '<h3 id="chart">1.1 A chart</h3>' in text
    assert re.search(r'<img alt="two panels" src="data:image/svg\+xml;base64,', text)
    assert "@media print" in text and "size: A4" in text


def test_pdf_is_a4_with_page_numbers_and_contents(rendered):
    reader = PdfReader(str(rendered["pdf"]))
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)
    n = len(reader.pages)
    text = "\n".join(p.extract_text() for p in reader.pages)
    assert f"Page 1 of {n}" in text
    assert "1. Introduction" in text and "1.2 Detail" in text
    first = reader.pages[0].extract_text()
    assert re.search(r"Contents.*1\. Introduction\s*\.+\s*\d", first, re.S) or re.search(r"1\. Introduction[ .]*\d", first)
    assert all(len(page.images) == 0 for page in reader.pages)  # the chart is drawn as vectors, not a raster image
    # and its text is text, in the embedded DejaVu Sans (helpers.report.svg_text): readers can search and copy it
    assert "A says x" in text and "Source: fixture" in text
    fonts = {str(f["/BaseFont"]) for page in reader.pages for f in page["/Resources"]["/Font"].values()
             for f in [f.get_object()]}
    assert any(name.endswith("+DejaVu-Sans-Bold") for name in fonts)  # the chart's title
    assert "CreationDate" not in str(reader.trailer["/Info"]) if "/Info" in reader.trailer else True


def test_two_renders_are_byte_identical(rendered, tmp_path):
    again = {"html": tmp_path / "b.html", "pdf": tmp_path / "b.pdf"}
    render.render_briefing([rendered["nb"]], parameters={"n": 7, "label": HOSTILE, "title": "T <i>"},
                           executed_dir=tmp_path / "build" / "notebooks", html_path=again["html"], pdf_path=again["pdf"])
    assert again["html"].read_bytes() == rendered["html"].read_bytes()
    assert again["pdf"].read_bytes() == rendered["pdf"].read_bytes()
    first = (rendered["build"] / "notebooks" / "good.ipynb").read_bytes()
    assert (tmp_path / "build" / "notebooks" / "good.ipynb").read_bytes() == first  # the executed notebook too, its SVG included


def test_failing_cell_reports_error_and_keeps_last_good_briefing(rendered, tmp_path):
    html_path, pdf_path = tmp_path / "b.html", tmp_path / "b.pdf"
    html_path.write_text("last good", encoding="utf-8")
    pdf_path.write_bytes(b"%PDF last good")
    broken = _notebook(tmp_path / "broken.ipynb", [
        nbformat.v4.new_markdown_cell("## Fine so far"),
        nbformat.v4.new_code_cell("x = n / 0"),
        nbformat.v4.new_code_cell("print('never')"),
    ])
    build = tmp_path / "build"
    with pytest.raises(RenderError, match=r"broken\.ipynb: cell \d+ failed with ZeroDivisionError: division by zero\nThe executed notebook, with the traceback at the failing cell, is .*build/notebooks/broken\.ipynb\. The last good briefing was left in place\.") as info:
        render.render_briefing([broken], parameters={}, executed_dir=build / "notebooks", html_path=html_path, pdf_path=pdf_path)
    assert html_path.read_text(encoding="utf-8") == "last good"
    assert pdf_path.read_bytes() == b"%PDF last good"
    executed = nbformat.read(str(build / "notebooks" / "broken.ipynb"), as_version=4)
    errors = [o for c in executed.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert errors and errors[0]["ename"] == "ZeroDivisionError"
    assert not list(tmp_path.glob(".*tmp")) and not list(tmp_path.glob(".*.new"))
    last = [c for c in executed.cells if c.cell_type == "code"][-1]
    assert last.source == "print('never')" and last.outputs == []  # execution stopped at the failing cell
    assert "ZeroDivisionError" in str(info.value)


def test_notebook_without_parameters_cell(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("1")]
    nbformat.write(nb, str(tmp_path / "np.ipynb"))
    with pytest.raises(RenderError, match=r"np\.ipynb: no cell is tagged 'parameters'\. Tag the cell that sets the defaults"):
        render.execute_notebook(tmp_path / "np.ipynb", tmp_path / "out.ipynb")
    with pytest.raises(RenderError, match=r"missing\.ipynb: notebook not found\."):
        render.execute_notebook(tmp_path / "missing.ipynb", tmp_path / "out.ipynb")


def test_script_output_is_refused(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("", outputs=[nbformat.v4.new_output("display_data", data={"text/html": "<script>alert(1)</script>"})])]
    with pytest.raises(RenderError, match=r"the rendered HTML contains a <script> element"):
        render.notebook_to_html(nb)


def test_javascript_outputs_are_dropped():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("", outputs=[nbformat.v4.new_output("display_data", data={"application/javascript": "alert(1)", "text/plain": "js"})])]
    text = render.notebook_to_html(nb)
    assert "alert(1)" not in text and "<script" not in text.lower()


def test_table_of_contents_nests_h3_under_h2():
    html = '<main><h2 id="a">A</h2><h3 id="a1">A.1</h3><h3 id="a2">A.2</h3><h2 id="b">B</h2><h2>No id</h2></main>'
    out = render._table_of_contents(html)
    assert ('<ol><li><a href="#a">A</a><ol><li><a href="#a1">A.1</a></li><li><a href="#a2">A.2</a></li></ol></li>'
            '<li><a href="#b">B</a></li></ol>') in out


def test_cli_rejects_unknown_parameter_before_running(tmp_path, capsys):
    params = tmp_path / "p.yml"
    params.write_text("organisations: [CSTO]\n", encoding="utf-8")
    code = render.run_cli(render.main, ["--notebook", str(_good(tmp_path)), "--build", str(tmp_path / "build"), "--params", str(params),
                                        "--reports", str(tmp_path / "r")])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {params}: unknown parameter 'organisations'. Known parameters: build, codebook, corpus,")
    assert not (tmp_path / "build").exists() and not (tmp_path / "r").exists()


def test_cli_refuses_a_corpus_that_contradicts_make(tmp_path, capsys):
    params = tmp_path / "p.yml"
    params.write_text("corpus: other\n", encoding="utf-8")
    code = render.run_cli(render.main, ["--notebook", str(_good(tmp_path)), "--build", str(tmp_path / "build"), "--params", str(params),
                                        "--corpus", "data", "--reports", str(tmp_path / "r")])
    assert code == 2
    assert f"error: {params}: parameter 'corpus' is 'other' but make passes 'data'. Remove 'corpus' from the parameter file" in capsys.readouterr().err


def test_cli_checks_organisations_against_the_data_before_running(tmp_path, capsys):
    reports = tmp_path / "r"
    reports.mkdir()
    (reports / "annotated_paragraphs.csv").write_text("para_id,organization,date,themes\np1,CSTO,2024-01-01,terrorism\n", encoding="utf-8")
    params = tmp_path / "p.yml"
    params.write_text("organizations: [NATO]\n", encoding="utf-8")
    code = render.run_cli(render.main, ["--notebook", str(_good(tmp_path)), "--build", str(tmp_path / "build"), "--params", str(params),
                                        "--reports", str(reports), "--codebook", "data/codebook.yml"])
    assert code == 2
    assert capsys.readouterr().err == (f"error: {params}: parameter 'organizations': unknown 'NATO'. Must be among {{CSTO}} "
                                       "(organisations in the corpus manifest).\n")
    assert not (tmp_path / "build").exists()


def test_figures_and_tables_are_numbered_from_cell_metadata_after_the_figure_and_before_the_table(rendered):
    text = rendered["text"]
    figure = text.index('<p class="caption figure-caption" id="fig-shares"><strong>Figure 1.</strong> Shares &lt;b&gt;per&lt;/b&gt; organisation.</p>')
    table = text.index('<p class="caption table-caption" id="table-1"><strong>Table 1.</strong> The shares as a table.</p>')
    image = text.index('src="data:image/svg+xml;base64,')
    assert image < figure < table < text.index('<table', table)


def test_numbering_is_stable_across_reruns_and_follows_the_section_order():
    def section(heading, caption, image):
        nb = nbformat.v4.new_notebook()
        data = {"image/svg+xml": "<svg/>"} if image else {"text/html": "<table></table>"}
        nb.cells = [nbformat.v4.new_markdown_cell(heading),
                    nbformat.v4.new_code_cell("x", metadata={"caption": caption},
                                              outputs=[nbformat.v4.new_output("display_data", data=data)])]
        return nb

    first, second = section("# Alpha", "A chart.", True), section("## Beta {#b}\n\n### Sub\n\ntext", "A table.", False)
    combined = render.combine_notebooks([first, second])
    numbered = render.number_sections(combined)
    assert render.number_sections(combined) == numbered  # rerun: the same numbers
    md = [c.source for c in numbered.cells if c.cell_type == "markdown"]
    assert '<h2 id="alpha">1. Alpha</h2>' in md[0]
    assert '<h2 id="b">2. Beta</h2>' in md[1] and '<h3 id="sub">2.1 Sub</h3>' in md[1] and md[1].rstrip().endswith("text")
    outputs = [o["data"].get("text/html", "") for c in numbered.cells if c.cell_type == "code" for o in c.outputs]
    assert "<strong>Figure 1.</strong> A chart." in outputs[1] and "<strong>Table 1.</strong> A table." in outputs[2]
    swapped = render.number_sections(render.combine_notebooks([second, first]))
    assert '<h2 id="alpha">2. Alpha</h2>' in [c.source for c in swapped.cells if c.cell_type == "markdown"][1]


def test_section_notebooks_are_the_two_digit_ones_in_name_order(tmp_path):
    for name in ("10_b.ipynb", "02_a.ipynb", "cookbook.ipynb", "2_short.ipynb", "99_extra.ipynb"):
        (tmp_path / name).write_text("{}", encoding="utf-8")
    assert [p.name for p in render.section_notebooks(tmp_path)] == ["02_a.ipynb", "10_b.ipynb", "99_extra.ipynb"]


def test_executed_copies_of_removed_sections_are_pruned(tmp_path):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    for name in ("01_a.ipynb", "02_gone.ipynb", "notes.ipynb"):
        (folder / name).write_text("{}", encoding="utf-8")
    render._prune_executed(folder, {"01_a.ipynb"})
    assert sorted(p.name for p in folder.iterdir()) == ["01_a.ipynb", "notes.ipynb"]


def test_a_missing_pdf_engine_is_one_message_saying_what_to_install(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_pango(name, *args, **kwargs):
        if name == "weasyprint":
            raise OSError("cannot load library 'libpango-1.0-0'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pango)
    with pytest.raises(RenderError, match=r"^cannot load WeasyPrint \(cannot load library 'libpango-1\.0-0'\): the PDF needs "
                                          r"the system's Pango library \(Debian/Ubuntu: apt-get install libpango-1\.0-0"):
        render.check_pdf_engine()


def test_sections_run_two_at_a_time_give_the_same_notebooks_in_order(tmp_path):
    notebooks = [_notebook(tmp_path / f"{i:02d}_s.ipynb", [nbformat.v4.new_code_cell(f"print({i} * n)")]) for i in range(1, 4)]
    one = render.execute_notebooks(notebooks, tmp_path / "one", {"n": 5}, kernels=1)
    two = render.execute_notebooks(notebooks, tmp_path / "two", {"n": 5}, kernels=2)
    assert [nb.cells[-1].outputs[0]["text"] for nb in two] == ["5\n", "10\n", "15\n"]
    for path in notebooks:
        assert (tmp_path / "two" / path.name).read_bytes() == (tmp_path / "one" / path.name).read_bytes()
    assert one == two


def test_a_kernel_running_several_sections_puts_back_what_a_section_changed(tmp_path):
    """Section 1 leaves a name, a figure, matplotlib and pandas settings, a warning filter, another working
    directory and a warning shown once; section 2, on the same kernel, sees none of it: its notebook is the
    same bytes as on a kernel of its own."""
    (tmp_path / "elsewhere").mkdir()
    polluter = _notebook(tmp_path / "01_pollute.ipynb", [nbformat.v4.new_code_cell(
        "import os, warnings\nimport matplotlib.pyplot as plt\nimport pandas as pd\nleft_behind = 42\n"
        "plt.rcParams['lines.linewidth'] = 7.0\npd.set_option('display.max_rows', 3)\n"
        "warnings.simplefilter('ignore', UserWarning)\nos.chdir('elsewhere')\nfig = plt.figure()\n"
        "warnings.warn('shown once', RuntimeWarning)")])
    checker = _notebook(tmp_path / "02_check.ipynb", [nbformat.v4.new_code_cell(
        "import os, warnings\nimport matplotlib.pyplot as plt\nimport pandas as pd\n"
        "print('left_behind' in dir(), plt.rcParams['lines.linewidth'], pd.get_option('display.max_rows'),\n"
        "      len(plt.get_fignums()), os.path.basename(os.getcwd()))\n"
        "warnings.warn('shown once', RuntimeWarning)\nwarnings.warn('user', UserWarning)")])
    shared = render.execute_notebooks([polluter, checker], tmp_path / "shared", {}, kernels=1, cwd=tmp_path)
    render.execute_notebooks([polluter, checker], tmp_path / "fresh", {}, kernels=1, cwd=tmp_path, fresh_kernels=True)
    outputs = shared[1].cells[-1].outputs
    assert outputs[0]["text"] == f"False 1.5 60 0 {tmp_path.name}\n"
    assert "shown once" in outputs[1]["text"] and "user" in outputs[1]["text"]
    assert [c.execution_count for c in shared[1].cells if c.cell_type == "code"] == [1, 2]
    for name in ("01_pollute.ipynb", "02_check.ipynb"):
        assert (tmp_path / "shared" / name).read_bytes() == (tmp_path / "fresh" / name).read_bytes()


def test_a_failing_section_among_parallel_ones_is_the_error_raised(tmp_path):
    notebooks = [_notebook(tmp_path / "01_ok.ipynb", [nbformat.v4.new_code_cell("n")]),
                 _notebook(tmp_path / "02_bad.ipynb", [nbformat.v4.new_code_cell("n / 0")]),
                 _notebook(tmp_path / "03_ok.ipynb", [nbformat.v4.new_code_cell("n")])]
    with pytest.raises(RenderError, match=r"02_bad\.ipynb: cell \d+ failed with ZeroDivisionError"):
        render.execute_notebooks(notebooks, tmp_path / "out", {}, kernels=2)


def test_a_large_corpus_runs_its_sections_one_at_a_time(tmp_path, monkeypatch):
    (tmp_path / "annotated_paragraphs.csv").write_text("para_id\n" + "p\n" * 100, encoding="utf-8")  # 208 bytes
    params = {"reports": str(tmp_path)}
    assert render.default_kernels(params, 11) == min(2, __import__("os").cpu_count() or 1)
    assert render.default_kernels(params, 1) == 1
    monkeypatch.setattr(render, "PARALLEL_KERNELS_MAX_BYTES", 207)
    assert render.default_kernels(params, 11) == 1


def test_inline_html_in_markdown_outputs_keeps_its_text_inside_the_tags():
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("x")
    cell.outputs = [nbformat.v4.new_output("execute_result", execution_count=1, data={
        "text/markdown": '- A finding (<a class="see" href="#c">see C</a>) about <em>Themes</em>.\n- ![chart](data:image/png;base64,iVBORw0KGgo=)'})]
    nb.cells = [nbformat.v4.new_markdown_cell("## C {#c}"), cell]
    out = render.notebook_to_html(nb, title="t")
    assert '(<a class="see" href="#c">see C</a>) about <em>Themes</em>.' in out
    assert '<img alt="chart" src="data:image/png;base64,iVBORw0KGgo="' in out
