"""SavedModel export of a `Captioner`, with the greedy decoding loop inside the graph."""

import keras
import tensorflow as tf

from mmkeras.models.captioner import Captioner


def export_captioner(captioner, path, tokenizer_vocab):
    """Writes a SavedModel that captions images with a greedy decoding loop inside the graph.

    Its `serving_default` signature takes float images `(batch, H, W, C)` (on the image branch's
    input scale, 0..255 for mmkeras branches) and returns `token_ids`, int32
    `(batch, max_length - 1)` as `Captioner.generate(method="greedy")` gives them, and
    `captions`, the decoded strings. The loop runs `max_length - 1` steps over a fixed-shape
    token tensor, so the graph has static shapes; it loads with TensorFlow alone.

    Args:
        captioner: a `Captioner`.
        path: str, the output folder.
        tokenizer_vocab: list of `vocab_size` strings, the token of each id.

    Example:
    >>> captioner = mmkeras.models.Captioner(
    ...     mmkeras.branches.image_cnn(input_shape=(32, 32, 3), filters=(8,), return_sequence=True),
    ...     vocab_size=len(vocabulary), attention=True, max_length=8)
    >>> mmkeras.export.export_captioner(captioner, "out/captioner", vocabulary)
    >>> exported = tf.saved_model.load("out/captioner")  # keep it: its variables live with it
    >>> exported.serve(images[:2])["captions"].shape
    TensorShape([2])
    """
    if not isinstance(captioner, Captioner):
        raise TypeError(f"`captioner` must be a Captioner; received {type(captioner).__name__}.")
    vocabulary = [str(token) for token in tokenizer_vocab]
    if len(vocabulary) != captioner.vocab_size:
        raise ValueError(
            f"`tokenizer_vocab` has {len(vocabulary)} tokens; the captioner has "
            f"vocab_size={captioner.vocab_size}. Give the tokenizer's full vocabulary (id -> token)."
        )
    image_shape = tuple(captioner.image_branch.inputs[0].shape[1:])
    steps = captioner.max_length - 1
    start_id, end_id, pad_id = captioner.start_id, captioner.end_id, captioner.pad_id

    @tf.function(input_signature=[tf.TensorSpec((None, *image_shape), tf.float32, name="images")])
    def serve(images):
        branch_outputs = captioner.image_branch(images, training=False)
        batch = tf.shape(images)[0]
        tokens = tf.concat(
            [
                tf.fill([batch, 1], tf.constant(start_id, tf.int32)),
                tf.fill([batch, steps], tf.constant(pad_id, tf.int32)),
            ],
            axis=1,
        )
        finished = tf.zeros([batch], tf.bool)
        positions = tf.range(captioner.max_length)
        for t in tf.range(steps):
            inputs = captioner._decoder_inputs(tokens, branch_outputs, captioner.attention)
            logits = captioner.decoder(inputs, training=False)
            next_tokens = tf.argmax(tf.gather(logits, t, axis=1), axis=-1, output_type=tf.int32)
            next_tokens = tf.where(finished, pad_id, next_tokens)
            tokens = tf.where(positions[None, :] == t + 1, next_tokens[:, None], tokens)
            finished = finished | tf.equal(next_tokens, end_id)
        generated = tokens[:, 1:]
        # Words are the tokens before the first end token, without padding or start tokens.
        before_end = tf.equal(tf.cumsum(tf.cast(tf.equal(generated, end_id), tf.int32), axis=1), 0)
        keep = before_end & tf.not_equal(generated, pad_id) & tf.not_equal(generated, start_id)
        words = tf.ragged.boolean_mask(tf.gather(tf.constant(vocabulary), generated), keep)
        captions = tf.strings.reduce_join(words, axis=1, separator=" ")
        return {"token_ids": generated, "captions": captions}

    archive = keras.export.ExportArchive()
    archive.track(captioner)
    archive.add_endpoint("serve", serve)
    archive.write_out(str(path), verbose=False)
