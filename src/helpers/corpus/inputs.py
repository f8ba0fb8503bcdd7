"""Check every input of a build before any stage writes anything.

Pipeline stage: the first step of ``make ingest``, ``annotate``, ``analyse`` and ``report`` (the
Makefile runs it whenever an input or a make variable changed; a no-op ``make`` does not run it).
A bad parameter file, codebook, groups file, override file, validation sample, cleaning rule or
manifest row would otherwise be found by the stage that reads it, after the stages before it had
rewritten their files in ``REPORTS``, leaving a folder that mixes two builds. Here each is read
and validated with the same functions the stages use, so the messages are the same ones (file,
line or field, what to do), and nothing is written.

:func:`check_inputs` returns the warnings (a codebook rule that may never match, contradictory
overrides, an empty manifest field), which the stages print as they run (``--print-warnings`` prints
them here); the command line prints nothing when every input is good, else one error message and
exits with status 2 (:func:`helpers.errors.run_cli`)::

    python -m helpers.corpus.inputs --corpus data --codebook data/codebook.yml [--params p.yml] [--group-by blocs] \\
        [--groups data/groups.yml] [--cleaning data/cleaning.yml] [--organizations data/organizations.yml] \\
        [--overrides ...] [--validation ...] [--reports reports] [--on-error stop]
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from helpers.errors import CorpusError, ParameterError, run_cli

#: what each input is and what to do when it is missing: (make variable, description, fix)
_MISSING = {
    "codebook": ("CODEBOOK", "codebook", "Pass CODEBOOK=<an existing YAML codebook>, e.g. data/codebook.yml."),
    "params": ("PARAMS", "parameter file", "Pass PARAMS=<an existing YAML file>, or leave PARAMS out."),
    "groups": ("GROUPS", "groups file", "Pass GROUPS=<an existing YAML file> or restore data/groups.yml."),
    "cleaning": ("CLEANING", "cleaning rules file", "Pass CLEANING=<an existing YAML file> or restore data/cleaning.yml."),
    "organizations": ("ORGANIZATIONS", "organisation names file", "Pass ORGANIZATIONS=<an existing YAML file> or restore data/organizations.yml."),
    "overrides": ("OVERRIDES", "overrides file", "Restore it or leave OVERRIDES out."),
    "validation": ("VALIDATION", "validation sample", "Restore it or leave VALIDATION out."),
}


def _require(kind: str, path: str | os.PathLike[str] | None) -> None:
    if path is None or Path(path).is_file():
        return
    var, what, fix = _MISSING[kind]
    raise ParameterError(f"{path}: {what} not found ({var}={path}). {fix}")


def check_inputs(corpus: str | os.PathLike[str], codebook: str | os.PathLike[str], *, params: str | None = None,
                 group_by: str | None = None, groups: str | None = None, cleaning: str | None = None,
                 organizations: str | None = None, overrides: str | None = None, validation: str | None = None,
                 reports: str | None = None, on_error: str = "stop") -> list[str]:
    """Validate the inputs of a build; raise the stage's own :class:`~helpers.errors.HelpersError` on the first problem.

    Checks, in the order the stages read them: the files exist; the cleaning rules and organisation
    names load; the manifest and its rows (``on_error="skip"``: bad rows are left for the ingest to
    list); the codebook (schema, rules that run in linear time); overrides and the validation sample
    (format and themes; paragraph ids are checked by the annotation); the groups file; the parameter
    file (names, types and dates, paths that agree with make's, ``group_by``, themes in the codebook,
    organisations in the manifest, a selection with at least one document). Returns the warnings.
    """
    from helpers.annotation.annotate import read_overrides, read_validation
    from helpers.annotation.codebook import load_codebook
    from helpers.corpus.corpus import load_cleaning, read_manifest
    from helpers.corpus.groups import load_groups
    from helpers.corpus.organizations import canonicalize_manifest, load_organizations
    from helpers.params import check_group_by, check_names_and_types, load_params_file

    for kind, path in (("codebook", codebook), ("params", params), ("groups", groups), ("cleaning", cleaning),
                       ("organizations", organizations), ("overrides", overrides), ("validation", validation)):
        _require(kind, path)
    warnings: list[str] = []
    load_cleaning(cleaning)
    resolver = load_organizations(organizations)
    manifest = read_manifest(corpus, on_error=on_error)
    if not manifest.empty:
        warnings += [w for ws in manifest["warnings"] for w in str(ws).split(" | ") if w]
        manifest = canonicalize_manifest(manifest, resolver)
    cb = load_codebook(codebook)
    warnings += cb.warnings
    if overrides:
        warnings += read_overrides(overrides, cb).attrs.get("warnings", [])
    if validation:
        read_validation(validation, cb)
    load_groups(groups)
    if params or group_by:
        _check_params(params, group_by, groups, cb.theme_ids, manifest, corpus=corpus, codebook=codebook, reports=reports,
                      load_params_file=load_params_file, check_names_and_types=check_names_and_types, check_group_by=check_group_by)
    return warnings


def _check_params(params, group_by, groups, theme_ids, manifest, *, load_params_file, check_names_and_types, check_group_by,
                  **given) -> None:
    source = str(params or "command line")
    values = load_params_file(params) if params else {}
    for name, value in given.items():  # make passes these; a parameter file must not say otherwise (as helpers.report.render)
        if value is not None and values.get(name) is not None and os.path.normpath(str(values[name])) != os.path.normpath(str(value)):
            raise ParameterError(
                f"{params}: parameter '{name}' is {values[name]!r} but make passes {str(value)!r}. "
                f"Remove '{name}' from the parameter file and set {name.upper()}=... on the make command line."
            )
    if group_by:
        values["group_by"] = group_by
    values = check_names_and_types(values, source=source)
    if values.get("group_by"):
        try:
            check_group_by(values["group_by"], groups or "data/groups.yml")
        except ParameterError as exc:
            raise ParameterError(f"{source}: {exc}") from None
    unknown = [t for t in values.get("themes") or [] if t not in theme_ids]
    if unknown:
        raise ParameterError(f"{source}: parameter 'themes': unknown {', '.join(repr(t) for t in unknown)}. "
                             f"Must be among {{{', '.join(sorted(theme_ids))}}} (theme ids in the codebook).")
    if manifest.empty:
        return
    known = sorted(set(manifest["organization"]))
    wanted = values.get("organizations") or []
    missing = [o for o in wanted if o not in known]
    if missing:
        raise ParameterError(f"{source}: parameter 'organizations': unknown {', '.join(repr(m) for m in missing)}. "
                             f"Must be among {{{', '.join(known)}}} (organisations in the corpus manifest).")
    chosen = manifest[manifest["organization"].isin(wanted)] if wanted else manifest
    lo, hi = values.get("date_from"), values.get("date_to")
    chosen = chosen[(chosen["date"] >= (lo or "")) & (chosen["date"] <= (hi or "9999-99-99"))]
    if chosen.empty:
        span = f"{lo or 'the beginning'} to {hi or 'the end'}"
        raise ParameterError(f"{source}: the selection is empty: no document from {{{', '.join(wanted or known)}}} dated {span}. "
                             "Widen the dates or choose other organisations.")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.corpus.inputs", description="Check every input of a build before anything is written.")
    parser.add_argument("--corpus", required=True, help="corpus folder (manifest.csv and its files)")
    parser.add_argument("--codebook", required=True, help="YAML codebook")
    parser.add_argument("--params", help="papermill parameter file")
    parser.add_argument("--group-by", help="GROUP_BY of make")
    parser.add_argument("--groups", help="groups file (data/groups.yml)")
    parser.add_argument("--cleaning", help="cleaning rules (data/cleaning.yml)")
    parser.add_argument("--organizations", help="organisation names (data/organizations.yml)")
    parser.add_argument("--overrides", help="analysts' overrides CSV")
    parser.add_argument("--validation", help="hand-coded validation sample CSV")
    parser.add_argument("--reports", help="reports folder (a parameter file's 'reports' must agree)")
    parser.add_argument("--on-error", default="stop", help="stop or skip (ON_ERROR)")
    parser.add_argument("--print-warnings", action="store_true", help="print the warnings (the stages print them as they run)")
    parser.add_argument("--stamp", help="write this file when every check passes (make's record that they did)")
    args = parser.parse_args(argv)
    if args.on_error not in ("stop", "skip"):
        raise CorpusError(f"ON_ERROR must be one of {{stop, skip}}. Got {args.on_error!r} instead.")
    warnings = check_inputs(args.corpus, args.codebook, params=args.params or None, group_by=args.group_by or None,
                            groups=args.groups, cleaning=args.cleaning, organizations=args.organizations,
                            overrides=args.overrides or None, validation=args.validation or None, reports=args.reports,
                            on_error=args.on_error)
    if args.print_warnings:  # (make leaves them to the stages, which print them as they run)
        for w in warnings:
            print(f"warning: {w}", file=sys.stderr)
    if args.stamp:
        from helpers.io import write_text

        write_text("inputs checked\n", args.stamp)
    return 0


if __name__ == "__main__":
    raise SystemExit(run_cli(main))

