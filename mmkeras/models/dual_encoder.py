"""`DualEncoder`: image and text encoders trained with a symmetric contrastive loss (CLIP-style)."""

import weakref

import keras
import numpy as np
from keras import ops

from mmkeras.layers.captioning.contrastive_logits import ContrastiveLogits
from mmkeras.models.branch_checks import check_branch_model
from mmkeras.models.compile_defaults import CompileDefaultsMixin
from mmkeras.models.dataset_fit import DatasetFitMixin
from mmkeras.models.layer_arguments import LayerArgumentsMixin

IMAGE = "image"
TEXT = "text"
DEFAULT_KS = (1, 5, 10)

# Encoder sub-models per DualEncoder, kept outside the model so that saving does not see them
# and `predict` is not traced again on every call.
_ENCODERS = weakref.WeakKeyDictionary()


def _feature(outputs):
    return outputs["feature"] if isinstance(outputs, dict) else outputs


def _check_branch(argument, branch):
    check_branch_model(f"`{argument}`", branch)
    feature = _feature(branch.output)
    if isinstance(feature, (list, tuple)) or len(feature.shape) != 2:
        raise ValueError(
            f"`{argument}` ({branch.name}) must output a feature (batch, dim) or a dict with "
            f"'feature'; received {branch.output}."
        )


@keras.saving.register_keras_serializable(package="mmkeras")
class DualEncoder(CompileDefaultsMixin, LayerArgumentsMixin, DatasetFitMixin, keras.Model):
    """Embeds images and texts in one space where paired items are close (CLIP-style).

    Each branch's feature is projected to `embed_dim` and L2-normalised. Training needs no
    labels: in a batch of `B` image-text pairs, each image must pick out its own text among the
    `B` texts and each text its own image; the loss is the mean of the two cross-entropies over
    the scaled cosine similarities (the other items of the batch are the negatives), so larger
    batches give harder training. During `fit` and `evaluate` the model reports in-batch
    recall@k in both directions; `evaluate_retrieval` measures it over a whole set.

    The model is functional, with inputs `{"image", "text"}` and outputs
    `{"image_embedding", "text_embedding", "logits"}` (`logits` is the `(B, B)` similarity matrix
    of the batch); `predict` returns the two embeddings only.

    Args:
        image_branch: a single-input `keras.Model` mapping images to a feature `(batch, dim)`
            (or a dict with `"feature"`), e.g. `mmkeras.branches.image_cnn(...)`.
        text_branch: the same for token ids, e.g. `mmkeras.branches.text_transformer(...)`.
        embed_dim: int, size of the shared embedding space.
        temperature: `"learnable"` (starts at 0.07, as in CLIP) or a positive float.
        recall_ks: tuple of ints, the k of the recall@k metrics reported during training.
        **kwargs: standard `keras.Model` arguments (`name`, `trainable`).

    Example:
    >>> model = mmkeras.models.DualEncoder(
    ...     image_branch=mmkeras.branches.image_cnn(
    ...         input_shape=(32, 32, 3), filters=(8, 16), output_dim=32),
    ...     text_branch=mmkeras.branches.text_rnn(vocab_size=50, units=16, output_dim=32),
    ...     embed_dim=16)
    >>> model.compile_defaults()
    <DualEncoder name=..., built=True>
    >>> history = model.fit({"image": images, "text": token_ids}, batch_size=4, epochs=1, verbose=0)
    >>> recalls = model.evaluate_retrieval(images, token_ids, ks=(1, 5))
    >>> sorted(recalls)
    ['image_to_text_recall@1', 'image_to_text_recall@5', 'text_to_image_recall@1',
     'text_to_image_recall@5']
    >>> model.encode_images(images).shape  # unit vectors, for a `mmkeras.retrieval.Index`
    (12, 16)
    """

    layer_arguments = ("image_branch", "text_branch")

    def __init__(
        self,
        image_branch,
        text_branch,
        embed_dim,
        temperature="learnable",
        recall_ks=DEFAULT_KS,
        **kwargs,
    ):
        _check_branch("image_branch", image_branch)
        _check_branch("text_branch", text_branch)
        if isinstance(embed_dim, bool) or not isinstance(embed_dim, int) or embed_dim <= 0:
            raise ValueError(
                f"`embed_dim` must be a positive integer; received embed_dim={embed_dim!r}."
            )
        recall_ks = tuple(recall_ks)
        if not recall_ks or any(
            isinstance(k, bool) or not isinstance(k, int) or k <= 0 for k in recall_ks
        ):
            raise ValueError(
                f"`recall_ks` must be a non-empty tuple of positive integers; received "
                f"recall_ks={recall_ks!r}."
            )

        # === Layers ===
        self.image_branch = image_branch
        self.text_branch = text_branch
        self.image_projection = keras.layers.Dense(embed_dim, name="image_projection")
        self.text_projection = keras.layers.Dense(embed_dim, name="text_projection")
        self.image_normalization = keras.layers.UnitNormalization(name="image_embedding")
        self.text_normalization = keras.layers.UnitNormalization(name="text_embedding")
        self.contrastive_logits = ContrastiveLogits(temperature=temperature, name="logits")

        # === Functional Model ===
        image_spec = image_branch.inputs[0]
        text_spec = text_branch.inputs[0]
        image = keras.Input(shape=tuple(image_spec.shape[1:]), dtype=image_spec.dtype, name=IMAGE)
        text = keras.Input(shape=tuple(text_spec.shape[1:]), dtype=text_spec.dtype, name=TEXT)
        image_embedding = self.image_normalization(
            self.image_projection(_feature(image_branch(image)))
        )
        text_embedding = self.text_normalization(self.text_projection(_feature(text_branch(text))))
        logits = self.contrastive_logits((image_embedding, text_embedding))
        super().__init__(
            inputs={IMAGE: image, TEXT: text},
            outputs={
                "image_embedding": image_embedding,
                "text_embedding": text_embedding,
                "logits": logits,
            },
            **kwargs,
        )

        # === Config ===
        self.embed_dim = embed_dim
        self.temperature = temperature
        self.recall_ks = recall_ks
        self.recall_trackers = {
            f"{direction}_recall@{k}": keras.metrics.Mean(name=f"{direction}_recall@{k}")
            for direction in ("image_to_text", "text_to_image")
            for k in recall_ks
        }

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """Symmetric cross-entropy over in-batch negatives (the pair of row `i` is column `i`)."""
        logits = ops.cast(y_pred["logits"], "float32")
        labels = ops.arange(ops.shape(logits)[0])
        image_to_text = keras.losses.sparse_categorical_crossentropy(
            labels, logits, from_logits=True
        )
        text_to_image = keras.losses.sparse_categorical_crossentropy(
            labels, ops.transpose(logits), from_logits=True
        )
        loss = 0.5 * (ops.mean(image_to_text) + ops.mean(text_to_image))
        for extra in self.losses:
            loss = loss + ops.cast(ops.sum(extra), "float32")
        return loss

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        logits = ops.cast(y_pred["logits"], "float32")
        batch = ops.shape(logits)[0]
        labels = ops.arange(batch)
        for direction, scores in (
            ("image_to_text", logits),
            ("text_to_image", ops.transpose(logits)),
        ):
            # The pair's rank: how many items score strictly higher than the true one.
            true_scores = ops.take_along_axis(scores, ops.expand_dims(labels, 1), axis=1)
            rank = ops.sum(ops.cast(scores > true_scores, "int32"), axis=1)
            for k in self.recall_ks:
                hit = ops.cast(rank < k, "float32")
                self.recall_trackers[f"{direction}_recall@{k}"].update_state(hit)
        return self.get_metrics_result()

    def predict_step(self, data):
        x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        outputs = self(x, training=False)
        # The (B, B) logits are not per-sample: batches of predict could not be concatenated.
        return {
            "image_embedding": outputs["image_embedding"],
            "text_embedding": outputs["text_embedding"],
        }

    def _encoders(self):
        if self not in _ENCODERS:
            _ENCODERS[self] = {
                IMAGE: keras.Model(
                    self.input[IMAGE],
                    self.image_normalization.output,
                    name=f"{self.name}_image_encoder",
                ),
                TEXT: keras.Model(
                    self.input[TEXT],
                    self.text_normalization.output,
                    name=f"{self.name}_text_encoder",
                ),
            }
        return _ENCODERS[self]

    def image_encoder(self):
        """Returns a functional model from images to their unit-length embeddings `(batch, embed_dim)`.

        It shares its weights with this model; use it to export or serve the image side alone.
        """
        return self._encoders()[IMAGE]

    def text_encoder(self):
        """Returns a functional model from token ids to their unit-length embeddings."""
        return self._encoders()[TEXT]

    def encode_images(self, images, batch_size=64):
        """Embeds images; returns a float32 array `(num_images, embed_dim)` of unit vectors."""
        return np.asarray(self.image_encoder().predict(images, batch_size=batch_size, verbose=0))

    def encode_texts(self, texts, batch_size=64):
        """Embeds token-id sequences; returns a float32 array `(num_texts, embed_dim)`."""
        return np.asarray(self.text_encoder().predict(texts, batch_size=batch_size, verbose=0))

    def evaluate_retrieval(
        self, images, texts, ks=DEFAULT_KS, image_ids=None, text_ids=None, batch_size=64
    ):
        """Recall@k of image-to-text and text-to-image retrieval over a whole set.

        Every image is ranked against every text (not only those of its batch), which is the
        usual retrieval benchmark. Image `i` is paired with text `i`, unless ids are given.

        Args:
            images: array `(num_images, H, W, C)`.
            texts: int array `(num_texts, steps)`.
            ks: iterable of positive ints.
            image_ids: optional array `(num_images,)`; an image and a text match when their ids
                are equal (e.g. several captions of one image, or one class).
            text_ids: optional array `(num_texts,)`.
            batch_size: int, batch size for encoding.

        Returns:
            Dict `{"image_to_text_recall@k": float, "text_to_image_recall@k": float}`.
        """
        from mmkeras.retrieval import retrieval_recalls

        return retrieval_recalls(
            self.encode_images(images, batch_size=batch_size),
            self.encode_texts(texts, batch_size=batch_size),
            ks=ks,
            image_ids=image_ids,
            text_ids=text_ids,
        )

    # === Config ===
    def get_config(self):
        return {
            "name": self.name,
            **self.serialized_layers(),
            "trainable": self.trainable,
            "embed_dim": self.embed_dim,
            "temperature": self.temperature,
            "recall_ks": list(self.recall_ks),
        }
