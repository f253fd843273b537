"""Helpers of the CLIP and SigLIP tests beyond the golden readers of `pretrained_golden`."""

import numpy as np


def raw_images(reference):
    """The reference's uint8 images as the float32 0..255 pixels a branch takes."""
    return reference["images"].astype("float32")


def perturb(model, seed):
    """Redraws every float weight of a Keras model, so no weight keeps a neutral value."""
    rng = np.random.default_rng(seed)
    for variable in model.weights:
        if "float" in str(variable.dtype):
            variable.assign(rng.normal(0.0, 0.2, tuple(variable.shape)).astype("float32"))
