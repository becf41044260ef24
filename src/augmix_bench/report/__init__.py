"""``augmix-report``: paper-style tables (Markdown, CSV, LaTeX) and plots of runs and sweeps.

Reads ``results.json`` / ``eval_results.json`` files; imports neither PyTorch nor the training loop (of
Hydra only its override parser, to count the jobs a sweep lists).
``collect`` finds and reads the files, ``aggregate`` groups seeds into cells, ``paper`` looks up the
paper's numbers, ``tables`` and ``plots`` write the report, ``command`` is the command line.
"""
