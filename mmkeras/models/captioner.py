"""`Captioner`: image captioning with an LSTM or Transformer decoder, greedy and beam search."""

import weakref

import keras
import numpy as np
from keras import ops

from mmkeras.argument_checks import check_int
from mmkeras.layers.captioning.lstm_caption_decoder import LSTMCaptionDecoder
from mmkeras.layers.captioning.transformer_caption_decoder import TransformerCaptionDecoder
from mmkeras.models.compile_defaults import CompileDefaultsMixin
from mmkeras.models.dataset_fit import DatasetFitMixin
from mmkeras.models.layer_arguments import LayerArgumentsMixin
from mmkeras.names import DECODERS

IMAGE = "image"
CAPTION = "caption"

# Inference sub-models per Captioner, kept outside the model so that saving does not see them
# and their compiled predict functions are reused between decoding steps.
_INFERENCE = weakref.WeakKeyDictionary()


def _branch_outputs(outputs):
    if isinstance(outputs, dict):
        return outputs["feature"], outputs.get("sequence"), outputs.get("sequence_mask")
    return outputs, None, None


@keras.saving.register_keras_serializable(package="mmkeras")
class Captioner(CompileDefaultsMixin, LayerArgumentsMixin, DatasetFitMixin, keras.Model):
    """Generates captions for images: an image branch and a caption decoder trained together.

    Without attention the decoder is conditioned on the image feature only (Show and Tell); with
    `attention=True` it also attends over the regions of the image branch's sequence output
    (Show, Attend and Tell), so the branch must be built with `return_sequence=True`.

    Captions are int token ids `(batch, max_length)`: `start_id`, the words, `end_id`, then
    `pad_id` padding. Training uses teacher forcing and needs no labels: the model reads the
    caption and learns to predict each next token; the targets are the caption shifted by one and
    padding is excluded from the loss. `generate` decodes greedily or with beam search and
    `evaluate_bleu` scores the result with corpus BLEU-4 (`mmkeras.retrieval.corpus_bleu`).

    The model is functional, with inputs `{"image": (B, H, W, C), "caption": (B, max_length)}`
    and next-token logits `(B, max_length, vocab_size)` as output.

    Args:
        image_branch: a single-input `keras.Model` from images to a feature `(batch, dim)`, or to
            a dict with `"feature"`, `"sequence"` and `"sequence_mask"` (needed for attention).
        vocab_size: int, number of token ids (the tokenizer's vocabulary size).
        decoder: `"lstm"`, `"transformer"`, or a decoder layer instance
            (`mmkeras.layers.LSTMCaptionDecoder` or `TransformerCaptionDecoder`), which then fixes
            the decoder's sizes and `attention`.
        attention: bool, whether the decoder attends over the image regions.
        max_length: int >= 2, the caption length including the start and end tokens.
        embedding_dim: int, token embedding size of the LSTM decoder.
        units: int, width of the LSTM, or of the Transformer blocks.
        num_layers: int, number of Transformer blocks.
        num_heads: int, attention heads.
        dropout: float in [0, 1).
        start_id: int, the id that starts every caption.
        end_id: int, the id that ends every caption.
        pad_id: int, the padding id (0 in mmkeras tokenizers).
        **kwargs: standard `keras.Model` arguments (`name`, `trainable`).

    Example:
    >>> vocabulary[:6]  # the token of each id
    ['[PAD]', '[UNK]', '[START]', '[END]', 'a', 'cat']
    >>> caption_ids[0]  # "a cat"
    array([2, 4, 5, 3, 0, 0, 0, 0], dtype=int32)
    >>> image_branch = mmkeras.branches.image_cnn(
    ...     input_shape=(32, 32, 3), filters=(8, 16), return_sequence=True)
    >>> captioner = mmkeras.models.Captioner(
    ...     image_branch, vocab_size=len(vocabulary), decoder="lstm", attention=True,
    ...     max_length=8, units=32)
    >>> captioner.compile_defaults()
    <Captioner name=..., built=True>
    >>> history = captioner.fit({"image": images, "caption": caption_ids}, epochs=1, verbose=0)
    >>> captions = captioner.to_text(captioner.generate(images[:2], method="beam"), vocabulary)
    >>> len(captions), type(captions[0])  # after real training: ['a cat', 'a dog']
    (2, <class 'str'>)
    """

    layer_arguments = ("image_branch", "decoder")

    def __init__(
        self,
        image_branch,
        vocab_size,
        decoder="lstm",
        attention=True,
        max_length=20,
        embedding_dim=64,
        units=128,
        num_layers=2,
        num_heads=2,
        dropout=0.1,
        start_id=2,
        end_id=3,
        pad_id=0,
        **kwargs,
    ):
        if not isinstance(image_branch, keras.Model) or len(image_branch.inputs) != 1:
            raise TypeError(
                "`image_branch` must be a single-input keras.Model (e.g. from mmkeras.branches); "
                f"received {type(image_branch).__name__}."
            )
        check_int("vocab_size", vocab_size, 4)
        check_int("max_length", max_length, 2)
        for name, value in (("start_id", start_id), ("end_id", end_id), ("pad_id", pad_id)):
            check_int(name, value, 0)
            if value >= vocab_size:
                raise ValueError(
                    f"`{name}` must be a token id below vocab_size={vocab_size}; received {name}={value}."
                )
        if len({start_id, end_id, pad_id}) != 3:
            raise ValueError(
                "`start_id`, `end_id` and `pad_id` must differ; received "
                f"start_id={start_id}, end_id={end_id}, pad_id={pad_id}."
            )
        if isinstance(decoder, (LSTMCaptionDecoder, TransformerCaptionDecoder)):
            if decoder.vocab_size != vocab_size:
                raise ValueError(
                    f"The decoder layer has vocab_size={decoder.vocab_size}, the Captioner "
                    f"vocab_size={vocab_size}; they must agree."
                )
            attention = decoder.attention
        elif decoder == "lstm":
            decoder = LSTMCaptionDecoder(
                vocab_size,
                embedding_dim=embedding_dim,
                units=units,
                attention=attention,
                num_heads=num_heads if units % num_heads == 0 else 1,
                dropout=dropout,
                name="decoder",
            )
        elif decoder == "transformer":
            decoder = TransformerCaptionDecoder(
                vocab_size,
                max_length,
                hidden_dim=units,
                num_layers=num_layers,
                num_heads=num_heads,
                attention=attention,
                dropout=dropout,
                name="decoder",
            )
        else:
            raise ValueError(
                f"`decoder` must be one of {DECODERS} or a caption decoder layer; received "
                f"decoder={decoder!r}."
            )
        feature, sequence, _ = _branch_outputs(image_branch.output)
        if len(feature.shape) != 2:
            raise ValueError(
                f"`image_branch` ({image_branch.name}) must output a feature (batch, dim); "
                f"received shape {tuple(feature.shape)}."
            )
        if attention and sequence is None:
            raise ValueError(
                f"attention=True needs the image branch's regions, but {image_branch.name} outputs "
                "a feature only. Build it with return_sequence=True, or use attention=False."
            )

        # === Layers ===
        self.image_branch = image_branch
        self.decoder = decoder

        # === Functional Model ===
        spec = image_branch.inputs[0]
        image = keras.Input(shape=tuple(spec.shape[1:]), dtype=spec.dtype, name=IMAGE)
        caption = keras.Input(shape=(max_length,), dtype="int32", name=CAPTION)
        logits = decoder(self._decoder_inputs(caption, image_branch(image), attention))
        super().__init__(inputs={IMAGE: image, CAPTION: caption}, outputs=logits, **kwargs)

        # === Config ===
        self.vocab_size = vocab_size
        self.attention = attention
        self.max_length = max_length
        self.start_id = start_id
        self.end_id = end_id
        self.pad_id = pad_id
        self.token_accuracy = keras.metrics.Mean(name="token_accuracy")

    @staticmethod
    def _decoder_inputs(tokens, branch_outputs, attention):
        feature, sequence, mask = _branch_outputs(branch_outputs)
        if not attention:
            return (tokens, feature)
        if mask is None:
            return (tokens, feature, sequence)
        return (tokens, feature, sequence, mask)

    def _targets(self, x, y, y_pred):
        if y is None:
            # Teacher forcing: the logits at step t predict the caption's token t + 1.
            return x[CAPTION][:, 1:], y_pred[:, :-1]
        return y, y_pred

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """Cross-entropy of the next tokens, averaged over the non-padding targets."""
        targets, logits = self._targets(x, y, y_pred)
        mask = ops.cast(ops.not_equal(targets, self.pad_id), "float32")
        losses = keras.losses.sparse_categorical_crossentropy(
            targets, ops.cast(logits, "float32"), from_logits=True
        )
        loss = ops.sum(losses * mask) / ops.maximum(ops.sum(mask), 1.0)
        for extra in self.losses:
            loss = loss + ops.cast(ops.sum(extra), "float32")
        return loss

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        targets, logits = self._targets(x, y, y_pred)
        mask = ops.cast(ops.not_equal(targets, self.pad_id), "float32")
        predicted = ops.argmax(logits, axis=-1)
        correct = ops.cast(ops.equal(predicted, ops.cast(targets, predicted.dtype)), "float32")
        self.token_accuracy.update_state(correct, sample_weight=mask)
        return self.get_metrics_result()

    # --- Decoding ---------------------------------------------------------------------------

    def _inference_models(self):
        if self not in _INFERENCE:
            spec = self.image_branch.inputs[0]
            image = keras.Input(shape=tuple(spec.shape[1:]), dtype=spec.dtype)
            feature, sequence, mask = _branch_outputs(self.image_branch(image))
            encoded = {"feature": feature}
            if self.attention:
                encoded["sequence"] = sequence
                if mask is not None:
                    encoded["sequence_mask"] = mask
            encoder = keras.Model(image, encoded, name=f"{self.name}_encoder")
            inputs = {
                "tokens": keras.Input(shape=(self.max_length,), dtype="int32", name="tokens"),
                "feature": keras.Input(
                    shape=tuple(feature.shape[1:]), dtype=feature.dtype, name="feature"
                ),
            }
            for key in ("sequence", "sequence_mask"):
                if key in encoded:
                    inputs[key] = keras.Input(
                        shape=tuple(encoded[key].shape[1:]), dtype=encoded[key].dtype, name=key
                    )
            logits = self.decoder(
                self._decoder_inputs(
                    inputs["tokens"],
                    {k: v for k, v in inputs.items() if k != "tokens"},
                    self.attention,
                )
            )
            step = keras.Model(inputs, logits, name=f"{self.name}_decoder_step")
            _INFERENCE[self] = (encoder, step)
        return _INFERENCE[self]

    def _encode(self, images):
        encoder, _ = self._inference_models()
        encoded = encoder.predict_on_batch(np.asarray(images, dtype="float32"))
        return {key: np.asarray(value) for key, value in encoded.items()}

    def _logits(self, tokens, encoded):
        _, step = self._inference_models()
        return np.asarray(step.predict_on_batch({"tokens": tokens, **encoded}), dtype="float32")

    def _greedy(self, encoded):
        batch = len(encoded["feature"])
        tokens = np.full((batch, self.max_length), self.pad_id, dtype="int32")
        tokens[:, 0] = self.start_id
        finished = np.zeros(batch, dtype=bool)
        for t in range(self.max_length - 1):
            next_tokens = self._logits(tokens, encoded)[:, t].argmax(axis=-1)
            next_tokens = np.where(finished, self.pad_id, next_tokens)
            tokens[:, t + 1] = next_tokens
            finished |= next_tokens == self.end_id
            if finished.all():
                break
        return tokens[:, 1:]

    def _beam(self, encoded, beam_width, length_penalty):
        batch = len(encoded["feature"])
        beams = {key: np.repeat(value, beam_width, axis=0) for key, value in encoded.items()}
        tokens = np.full((batch * beam_width, self.max_length), self.pad_id, dtype="int32")
        tokens[:, 0] = self.start_id
        # Only the first beam is live at the start, so the first step does not pick duplicates.
        scores = np.full((batch, beam_width), -np.inf)
        scores[:, 0] = 0.0
        finished = np.zeros((batch, beam_width), dtype=bool)
        lengths = np.zeros((batch, beam_width))
        vocab = self.vocab_size
        for t in range(self.max_length - 1):
            logits = self._logits(tokens, beams)[:, t].astype("float64")
            log_probs = logits - logits.max(axis=-1, keepdims=True)
            log_probs -= np.log(np.exp(log_probs).sum(axis=-1, keepdims=True))
            log_probs = log_probs.reshape(batch, beam_width, vocab)
            # A finished beam continues with padding at no cost, so it competes unchanged.
            done = np.full(vocab, -np.inf)
            done[self.pad_id] = 0.0
            log_probs = np.where(finished[..., None], done, log_probs)
            candidates = (scores[..., None] + log_probs).reshape(batch, beam_width * vocab)
            best = np.argsort(-candidates, axis=1, kind="stable")[:, :beam_width]
            parent, token = best // vocab, best % vocab
            rows = (np.arange(batch)[:, None] * beam_width + parent).reshape(-1)
            tokens = tokens[rows]
            tokens[:, t + 1] = token.reshape(-1)
            scores = np.take_along_axis(candidates, best, axis=1)
            was_finished = np.take_along_axis(finished, parent, axis=1)
            lengths = np.take_along_axis(lengths, parent, axis=1) + ~was_finished
            finished = was_finished | (token == self.end_id)
            if finished.all():
                break
        normalised = scores / np.maximum(lengths, 1.0) ** length_penalty
        choice = normalised.argmax(axis=1)
        return tokens.reshape(batch, beam_width, -1)[np.arange(batch), choice, 1:]

    def generate(self, images, method="greedy", beam_width=3, length_penalty=0.0, batch_size=32):
        """Decodes captions for images.

        Args:
            images: float array `(num_images, H, W, C)` on the branch's input scale.
            method: `"greedy"` (the most likely token at each step) or `"beam"` (keep the
                `beam_width` most likely captions at each step).
            beam_width: int >= 1, beams per image; `beam_width=1` equals greedy decoding.
            length_penalty: float >= 0; beams are ranked by `log_prob / length**length_penalty`
                (0 ranks by total log-probability, 1 by mean log-probability per token).
            batch_size: int, images decoded together.

        Returns:
            Int32 array `(num_images, max_length - 1)`: the generated tokens after the start
            token, the end token included, padding after it. `to_text` turns them into strings.
        """
        if method not in ("greedy", "beam"):
            raise ValueError(f"`method` must be 'greedy' or 'beam'; received method={method!r}.")
        check_int("beam_width", beam_width, 1)
        check_int("batch_size", batch_size, 1)
        if (
            isinstance(length_penalty, bool)
            or not isinstance(length_penalty, (int, float))
            or length_penalty < 0
        ):
            raise ValueError(
                f"`length_penalty` must be a float >= 0; received length_penalty={length_penalty!r}."
            )
        images = np.asarray(images, dtype="float32")
        results = []
        for start in range(0, len(images), batch_size):
            encoded = self._encode(images[start : start + batch_size])
            if method == "greedy":
                results.append(self._greedy(encoded))
            else:
                results.append(self._beam(encoded, beam_width, float(length_penalty)))
        if not results:
            return np.zeros((0, self.max_length - 1), dtype="int32")
        return np.concatenate(results).astype("int32")

    def caption_tokens(self, token_ids):
        """Returns each row of ids as a list of word ids: start, end and padding removed.

        Reading stops at the first end token, so the same function serves for generated ids and
        for reference captions `(num, max_length)` that begin with the start token.
        """
        special = {self.start_id, self.pad_id}
        captions = []
        for row in np.asarray(token_ids):
            words = []
            for token in row.tolist():
                if token == self.end_id:
                    break
                if token not in special:
                    words.append(token)
            captions.append(words)
        return captions

    def to_text(self, token_ids, vocabulary):
        """Turns token ids into strings with `vocabulary` (a list: id -> token), words joined by spaces."""
        vocabulary = list(vocabulary)
        return [" ".join(vocabulary[t] for t in words) for words in self.caption_tokens(token_ids)]

    def evaluate_bleu(
        self, images, references, method="greedy", beam_width=3, max_order=4, batch_size=32
    ):
        """Corpus BLEU of the generated captions against references.

        Args:
            images: float array `(num_images, H, W, C)`.
            references: int array `(num_images, length)` of caption ids (one reference per
                image), or a list with, per image, a list of such id sequences.
            method, beam_width, batch_size: as in `generate`.
            max_order: int, the longest n-gram (4 for BLEU-4).

        Returns:
            Float in [0, 1].
        """
        from mmkeras.retrieval import corpus_bleu

        hypotheses = self.caption_tokens(
            self.generate(images, method=method, beam_width=beam_width, batch_size=batch_size)
        )
        if isinstance(references, np.ndarray) and references.ndim == 2:
            refs = [[words] for words in self.caption_tokens(references)]
        else:
            refs = [
                [self.caption_tokens(np.asarray(sequence)[None, :])[0] for sequence in per_image]
                for per_image in references
            ]
        return corpus_bleu(refs, hypotheses, max_order=max_order)

    # === Config ===
    def get_config(self):
        return {
            "name": self.name,
            **self.serialized_layers(),
            "trainable": self.trainable,
            "vocab_size": self.vocab_size,
            "attention": self.attention,
            "max_length": self.max_length,
            "start_id": self.start_id,
            "end_id": self.end_id,
            "pad_id": self.pad_id,
        }
