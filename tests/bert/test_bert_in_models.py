import os

import numpy as np
import pytest
import tensorflow as tf

from mmkeras.branches.text_bert_branch import text_bert
from mmkeras.data.wordpiece import WordPieceTokenizer

TEXTS = ["the red cat sat", "a blue dog", "the cat sat on the mat", "dogs playing!"]


def _image_text_model(keras, branch, max_length):
    text = keras.Input((max_length,), dtype="int32", name="text")
    image = keras.Input((8, 8, 3), name="image")
    x = keras.layers.Rescaling(1 / 255)(image)
    x = keras.layers.Conv2D(4, 3, activation="relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    fused = keras.layers.Concatenate()([branch(text), x])
    outputs = keras.layers.Dense(2, activation="softmax", name="label")(fused)
    return keras.Model({"text": text, "image": image}, outputs)


@pytest.mark.slow
def test_image_text_model_with_frozen_bert_trains_saves_and_reloads(tiny_bert, tmp_path, rng):
    import keras

    tok = WordPieceTokenizer(os.path.join(tiny_bert, "vocab.txt"), max_length=6)
    branch = text_bert(tiny_bert, pooling="mean", trainable=False, max_length=6)
    model = _image_text_model(keras, branch, 6)
    text_ids = tok(tf.constant(TEXTS * 4)).numpy()
    images = rng.uniform(0, 255, size=(16, 8, 8, 3)).astype("float32")
    labels = np.array([0, 1, 0, 1] * 4)
    inputs = {"text": text_ids, "image": images}
    frozen = [w.copy() for w in branch.get_weights()]
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="sparse_categorical_crossentropy")
    history = model.fit(inputs, labels, epochs=8, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    for a, b in zip(frozen, branch.get_weights(), strict=False):
        np.testing.assert_array_equal(a, b)

    path = str(tmp_path / "image_text.keras")
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_allclose(
        loaded.predict(inputs, verbose=0), model.predict(inputs, verbose=0), atol=1e-6
    )


@pytest.mark.slow
def test_tokenizer_and_encoder_export_as_saved_model(tiny_bert, tmp_path):
    tok = WordPieceTokenizer(os.path.join(tiny_bert, "vocab.txt"), max_length=8)
    branch = text_bert(tiny_bert, pooling="mean", max_length=8)

    class TextEncoder(tf.Module):
        def __init__(self):
            super().__init__()
            self.tokenizer = tok
            self.encoder = branch

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
        def __call__(self, texts):
            return self.encoder(self.tokenizer(texts), training=False)

    module = TextEncoder()
    expected = branch.predict(tok(tf.constant(TEXTS)), verbose=0)
    path = str(tmp_path / "encoder")
    tf.saved_model.save(module, path)
    restored = tf.saved_model.load(path)
    np.testing.assert_allclose(restored(tf.constant(TEXTS)).numpy(), expected, atol=1e-6)
    # The vocabulary file is no longer needed once exported.
    os.remove(os.path.join(tiny_bert, "vocab.txt"))
    np.testing.assert_allclose(
        tf.saved_model.load(path)(tf.constant(TEXTS[:1])).numpy(), expected[:1], atol=1e-6
    )
