"""Strings -> the token ids a pretrained text encoder takes, as its checkpoint's tokenizer makes
them, in TensorFlow ops (so they run in `tf.data` and inside an exported model).

The family's tokenizer (`Family.tokenizer(source)`) maps strings to ids; its
`spec_arguments(source)` name the start, end and pad ids (and the checkpoint's length, where it
has one); keras-hub's `StartEndPacker` adds the first two and pads (and truncates) to the length.
The result equals the reference tokenizer's `input_ids` with `padding="max_length"`,
`truncation=True`.
"""

import os
import shutil

import tensorflow as tf

from mmkeras.atomic_files import atomic_path

# Files of a checkpoint folder that hold weights: not copied with the tokenizer.
_WEIGHT_SUFFIXES = (".safetensors", ".h5", ".bin", ".pt", ".ckpt", ".msgpack", ".onnx")


class PretrainedTokenizer(tf.Module):
    """Tokenizes strings as a pretrained checkpoint does, in the TensorFlow graph.

    The checkpoint's family provides the tokenizer (keras-hub's byte-level BPE for RoBERTa and
    CLIP, SentencePiece for XLM-RoBERTa and SigLIP) and its special ids; every sequence then
    reads `[start] ids... [end]`, truncated to `max_length` with the end token kept, and padded
    with the checkpoint's pad id. The ids equal the Hugging Face tokenizer's with
    `padding="max_length", truncation=True` (tested per family).

    Args:
        source: the checkpoint (a preset name, `hf://org/name`, or a local folder).
        max_length: int, the length of every id sequence; None: the checkpoint's own length
            (CLIP, SigLIP).
        modality: which tower's tokenizer for a checkpoint with several; default `"text"`.
    """

    def __init__(self, source, max_length=None, modality="text"):
        super().__init__(name="pretrained_tokenizer")
        from mmkeras.pretrained.family import family_for
        from mmkeras.pretrained.sources import resolve_source

        self.source = resolve_source(source)
        self.family = family_for(self.source, modality)
        if self.family.modality != "text":
            raise ValueError(
                f"TextSpec.from_pretrained: {self.source.source!r} is a {self.family.modality} "
                "checkpoint; a text spec needs a text checkpoint."
            )
        arguments = self.family.spec_arguments(self.source)
        max_length = max_length or arguments.get("max_length")
        if max_length is None:
            raise ValueError(
                f"TextSpec.from_pretrained: {self.source.source!r} has no fixed length; pass "
                "max_length=."
            )
        self.max_length = int(max_length)
        self.pad_id = int(arguments["pad_id"])
        self.start_id = arguments.get("start_id")
        self.end_id = arguments.get("end_id")
        self._load_tokenizer()
        import keras_hub

        self._packer = keras_hub.layers.StartEndPacker(
            sequence_length=self.max_length,
            start_value=self.start_id,
            end_value=self.end_id,
            pad_value=self.pad_id,
            return_padding_mask=False,
        )

    @property
    def vocab_size(self):
        return int(self.tokenizer.vocabulary_size())

    def _load_tokenizer(self):
        self.tokenizer = self.family.tokenizer(self.source)
        if not self.tokenizer.built:  # a SavedModel tracks built layers only
            self.tokenizer.build(None)
        # keras-hub's layers hand eager results back as Python lists; a graph keeps tensors.
        self._graph_call = tf.function(self._tokenize, autograph=False)

    def __call__(self, strings):
        strings = tf.convert_to_tensor(strings, dtype=tf.string)
        if not tf.executing_eagerly():
            return self._tokenize(strings)
        try:
            return self._graph_call(strings)
        except tf.errors.NotFoundError:
            # TensorFlow Text keeps a SentencePiece model in an eager kernel, which
            # `tf.random.set_seed` (`keras.utils.set_random_seed`) clears: load it again.
            self._load_tokenizer()
            return self._graph_call(strings)

    def _tokenize(self, strings):
        ids = self.tokenizer(strings)
        if isinstance(ids, tf.Tensor):
            ids = tf.RaggedTensor.from_tensor(ids)
        return tf.cast(self._packer(tf.cast(ids, "int32")), "int32")

    def trackables(self):
        return [self.tokenizer]

    def save_files(self, folder):
        """Copies the checkpoint's configuration and tokenizer files (no weights) into `folder`."""
        source_folder = self.source.location
        if not os.path.isdir(source_folder):  # a keras-hub handle: its files are in a cache
            from keras_hub.src.utils.preset_utils import get_file

            source_folder = os.path.dirname(get_file(source_folder, "config.json"))
        os.makedirs(folder, exist_ok=True)
        for root, _, files in os.walk(source_folder):
            relative = os.path.relpath(root, source_folder)
            for filename in files:
                if filename.endswith(_WEIGHT_SUFFIXES) or filename.startswith("."):
                    continue
                target = os.path.normpath(os.path.join(folder, relative, filename))
                os.makedirs(os.path.dirname(target), exist_ok=True)
                with atomic_path(target) as tmp:
                    shutil.copyfile(os.path.join(root, filename), tmp)


__all__ = ["PretrainedTokenizer"]
