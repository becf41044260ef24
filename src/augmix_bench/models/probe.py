"""A model tried once before training: it must have parameters and map a batch of the dataset's
images to one logit per class."""

from __future__ import annotations

import torch
from torch import nn

from ..errors import UserError

#: Images in the probe batch (two, so that the batch dimension cannot be confused with another).
PROBE_BATCH = 2


def check_model(model: nn.Module, name: str, num_classes: int, image_size: int) -> None:
    """Refuse, in one line naming ``name`` and the input shape, a model without trainable parameters
    or one whose forward pass on a zero batch (``PROBE_BATCH``, 3, ``image_size``, ``image_size``)
    fails or does not return logits of shape (``PROBE_BATCH``, ``num_classes``).

    The pass runs in eval mode without gradients, so batch-norm statistics and random streams are
    left as they were.
    """
    if not any(p.requires_grad for p in model.parameters()):
        raise UserError(f"model {name!r} has no trainable parameters; accepted: a torch.nn.Module with parameters")
    shape = (PROBE_BATCH, 3, image_size, image_size)
    wanted = (PROBE_BATCH, num_classes)
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            output = model(torch.zeros(shape, device=device))
    except Exception as exc:  # the model's own code: any failure means it does not fit these images
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise UserError(
            f"model {name!r} does not fit the dataset's images: a batch of shape {_shape(shape)} "
            f"fails ({type(exc).__name__}: {reason}); accepted: a model that takes "
            f"{image_size}x{image_size} images"
        ) from None
    finally:
        model.train(was_training)
    found = tuple(output.shape) if isinstance(output, torch.Tensor) else type(output).__name__
    if found != wanted:
        raise UserError(
            f"model {name!r} returns {_shape(found) if isinstance(found, tuple) else found} for a batch of shape "
            f"{_shape(shape)}; expected logits of shape {_shape(wanted)} (one per class)"
        )


def _shape(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(str(n) for n in shape) + ")"
