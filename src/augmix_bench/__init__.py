"""augmix-bench: reproduce and extend the AugMix paper's robustness benchmarks.

``from augmix_bench import evaluate, load_checkpoint`` is the Python API (``api.py``). The names load
lazily: importing the package imports neither PyTorch nor Hydra.
"""

from .lazy import lazy_exports

__version__ = "0.1.0"

_EXPORTS = {
    "evaluate": ".api",
    "load_checkpoint": ".api",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
