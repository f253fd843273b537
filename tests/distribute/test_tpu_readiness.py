"""What a TPU needs, checked without one: static shapes, and models that compile with XLA."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf

import mmkeras as mk
from tests.data.conftest import write_wav

COLOURS = [(220, 30, 30), (30, 200, 40), (30, 40, 210)]


@pytest.fixture
def multimodal(tmp_path):
    """An adapted image + text + audio + tabular pipeline over 10 rows of varied sizes."""
    import cv2

    rows = []
    for i in range(10):
        label = i % 3
        height, width = 20 + 3 * i, 30 - i  # images of different sizes
        image = np.full((height, width, 3), COLOURS[label], np.uint8)
        cv2.imwrite(str(tmp_path / f"img{i}.png"), image)
        write_wav(tmp_path / f"snd{i}.wav", 300.0 * (label + 1), seconds=0.1 + 0.05 * i)
        words = " ".join(["word"] * (1 + i))  # texts shorter and longer than max_length
        rows.append(
            {
                "image": f"img{i}.png",
                "caption": f"colour {label} {words}",
                "wav": f"snd{i}.wav",
                "f1": float(i),
                "f2": float(label),
                "label": str(label),
            }
        )
    pipe = mk.data.Pipeline(
        schema={
            "image": "image",
            "text": "caption",
            "audio": "wav",
            "tabular": ["f1", "f2"],
            "label": "label",
        },
        image=mk.data.ImageSpec(size=(16, 16)),
        text=mk.data.TextSpec(max_length=6, vocab_size=50),
        audio=mk.data.AudioSpec(sample_rate=8000, duration=0.25),
        tabular=mk.data.TabularSpec(),
        root=str(tmp_path),
    )
    pipe.adapt(rows)
    return pipe, rows, tmp_path


def _assert_static(element_spec, batch_size):
    for spec in tf.nest.flatten(element_spec):
        assert spec.shape.is_fully_defined(), spec
        assert spec.shape[0] == batch_size, spec


def test_drop_remainder_gives_fully_static_batches(multimodal):
    pipe, rows, folder = multimodal
    for training in (True, False):
        ds = pipe.dataset(rows, training=training, batch_size=4, drop_remainder=True)
        _assert_static(ds.element_spec, 4)
        inputs, _ = ds.element_spec
        assert inputs["text"].shape == (4, 6)  # padded / truncated to max_length
        assert inputs["audio"].shape == (4, 2000)  # cropped / padded to sample_rate * duration
        assert inputs["image"].shape == (4, 16, 16, 3)
        assert sum(1 for _ in ds) == 2  # 10 rows: the last 2 are dropped
    records = str(folder / "records")
    pipe.write_tfrecords(rows, records, shards=2)
    ds = pipe.dataset(records, training=True, batch_size=4, drop_remainder=True)
    _assert_static(ds.element_spec, 4)
    half = pipe.dataset(records, batch_size=2, drop_remainder=True, shard=(2, 1))
    assert sum(int(y.shape[0]) for _, y in half) == 4  # shard 1 of 2 holds 5 rows


def test_shard_is_checked(multimodal):
    pipe, rows, _ = multimodal
    with pytest.raises(ValueError, match=r"`shard` must be \(num_shards, index\)"):
        pipe.dataset(rows, shard=(2, 2))
    with pytest.raises(ValueError, match="`shard` applies to TFRecord folders"):
        pipe.dataset(rows, shard=(2, 0))


@pytest.mark.slow
def test_a_multimodal_model_trains_with_xla_in_bfloat16(multimodal):
    pipe, rows, _ = multimodal
    ds = pipe.dataset(rows, training=True, batch_size=4, drop_remainder=True, seed=1)
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        model = mk.build_model(
            branches={
                "image": mk.branches.image_cnn(input_shape=(16, 16, 3), filters=(4,), output_dim=8),
                "text": mk.branches.text_rnn(
                    vocab_size=pipe.vocab_size("text"), embedding_dim=8, units=8, output_dim=8
                ),
                "audio": mk.branches.audio_cnn(
                    sample_rate=8000, duration=0.25, n_mels=16, filters=(4,), output_dim=8
                ),
                "tabular": mk.branches.tabular_mlp(num_features=2, hidden_units=(8,), output_dim=8),
            },
            fusion="attention",
            task=mk.tasks.Classification(num_classes=3),
            compile=False,
        )
        model.compile(
            optimizer="adam",
            loss="sparse_categorical_crossentropy",
            jit_compile=True,  # XLA: fails on an op XLA cannot compile, as a TPU would
        )
        history = model.fit(ds, epochs=2, verbose=0, shuffle=False)
    finally:
        keras.config.set_dtype_policy(previous)
    assert all(np.isfinite(history.history["loss"]))
    assert model.outputs[0].dtype == "float32"  # the head stays float32 under bfloat16


def test_tpu_runs_pick_bfloat16_and_static_shapes(monkeypatch):
    from mmkeras.train import distributed_data
    from mmkeras.train.precision import resolve_precision
    from mmkeras.train.strategies import resolve_strategy_name

    assert resolve_precision("auto", "tpu") == "mixed_bfloat16"
    assert distributed_data.needs_static_shapes("tpu")
    monkeypatch.setenv("COLAB_TPU_ADDR", "10.0.0.2:8470")
    assert resolve_strategy_name("auto") == "tpu"
    for key in ("COLAB_TPU_ADDR", "TPU_NAME", "TPU_ACCELERATOR_TYPE", "TPU_WORKER_ID"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("TF_CONFIG", '{"cluster": {"worker": ["a:1", "b:2"]}, "task": {}}')
    if not os.path.exists("/dev/accel0"):
        assert resolve_strategy_name("auto") == "multi_worker"
