"""Evaluation: the suite (clean, -C, -P, calibration), checkpoint evaluation, ``results.json``."""
