"""One transformer layer of the wav2vec2 / HuBERT encoder, post-norm or pre-norm."""

import keras
from keras import ops

from mmkeras.argument_checks import (
    check_bool,
    check_positive_int,
    check_positive_number,
    check_rate,
)
from mmkeras.layers.bert._ops import activate, check_activation
from mmkeras.layers.bert.bert_encoder_layer import BERTEncoderLayer
from mmkeras.layers.config_arguments import ConfigArgumentsMixin
from mmkeras.layers.split_width import split_width


@keras.saving.register_keras_serializable(package="mmkeras")
class SpeechEncoderLayer(ConfigArgumentsMixin, keras.layers.Layer):
    """Self-attention and a feed-forward block, post-normalised (base) or pre-normalised (large).

    Post-norm (`pre_norm=False`, wav2vec2-base / HuBERT-base):
    `h = LayerNorm(x + Dropout(Attention(x)))`, then `LayerNorm(h + FFN(h))`. Pre-norm
    (`pre_norm=True`, the checkpoints' `do_stable_layer_norm`, wav2vec2-large-lv60 /
    HuBERT-large): `h = x + Dropout(Attention(LayerNorm(x)))`, then `h + FFN(LayerNorm(h))`.
    `FFN(h) = Dropout(Dropout(act(h W1 + b1)) W2 + b2)`. The attention projections are Keras
    `Dense` layers (`query`, `key`, `value`, `attention_output`), so `enable_lora` can adapt
    the query and value projections.

    With `layerdrop > 0`, during training the whole layer is skipped (its input passed on) with
    that probability, drawn once per batch, as the reference's LayerDrop does.

    Args:
        num_heads: int, attention heads; must divide the input width.
        intermediate_size: int, width of the feed-forward block.
        activation: str, the checkpoint's `hidden_act` ("gelu" is exact GELU).
        layer_norm_epsilon: float, epsilon of both layer norms (`layer_norm_eps`).
        pre_norm: bool, the pre-norm layout (`do_stable_layer_norm`).
        dropout: float in [0, 1), dropout after the attention and the feed-forward block
            (`hidden_dropout`).
        attention_dropout: float in [0, 1), dropout on the attention probabilities.
        activation_dropout: float in [0, 1), dropout after the feed-forward activation.
        layerdrop: float in [0, 1), the probability of skipping the layer in training.
        lora_rank: int or None, the rank of LoRA adapters on the query and value projections
            (set by `enable_lora`).
        **kwargs: standard layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: float tensor `(batch, frames, hidden)`.
        mask: optional bool tensor `(batch, frames)`, True at real frames; padded frames get
            no attention.
        training: bool, whether dropout and LayerDrop are active.

    Returns:
        Float tensor `(batch, frames, hidden)`.

    Example:
    >>> layer = SpeechEncoderLayer(num_heads=2, intermediate_size=16, pre_norm=True)
    >>> print(layer(np.zeros((1, 4, 8), "float32"), mask=np.array([[1, 1, 1, 0]], bool)).shape)
    (1, 4, 8)
    """

    # A BERT layer's arguments, and the layout, dropout and LoRA options of the speech encoders.
    config_arguments = (
        *BERTEncoderLayer.config_arguments,
        "pre_norm",
        "activation_dropout",
        "layerdrop",
        "lora_rank",
    )

    def __init__(
        self,
        num_heads,
        intermediate_size,
        activation="gelu",
        layer_norm_epsilon=1e-5,
        pre_norm=False,
        dropout=0.1,
        attention_dropout=0.1,
        activation_dropout=0.0,
        layerdrop=0.0,
        lora_rank=None,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        where = "SpeechEncoderLayer"
        self.num_heads = check_positive_int("num_heads", num_heads, where)
        self.intermediate_size = check_positive_int("intermediate_size", intermediate_size, where)
        self.activation = check_activation(activation)
        self.layer_norm_epsilon = check_positive_number(
            "layer_norm_epsilon", layer_norm_epsilon, where
        )
        self.pre_norm = check_bool("pre_norm", pre_norm, where)
        self.dropout = check_rate("dropout", dropout, where)
        self.attention_dropout = check_rate("attention_dropout", attention_dropout, where)
        self.activation_dropout = check_rate("activation_dropout", activation_dropout, where)
        self.layerdrop = check_rate("layerdrop", layerdrop, where)
        self.lora_rank = check_positive_int("lora_rank", lora_rank, where, allow_none=True)
        self.seed = seed
        self.supports_masking = True
        policy = self.dtype_policy

        def dropout_layer(rate):
            return keras.layers.Dropout(rate, dtype=policy)

        self.attention_norm = keras.layers.LayerNormalization(
            epsilon=layer_norm_epsilon, dtype=policy, name="attention_layer_norm"
        )
        self.output_norm = keras.layers.LayerNormalization(
            epsilon=layer_norm_epsilon, dtype=policy, name="final_layer_norm"
        )
        self.attention_probs_dropout = dropout_layer(attention_dropout)
        self.attention_output_dropout = dropout_layer(dropout)
        self.intermediate_dropout = dropout_layer(activation_dropout)
        self.output_dropout = dropout_layer(dropout)
        if layerdrop:
            self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, input_shape):
        hidden = input_shape[-1]
        split_width(input_shape, self.num_heads, "num_heads", "SpeechEncoderLayer", rank=3)
        policy = self.dtype_policy

        def dense(units, name):
            layer = keras.layers.Dense(units, dtype=policy, name=name)
            return layer

        self.query = dense(hidden, "query")
        self.key = dense(hidden, "key")
        self.value = dense(hidden, "value")
        self.attention_output = dense(hidden, "attention_output")
        self.intermediate = dense(self.intermediate_size, "intermediate")
        self.ffn_output = dense(hidden, "output")
        for layer in (self.query, self.key, self.value, self.attention_output, self.intermediate):
            layer.build(input_shape)
        self.ffn_output.build((*input_shape[:-1], self.intermediate_size))
        self.attention_norm.build(input_shape)
        self.output_norm.build(input_shape)
        self.built = True
        if self.lora_rank is not None:
            self._add_lora(self.lora_rank)

    def _add_lora(self, rank):
        self.query.enable_lora(rank)
        self.value.enable_lora(rank)

    def enable_lora(self, rank):
        """Adds rank-`rank` LoRA adapters to the query and value projections.

        The projections' kernels stop training (Keras `Dense.enable_lora`); the adapters train.
        """
        check_positive_int("rank", rank, "SpeechEncoderLayer.enable_lora")
        if self.lora_rank is not None:
            raise ValueError(
                f"SpeechEncoderLayer {self.name!r} already has LoRA adapters of rank "
                f"{self.lora_rank}; they can be added once."
            )
        self.lora_rank = rank
        if self.built:
            self._add_lora(rank)

    def _split_heads(self, x, batch, steps, head_size):
        x = ops.reshape(x, (batch, steps, self.num_heads, head_size))
        return ops.transpose(x, (0, 2, 1, 3))

    def _attend(self, x, mask, training):
        shape = ops.shape(x)
        batch, steps, hidden = shape[0], shape[1], x.shape[-1]
        head_size = hidden // self.num_heads
        q = self._split_heads(self.query(x), batch, steps, head_size)
        k = self._split_heads(self.key(x), batch, steps, head_size)
        v = self._split_heads(self.value(x), batch, steps, head_size)
        scores = ops.matmul(q, ops.transpose(k, (0, 1, 3, 2)))
        scores = scores / ops.cast(ops.sqrt(float(head_size)), scores.dtype)
        if mask is not None:
            keep = ops.cast(mask, "bool")[:, None, None, :]
            # A large finite negative keeps a row with no real frame finite.
            very_negative = -3.0e4 if scores.dtype == "float16" else -1.0e9
            scores = ops.where(keep, scores, ops.cast(very_negative, scores.dtype))
        probs = ops.softmax(ops.cast(scores, "float32"), axis=-1)
        probs = self.attention_probs_dropout(ops.cast(probs, x.dtype), training=training)
        context = ops.matmul(probs, v)
        context = ops.reshape(ops.transpose(context, (0, 2, 1, 3)), (batch, steps, hidden))
        return self.attention_output_dropout(self.attention_output(context), training=training)

    def _feed_forward(self, x, training):
        h = activate(self.intermediate(x), self.activation)
        h = self.intermediate_dropout(h, training=training)
        return self.output_dropout(self.ffn_output(h), training=training)

    def call(self, inputs, mask=None, training=None):
        if self.pre_norm:
            h = inputs + self._attend(self.attention_norm(inputs), mask, training)
            outputs = h + self._feed_forward(self.output_norm(h), training)
        else:
            h = self.attention_norm(inputs + self._attend(inputs, mask, training))
            outputs = self.output_norm(h + self._feed_forward(h, training))
        if training and self.layerdrop:
            draw = keras.random.uniform((), seed=self.seed_generator)
            outputs = ops.where(draw < self.layerdrop, inputs, outputs)
        return outputs

    def compute_mask(self, inputs, mask=None):
        return mask

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}
