"""Stage 1, corpus: documents -> checked inputs -> clean, stably identified paragraphs (manifest, cleaning, organisations, groups)."""
