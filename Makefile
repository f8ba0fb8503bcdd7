# Reproducible analytical briefing: `make help` lists the targets.
# Every target is a real file with honest prerequisites; outputs are written to a
# temporary file and renamed by the Python code, and .DELETE_ON_ERROR removes
# anything a failed recipe left behind.

.DELETE_ON_ERROR:
.DEFAULT_GOAL := report
SHELL := /bin/bash

## Variables (override on the command line: make report CORPUS=... REPORTS=...)
PYTHON   ?= python3
CORPUS   ?= data
REPORTS  ?= reports
CODEBOOK ?= data/codebook.yml
CLEANING ?= data/cleaning.yml
PARAMS   ?=

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

.PHONY: help env annotate ingest test bench clean lab report

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
	touch $@

## ingest: split the corpus into paragraphs (build/<corpus>/paragraphs.parquet)
ingest: $(PARAGRAPHS)
$(PARAGRAPHS): $(CORPUS_FILES) $(CLEANING) src/helpers/corpus.py src/helpers/text.py | $(ENV_OK)
	$(PY) -m helpers.corpus --corpus $(CORPUS) --cleaning $(CLEANING) --build $(BUILD)

## annotate: code body paragraphs with themes -> REPORTS/annotated_paragraphs.csv, annotations.csv
annotate: $(ANNOTATED)
$(ANNOTATED): $(PARAGRAPHS) $(CODEBOOK) $(OVERRIDES) $(VALIDATION) src/helpers/codebook.py src/helpers/annotate.py | $(ENV_OK)
	$(PY) -m helpers.annotate --paragraphs $(PARAGRAPHS) --codebook $(CODEBOOK) \
	  $(if $(OVERRIDES),--overrides $(OVERRIDES)) $(if $(VALIDATION),--validation $(VALIDATION)) --reports $(REPORTS)

## test: run the test suite
test: $(ENV_OK)
	$(PY) -m pytest -q

## bench: run the benchmarks in bench/ (speed and memory figures quoted in the README)
bench: $(ENV_OK)
	@for b in bench/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

## clean: remove build products (keeps .venv and the reports folder's hand-made files)
clean:
	rm -rf build
