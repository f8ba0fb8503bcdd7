"""Stage 3, analysis: theme frequencies, trends, co-occurrence, distinctive language, overlap and verbatim reuse."""
