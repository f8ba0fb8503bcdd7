"""Execute the briefing's section notebooks with papermill and render them to one HTML and one PDF.

The briefing's sections are the notebooks ``notebooks/NN_<slug>.ipynb`` (:func:`section_notebooks`),
in name order: a notebook added there is a new section, with no code change. Stages, each a
function that can be used alone:

1. :func:`execute_notebook`: papermill runs a notebook with parameters on the project's own
   kernel (:data:`KERNEL_NAME`, registered in ``.venv`` by :func:`ensure_kernel`: inline figures
   as SVG, reproducible) and writes the executed copy, cleaned by :func:`clean_notebook` (no
   timings, no random cell ids) so two runs give the same file, to ``REPORTS/notebooks/``. A
   failing cell raises :class:`~helpers.errors.RenderError` with the cell's error and the path
   of the executed notebook, which papermill has marked at the failing cell.
2. :func:`combine_notebooks` and :func:`number_sections`: the sections in order, headings
   numbered ("3. Themes", "3.1 ..."), figures and tables numbered and captioned from the cell
   metadata ``caption`` (and ``label``), so rerunning a cell never changes a number.
3. :func:`notebook_to_html`: nbconvert with the ``briefing`` template (extends ``lab``;
   nothing from the network, no script), code, prompts and the ``parameters``,
   ``injected-parameters`` and ``remove-cell`` cells removed, a table of contents.
4. :func:`html_to_pdf`: the same HTML through WeasyPrint (A4, page numbers, figures as SVG),
   with a fixed PDF identifier and no dates.
5. :func:`render_briefing` chains them and writes ``briefing.html``/``briefing.pdf``
   atomically: if anything fails, the last good briefing stays in place.

Command line (what ``make report`` runs)::

    python -m helpers.report.render --build build/data-123 --reports reports --corpus data \
        --codebook data/codebook.yml [--params params.yml] [--notebook notebooks/01_x.ipynb ...]

With ``--execute-only FOLDER`` the notebooks are only executed into FOLDER (what ``make
cookbook`` does). Exit status 2 with one message on a bad parameter or a failing cell.
"""

from __future__ import annotations

import argparse
import copy
import functools
import hashlib
import html
import logging
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import nbformat

from helpers.arrays import rare_collections
from helpers.errors import ParameterError, RenderError, run_cli
from helpers.io import atomic_path, write_text
from helpers.params import check_names_and_types, load_params_file

#: The Jupyter kernel the notebooks run on: the project's ``.venv`` interpreter.
KERNEL_NAME = "briefing"
KERNEL_DISPLAY_NAME = "Briefing (project .venv)"
TEMPLATES_DIR = Path(__file__).parent / "templates"
TEMPLATE_NAME = "briefing"
#: The project's notebooks folder (the sections are its NN_<slug>.ipynb).
PROJECT_NOTEBOOKS = Path(__file__).resolve().parents[3] / "notebooks"
#: Cells with these tags never reach readers.
REMOVE_CELL_TAGS = ("parameters", "injected-parameters", "remove-cell")
#: Fixed "now" for the PDF (1 January 2024 00:00 UTC) unless SOURCE_DATE_EPOCH is set.
DEFAULT_SOURCE_DATE_EPOCH = "1704067200"


#: Extra kernel arguments: keep the kernel's own log (e.g. ipykernel's TCP notice) off the build output, and send
#: inline figures as SVG (vector in the HTML and the PDF; JupyterLab shows them inline too).
KERNEL_EXTRA_ARGV = ("--IPKernelApp.log_level=ERROR", "--InlineBackend.figure_formats=svg")
#: The project kernel's environment: the matplotlib settings that make every figure's SVG reproducible
#: (fixed ids; text as glyph outlines unless helpers.report.svg_text is installed, as helpers.report.charts does) and a
#: fixed date for matplotlib's SVG metadata.
MATPLOTLIBRC = TEMPLATES_DIR / "matplotlibrc"


def kernel_env() -> dict[str, str]:
    """Environment variables of the project kernel (see :data:`MATPLOTLIBRC`)."""
    return {"MATPLOTLIBRC": str(MATPLOTLIBRC), "SOURCE_DATE_EPOCH": DEFAULT_SOURCE_DATE_EPOCH}


def ensure_kernel(name: str = KERNEL_NAME) -> str:
    """Make sure a kernelspec ``name`` exists that runs this interpreter; install it in ``sys.prefix`` if not.

    Output: the kernel name. The spec lives in ``.venv/share/jupyter/kernels/<name>`` (the
    Makefile's ``env`` step calls this function), so JupyterLab and papermill started from
    ``.venv`` find it and no user-wide Jupyter folder is touched.
    """
    import json

    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        spec = KernelSpecManager().get_kernel_spec(name)
        if (spec.argv and Path(spec.argv[0]).resolve() == Path(sys.executable).resolve()
                and all(a in spec.argv for a in KERNEL_EXTRA_ARGV) and spec.env == kernel_env()):
            return name
    except NoSuchKernel:
        pass
    from ipykernel.kernelspec import install

    path = Path(install(kernel_name=name, display_name=KERNEL_DISPLAY_NAME, prefix=sys.prefix))
    spec_file = path / "kernel.json"
    data = json.loads(spec_file.read_text(encoding="utf-8"))
    data["argv"] = [*data["argv"], *KERNEL_EXTRA_ARGV]
    data["env"] = kernel_env()
    spec_file.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return name


#: A memory address in an object's default repr, e.g. the text/plain of a pandas Styler.
MEMORY_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
#: The folder ipykernel names a cell's code after, with the kernel's process id: in warnings and tracebacks.
KERNEL_CELL_FOLDER = re.compile(r"(/ipykernel_)\d+(/)")


def clean_notebook(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Return a copy of ``nb`` without run-dependent data, so two runs give identical files.

    Removes per-cell execution timings, papermill's start/end times, durations and
    status, memory addresses in plain-text reprs (``<Styler at 0x7f...>``) and the kernel's process id in
    the file names of warnings (``/tmp/ipykernel_8919/...``), numbers the cells' ids ``cell-1``, ``cell-2``… (papermill's injected cell has a
    random id), and keeps ``metadata.papermill.parameters`` (the run's parameters, for audit).
    """
    nb = copy.deepcopy(nb)
    for i, cell in enumerate(nb.cells, start=1):
        cell["id"] = f"cell-{i}"
        for output in cell.get("outputs", []):
            plain = output.get("data", {}).get("text/plain")
            if isinstance(plain, str) and MEMORY_ADDRESS.search(plain):  # "<Styler at 0x7f...>": differs on every run
                output["data"]["text/plain"] = MEMORY_ADDRESS.sub("", plain)
            text = output.get("text")
            if isinstance(text, str) and KERNEL_CELL_FOLDER.search(text):  # a warning's "/tmp/ipykernel_8919/..."
                output["text"] = KERNEL_CELL_FOLDER.sub(r"\1\2", text)
        meta = cell.get("metadata", {})
        meta.pop("execution", None)
        meta.pop("papermill", None)
        meta.pop("collapsed", None)
        meta.pop("scrolled", None)
    pm = nb.metadata.get("papermill")
    if pm is not None:
        nb.metadata["papermill"] = {"parameters": pm.get("parameters", {}), "input_path": pm.get("input_path")}
    nb.metadata.pop("widgets", None)
    return nb


def _write_notebook(nb: nbformat.NotebookNode, target: Path) -> None:
    with atomic_path(target) as tmp:
        nbformat.write(nb, str(tmp))


def _first_error(nb: nbformat.NotebookNode) -> tuple[int | None, str]:
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                return i, f"{out.get('ename')}: {out.get('evalue')}"
    return None, "unknown error"


#: Modules the kernel imports while it starts, before the first cell: the helpers the notebook imports
#: (``import helpers.x`` / ``from helpers.x import ...``), found by this pattern in its code cells.
HELPERS_IMPORT = re.compile(r"^\s*(?:from|import)\s+(helpers(?:\.\w+)*)", re.MULTILINE)


def notebook_imports(nb: nbformat.NotebookNode) -> list[str]:
    """The ``helpers`` modules the code cells of ``nb`` import, in order of first appearance."""
    found = [m.group(1) for cell in nb.cells if cell.cell_type == "code" for m in HELPERS_IMPORT.finditer(cell.source)]
    return list(dict.fromkeys(found))


def start_kernel(kernel_name: str = KERNEL_NAME, *, preload: Sequence[str] = (), cwd: str | os.PathLike[str] | None = None) -> Any:
    """Start kernel ``kernel_name`` and return its (asynchronous) kernel manager without waiting for it.

    The kernel imports the modules in ``preload`` while it starts (IPython's ``exec_lines``; the
    names are not left in the notebook's namespace), so the first cell finds them imported and
    this process can do other work meanwhile. ``cwd``: the kernel's working directory (default:
    this process's). Shut it down with :func:`stop_kernel`.
    """
    from jupyter_client import AsyncKernelManager
    from jupyter_core.utils import run_sync

    lines = [f"import {name} as _preloaded; del _preloaded" for name in preload]
    km = AsyncKernelManager(kernel_name=kernel_name)
    # No history database: a rendering kernel's cells are not worth keeping, and a kernel running several sections
    # numbers each from 1 again, which IPython's history would report as a clash in the section's output.
    extra = ["--HistoryManager.enabled=False"] + ([f"--IPKernelApp.exec_lines={lines!r}"] if lines else [])
    run_sync(km.start_kernel)(extra_arguments=extra, cwd=str(cwd) if cwd is not None else os.getcwd())
    return km


def stop_kernel(km: Any) -> None:
    """Shut down a kernel started by :func:`start_kernel` and remove its connection file."""
    from jupyter_core.utils import run_sync

    try:
        if run_sync(km.is_alive)():
            run_sync(km.shutdown_kernel)(now=True)
    finally:
        run_sync(km.cleanup_resources)()


def _read_section(notebook: Path) -> nbformat.NotebookNode:
    """The notebook at ``notebook``, checked to exist and to have a ``parameters`` cell (:class:`RenderError`)."""
    if not notebook.is_file():
        raise RenderError(f"{notebook}: notebook not found. Pass a notebook from notebooks/.")
    source = nbformat.read(str(notebook), as_version=4)
    if not any("parameters" in c.get("metadata", {}).get("tags", []) for c in source.cells):
        raise RenderError(f"{notebook}: no cell is tagged 'parameters'. Tag the cell that sets the defaults (View > Cell metadata in JupyterLab).")
    return source


def _start_kernel_for(notebook: Path, kernel_name: str, preload: Sequence[str], cwd: str | os.PathLike[str] | None) -> Any:
    if kernel_name == KERNEL_NAME:  # a read of the spec when it is right, as after execute_notebooks' own call
        ensure_kernel(kernel_name)
    try:
        return start_kernel(kernel_name, preload=preload, cwd=cwd)
    except Exception as exc:  # no such kernel, interpreter missing
        raise RenderError(f"{notebook}: could not start kernel '{kernel_name}': {type(exc).__name__}: {exc}") from None


def execute_notebook(
    notebook: str | os.PathLike[str],
    output: str | os.PathLike[str],
    parameters: Mapping[str, Any] | None = None,
    *,
    kernel_name: str = KERNEL_NAME,
    cwd: str | os.PathLike[str] | None = None,
    while_kernel_starts: Callable[[], None] | None = None,
) -> nbformat.NotebookNode:
    """Run ``notebook`` with papermill on a kernel of its own and write the cleaned, executed copy to ``output``.

    Inputs: the source notebook (must have a cell tagged ``parameters``), the output path
    (under ``build/``), the parameter values, the kernel name (default: the project's) and
    the working directory the kernel starts in (default: the current one, so relative paths
    in parameters mean the same as on the command line). The kernel is started first and
    imports the ``helpers`` modules the notebook imports (:func:`start_kernel`);
    ``while_kernel_starts`` runs meanwhile in this process (e.g. loading the PDF engine).
    Output: the executed, cleaned notebook. Raises :class:`RenderError` when the notebook is
    missing, has no ``parameters`` cell, or a cell fails; the message gives the failing
    cell's number and error and the path of the executed notebook. An error raised by
    ``while_kernel_starts`` stops everything before a cell runs.
    """
    notebook, output = Path(notebook), Path(output)
    source = _read_section(notebook)
    km = _start_kernel_for(notebook, kernel_name, notebook_imports(source), cwd)
    try:
        if while_kernel_starts is not None:
            while_kernel_starts()
        return _run_papermill(notebook, source, output, parameters, kernel_name, cwd, km)
    finally:
        stop_kernel(km)


#: The module a project kernel keeps its starting state in, between the sections it runs (:mod:`helpers.report.kernel_state`).
KERNEL_STATE = "helpers.report.kernel_state"


def connect_client(km: Any) -> Any:
    """Open a client to the kernel of ``km`` and wait until the kernel answers; stop it with ``kc.stop_channels()``.

    One client serves every section a kernel runs (:func:`execute_notebooks`): each new client waits for the
    kernel's first IOPub message (jupyter_client's ``wait_for_ready``, 0.2-0.3 s), twice per section otherwise.
    """
    from jupyter_core.utils import run_sync

    kc = km.client()
    kc.start_channels()
    try:
        run_sync(kc.wait_for_ready)(timeout=120)
    except BaseException:
        kc.stop_channels()
        raise
    return kc


def _in_kernel(kc: Any, code: str, what: str) -> None:
    """Run ``code`` through the client ``kc`` (:func:`connect_client`) without a trace in the kernel's history;
    :class:`RenderError` if it fails."""
    from jupyter_core.utils import run_sync

    reply = run_sync(kc.execute_interactive)(code, silent=True, store_history=False, timeout=120,
                                             output_hook=lambda msg: None)
    if reply["content"].get("status") != "ok":
        content = reply["content"]
        raise RenderError(f"could not {what} on kernel '{KERNEL_NAME}': {content.get('ename')}: {content.get('evalue')}")


#: The papermill engine the sections run on: papermill's own (nbclient), given the client of a kernel that runs
#: several sections (:func:`connect_client`) instead of opening a new one for each.
PAPERMILL_ENGINE = "briefing-nbclient"


@functools.cache
def _register_engine() -> None:
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine, papermill_engines
    from papermill.utils import merge_kwargs, remove_args

    class SharedClientEngine(NBClientEngine):
        """:class:`papermill.engines.NBClientEngine` that runs on the kernel client ``kc`` when one is given."""

        @classmethod
        def execute_managed_notebook(cls, nb_man: Any, kernel_name: str, log_output: bool = False, stdout_file: Any = None,
                                     stderr_file: Any = None, start_timeout: int = 60, execution_timeout: Any = None,
                                     kc: Any = None, **kwargs: Any) -> Any:
            kwargs = remove_args(["input_path"], **kwargs)
            safe_kwargs = remove_args(["timeout", "startup_timeout"], **kwargs)
            final_kwargs = merge_kwargs(safe_kwargs, timeout=execution_timeout if execution_timeout else kwargs.get("timeout"),
                                        startup_timeout=start_timeout, kernel_name=kernel_name,
                                        log=logging.getLogger("papermill"), log_output=log_output, stdout_file=stdout_file,
                                        stderr_file=stderr_file)
            client = PapermillNotebookClient(nb_man, **final_kwargs)
            client.kc = kc  # None: nbclient opens its own
            return client.execute()

    papermill_engines.register(PAPERMILL_ENGINE, SharedClientEngine)


def _run_papermill(notebook: Path, source: nbformat.NotebookNode, output: Path, parameters: Mapping[str, Any] | None,
                   kernel_name: str, cwd: str | os.PathLike[str] | None, km: Any, kc: Any = None) -> nbformat.NotebookNode:
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    _register_engine()

    output.parent.mkdir(parents=True, exist_ok=True)
    raw = output.with_name(f".{output.name}.running.ipynb")
    logging.getLogger("papermill").setLevel(logging.WARNING)
    try:
        pm.execute_notebook(
            str(notebook),
            str(raw),
            parameters=dict(parameters or {}),
            kernel_name=kernel_name,
            cwd=str(cwd) if cwd is not None else None,
            progress_bar=False,
            log_output=False,
            request_save_on_cell_execute=False,
            engine_name=PAPERMILL_ENGINE,
            km=km,
            kc=kc,
        )
    except PapermillExecutionError as exc:
        executed = nbformat.read(str(raw), as_version=4) if raw.exists() else source
        raw.unlink(missing_ok=True)
        _write_notebook(clean_notebook(executed), output)
        raise RenderError(
            f"{notebook}: cell {exc.exec_count if exc.exec_count is not None else exc.cell_index} failed with "
            f"{exc.ename}: {exc.evalue}\nThe executed notebook, with the traceback at the failing cell, is {output}. "
            "The last good briefing was left in place."
        ) from None
    except Exception as exc:  # kernel died, bad notebook JSON
        raw.unlink(missing_ok=True)
        raise RenderError(f"{notebook}: could not be executed on kernel '{kernel_name}': {type(exc).__name__}: {exc}") from None
    executed = clean_notebook(nbformat.read(str(raw), as_version=4))
    raw.unlink(missing_ok=True)
    _write_notebook(executed, output)
    return executed


def section_notebooks(folder: str | os.PathLike[str] = "notebooks") -> list[Path]:
    """The briefing's sections: ``NN_<slug>.ipynb`` in ``folder`` (two-digit prefix), in name order.

    A notebook an analyst adds there becomes a section of the briefing; other notebooks
    (``cookbook.ipynb``) are not sections.
    """
    return sorted(p for p in Path(folder).glob("*.ipynb") if SECTION_NAME.fullmatch(p.name))


#: File name of a section notebook: two digits, an underscore, a slug.
SECTION_NAME = re.compile(r"\d\d_[A-Za-z0-9_.-]+\.ipynb")


def combine_notebooks(notebooks: Sequence[nbformat.NotebookNode]) -> nbformat.NotebookNode:
    """One notebook of the sections' cells in order; each cell's metadata gets ``section`` (1, 2, ...)."""
    combined = nbformat.v4.new_notebook()
    if notebooks:
        combined.metadata = copy.deepcopy(notebooks[0].metadata)
    for number, nb in enumerate(notebooks, start=1):
        for cell in nb.cells:
            cell = copy.deepcopy(cell)
            cell.metadata["section"] = number
            cell["id"] = f"s{number}-{cell.get('id', len(combined.cells))}"
            combined.cells.append(cell)
    return combined


def _strip_for_readers(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Drop tagged cells, stderr streams and empty code cells; readers see narrative and results."""
    nb = copy.deepcopy(nb)
    cells = []
    for cell in nb.cells:
        tags = set(cell.get("metadata", {}).get("tags", []))
        if tags & set(REMOVE_CELL_TAGS):
            continue
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.outputs if not (o.get("output_type") == "stream" and o.get("name") == "stderr")
                            and not _empty_markdown(o)]
            if not cell.outputs:
                continue
        cells.append(cell)
    nb.cells = cells
    return nb


def _empty_markdown(output: Mapping[str, Any]) -> bool:
    """An output that is only an empty ``Markdown("")`` (narrative a cell had nothing to say in)."""
    data = output.get("data", {})
    return set(data) <= {"text/markdown", "text/plain"} and "text/markdown" in data and not str(data["text/markdown"]).strip()


#: A markdown heading line, with an optional Quarto-style id: ``## Themes {#themes}``.
HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)(?:[ \t]+\{#([A-Za-z][\w.-]*)\})?[ \t]*#*[ \t]*$")


def slug(text: str) -> str:
    """Anchor id of a heading without an explicit ``{#id}``: lower case, words joined by ``-``."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "section"


def number_sections(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Number headings, figures and tables of a combined briefing (:func:`combine_notebooks`), in reading order.

    Headings (markdown cells): the first ``#`` or ``##`` heading of section notebook N becomes
    ``<h2 id=...>N. Title</h2>``; every later ``##``/``###`` heading of that notebook becomes
    ``<h3>N.k Title</h3>``; deeper headings stay unnumbered. The id is the heading's ``{#id}``
    or its :func:`slug`. Captions: a code cell whose metadata has ``caption`` gets "Figure K."
    (when it shows an image) or "Table K." (otherwise), numbered across the briefing, placed
    after the figure or before the table, with the id ``label`` from the metadata if given.
    Numbers depend only on the order of cells, so rerunning a cell never changes them.
    """
    nb = copy.deepcopy(nb)
    sub: dict[int, int] = {}
    seen_section: set[int] = set()
    figures = tables = 0
    for cell in nb.cells:
        section = int(cell.metadata.get("section", 0) or 0)
        if cell.cell_type == "markdown":
            lines, fence = [], False
            for line in cell.source.splitlines():
                if line.lstrip().startswith("```"):
                    fence = not fence
                m = None if fence else HEADING.match(line)
                if m is None or len(m.group(1)) > 3 or not section:
                    lines.append(line)
                    continue
                title = m.group(2).strip()
                ident = m.group(3) or slug(title)
                if section not in seen_section and len(m.group(1)) <= 2:
                    seen_section.add(section)
                    text, level = f"{section}. {title}", 2
                else:
                    sub[section] = sub.get(section, 0) + 1
                    text, level = f"{section}.{sub[section]} {title}", 3
                lines += ["", f'<h{level} id="{html.escape(ident, quote=True)}">{html.escape(text)}</h{level}>', ""]
            cell.source = "\n".join(lines)
        elif cell.cell_type == "code" and cell.metadata.get("caption"):
            outputs = cell.get("outputs", [])
            is_figure = any(k.startswith("image/") for o in outputs for k in o.get("data", {}))
            if is_figure:
                figures += 1
                kind, number = "Figure", figures
            else:
                tables += 1
                kind, number = "Table", tables
            label = cell.metadata.get("label") or f"{kind.lower()}-{number}"
            caption = nbformat.v4.new_output("display_data", data={"text/html": (
                f'<p class="caption {kind.lower()}-caption" id="{html.escape(str(label), quote=True)}"><strong>{kind} {number}.</strong> '
                f"{html.escape(str(cell.metadata['caption']))}</p>")})
            if is_figure:
                last = max(i for i, o in enumerate(outputs) if any(k.startswith("image/") for k in o.get("data", {})))
                outputs.insert(last + 1, caption)
            else:
                outputs.insert(0, caption)
    return nb


def _table_of_contents(html_text: str) -> str:
    """Fill ``<nav id="toc">`` (or add one after the cover, the cell holding the first ``h1``, else at the top of
    ``<main>``) with links to the h2/h3 headings with ids."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html_text, "html.parser")
    _fill_table_of_contents(soup)
    return str(soup)


def _fill_table_of_contents(soup: Any) -> None:
    main = soup.find("main")
    if main is None:
        return
    nav = soup.find("nav", id="toc")
    if nav is None:
        nav = soup.new_tag("nav", id="toc")
        cover = main.find("h1")
        while cover is not None and cover.parent is not main:
            cover = cover.parent
        if cover is not None:
            cover.insert_after(nav)
        else:
            main.insert(0, nav)
    nav.clear()
    nav["class"] = "toc"
    nav["aria-label"] = "Contents"
    heading = soup.new_tag("h2")
    heading.string = "Contents"
    nav.append(heading)
    top = soup.new_tag("ol")
    nav.append(top)
    current_sub = None
    for h in main.find_all(["h2", "h3"]):
        if not h.get("id") or h.find_parent("nav") is not None:
            continue
        item = soup.new_tag("li")
        link = soup.new_tag("a", href=f"#{h['id']}")
        link.string = h.get_text(" ", strip=True).replace("¶", "").strip()
        item.append(link)
        if h.name == "h2":
            top.append(item)
            current_sub = None
        else:
            if current_sub is None:
                parent = top.find_all("li", recursive=False)
                if not parent:
                    top.append(item)
                    continue
                current_sub = soup.new_tag("ol")
                parent[-1].append(current_sub)
            current_sub.append(item)


def _html_exporter(**options: Any) -> Any:
    """nbconvert's HTMLExporter with ``options``, whose markdown keeps inline HTML tags whole when embedding images.

    nbconvert (7.17) re-parses each inline tag of a markdown text on its own to embed images,
    which closes ``<a>``, ``<em>`` ... at once and leaves their text outside them: the key
    findings' ``<a class="see">`` links came out empty. Only ``<img>`` tags are re-parsed here.
    """
    from jinja2 import pass_context
    from nbconvert import HTMLExporter
    from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath

    class Renderer(IPythonRenderer):
        def inline_html(self, html_text: str) -> str:
            if self.embed_images and html_text.lstrip()[:4].lower() == "<img":
                return super().inline_html(html_text)
            return html_text  # escape=False: mistune returns inline HTML as it is

    class Exporter(HTMLExporter):
        @pass_context  # a jinja2 filter that reads the cell from the template's context, as nbconvert's own
        def markdown2html(self, context: Any, source: str) -> str:
            cell = context.get("cell", {})
            renderer = Renderer(escape=False, attachments=cell.get("attachments", {}), embed_images=self.embed_images,
                                path=context.get("resources", {}).get("metadata", {}).get("path", ""),
                                anchor_link_text=self.anchor_link_text, exclude_anchor_links=self.exclude_anchor_links,
                                **self.lexer_options)
            return MarkdownWithMath(renderer=renderer).render(source)

    return Exporter(**options)


def notebook_to_html(nb: nbformat.NotebookNode, *, title: str | None = None) -> str:
    """Render an executed (combined) notebook to the briefing's self-contained HTML.

    Input: the executed notebook; ``title`` for ``<title>`` (default: ``nb.metadata.title``).
    Output: the HTML text: no code, no prompts, no tagged cells, no ``<script>``, a
    Content-Security-Policy forbidding scripts, headings, figures and tables numbered
    (:func:`number_sections`), a table of contents, the stylesheet inline, figures as SVG images, table
    columns sized at render (:func:`helpers.report.table_layout.size_table_columns`).
    Raises :class:`RenderError` if any script element would reach the output.
    """
    from bs4 import BeautifulSoup

    from helpers.report.table_layout import size_table_columns

    nb = number_sections(_strip_for_readers(nb))
    if title is not None:
        nb.metadata["title"] = title
    exporter = _html_exporter(
        template_name=TEMPLATE_NAME,
        extra_template_basedirs=[str(TEMPLATES_DIR)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
    )
    css = (TEMPLATES_DIR / TEMPLATE_NAME / "briefing.css").read_text(encoding="utf-8")
    resources = {"briefing_css": css, "metadata": {"name": nb.metadata.get("title", "Briefing")}}
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    soup = BeautifulSoup(body, "html.parser")
    _fill_table_of_contents(soup)
    size_table_columns(soup)
    body = str(soup)
    if "<script" in body.lower():
        raise RenderError("the rendered HTML contains a <script> element; a notebook output emitted raw HTML with a script. Escape text with html.escape before displaying it.")
    return body


def html_to_pdf(html_text: str, target: str | os.PathLike[str]) -> Path:
    """Print ``html_text`` to an A4 PDF at ``target`` (atomic) with WeasyPrint.

    Page size, page numbers and the contents' page numbers come from the print rules of
    the stylesheet; figures stay SVG vectors. The PDF identifier is the SHA-256 of the HTML
    and no date is written (``SOURCE_DATE_EPOCH`` is fixed while printing), so the same HTML
    gives the same bytes.
    """
    from weasyprint import HTML

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    previous = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = previous or DEFAULT_SOURCE_DATE_EPOCH
    try:
        identifier = hashlib.sha256(html_text.encode("utf-8")).hexdigest()[:32].encode("ascii")
        with rare_collections():
            document = HTML(string=html_text, base_url=None).render()
            with atomic_path(target) as tmp:
                document.write_pdf(str(tmp), pdf_identifier=identifier)
    finally:
        if previous is None:
            os.environ.pop("SOURCE_DATE_EPOCH", None)
    return Path(target)


#: Above this size of ``annotated_paragraphs.csv`` (bytes) sections run one at a time: every kernel loads the
#: paragraphs, so two at once would double the render's memory on a corpus of a million paragraphs.
PARALLEL_KERNELS_MAX_BYTES = 256 * 2**20


def default_kernels(parameters: Mapping[str, Any], n_notebooks: int) -> int:
    """How many section kernels to run at once: up to two (one per CPU) when the annotated paragraphs are
    small enough to load twice (:data:`PARALLEL_KERNELS_MAX_BYTES`), else one."""
    from helpers.params import resolve_path

    annotated = resolve_path(parameters.get("reports", "reports")) / "annotated_paragraphs.csv"
    size = annotated.stat().st_size if annotated.is_file() else 0
    if size > PARALLEL_KERNELS_MAX_BYTES:
        return 1
    return max(1, min(2, os.cpu_count() or 1, n_notebooks))


def execute_notebooks(paths: Sequence[Path], executed_dir: str | os.PathLike[str], parameters: Mapping[str, Any], *,
                      kernel_name: str = KERNEL_NAME, kernels: int = 1,
                      while_first_kernel_starts: Callable[[], None] | None = None,
                      cwd: str | os.PathLike[str] | None = None, fresh_kernels: bool = False) -> list[nbformat.NotebookNode]:
    """Run each notebook of ``paths`` (as :func:`execute_notebook`) into ``executed_dir``, ``kernels`` at a time.

    On the project's kernel (:data:`KERNEL_NAME`) each of the ``kernels`` kernels is started once and
    runs its sections one after another, put back between two sections to the state it started in
    (:mod:`helpers.report.kernel_state`: names, figures, matplotlib and pandas settings, warnings,
    working directory), so a section sees what it would see on a kernel of its own without paying
    for a kernel's start and imports each time. With ``fresh_kernels``, and on any other kernel, each
    section starts a kernel of its own.
    Output: the executed notebooks in the order of ``paths``. The first failure in that order is
    raised (:class:`RenderError`); notebooks not yet started are then not run.
    """
    import threading

    paths = [Path(p) for p in paths]
    sources = [_read_section(p) for p in paths]
    reuse = kernel_name == KERNEL_NAME and not fresh_kernels
    preload = list(dict.fromkeys([KERNEL_STATE, *(m for src in sources for m in notebook_imports(src))]))
    if kernel_name == KERNEL_NAME:  # installed (if need be) before the threads: two installing it at once would race
        ensure_kernel(kernel_name)
    results: list[nbformat.NotebookNode | None] = [None] * len(paths)
    errors: dict[int, BaseException] = {}
    queue = iter(range(len(paths)))
    lock = threading.Lock()

    def next_index() -> int | None:
        with lock:
            return None if errors else next(queue, None)

    def work() -> None:
        km, kc, first = None, None, True
        try:
            while (i := next_index()) is not None:
                try:
                    if not reuse:
                        results[i] = execute_notebook(paths[i], Path(executed_dir) / paths[i].name, parameters,
                                                      kernel_name=kernel_name, cwd=cwd,
                                                      while_kernel_starts=while_first_kernel_starts if i == 0 else None)
                        continue
                    if km is None:
                        km = _start_kernel_for(paths[i], kernel_name, preload, cwd)
                    if i == 0 and while_first_kernel_starts is not None:
                        while_first_kernel_starts()
                    if kc is None:
                        kc = connect_client(km)
                    _in_kernel(kc, f"__import__({KERNEL_STATE!r}, fromlist=['_']).{'snapshot' if first else 'restore'}()",
                               f"{'record' if first else 'restore'} the kernel's state before {paths[i]}")
                    first = False
                    results[i] = _run_papermill(paths[i], sources[i], Path(executed_dir) / paths[i].name, parameters,
                                                kernel_name, cwd, km, kc)
                except BaseException as exc:  # noqa: BLE001 -- re-raised in the caller's thread, first in order
                    with lock:
                        errors[i] = exc
        finally:
            if kc is not None:
                kc.stop_channels()
            if km is not None:
                stop_kernel(km)

    threads = [threading.Thread(target=work, name=f"section-{n}") for n in range(max(1, min(kernels, len(paths))))]
    if len(threads) == 1:
        work()
    else:
        # Threads are enough: each one waits on its kernel process (jupyter_client keeps one event loop per thread).
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    if errors:
        raise errors[min(errors)]
    return results  # type: ignore[return-value]


def render_briefing(
    notebooks: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    parameters: Mapping[str, Any],
    executed_dir: str | os.PathLike[str],
    html_path: str | os.PathLike[str],
    pdf_path: str | os.PathLike[str] | None = None,
    kernel_name: str = KERNEL_NAME,
    kernels: int | None = None,
    fresh_kernels: bool = False,
) -> nbformat.NotebookNode:
    """Execute the section ``notebooks`` (in the order given) into ``executed_dir`` and write the HTML (and PDF).

    The notebooks run with ``parameters`` on ``kernels`` kernels at a time (default
    :func:`default_kernels`), each kernel running several sections unless ``fresh_kernels``
    (:func:`execute_notebooks`); the executed copies (every output kept) are deliverables in
    ``executed_dir`` (``REPORTS/notebooks/``). Output files are replaced only when every stage
    has succeeded. Returns the combined executed notebook, sections in the order given.
    Raises :class:`RenderError` (failing cell, executed notebook path).
    """
    paths = [Path(notebooks)] if isinstance(notebooks, (str, os.PathLike)) else [Path(p) for p in notebooks]
    if not paths:
        raise RenderError("no section notebook to render: add notebooks/NN_<name>.ipynb (two-digit prefix).")

    def load_engines() -> None:  # while the first kernel starts: a PDF engine that cannot load (no Pango) stops the run here
        if pdf_path is not None:
            check_pdf_engine()
        import nbconvert  # noqa: F401

    executed = execute_notebooks(paths, executed_dir, parameters, kernel_name=kernel_name,
                                 kernels=kernels if kernels is not None else default_kernels(parameters, len(paths)),
                                 while_first_kernel_starts=load_engines, fresh_kernels=fresh_kernels)
    combined = combine_notebooks(executed)
    title = str(parameters.get("title") or combined.metadata.get("title") or paths[0].stem)
    html_text = notebook_to_html(combined, title=title)
    if pdf_path is not None:
        pdf_tmp = Path(pdf_path).with_name(f".{Path(pdf_path).name}.new")
        html_to_pdf(html_text, pdf_tmp)
        write_text(html_text, html_path)
        os.replace(pdf_tmp, pdf_path)
    else:
        write_text(html_text, html_path)
    _prune_executed(Path(executed_dir), {p.name for p in paths})
    return combined


def _prune_executed(folder: Path, keep: set[str]) -> None:
    """Remove executed notebooks of sections that no longer exist (a deleted or renamed notebook)."""
    for old in folder.glob("*.ipynb"):
        if old.name not in keep and SECTION_NAME.fullmatch(old.name):
            old.unlink(missing_ok=True)


def _parameters(args: argparse.Namespace) -> dict[str, Any]:
    params: dict[str, Any] = load_params_file(args.params) if args.params else {}
    for name in ("corpus", "codebook", "reports", "groups", "group_by", "build"):
        given = getattr(args, name)
        if given is None:
            continue
        if name in params and params[name] is not None and os.path.normpath(str(params[name])) != os.path.normpath(given):
            raise ParameterError(
                f"{args.params}: parameter '{name}' is {params[name]!r} but make passes {given!r}. "
                f"Remove '{name}' from the parameter file and set {name.upper()}=... on the make command line."
            )
        params[name] = given
    checked = check_names_and_types(params, source=str(args.params or "command line"))
    if args.params or args.group_by:  # the notebook's own defaults select everything: nothing to check against the data
        _check_against_data(checked, str(args.params or "command line"))
    return checked


def _check_against_data(params: Mapping[str, Any], source: str) -> None:
    """Check organisations, themes and the selection before any kernel starts (when the inputs exist).

    The notebook repeats the check, so an analyst running it in JupyterLab gets the same message.
    """
    from helpers.params import resolve_path, validate_params

    annotated = resolve_path(params.get("reports", "reports")) / "annotated_paragraphs.csv"
    codebook = resolve_path(params.get("codebook", "data/codebook.yml"))
    if not (annotated.is_file() and codebook.is_file()):
        return
    import pandas as pd

    from helpers.annotation.codebook import load_codebook

    paragraphs = pd.read_csv(annotated, dtype=str, keep_default_na=False, usecols=["organization", "date"])
    try:
        validate_params(params, paragraphs, [t.id for t in load_codebook(codebook).themes])
    except ParameterError as exc:
        raise ParameterError(f"{source}: {exc}") from None


PANGO_HINT = ("the PDF needs the system's Pango library (Debian/Ubuntu: apt-get install libpango-1.0-0 libpangoft2-1.0-0), "
              "or write the HTML only with --no-pdf")


def check_pdf_engine() -> None:
    """Raise :class:`RenderError` saying what to install when WeasyPrint cannot load (Pango missing)."""
    try:
        import weasyprint  # noqa: F401
    except (ImportError, OSError) as exc:
        raise RenderError(f"cannot load WeasyPrint ({exc}): {PANGO_HINT}.") from None


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: execute the section notebooks and write the briefing; see the module docstring."""
    parser = argparse.ArgumentParser(prog="python -m helpers.report.render", description="Execute the section notebooks and write HTML and PDF.")
    parser.add_argument("--notebook", action="append",
                        help="section notebook to execute and render (repeatable, in order); default: notebooks/NN_*.ipynb")
    parser.add_argument("--build", required=True, help="the ingest folder (documents.csv, cleaning.csv, skipped.csv) the notebooks read")
    parser.add_argument("--reports", help="reports folder (briefing.html, briefing.pdf, notebooks/)")
    parser.add_argument("--corpus", help="corpus folder passed to the notebooks")
    parser.add_argument("--codebook", help="codebook passed to the notebooks")
    parser.add_argument("--params", help="YAML parameter file (papermill parameters)")
    parser.add_argument("--groups", help="groups file passed to the notebooks (default data/groups.yml)")
    parser.add_argument("--group-by", dest="group_by", help="group_by passed to the notebooks: organization, a group or a group set")
    parser.add_argument("--kernel", default=KERNEL_NAME, help=f"Jupyter kernel (default {KERNEL_NAME})")
    parser.add_argument("--no-pdf", action="store_true", help="write the HTML only")
    parser.add_argument("--kernels", type=int, help="section notebooks to run at once (default: 2 on 2+ CPUs, 1 for a very large corpus)")
    parser.add_argument("--fresh-kernels", action="store_true",
                        help="start a kernel for each section (as JupyterLab runs one notebook) instead of one per CPU reused")
    parser.add_argument("--execute-only", metavar="FOLDER",
                        help="only execute the notebooks into FOLDER (no HTML/PDF), e.g. the cookbook")
    args = parser.parse_args(argv)
    params = _parameters(args)
    reports = Path(args.reports or params.get("reports") or "reports")
    notebooks = [Path(n) for n in args.notebook] if args.notebook else section_notebooks(PROJECT_NOTEBOOKS)
    if args.execute_only:
        for nb in notebooks:
            out = Path(args.execute_only) / nb.name
            execute_notebook(nb, out, params, kernel_name=args.kernel)
            print(f"executed {nb} -> {out}")
        return 0
    render_briefing(notebooks, parameters=params, executed_dir=reports / "notebooks", html_path=reports / "briefing.html",
                    pdf_path=None if args.no_pdf else reports / "briefing.pdf", kernel_name=args.kernel, kernels=args.kernels,
                    fresh_kernels=args.fresh_kernels)
    print(f"wrote {reports / 'briefing.html'}" + ("" if args.no_pdf else f" and {reports / 'briefing.pdf'}")
          + f" from {len(notebooks)} section notebooks (executed copies in {reports / 'notebooks'})")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
