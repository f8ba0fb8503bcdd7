"""Project exceptions and the command-line wrapper that turns them into one clean message.

Every error a user can cause by their input (a manifest, a codebook, an override file,
a parameter) is raised as a subclass of :class:`HelpersError` whose message names the
file, the line or field, what was expected, what was found and what to do. Command-line
entry points wrap their ``main`` with :func:`run_cli`, which prints that message without a
Python traceback (set ``DEBUG=1`` or pass ``--debug`` to see one) and exits with status 2.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence


class HelpersError(Exception):
    """An error in the user's input, reported as a single readable paragraph."""


class CorpusError(HelpersError):
    """A problem with a corpus folder: its manifest or one of its documents."""


class CodebookError(HelpersError):
    """A problem with the YAML codebook."""


class AnnotationError(HelpersError):
    """A problem with analysts' overrides, validation samples or review files."""


class ParameterError(HelpersError):
    """A parameter (command line, papermill parameter file) with a value that cannot be used."""


class RenderError(HelpersError):
    """A failure while executing or rendering the briefing notebooks."""


def run_cli(main: Callable[[Sequence[str] | None], int | None], argv: Sequence[str] | None = None) -> int:
    """Run ``main(argv)``; print a :class:`HelpersError` as one message and return exit status 2.

    ``--debug`` in ``argv`` (removed before ``main`` sees it) or ``DEBUG=1`` in the
    environment re-raises the exception so the full traceback is shown.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    debug = os.environ.get("DEBUG", "") not in ("", "0") or "--debug" in args
    args = [a for a in args if a != "--debug"]
    try:
        return int(main(args) or 0)
    except HelpersError as exc:
        if debug:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 2


class GroupsError(HelpersError):
    """A problem with the groups file (data/groups.yml) or a ``group_by`` choice."""
