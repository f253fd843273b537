"""A pretrained checkpoint's own tokenizer, as TensorFlow ops: strings -> padded token ids."""

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
        max_length: int, the length of every id sequence.
        modality: which tower's tokenizer for a checkpoint with several; default `"text"`.
    """

    def __init__(self, source, max_length, modality="text"):
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
        self.max_length = max_length
        arguments = self.family.spec_arguments(self.source)
        self.pad_id = int(arguments["pad_id"])
        self.start_id = arguments.get("start_id")
        self.end_id = arguments.get("end_id")
        self.tokenizer = self.family.tokenizer(self.source)
        if not self.tokenizer.built:  # a SavedModel tracks built layers only
            self.tokenizer.build(None)
        import keras_hub

        self._packer = keras_hub.layers.StartEndPacker(
            sequence_length=max_length,
            start_value=self.start_id,
            end_value=self.end_id,
            pad_value=self.pad_id,
            return_padding_mask=False,
        )

    @property
    def vocab_size(self):
        return int(self.tokenizer.vocabulary_size())

    def __call__(self, strings):
        strings = tf.convert_to_tensor(strings, dtype=tf.string)
        if tf.executing_eagerly():
            # keras-hub's layers hand eager results back as Python lists; a graph keeps tensors.
            return self._graph_call(strings)
        return self._tokenize(strings)

    def _tokenize(self, strings):
        ids = self.tokenizer(strings)
        if isinstance(ids, tf.Tensor):
            ids = tf.RaggedTensor.from_tensor(ids)
        return tf.cast(self._packer(tf.cast(ids, "int32")), "int32")

    @tf.function(autograph=False)
    def _graph_call(self, strings):
        return self._tokenize(strings)

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
