"""Stage 2, annotation: codebook and rule language -> themes with evidence and overrides; validation samples, coding and agreement."""
