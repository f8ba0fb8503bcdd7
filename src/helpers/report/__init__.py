"""Stage 4, report: tables and figures for the notebooks, and the rendered briefing (papermill, nbconvert)."""
