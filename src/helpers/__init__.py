"""Reproducible analytical briefings on international-security discourse.

Pipeline, one module per concept:
``corpus`` (documents -> paragraphs) -> ``codebook`` / ``annotate`` (themes with evidence)
-> ``frequencies`` / ``cooccurrence`` / ``overlap`` / ``keyness`` / ``evidence`` (analysis)
-> ``charts`` / ``render`` (the briefing).
"""

__version__ = "0.1.0"
