"""`DualEncoder`: image and text encoders trained with a symmetric contrastive loss (CLIP-style)."""

import weakref

import keras
import numpy as np
from keras import ops

from mmkeras.layers.captioning.contrastive_logits import ContrastiveLogits
from mmkeras.models.branch_checks import check_branch_model
from mmkeras.models.compile_defaults import CompileDefaultsMixin
from mmkeras.models.contrastive_losses import sigmoid_pair_loss, symmetric_cross_entropy
from mmkeras.models.dataset_fit import DatasetFitMixin
from mmkeras.models.layer_arguments import LayerArgumentsMixin

IMAGE = "image"
TEXT = "text"
DEFAULT_KS = (1, 5, 10)
PROJECTIONS = ("dense", "linear", None)
LOSSES = ("softmax", "sigmoid")

# Encoder sub-models per DualEncoder, kept outside the model so that saving does not see them
# and `predict` is not traced again on every call.
_ENCODERS = weakref.WeakKeyDictionary()
# The checkpoint tokenizer of a model built by `from_pretrained`, built on first use.
_TOKENIZERS = weakref.WeakKeyDictionary()


def branch_feature(outputs):
    """A branch's feature: its output, or the `"feature"` of a dict output."""
    return outputs["feature"] if isinstance(outputs, dict) else outputs


def _check_branch(argument, branch):
    check_branch_model(f"`{argument}`", branch)
    feature = branch_feature(branch.output)
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
    batches give harder training. `loss="sigmoid"` (SigLIP's) instead scores every pair of the
    batch on its own, a binary "paired or not" with a learned bias. During `fit` and
    `evaluate` the model reports in-batch recall@k in both directions; `evaluate_retrieval`
    measures it over a whole set.

    `DualEncoder.from_pretrained` builds one from a CLIP or SigLIP checkpoint, with its
    projections, logit scale (and SigLIP's bias and loss), so that `zero_shot` classifies
    images against texts as the checkpoint does before any training.

    The model is functional, with inputs `{"image", "text"}` and outputs
    `{"image_embedding", "text_embedding", "logits"}` (`logits` is the `(B, B)` similarity matrix
    of the batch); `predict` returns the two embeddings only.

    Args:
        image_branch: a single-input `keras.Model` mapping images to a feature `(batch, dim)`
            (or a dict with `"feature"`), e.g. `mmkeras.branches.image_cnn(...)`.
        text_branch: the same for token ids, e.g. `mmkeras.branches.text_transformer(...)`.
        embed_dim: int, size of the shared embedding space.
        temperature: `"learnable"` (starts at 0.07, as in CLIP; 0.1 with the sigmoid loss, as
            in SigLIP) or a positive float.
        recall_ks: tuple of ints, the k of the recall@k metrics reported during training.
        projection: `"dense"` (a Dense layer with a bias onto `embed_dim`), `"linear"` (without
            a bias, as CLIP's projections) or None (the branch features are the embeddings:
            both must be `embed_dim` wide).
        loss: `"softmax"` (the symmetric cross-entropy, CLIP's) or `"sigmoid"` (SigLIP's
            pairwise sigmoid loss; the logits then get a learnable bias starting at -10).
        max_logit_scale: float > 1, the largest `1 / temperature` a learnable temperature
            reaches (CLIP clips it at 100).
        pretrained_source: str or None, the checkpoint whose tokenizer `zero_shot` and
            `encode_texts` use for strings (`from_pretrained` sets it).
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
        projection="dense",
        loss="softmax",
        max_logit_scale=100.0,
        pretrained_source=None,
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

        if projection not in PROJECTIONS:
            raise ValueError(
                f"`projection` must be one of {PROJECTIONS}; received projection={projection!r}."
            )
        if loss not in LOSSES:
            raise ValueError(f"`loss` must be one of {LOSSES}; received loss={loss!r}.")
        if pretrained_source is not None and not isinstance(pretrained_source, str):
            raise ValueError(
                "`pretrained_source` must be None or the checkpoint a model was built from (a "
                f"string); received pretrained_source={pretrained_source!r}."
            )
        if projection is None:
            for argument, branch in (("image_branch", image_branch), ("text_branch", text_branch)):
                width = branch_feature(branch.output).shape[-1]
                if width != embed_dim:
                    raise ValueError(
                        f"projection=None uses the branch features as embeddings: `{argument}` "
                        f"({branch.name}) gives features of size {width}, not "
                        f"embed_dim={embed_dim}."
                    )
        sigmoid = loss == "sigmoid"

        # === Layers ===
        self.image_branch = image_branch
        self.text_branch = text_branch
        self.image_projection = self.text_projection = None
        if projection is not None:
            use_bias = projection == "dense"
            self.image_projection = keras.layers.Dense(
                embed_dim, use_bias=use_bias, name="image_projection"
            )
            self.text_projection = keras.layers.Dense(
                embed_dim, use_bias=use_bias, name="text_projection"
            )
        self.image_normalization = keras.layers.UnitNormalization(name="image_embedding")
        self.text_normalization = keras.layers.UnitNormalization(name="text_embedding")
        self.contrastive_logits = ContrastiveLogits(
            temperature=temperature,
            initial_temperature=0.1 if sigmoid else 0.07,
            max_logit_scale=max_logit_scale,
            bias="learnable" if sigmoid else None,
            name="logits",
        )

        # === Functional Model ===
        image_spec = image_branch.inputs[0]
        text_spec = text_branch.inputs[0]
        image = keras.Input(shape=tuple(image_spec.shape[1:]), dtype=image_spec.dtype, name=IMAGE)
        text = keras.Input(shape=tuple(text_spec.shape[1:]), dtype=text_spec.dtype, name=TEXT)
        image_feature = branch_feature(image_branch(image))
        text_feature = branch_feature(text_branch(text))
        if projection is not None:
            image_feature = self.image_projection(image_feature)
            text_feature = self.text_projection(text_feature)
        image_embedding = self.image_normalization(image_feature)
        text_embedding = self.text_normalization(text_feature)
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
        self.projection = projection
        self.loss_kind = loss
        self.max_logit_scale = float(max_logit_scale)
        self.pretrained_source = pretrained_source
        self.recall_trackers = {
            f"{direction}_recall@{k}": keras.metrics.Mean(name=f"{direction}_recall@{k}")
            for direction in ("image_to_text", "text_to_image")
            for k in recall_ks
        }

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """Symmetric cross-entropy over in-batch negatives (the pair of row `i` is column `i`),
        or with `loss="sigmoid"` the mean over images of the summed pairwise sigmoid losses."""
        logits = ops.cast(y_pred["logits"], "float32")
        if self.loss_kind == "sigmoid":
            loss = sigmoid_pair_loss(logits)
        else:
            loss = symmetric_cross_entropy(logits)
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
        """Embeds texts; returns a float32 array `(num_texts, embed_dim)` of unit vectors.

        `texts` are token-id sequences `(num_texts, steps)`, or strings for a model built by
        `from_pretrained` (tokenized with the checkpoint's own tokenizer).
        """
        texts = self.token_ids(texts)
        return np.asarray(self.text_encoder().predict(texts, batch_size=batch_size, verbose=0))

    def token_ids(self, texts):
        """`texts` as token ids: strings are tokenized with the checkpoint's tokenizer (a model
        from `from_pretrained`), padded to the text input's length (or the checkpoint's); ids
        are returned as they are."""
        array = np.asarray(texts)
        if array.dtype.kind not in "USO":
            return array
        if self.pretrained_source is None:
            raise ValueError(
                "DualEncoder: strings need the checkpoint's tokenizer, which only a model built "
                "by DualEncoder.from_pretrained has; pass token ids (num_texts, steps) instead."
            )
        if self not in _TOKENIZERS:
            from mmkeras.pretrained.text_ids import PretrainedTokenizer

            length = self.input[TEXT].shape[1]
            _TOKENIZERS[self] = PretrainedTokenizer(self.pretrained_source, length)
        return _TOKENIZERS[self](array.reshape(-1).tolist()).numpy()

    def zero_shot(self, images, texts, batch_size=64):
        """Scores every image against every text, as the checkpoint's own model does.

        With the softmax loss (CLIP) each image's row is a softmax over the texts (class
        probabilities, e.g. texts `["a photo of a cat", "a photo of a dog"]`); with the sigmoid
        loss (SigLIP) each entry is the sigmoid of its logit, the probability that the image
        and the text match, on its own.

        Args:
            images: array `(num_images, H, W, 3)` of 0..255 pixels.
            texts: strings (a model from `from_pretrained`) or token ids `(num_texts, steps)`.
            batch_size: int, batch size for encoding.

        Returns:
            float32 array `(num_images, num_texts)`.
        """
        image_embeddings = self.encode_images(images, batch_size=batch_size)
        text_embeddings = self.encode_texts(texts, batch_size=batch_size)
        head = self.contrastive_logits
        scale = float(ops.convert_to_numpy(head.scale()))
        shift = float(ops.convert_to_numpy(head.shift()))
        logits = image_embeddings.astype("float64") @ text_embeddings.astype("float64").T
        logits = logits * scale + shift
        if self.loss_kind == "sigmoid":
            return (1.0 / (1.0 + np.exp(-logits))).astype("float32")
        logits = logits - logits.max(axis=1, keepdims=True)
        probabilities = np.exp(logits)
        return (probabilities / probabilities.sum(axis=1, keepdims=True)).astype("float32")

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

    @classmethod
    def from_pretrained(
        cls,
        source,
        trainable=True,
        lora_rank=None,
        max_length=None,
        loss=None,
        recall_ks=DEFAULT_KS,
        name=None,
    ):
        """A dual encoder from a CLIP or SigLIP checkpoint, ready for zero-shot use.

        Both towers come from the one checkpoint (`mmkeras.branches.pretrained` with
        `modality="image"` and `"text"`), with its projections (CLIP's `visual_projection` and
        `text_projection`; SigLIP's pooling heads), its logit scale and, for SigLIP, its logit
        bias and sigmoid loss. Without training, `zero_shot` gives the checkpoint's own
        probabilities (CLIP: `logits_per_image.softmax(-1)`; SigLIP:
        `sigmoid(logits_per_image)`); `fit` then fine-tunes contrastively.

        Args:
            source: the checkpoint: a local folder, `"hf://org/name"`, or a keras-hub
                `CLIPBackbone` / `SigLIPBackbone` preset.
            trainable: False, True (every block trains; the default) or an int k (the top k
                blocks of each tower train).
            lora_rank: int or None: LoRA adapters of this rank on the attention projections.
            max_length: int or None, the length of the text input (default: variable for CLIP,
                the checkpoint's full length for SigLIP, which needs it).
            loss: None (the checkpoint's: `"sigmoid"` for SigLIP, `"softmax"` for CLIP),
                `"softmax"` or `"sigmoid"`.
            recall_ks: tuple of ints, the k of the recall@k metrics reported during training.
            name: name of the model; default `"dual_encoder_<family>"`.

        Returns:
            A `DualEncoder`, not compiled (`compile_defaults()` compiles it).

        Raises:
            ValueError: for a checkpoint that is not a CLIP or SigLIP model with both towers
                and a logit scale.
        """
        from mmkeras.models.dual_encoder_pretrained import dual_encoder_from_pretrained

        return dual_encoder_from_pretrained(
            cls,
            source,
            trainable=trainable,
            lora_rank=lora_rank,
            max_length=max_length,
            loss=loss,
            recall_ks=recall_ks,
            name=name,
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
            "projection": self.projection,
            "loss": self.loss_kind,
            "max_logit_scale": self.max_logit_scale,
            "pretrained_source": self.pretrained_source,
        }
