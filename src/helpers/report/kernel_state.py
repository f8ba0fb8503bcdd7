"""What a section kernel puts back between two sections, so that one kernel can run several.

The renderer runs the briefing's sections on one kernel per CPU, one section after another
(:func:`helpers.report.render.execute_notebooks`), instead of starting a kernel (and importing
pandas, matplotlib and the helpers) for every section. These two functions run inside that kernel:
:func:`snapshot` once, after the kernel has started and before its first section, records the
state a fresh kernel has; :func:`restore`, before each further section, returns to it: the
notebook's names removed (IPython's reset), figures closed, matplotlib's settings, pandas'
options, the warning filters and the working directory as recorded, and freed memory returned
to the system. A section thus sees what it would see on a kernel of its own; the executed
notebooks are the same bytes either way (``tests/test_render.py``).

The state lives in this module, which IPython's reset does not touch (it clears the notebook's
namespace, not imported modules).
"""

from __future__ import annotations

import gc
import os
import sys
import warnings
from typing import Any

_recorded: dict[str, Any] = {}


def snapshot() -> None:
    """Record the kernel's current state as the one :func:`restore` returns to."""
    _recorded.clear()
    _recorded["cwd"] = os.getcwd()
    _recorded["filters"] = list(warnings.filters)
    try:  # pyplot's first import sets up the kernel's inline backend and its settings: record them set up
        import matplotlib
        import matplotlib.pyplot  # noqa: F401
    except ImportError:  # a kernel without matplotlib: nothing to record
        matplotlib = None
    if matplotlib is not None:
        _recorded["rc"] = matplotlib.rcParams.copy()
    # What the kernel holds now (the preloaded modules: pandas, matplotlib, the helpers) lives as long as it does:
    # the garbage collector stops scanning it, so the two full collections of each restore (IPython's reset and
    # ours) look at the last section's objects only: 0.1 s each instead of 0.2 s, 1.3 s of a briefing's render.
    gc.collect()
    gc.freeze()


def restore() -> None:
    """Return the kernel to the state :func:`snapshot` recorded (raises ``RuntimeError`` if none was)."""
    if not _recorded:
        raise RuntimeError("kernel_state.restore() before snapshot()")
    from IPython import get_ipython

    shell = get_ipython()
    if shell is not None:
        shell.reset(new_session=False)
        shell.execution_count = 1  # the section's cells are numbered from 1, as on a new kernel
    os.chdir(_recorded["cwd"])
    warnings.filters[:] = _recorded["filters"]
    warnings.onceregistry.clear()  # a warning shown once by the last section is shown again
    warnings._filters_mutated()  # and so is one shown once per place: each module's registry is reset
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")
    matplotlib = sys.modules.get("matplotlib")
    if matplotlib is not None and "rc" in _recorded:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # deprecated keys among the recorded ones
            matplotlib.rcParams.update(_recorded["rc"])
    pandas = sys.modules.get("pandas")
    if pandas is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pandas.reset_option("all")
    gc.collect()
    from helpers.arrays import release_memory

    release_memory()
