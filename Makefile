# Reproducible analytical briefing: `make help` lists the targets.
# Every target is a real file with honest prerequisites; outputs are written to a
# temporary file and renamed by the Python code, and .DELETE_ON_ERROR removes
# anything a failed recipe left behind.

.DELETE_ON_ERROR:
.DEFAULT_GOAL := report
# No built-in implicit rules: make would otherwise try dozens of them on each of the corpus files
# (half a second on 2,000 speeches, paid by every run, a no-op included).
MAKEFLAGS += --no-builtin-rules
# Independent stages run at once (the text tables beside the annotation, the briefing's tables beside the
# render): JOBS recipes at a time, 2 unless the machine has one CPU. JOBS=1 (or make -j1) runs them one by one.
JOBS ?= $(if $(filter 1,$(shell nproc 2>/dev/null || echo 1)),1,2)
digitless = $(subst 0,,$(subst 1,,$(subst 2,,$(subst 3,,$(subst 4,,$(subst 5,,$(subst 6,,$(subst 7,,$(subst 8,,$(subst 9,,$(1)))))))))))
ifneq ($(words $(JOBS))$(call digitless,$(JOBS))$(filter 0%,$(JOBS)),1)
$(error JOBS=$(JOBS): give the number of stages make may run at once as a whole number from 1, e.g. JOBS=2 (JOBS=1 runs them one by one))
endif
MAKEFLAGS += -j$(JOBS)
# Stages that only fill idle CPU run at a lower priority (the briefing's tables beside the section kernels); nice is
# POSIX, like the cksum and cut the variables below already call.
NICE := nice -n 10
.SUFFIXES:
SHELL := /bin/bash

## Variables (override on the command line: make report CORPUS=... REPORTS=...)
##   CORPUS=data                  corpus folder: manifest.csv and the files it names (or its URL: s3://bucket/folder, mirrored)
##   CODEBOOK=data/codebook.yml   YAML codebook of themes and rules
##   REPORTS=reports              where the briefing and every CSV are written
##   PARAMS=file.yml              notebook parameters (organizations, themes, date_from, date_to, top_n, group_by, title, ...);
##                                default: CORPUS/briefing.yml when the corpus folder has one (data/ sets its title there)
##   GROUP_BY=blocs               count per group instead of per organisation: a group or group set of GROUPS
##   GROUPS=data/groups.yml       member states of the CSTO, SCO, BRICS, NATO and EU, with accession dates
##   ON_ERROR=skip                skip unreadable documents (listed in the briefing's methods) instead of stopping
##   VALIDATION=file.csv          coded validation sample to score against (default: CORPUS/annotations/validation.csv, else
##                                data/validation/<corpus folder name>.csv); FILE.second-coder.csv beside it: two-coder agreement
##   WORKERS=4                    run the per-document stages on a local Dask cluster (DASK_SCHEDULER=tcp://host:8786: a running one)
##   JOBS=1                       make recipes run at once (default 2, 1 on a one-CPU machine): the text tables are built beside the annotation;
##                                a cold ingest splits documents, and make annotate matches rules, in JOBS forked processes
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

# Paths with spaces or quotes (CORPUS="My Documents/O'Brien corpus"): make cannot name such files in
# rules, so each such path is reached through a link build/links/<checksum of its absolute path> and
# make runs again with the links. The link resolves to the real folder, which is what the ingest
# confines reading to.
LINKABLE := CORPUS REPORTS CODEBOOK PARAMS GROUPS CLEANING ORGANIZATIONS VALIDATION
unsafe_path = $(or $(word 2,$(1)),$(findstring ',$(1)),$(findstring ",$(1)))
NEEDS_LINK := $(strip $(foreach v,$(LINKABLE),$(if $(call unsafe_path,$($(v))),$(v))))

# A corpus in object storage (CORPUS=s3://bucket/folder, gs://..., any fsspec URL): make cannot list or date its
# files, so helpers.corpus.remote mirrors the folder first (only what changed is downloaded; a file left as it
# was keeps its date) into BUILD/corpus/<name> (BUILD given, e.g. shared by a cluster) or build/remote/<checksum
# of the URL>/<name>, and make runs again on the mirror. The briefing names the URL as the source.
REMOTE_URL := $(if $(findstring ://,$(CORPUS)),$(patsubst %/,%,$(CORPUS)))

ifneq ($(REMOTE_URL),)
ifneq ($(findstring ',$(REMOTE_URL)),)
$(error CORPUS=$(REMOTE_URL): a URL with a quote (') cannot be passed safely; rename the bucket or folder)
endif
MIRROR := $(if $(BUILD),$(BUILD)/corpus,build/remote/$(shell printf %s '$(REMOTE_URL)' | cksum | cut -d' ' -f1))/$(notdir $(REMOTE_URL))
REMOTE_GOALS := $(or $(MAKECMDGOALS),report)
.PHONY: $(REMOTE_GOALS) mirror-remote-corpus
$(REMOTE_GOALS): mirror-remote-corpus ; @:
mirror-remote-corpus:
	@$(MAKE) --no-print-directory env CORPUS='$(MIRROR)'
	$(VENV)/bin/python -m helpers.corpus.remote '$(REMOTE_URL)' '$(MIRROR)'
	@$(MAKE) --no-print-directory $(REMOTE_GOALS) CORPUS='$(MIRROR)'
else ifneq ($(NEEDS_LINK),)
export $(NEEDS_LINK)
LINK_GOALS := $(or $(MAKECMDGOALS),report)
.PHONY: $(LINK_GOALS) link-unsafe-paths
$(LINK_GOALS): link-unsafe-paths ; @:
link-unsafe-paths:
	@set -e; args=(); \
	for var in $(NEEDS_LINK); do \
	  value="$${!var}"; \
	  if [ "$$var" = REPORTS ]; then mkdir -p -- "$$value"; fi; \
	  if [ ! -e "$$value" ]; then echo "error: $$value: not found ($$var=$$value). Pass an existing path." >&2; exit 2; fi; \
	  real="$$(realpath -- "$$value")"; \
	  link="build/links/$$(printf %s "$$real" | cksum | cut -d' ' -f1)"; \
	  mkdir -p build/links; \
	  if [ "$$(readlink -- "$$link" 2>/dev/null)" != "$$real" ]; then ln -sfn -- "$$real" "$$link"; fi; \
	  echo "($$var=$$value is reached as $$link: make cannot name paths with spaces or quotes)"; \
	  args+=("$$var=$$link"); \
	done; \
	$(MAKE) --no-print-directory $(LINK_GOALS) "$${args[@]}"
else

# Build products of one corpus live in build/<corpus name>-<checksum of its absolute path>.
CORPUS_KEY := $(notdir $(abspath $(CORPUS)))-$(shell printf %s '$(abspath $(CORPUS))' | cksum | cut -d' ' -f1)
BUILD ?= build/$(CORPUS_KEY)

# The corpus documents and manifest; analysts' annotation files, coded validation samples (data/validation/ of the
# default corpus) and YAML configuration are not part of ingestion.
CORPUS_FILES := $(shell find -H $(CORPUS) -type f ! -path '*/annotations/*' ! -path '$(CORPUS)/validation/*' ! -name '*.yml' ! -name '*.yaml' ! -name 'README*' ! -name '.*' 2>/dev/null | sort)
OVERRIDES  ?= $(wildcard $(CORPUS)/annotations/overrides.csv)
# The coded validation sample: the corpus's own, else the project's sample of that corpus (data/validation/<name>.csv).
VALIDATION ?= $(or $(wildcard $(CORPUS)/annotations/validation.csv),$(wildcard data/validation/$(notdir $(abspath $(CORPUS))).csv))
# The rule language's data files beside the codebook (aliases, spelling variants), when it has them.
RULE_DATA := $(wildcard $(dir $(CODEBOOK))aliases.yml $(dir $(CODEBOOK))spelling.yml)
SECOND_CODER := $(if $(VALIDATION),$(wildcard $(basename $(VALIDATION)).second-coder.csv $(basename $(VALIDATION)).first-coder.csv))
HELPERS_SRC := $(wildcard src/helpers/*.py src/helpers/*/*.py)

PARAGRAPHS := $(BUILD)/paragraphs.parquet
ANNOTATED  := $(REPORTS)/annotated_paragraphs.csv
# The analysis in two stages: the tables of the paragraphs' words need no themes (built beside the annotation),
# the theme tables need the annotation (helpers.analysis.analysis TEXT_FILES and THEME_FILES).
TEXT_CSV   := $(addprefix $(REPORTS)/,text_reuse.csv reuse_by_document_pair.csv reuse_clusters.csv reuse_cluster_members.csv \
                  similar_paragraphs.csv keyness.csv)
THEME_CSV  := $(addprefix $(REPORTS)/,theme_frequencies.csv theme_ranking.csv cooccurrence.csv document_similarity.csv \
                  evidence_quotes.csv)
ANALYSIS_CSV := $(THEME_CSV) $(TEXT_CSV)
ANALYSIS_SRC := $(wildcard src/helpers/analysis/*.py src/helpers/annotation/corrected_shares.py src/helpers/corpus/paragraph_cache.py \
                  src/helpers/corpus/text.py src/helpers/arrays.py src/helpers/io.py src/helpers/parallel.py)
# The briefing's sections: every notebooks/NN_<slug>.ipynb (two-digit prefix), in name order. A notebook
# dropped there is a new section; papermill writes each executed copy to REPORTS/notebooks/ (deliverables).
SECTIONS   := $(sort $(wildcard notebooks/[0-9][0-9]_*.ipynb))
EXECUTED   := $(patsubst notebooks/%,$(REPORTS)/notebooks/%,$(SECTIONS))
TEMPLATE_FILES := $(wildcard src/helpers/report/templates/briefing/*) src/helpers/report/templates/matplotlibrc
BRIEFING   := $(REPORTS)/briefing.html $(REPORTS)/briefing.pdf
# The briefing's own tables (trends, members vs rest, reuse summaries, documents, input checksums), written by
# their own make stage for the selection of PARAMS: a notebook never writes to REPORTS.
REPORT_CSV := $(addprefix $(REPORTS)/,theme_trends.csv theme_changes.csv members_vs_rest.csv reuse_cross_vs_self.csv \
                  reused_passages.csv group_frequencies.csv briefing_documents.csv input_files.csv)
# Which parameters (and, for the briefing, which section notebooks) the last build used: files whose content
# changes only when they do, so switching PARAMS, or deleting a section, rebuilds and nothing else does.
REPORTS_KEY := $(shell printf %s '$(abspath $(REPORTS))' | cksum | cut -d' ' -f1)
TABLE_ARGS  := $(BUILD)/table-args-$(REPORTS_KEY).txt
RENDER_ARGS := $(BUILD)/render-args-$(REPORTS_KEY).txt

# Every input is checked before any stage writes (helpers.corpus.inputs: parameters, codebook, groups, overrides,
# validation sample, cleaning rules, manifest), so a bad one never leaves REPORTS mixing two builds. The
# check's stamp is named after the make variables and depends on the input files: it runs when either
# changes, and every writing target has it as an order-only prerequisite, so a no-op make runs nothing.
INPUT_FILES := $(CORPUS)/manifest.csv $(CODEBOOK) $(RULE_DATA) $(PARAMS) $(GROUPS) $(CLEANING) $(ORGANIZATIONS) $(OVERRIDES) $(VALIDATION) $(SECOND_CODER)
INPUT_VARS  := $(abspath $(CORPUS)) $(INPUT_FILES) GROUP_BY=$(GROUP_BY) ON_ERROR=$(ON_ERROR) REPORTS=$(abspath $(REPORTS))
INPUTS_OK   := $(BUILD)/inputs-$(shell printf %s '$(INPUT_VARS)' | cksum | cut -d' ' -f1).ok

.PHONY: help env annotate ingest analyse report-tables cookbook test bench bench-scale fuzz clean lab report validation-sample merge-coding log-test suggest-rules

## report: the briefing -> REPORTS/briefing.html, briefing.pdf, notebooks/NN_*.ipynb (executed sections),
##         annotated_paragraphs.csv and the analysis CSVs
##         (PARAMS=file.yml passes papermill parameters: organizations, themes, date_from, date_to, top_n, ...)
report: $(BRIEFING) $(ANALYSIS_CSV) $(ANNOTATED) $(REPORT_CSV)

$(INPUTS_OK): $(INPUT_FILES) src/helpers/corpus/inputs.py | $(ENV_OK)
	$(PY) -m helpers.corpus.inputs --corpus $(CORPUS) --codebook $(CODEBOOK) --groups $(GROUPS) --cleaning $(CLEANING) \
	  --organizations $(ORGANIZATIONS) --reports $(REPORTS) --on-error $(ON_ERROR) $(if $(PARAMS),--params $(PARAMS)) \
	  $(if $(GROUP_BY),--group-by $(GROUP_BY)) $(if $(OVERRIDES),--overrides $(OVERRIDES)) $(if $(VALIDATION),--validation $(VALIDATION)) --stamp $@

# An input that does not exist stops with a message naming it, instead of make's "No rule to make target"
# (or, for a deleted manifest, a stale briefing): such a file has this rule, whose recipe runs only when it is missing.
$(sort $(CORPUS)/manifest.csv $(CODEBOOK) $(PARAMS) $(GROUPS) $(CLEANING) $(ORGANIZATIONS)):
	@case '$@' in \
	  '$(CORPUS)/manifest.csv') echo "error: $@: manifest not found. CORPUS=$(CORPUS) must be a folder with a manifest.csv (columns doc_id, file, title, organization, genre, date); restore it or pass another CORPUS=." ;; \
	  '$(CODEBOOK)') echo "error: $@: codebook not found (CODEBOOK=$(CODEBOOK)). Pass an existing YAML codebook, e.g. CODEBOOK=data/codebook.yml." ;; \
	  '$(PARAMS)') echo "error: $@: parameter file not found (PARAMS=$(PARAMS)). Pass an existing YAML file, e.g. PARAMS=notebooks/params/csto-2024.yml, or leave PARAMS out." ;; \
	  *) echo "error: $@: input file not found. Restore it or pass another path on the make command line." ;; \
	esac >&2; exit 2

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
	$(PY) -c 'from helpers.report.render import ensure_kernel; ensure_kernel()'
	touch $@

## ingest: split the corpus into paragraphs (build/<corpus>/paragraphs.parquet)
ingest: $(PARAGRAPHS)
$(PARAGRAPHS): $(CORPUS_FILES) $(CLEANING) $(ORGANIZATIONS) src/helpers/corpus/corpus.py src/helpers/safe_regex.py src/helpers/corpus/text.py src/helpers/corpus/organizations.py src/helpers/parallel.py src/helpers/corpus/paragraph_cache.py src/helpers/io.py | $(ENV_OK) $(INPUTS_OK)
	$(PY) -m helpers.corpus.corpus --corpus $(CORPUS) --cleaning $(CLEANING) --organizations $(ORGANIZATIONS) --build $(BUILD) --on-error $(ON_ERROR) --workers $(WORKERS) \
	  --processes $(JOBS)

# The annotation matches in JOBS forked processes when it is all make builds (make annotate): in a make report the
# text analysis runs beside it (JOBS), and more processes would only take CPU from it.
ANNOTATE_PROCESSES := $(if $(filter-out ingest annotate,$(or $(MAKECMDGOALS),$(.DEFAULT_GOAL))),1,$(JOBS))

## annotate: code body paragraphs with themes -> REPORTS/annotated_paragraphs.csv, annotations.csv; with a validation
##         sample also agreement.csv (in-sample / dev / held-out, 95% intervals), validation_scored.csv, coder_agreement.csv
annotate: $(ANNOTATED)
$(ANNOTATED): $(PARAGRAPHS) $(CODEBOOK) $(RULE_DATA) $(OVERRIDES) $(VALIDATION) $(SECOND_CODER) src/helpers/annotation/codebook.py src/helpers/annotation/rule_language.py src/helpers/annotation/split_agreement.py src/helpers/annotation/agreement.py src/helpers/annotation/annotate.py src/helpers/safe_regex.py src/helpers/corpus/text.py src/helpers/parallel.py src/helpers/io.py | $(ENV_OK) $(INPUTS_OK)
	$(PY) -m helpers.annotation.annotate --paragraphs $(PARAGRAPHS) --build $(BUILD) --workers $(WORKERS) --processes $(ANNOTATE_PROCESSES) --codebook $(CODEBOOK) \
	  $(if $(OVERRIDES),--overrides $(OVERRIDES)) $(if $(VALIDATION),--validation $(VALIDATION)) --reports $(REPORTS)

## validation-sample: draw a blind sample of body paragraphs to hand-code -> OUT (N=400 SEED=1 TEST_FRACTION=0.5 STRATIFY=genre)
##         columns para_id,doc_id,stratum,inclusion_probability,split,text,themes,coder; same arguments, same file;
##         EXCLUDE='a.csv b.csv' never draws the paragraphs of earlier samples (a fresh held-out split);
##         YEARS=1946-2000 draws only from documents of those years (e.g. a tune sample of older wording)
N ?= 400
SEED ?= 1
TEST_FRACTION ?= 0.5
STRATIFY ?=
EXCLUDE ?=
YEARS ?=
validation-sample: $(PARAGRAPHS) | $(ENV_OK)
	@test -n '$(OUT)' || { echo "error: give OUT=file.csv, the sample to write (e.g. make validation-sample CORPUS=$(CORPUS) N=400 SEED=1 OUT=sample.csv)" >&2; exit 2; }
	$(PY) -m helpers.annotation.validation_sample --paragraphs $(PARAGRAPHS) --n '$(N)' --seed '$(SEED)' --out '$(OUT)' \
	  --test-fraction '$(TEST_FRACTION)' $(if $(STRATIFY),--stratify '$(STRATIFY)') $(foreach f,$(EXCLUDE),--exclude '$(f)') $(if $(YEARS),--years '$(YEARS)')

## merge-coding: fill SAMPLE's themes and coder from the coders' returned files in CODING (batchK.csv: CODER prefix + K,
##         default coder-a1, coder-a2, ...), write SAMPLE's .second-coder.csv from CODING/second-coder.csv (SECOND, default coder-b) and
##         settle their disagreements from CODING/adjudicated.csv when present; never changes any other judgement
CODING ?= data/validation/coding
SAMPLE ?= data/validation/ungdc-2015-2024.csv
CODER  ?= coder-a
SECOND ?= coder-b
merge-coding: | $(ENV_OK)
	$(PY) -m helpers.annotation.merge_coding --sample '$(SAMPLE)' --codebook '$(CODEBOOK)' \
	  $(foreach f,$(sort $(wildcard $(CODING)/batch*.csv)),--batch $(CODER)$(patsubst batch%.csv,%,$(notdir $(f)))='$(f)') \
	  $(if $(wildcard $(CODING)/second-coder.csv),--second $(SECOND)='$(CODING)/second-coder.csv') \
	  $(if $(wildcard $(CODING)/adjudicated.csv),--adjudicated '$(CODING)/adjudicated.csv')

## log-test: append the held-out (else dev) micro figures of REPORTS/agreement.csv to data/validation/test-log.csv (NOTE='what changed')
# The note reaches the recipe through the environment, never the shell's parsing: any quote in it is kept as written.
log-test: export LOG_TEST_NOTE = $(NOTE)
log-test: | $(ENV_OK)
	@test -f '$(REPORTS)/agreement.csv' || { echo "error: no $(REPORTS)/agreement.csv; run make annotate with a validation sample first" >&2; exit 2; }
	$(PY) -m helpers.annotation.scoring_log --agreement '$(REPORTS)/agreement.csv' --codebook '$(CODEBOOK)' \
	  --log data/validation/test-log.csv --note "$$LOG_TEST_NOTE" --rule-data $(wildcard data/aliases.yml data/spelling.yml) \
	  $(if $(wildcard $(REPORTS)/validation_scored.csv),--scored '$(REPORTS)/validation_scored.csv') \
	  $(if $(wildcard $(BUILD)/documents.csv),--documents '$(BUILD)/documents.csv')

## suggest-rules: candidate terms per theme for analysts to accept or reject -> REPORTS/rule_suggestions.csv
##         (words over-represented in coded tune paragraphs the rules miss; neighbours in word vectors of the corpus)
suggest-rules: $(REPORTS)/rule_suggestions.csv
$(REPORTS)/rule_suggestions.csv: $(ANNOTATED) $(PARAGRAPHS) $(CODEBOOK) $(RULE_DATA) $(VALIDATION) src/helpers/annotation/suggest_rules.py | $(ENV_OK)
	@test -n '$(VALIDATION)' || { echo "error: suggest-rules needs a coded validation sample with a tune split (VALIDATION=file.csv)" >&2; exit 2; }
	$(PY) -m helpers.annotation.suggest_rules --paragraphs $(PARAGRAPHS) --codebook $(CODEBOOK) --sample '$(VALIDATION)' \
	  --scored $(REPORTS)/validation_scored.csv --out $@

## analyse: theme frequencies, co-occurrence, overlap, reuse, keyness -> REPORTS/*.csv
analyse: $(ANALYSIS_CSV)
$(TEXT_CSV) &: $(PARAGRAPHS) $(ANALYSIS_SRC) | $(ENV_OK) $(INPUTS_OK)
	$(PY) -m helpers.analysis.analysis --only text --reports $(REPORTS) --build $(BUILD) --workers $(WORKERS)
$(THEME_CSV) &: $(ANNOTATED) $(ANALYSIS_SRC) | $(ENV_OK) $(INPUTS_OK)
	$(PY) -m helpers.analysis.analysis --only themes --reports $(REPORTS) --build $(BUILD) --workers $(WORKERS)

$(TABLE_ARGS): FORCE
	@mkdir -p $(@D); printf '%s\n' 'PARAMS=$(PARAMS) GROUP_BY=$(GROUP_BY)' | cmp -s - $@ 2>/dev/null || printf '%s\n' 'PARAMS=$(PARAMS) GROUP_BY=$(GROUP_BY)' > $@
$(RENDER_ARGS): FORCE
	@mkdir -p $(@D); printf '%s\n' 'PARAMS=$(PARAMS) GROUP_BY=$(GROUP_BY) SECTIONS=$(SECTIONS)' | cmp -s - $@ 2>/dev/null || printf '%s\n' 'PARAMS=$(PARAMS) GROUP_BY=$(GROUP_BY) SECTIONS=$(SECTIONS)' > $@

# The renderer writes both files atomically (temporary file, then rename), so a failed run must
# not delete the last good briefing: .PRECIOUS exempts them from .DELETE_ON_ERROR.
.PRECIOUS: $(BRIEFING) $(EXECUTED)

# The analysis reads REPORTS/validation_scored.csv (the coded sample, for the corrected shares), which the
# annotate recipe writes with $(ANNOTATED): a change of VALIDATION re-annotates and so re-analyses.

## report-tables: the briefing's own tables for the selection of PARAMS -> REPORTS/theme_trends.csv, theme_changes.csv,
##         members_vs_rest.csv, reuse_cross_vs_self.csv, reused_passages.csv, group_frequencies.csv,
##         briefing_documents.csv, input_files.csv
report-tables: $(REPORT_CSV)
# It runs beside the briefing at a lower CPU priority (nice): the section kernels come first, and it finishes on the
# core the PDF's printing leaves idle.
$(REPORT_CSV) &: $(ANNOTATED) $(ANALYSIS_CSV) $(HELPERS_SRC) $(PARAMS) $(TABLE_ARGS) $(PARAGRAPHS) $(GROUPS) $(CODEBOOK) \
                 $(CLEANING) $(CORPUS_FILES) $(OVERRIDES) $(VALIDATION) | $(ENV_OK) $(INPUTS_OK)
	$(NICE) $(PY) -m helpers.report.report_tables --build $(BUILD) --reports $(REPORTS) --corpus $(CORPUS) --codebook $(CODEBOOK) \
	  --groups $(GROUPS) $(if $(GROUP_BY),--group-by $(GROUP_BY)) $(if $(PARAMS),--params $(PARAMS))

# The logged held-out scorings of the codebook (make log-test), quoted in the key findings and the methods.
TEST_LOG := $(wildcard data/validation/test-log.csv)

# The briefing: papermill runs each section notebook on the project kernel into REPORTS/notebooks/,
# nbconvert + WeasyPrint write HTML and PDF (to temporary files, then renamed).
$(BRIEFING) $(EXECUTED) &: $(SECTIONS) $(ANNOTATED) $(ANALYSIS_CSV) $(HELPERS_SRC) $(TEMPLATE_FILES) $(PARAMS) $(RENDER_ARGS) \
               $(PARAGRAPHS) $(GROUPS) $(CODEBOOK) $(CLEANING) $(CORPUS_FILES) $(OVERRIDES) $(VALIDATION) $(TEST_LOG) | $(ENV_OK) $(INPUTS_OK)
	$(PY) -m helpers.report.render $(foreach n,$(SECTIONS),--notebook $(n)) --build $(BUILD) --reports $(REPORTS) \
	  --corpus $(CORPUS) --codebook $(CODEBOOK) --groups $(GROUPS) $(if $(GROUP_BY),--group-by $(GROUP_BY)) $(if $(PARAMS),--params $(PARAMS))

## cookbook: execute notebooks/cookbook.ipynb (analysts' recipes, not a section) into BUILD/notebooks/
cookbook: $(BUILD)/notebooks/cookbook.ipynb
$(BUILD)/notebooks/cookbook.ipynb: notebooks/cookbook.ipynb $(ANNOTATED) $(ANALYSIS_CSV) $(HELPERS_SRC) $(PARAMS) $(RENDER_ARGS) $(GROUPS) | $(ENV_OK) $(INPUTS_OK)
	$(PY) -m helpers.report.render --execute-only $(@D) --notebook $< --build $(BUILD) --reports $(REPORTS) \
	  --corpus $(CORPUS) --codebook $(CODEBOOK) --groups $(GROUPS) $(if $(GROUP_BY),--group-by $(GROUP_BY)) $(if $(PARAMS),--params $(PARAMS))

## lab: start JupyterLab on the project kernel in notebooks/ (installs JupyterLab into .venv on first use; as root too)
##      LAB_ARGS='--no-browser --port 8899' passes options to jupyter lab
LAB_OK := $(VENV)/.lab-installed
LAB_ARGS ?=
lab: $(LAB_OK)
	cd notebooks && ../$(PY) -m jupyter lab --MappingKernelManager.default_kernel_name=briefing \
	  $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)
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

## fuzz: throw 170 generated malformed or hostile inputs at make in a temporary folder (bench/fuzz_inputs.py, ~10 min)
fuzz: $(ENV_OK)
	$(PY) bench/fuzz_inputs.py

## bench-scale: COPIES=4 copies of the UNGDC slice (perturbed; written to SCALE_DIR, outside the repository) built cold
##              by one make report, printing its seconds and the peak memory of the whole process tree, each stage's
##              seconds and peak memory (stages run side by side) and the rows of each output
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

endif  # (a corpus URL; paths with spaces or quotes)
