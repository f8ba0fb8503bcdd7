"""Reproducible analytical briefings on international-security discourse.

The subpackages are the pipeline's stages, one module per concept:
``corpus`` (checked inputs -> clean, stably identified paragraphs) -> ``annotation`` (codebook rules ->
themes with evidence; validation and agreement) -> ``analysis`` (frequencies, trends, co-occurrence,
overlap, reuse) -> ``report`` (DataFrames and figures for the notebooks; the rendered briefing).
``errors``, ``io``, ``params``, ``provenance``, ``safe_regex``, ``parallel`` and ``arrays`` are shared.
"""

__version__ = "0.1.0"
