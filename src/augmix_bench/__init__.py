"""augmix-bench: reproduce and extend the AugMix paper's robustness benchmarks."""

__version__ = "0.1.0"
