# Reproducible analytical briefing: `make help` lists the targets.
# Every target is a real file with honest prerequisites; outputs are written to a
# temporary file and renamed by the Python code, and .DELETE_ON_ERROR removes
# anything a failed recipe left behind.

.DELETE_ON_ERROR:
.DEFAULT_GOAL := report
# No built-in implicit rules: make would otherwise try dozens of them on each of the corpus files
# (half a second on 2,000 speeches, paid by every run, a no-op included).
MAKEFLAGS += --no-builtin-rules
.SUFFIXES:
SHELL := /bin/bash

## Variables (override on the command line: make report CORPUS=... REPORTS=...)
##   CORPUS=data                  corpus folder: manifest.csv and the files it names
##   CODEBOOK=data/codebook.yml   YAML codebook of themes and rules
##   REPORTS=reports              where the briefing and every CSV are written
##   PARAMS=file.yml              notebook parameters (organizations, themes, date_from, date_to, top_n, group_by, title, ...);
##                                default: CORPUS/briefing.yml when the corpus folder has one (data/ sets its title there)
##   GROUP_BY=blocs               count per group instead of per organisation: a group or group set of GROUPS
##   GROUPS=data/groups.yml       member states of the CSTO, SCO, BRICS, NATO and EU, with accession dates
##   ON_ERROR=skip                skip unreadable documents (listed in the briefing's methods) instead of stopping
##   WORKERS=4                    run the per-document stages on a local Dask cluster (DASK_SCHEDULER=tcp://host:8786: a running one)
PYTHON   ?= python3
CORPUS   ?= data
REPORTS  ?= reports
CODEBOOK ?= data/codebook.yml
CLEANING ?= data/cleaning.yml
ORGANIZATIONS ?= data/organizations.yml
GROUPS   ?= data/groups.yml
GROUP_BY ?=
PARAMS   ?= $(wildcard $(CORPUS)/briefing.yml)
ON_ERROR ?= stop
WORKERS  ?= 1

VENV := .venv
PY   := $(VENV)/bin/python
ENV_OK := $(VENV)/.installed

# Build products of one corpus live in build/<corpus name>-<checksum of its absolute path>.
CORPUS_KEY := $(notdir $(abspath $(CORPUS)))-$(shell printf %s '$(abspath $(CORPUS))' | cksum | cut -d' ' -f1)
BUILD ?= build/$(CORPUS_KEY)

# The corpus documents and manifest; analysts' annotation files and YAML configuration are not part of ingestion.
CORPUS_FILES := $(shell find $(CORPUS) -type f ! -path '*/annotations/*' ! -name '*.yml' ! -name '*.yaml' ! -name 'README*' ! -name '.*' 2>/dev/null | sort)
OVERRIDES  ?= $(wildcard $(CORPUS)/annotations/overrides.csv)
VALIDATION ?= $(wildcard $(CORPUS)/annotations/validation.csv)
HELPERS_SRC := $(wildcard src/helpers/*.py)

PARAGRAPHS := $(BUILD)/paragraphs.parquet
ANNOTATED  := $(REPORTS)/annotated_paragraphs.csv
ANALYSIS_CSV := $(addprefix $(REPORTS)/,theme_frequencies.csv theme_ranking.csv cooccurrence.csv document_similarity.csv \
                  similar_paragraphs.csv text_reuse.csv reuse_by_document_pair.csv reuse_clusters.csv reuse_cluster_members.csv \
                  keyness.csv evidence_quotes.csv)
ANALYSIS_SRC := $(wildcard $(addprefix src/helpers/,analysis.py arrays.py frequencies.py cooccurrence.py overlap.py reuse_index.py reuse_clusters.py paragraph_cache.py keyness.py evidence.py text.py io.py parallel.py))
NOTEBOOK   := notebooks/briefing.ipynb
ANALYST_NOTEBOOKS := $(filter-out $(NOTEBOOK),$(wildcard notebooks/*.ipynb))
EXECUTED_ANALYST := $(patsubst notebooks/%,$(BUILD)/notebooks/%,$(ANALYST_NOTEBOOKS))
TEMPLATE_FILES := $(wildcard src/helpers/templates/briefing/*)
BRIEFING   := $(REPORTS)/briefing.html $(REPORTS)/briefing.pdf
# Which parameter file the last briefing was rendered with: a file whose content changes only
# when PARAMS does, so switching PARAMS (or dropping it) re-renders and nothing else does.
RENDER_ARGS := $(BUILD)/render-args-$(shell printf %s '$(abspath $(REPORTS))' | cksum | cut -d' ' -f1).txt

.PHONY: help env annotate ingest analyse notebooks test bench bench-scale clean lab report

## report: the briefing -> REPORTS/briefing.html, briefing.pdf, annotated_paragraphs.csv and the analysis CSVs
##         (PARAMS=file.yml passes papermill parameters: organizations, themes, date_from, date_to, top_n, ...)
report: $(BRIEFING) $(ANALYSIS_CSV) $(ANNOTATED)

## help: list the targets and variables
help:
	@grep -E '^## ' $(MAKEFILE_LIST) | sed 's/^## /  /'

## env: create .venv with the pinned dependencies (done automatically on first use)
env: $(ENV_OK)
$(ENV_OK): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "error: Python 3.11 or newer is needed; run make PYTHON=python3.11")'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	$(PY) -c 'from helpers.render import ensure_kernel; ensure_kernel()'
	touch $@

## ingest: split the corpus into paragraphs (build/<corpus>/paragraphs.parquet)
ingest: $(PARAGRAPHS)
$(PARAGRAPHS): $(CORPUS_FILES) $(CLEANING) $(ORGANIZATIONS) src/helpers/corpus.py src/helpers/text.py src/helpers/organizations.py src/helpers/parallel.py src/helpers/paragraph_cache.py src/helpers/io.py | $(ENV_OK)
	$(PY) -m helpers.corpus --corpus $(CORPUS) --cleaning $(CLEANING) --organizations $(ORGANIZATIONS) --build $(BUILD) --on-error $(ON_ERROR) --workers $(WORKERS)

## annotate: code body paragraphs with themes -> REPORTS/annotated_paragraphs.csv, annotations.csv
annotate: $(ANNOTATED)
$(ANNOTATED): $(PARAGRAPHS) $(CODEBOOK) $(OVERRIDES) $(VALIDATION) src/helpers/codebook.py src/helpers/annotate.py src/helpers/text.py src/helpers/parallel.py src/helpers/io.py | $(ENV_OK)
	$(PY) -m helpers.annotate --paragraphs $(PARAGRAPHS) --build $(BUILD) --workers $(WORKERS) --codebook $(CODEBOOK) \
	  $(if $(OVERRIDES),--overrides $(OVERRIDES)) $(if $(VALIDATION),--validation $(VALIDATION)) --reports $(REPORTS)

## analyse: theme frequencies, co-occurrence, overlap, reuse, keyness -> REPORTS/*.csv
analyse: $(ANALYSIS_CSV)
$(ANALYSIS_CSV) &: $(ANNOTATED) $(ANALYSIS_SRC) | $(ENV_OK)
	$(PY) -m helpers.analysis --reports $(REPORTS) --build $(BUILD) --workers $(WORKERS)

$(RENDER_ARGS): FORCE
	@mkdir -p $(@D); printf '%s\n' 'PARAMS=$(PARAMS) GROUP_BY=$(GROUP_BY)' | cmp -s - $@ 2>/dev/null || printf '%s\n' 'PARAMS=$(PARAMS) GROUP_BY=$(GROUP_BY)' > $@

# The renderer writes both files atomically (temporary file, then rename), so a failed run must
# not delete the last good briefing: .PRECIOUS exempts them from .DELETE_ON_ERROR.
.PRECIOUS: $(BRIEFING)

# The briefing: papermill runs the notebook into $(BUILD)/notebooks/ (kept for audit) on the
# project kernel, nbconvert + WeasyPrint write HTML and PDF (to temporary files, then renamed).
$(BRIEFING) &: $(NOTEBOOK) $(ANNOTATED) $(ANALYSIS_CSV) $(HELPERS_SRC) $(TEMPLATE_FILES) $(PARAMS) $(RENDER_ARGS) \
               $(PARAGRAPHS) $(GROUPS) $(CODEBOOK) $(CLEANING) $(CORPUS_FILES) $(OVERRIDES) $(VALIDATION) | $(ENV_OK)
	$(PY) -m helpers.render --notebook $(NOTEBOOK) --build $(BUILD) --reports $(REPORTS) \
	  --corpus $(CORPUS) --codebook $(CODEBOOK) --groups $(GROUPS) $(if $(GROUP_BY),--group-by $(GROUP_BY)) $(if $(PARAMS),--params $(PARAMS))

## notebooks: execute the analysts' notebooks (corpus overview, themes, overlap) into BUILD/notebooks/ for audit
notebooks: $(EXECUTED_ANALYST)
$(BUILD)/notebooks/%.ipynb: notebooks/%.ipynb $(ANNOTATED) $(ANALYSIS_CSV) $(HELPERS_SRC) $(PARAMS) $(RENDER_ARGS) $(GROUPS) | $(ENV_OK)
	$(PY) -m helpers.render --execute-only --notebook $< --build $(BUILD) --reports $(REPORTS) \
	  --corpus $(CORPUS) --codebook $(CODEBOOK) --groups $(GROUPS) $(if $(GROUP_BY),--group-by $(GROUP_BY)) $(if $(PARAMS),--params $(PARAMS))

## lab: start JupyterLab on the project kernel (installs JupyterLab into .venv on first use)
LAB_OK := $(VENV)/.lab-installed
lab: $(LAB_OK)
	cd notebooks && ../$(PY) -m jupyter lab --MappingKernelManager.default_kernel_name=briefing
$(LAB_OK): requirements-lab.txt | $(ENV_OK)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-lab.txt
	touch $@

FORCE:

## test: run the test suite
test: $(ENV_OK)
	$(PY) -m pytest -q

## bench: run the benchmarks in bench/ (speed and memory figures quoted in the README)
bench: $(ENV_OK)
	@for b in bench/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

## bench-scale: COPIES=4 copies of the UNGDC slice (perturbed; written to SCALE_DIR, outside the repository) built cold,
##              printing seconds and peak memory of the whole process tree per stage and the rows of each output
##              (SCALE_CORPUS=dir builds an existing corpus instead, e.g. the complete UNGDC from bench/extract_ungdc.py;
##              CLUSTER=2 starts a scheduler and two workers with the dask CLI and counts them in the peak)
COPIES    ?= 4
SCALE_DIR ?= /tmp/briefing-bench-scale
SCALE_CORPUS ?=
CLUSTER   ?=
bench-scale: $(ENV_OK)
	$(PY) bench/scale_run.py $(if $(SCALE_CORPUS),--corpus $(SCALE_CORPUS),--copies $(COPIES)) --dir $(SCALE_DIR) --workers $(WORKERS) $(if $(CLUSTER),--cluster $(CLUSTER))

## clean: remove build products (keeps .venv and the reports folder's hand-made files)
clean:
	rm -rf build
