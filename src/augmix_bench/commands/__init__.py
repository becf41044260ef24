"""The composition root: the body of every console command.

Only this package (with ``cli/`` above it) turns a composed config into objects (benchmark, model,
training plan, runtime, logger) and hands them down to ``training/``, ``evaluation/`` and
``distributed/``, which never read a config themselves.
"""
