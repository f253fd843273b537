"""`ContrastiveLogits`: scaled cosine similarities between two batches of embeddings."""

import math

import keras
from keras import ops

from mmkeras.argument_checks import check_number_above
from mmkeras.layers.config_arguments import ConfigArgumentsMixin


def _is_float(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _unit_rows(x):
    return x * ops.rsqrt(ops.maximum(ops.sum(ops.square(x), axis=-1, keepdims=True), 1e-12))


@keras.saving.register_keras_serializable(package="mmkeras")
class ContrastiveLogits(ConfigArgumentsMixin, keras.layers.Layer):
    """The similarity matrix of a contrastive dual encoder, divided by a temperature.

    Entry `(i, j)` is the cosine similarity of image `i` and text `j` divided by the
    temperature; a softmax over a row (or a column) then scores which text (image) is paired
    with each image (text). A learnable temperature is stored as the log of its inverse (a
    logit scale, as in CLIP), starts at `initial_temperature` and is clipped so the scale never
    exceeds `max_logit_scale`, which keeps training stable. With `bias` set, a bias is added to
    every logit (SigLIP's learnable `logit_bias`, for a sigmoid loss that scores each pair on
    its own: it starts negative, as most pairs of a batch are not matched).

    Args:
        temperature: `"learnable"`, or a positive float for a fixed temperature.
        initial_temperature: positive float, the starting value of a learnable temperature.
        max_logit_scale: float > 1, the largest `1 / temperature` a learnable temperature
            reaches.
        bias: None (no bias), `"learnable"`, or a float for a fixed bias.
        initial_bias: float, the starting value of a learnable bias (SigLIP's is -10).
        **kwargs: standard layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: tuple `(image_embeddings, text_embeddings)` of float tensors `(batch_a, dim)`
            and `(batch_b, dim)`; they need not be normalised.

    Returns:
        Float tensor `(batch_a, batch_b)` of logits.

    Example:
    >>> image_embeddings = np.random.rand(4, 16).astype("float32")
    >>> text_embeddings = np.random.rand(4, 16).astype("float32")
    >>> logits = ContrastiveLogits(temperature="learnable")((image_embeddings, text_embeddings))
    >>> print(logits.shape)  # every image against every text
    (4, 4)
    """

    config_arguments = (
        "temperature",
        "initial_temperature",
        "max_logit_scale",
        "bias",
        "initial_bias",
    )

    def __init__(
        self,
        temperature="learnable",
        initial_temperature=0.07,
        max_logit_scale=100.0,
        bias=None,
        initial_bias=-10.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if temperature != "learnable":
            check_number_above("temperature", temperature, 0, "'learnable' or a positive float")
        check_number_above("initial_temperature", initial_temperature, 0, "a positive float")
        check_number_above("max_logit_scale", max_logit_scale, 1, "a float > 1")
        self.temperature = temperature if temperature == "learnable" else float(temperature)
        self.initial_temperature = float(initial_temperature)
        self.max_logit_scale = float(max_logit_scale)
        if bias is not None and bias != "learnable" and not _is_float(bias):
            raise ValueError(
                f"ContrastiveLogits: `bias` must be None, 'learnable' or a float; received "
                f"bias={bias!r}."
            )
        if not _is_float(initial_bias):
            raise ValueError(
                f"ContrastiveLogits: `initial_bias` must be a float; received "
                f"initial_bias={initial_bias!r}."
            )
        self.bias = bias if bias in (None, "learnable") else float(bias)
        self.initial_bias = float(initial_bias)
        self.logit_scale = None
        self.logit_bias = None

    def build(self, input_shape):
        if len(input_shape) != 2 or any(len(shape) != 2 for shape in input_shape):
            raise ValueError(
                "ContrastiveLogits expects a pair of (batch, dim) embeddings; received "
                f"input_shape={input_shape}."
            )
        image_dim, text_dim = input_shape[0][-1], input_shape[1][-1]
        if image_dim is not None and text_dim is not None and image_dim != text_dim:
            raise ValueError(
                f"ContrastiveLogits needs embeddings of one size; received {image_dim} (images) "
                f"and {text_dim} (texts)."
            )
        if self.temperature == "learnable":
            self.logit_scale = self.add_weight(
                shape=(),
                initializer=keras.initializers.Constant(math.log(1.0 / self.initial_temperature)),
                name="logit_scale",
            )
        if self.bias == "learnable":
            self.logit_bias = self.add_weight(
                shape=(),
                initializer=keras.initializers.Constant(self.initial_bias),
                name="logit_bias",
            )
        self.built = True

    def scale(self):
        """Returns the current `1 / temperature` as a float32 scalar tensor."""
        if self.logit_scale is None:
            return ops.convert_to_tensor(1.0 / self.temperature, dtype="float32")
        clipped = ops.minimum(
            ops.convert_to_tensor(self.logit_scale, "float32"), math.log(self.max_logit_scale)
        )
        return ops.exp(clipped)

    def shift(self):
        """Returns the bias added to every logit as a float32 scalar tensor (0 without a bias)."""
        if self.logit_bias is not None:
            return ops.convert_to_tensor(self.logit_bias, "float32")
        return ops.convert_to_tensor(self.bias or 0.0, dtype="float32")

    def call(self, inputs):
        image_embeddings, text_embeddings = inputs
        # Cosines are taken in float32: float16 squares of small components underflow.
        images = _unit_rows(ops.cast(image_embeddings, "float32"))
        texts = _unit_rows(ops.cast(text_embeddings, "float32"))
        logits = ops.matmul(images, ops.transpose(texts)) * self.scale()
        if self.bias is not None:
            logits = logits + self.shift()
        return ops.cast(logits, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0], input_shape[1][0])
