"""A model of pretrained image, text and audio branches exports to a SavedModel that takes raw
bytes and strings: the checkpoint's tokenizer, image size and log-mel features travel with it."""

import os

import keras
import numpy as np
import pytest
from pretrained_golden import golden_dir

import mmkeras as mk
from tests.export.conftest import write_dataset


@pytest.mark.slow
def test_raw_bytes_served_equal_the_model_on_the_pipeline(tmp_path):
    import tensorflow as tf

    root = str(tmp_path / "data")
    manifest, rows = write_dataset(root)
    vit = mk.branches.pretrained(golden_dir("vit"), output_dim=8)
    text = mk.branches.pretrained(golden_dir("roberta"), max_length=12, output_dim=8)
    audio = mk.branches.pretrained(golden_dir("whisper"), output_dim=8)
    pipe = mk.data.Pipeline(
        schema={"image": "image", "text": "caption", "audio": "audio", "label": "label"},
        image=mk.data.ImageSpec.from_pretrained(vit),
        text=mk.data.TextSpec.from_pretrained(golden_dir("roberta"), max_length=12),
        audio=mk.data.AudioSpec.from_pretrained(golden_dir("whisper")),
    )
    pipe.adapt(manifest)
    model = mk.build_model(
        branches={"image": vit, "text": text, "audio": audio},
        task=mk.tasks.Classification(num_classes=3),
    )
    path = str(tmp_path / "export")
    mk.export.saved_model(model, pipe, path)

    inputs, _ = next(iter(pipe.dataset(manifest, batch_size=len(rows))))
    expected = keras.ops.convert_to_numpy(model(inputs))

    def read(name):
        with open(os.path.join(root, name), "rb") as f:
            return f.read()

    served = tf.saved_model.load(path).signatures["serving_default"](
        image=tf.constant([read(r["image"]) for r in rows]),
        text=tf.constant([r["caption"] for r in rows]),
        audio=tf.constant([read(r["audio"]) for r in rows]),
    )
    np.testing.assert_allclose(served["probabilities"].numpy(), expected, atol=1e-5)
