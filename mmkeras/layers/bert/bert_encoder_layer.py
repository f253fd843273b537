"""One post-norm transformer layer of a BERT encoder."""

import math

import keras
from keras import ops

from mmkeras.argument_checks import check_positive_int, check_rate
from mmkeras.layers.bert._ops import activate, check_activation, check_epsilon, layer_norm
from mmkeras.layers.config_arguments import ConfigArgumentsMixin
from mmkeras.layers.split_width import split_width


@keras.saving.register_keras_serializable(package="mmkeras")
class BERTEncoderLayer(ConfigArgumentsMixin, keras.layers.Layer):
    """A BERT transformer layer: self-attention and a feed-forward block, each post-normalised.

    `h = LayerNorm(x + Dropout(Attention(x)))`, then `LayerNorm(h + Dropout(FFN(h)))` with
    `FFN(h) = act(h W1 + b1) W2 + b2`. Its weights have the shapes of a Hugging Face BERT layer
    (kernels stored `(in, out)`), so a checkpoint loads into it directly.

    Args:
        num_heads: int, number of attention heads; must divide the input width.
        intermediate_size: int, width of the feed-forward block.
        activation: str, the checkpoint's `hidden_act`: "gelu" (exact, erf), "gelu_new" /
            "gelu_pytorch_tanh" / "gelu_fast" (tanh approximation), "relu", "silu", "swish", "tanh".
        layer_norm_epsilon: float, epsilon of both layer normalisations.
        dropout: float in [0, 1), dropout after the attention output and the feed-forward block.
        attention_dropout: float in [0, 1), dropout on the attention probabilities.
        **kwargs: standard layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: float tensor `(batch, steps, hidden)`.
        mask: optional bool tensor `(batch, steps)`, True at real tokens; padded keys get no
            attention.
        training: bool, whether dropout is active.

    Returns:
        Float tensor `(batch, steps, hidden)`.

    Example:
    >>> layer = BERTEncoderLayer(num_heads=2, intermediate_size=32)
    >>> print(layer(np.zeros((1, 4, 8), "float32"), mask=np.array([[1, 1, 1, 0]], bool)).shape)
    (1, 4, 8)
    """

    config_arguments = (
        "num_heads",
        "intermediate_size",
        "activation",
        "layer_norm_epsilon",
        "dropout",
        "attention_dropout",
    )

    def __init__(
        self,
        num_heads,
        intermediate_size,
        activation="gelu",
        layer_norm_epsilon=1e-12,
        dropout=0.1,
        attention_dropout=0.1,
        **kwargs,
    ):
        super().__init__(**kwargs)
        check_positive_int("num_heads", num_heads)
        check_positive_int("intermediate_size", intermediate_size)
        check_activation(activation)
        check_epsilon(layer_norm_epsilon)
        check_rate("dropout", dropout)
        check_rate("attention_dropout", attention_dropout)
        self.num_heads = num_heads
        self.intermediate_size = intermediate_size
        self.activation = activation
        self.layer_norm_epsilon = layer_norm_epsilon
        self.dropout = dropout
        self.attention_dropout = attention_dropout
        self._attention_dropout_layer = keras.layers.Dropout(
            attention_dropout, dtype=self.dtype_policy
        )
        self._output_dropout_layer = keras.layers.Dropout(dropout, dtype=self.dtype_policy)
        self._ffn_dropout_layer = keras.layers.Dropout(dropout, dtype=self.dtype_policy)
        self.supports_masking = True

    def build(self, input_shape):
        hidden = input_shape[-1]
        split_width(input_shape, self.num_heads, "num_heads", "BERTEncoderLayer")
        init = keras.initializers.TruncatedNormal(stddev=0.02)

        def dense(name, fan_in, fan_out):
            kernel = self.add_weight(
                name=f"{name}_kernel", shape=(fan_in, fan_out), initializer=init
            )
            bias = self.add_weight(name=f"{name}_bias", shape=(fan_out,), initializer="zeros")
            return kernel, bias

        self.query_kernel, self.query_bias = dense("query", hidden, hidden)
        self.key_kernel, self.key_bias = dense("key", hidden, hidden)
        self.value_kernel, self.value_bias = dense("value", hidden, hidden)
        self.attention_output_kernel, self.attention_output_bias = dense(
            "attention_output", hidden, hidden
        )
        self.attention_norm_gamma = self.add_weight(
            name="attention_norm_gamma", shape=(hidden,), initializer="ones"
        )
        self.attention_norm_beta = self.add_weight(
            name="attention_norm_beta", shape=(hidden,), initializer="zeros"
        )
        self.intermediate_kernel, self.intermediate_bias = dense(
            "intermediate", hidden, self.intermediate_size
        )
        self.output_kernel, self.output_bias = dense("output", self.intermediate_size, hidden)
        self.output_norm_gamma = self.add_weight(
            name="output_norm_gamma", shape=(hidden,), initializer="ones"
        )
        self.output_norm_beta = self.add_weight(
            name="output_norm_beta", shape=(hidden,), initializer="zeros"
        )

    def call(self, inputs, mask=None, training=None):
        shape = ops.shape(inputs)
        batch, steps, hidden = shape[0], shape[1], inputs.shape[-1]
        head_size = hidden // self.num_heads

        # Every projection multiplies a (batch * steps, hidden) matrix: on TensorFlow a 2-D matmul
        # takes its bias into the same kernel, a 3-D one is reshaped in between and cannot.
        x = ops.reshape(inputs, (-1, hidden))

        def heads(projection, order):
            split = ops.reshape(projection, (batch, steps, self.num_heads, head_size))
            return ops.transpose(split, order)

        # Queries are scaled rather than scores (fewer numbers when steps > head_size), and keys
        # go straight to (batch, heads, head_size, steps), the layout the product needs.
        q = heads(ops.matmul(x, self.query_kernel) + self.query_bias, (0, 2, 1, 3))
        q = q * ops.cast(1.0 / math.sqrt(head_size), q.dtype)
        k = heads(ops.matmul(x, self.key_kernel) + self.key_bias, (0, 2, 3, 1))
        v = heads(ops.matmul(x, self.value_kernel) + self.value_bias, (0, 2, 1, 3))
        scores = ops.cast(ops.matmul(q, k), "float32")
        if mask is not None:
            # A large finite negative (not -inf) keeps rows finite; exp() of it is exactly 0, as
            # with the reference's additive float-min mask.
            padding = ops.where(ops.cast(mask, "bool"), 0.0, -1.0e9)
            scores = scores + padding[:, None, None, :]
        probs = ops.cast(ops.softmax(scores, axis=-1), inputs.dtype)
        probs = self._attention_dropout_layer(probs, training=training)
        context = ops.transpose(ops.matmul(probs, v), (0, 2, 1, 3))
        context = ops.reshape(context, (-1, hidden))
        attended = ops.matmul(context, self.attention_output_kernel) + self.attention_output_bias
        attended = self._output_dropout_layer(attended, training=training)
        h = layer_norm(
            x + attended,
            self.attention_norm_gamma,
            self.attention_norm_beta,
            self.layer_norm_epsilon,
        )
        ffn = activate(
            ops.matmul(h, self.intermediate_kernel) + self.intermediate_bias, self.activation
        )
        ffn = ops.matmul(ffn, self.output_kernel) + self.output_bias
        ffn = self._ffn_dropout_layer(ffn, training=training)
        outputs = layer_norm(
            h + ffn, self.output_norm_gamma, self.output_norm_beta, self.layer_norm_epsilon
        )
        return ops.reshape(outputs, (batch, steps, hidden))

    def compute_mask(self, inputs, mask=None):
        return mask

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)
