import numpy as np
import pytest
import tensorflow as tf

import mmkeras as mk


def make_pipe():
    return mk.data.Pipeline(
        schema={"image": "image", "text": "caption", "audio": "wav", "label": "label"},
        image=mk.data.ImageSpec(size=(20, 20), augment=mk.data.OpenCVAugment(flip="horizontal")),
        text=mk.data.TextSpec(max_length=6, vocab_size=20),
        audio=mk.data.AudioSpec(sample_rate=8000, duration=0.25),
    )


def as_numpy(ds):
    out = [(tf.nest.map_structure(lambda t: t.numpy(), x), y.numpy()) for x, y in ds]
    x = {k: np.concatenate([b[0][k] for b in out]) for k in out[0][0]}
    return x, np.concatenate([b[1] for b in out])


@pytest.mark.parametrize("image_dtype", ["float32", "uint8"])
def test_tfrecords_give_the_same_samples(av_folder, tmp_path, image_dtype):
    folder, rows = av_folder
    pipe = make_pipe()
    pipe.adapt(str(folder / "train.csv"))
    info = mk.data.write_tfrecords(
        str(folder / "train.csv"),
        str(tmp_path / "rec"),
        shards=3,
        pipeline=pipe,
        image_dtype=image_dtype,
    )
    assert info["num_samples"] == len(rows) and len(info["files"]) == 3
    direct_x, direct_y = as_numpy(pipe.dataset(str(folder / "train.csv"), batch_size=5))
    rec_x, rec_y = as_numpy(pipe.dataset(str(tmp_path / "rec"), batch_size=5))
    # Shards are written round-robin and interleaved back in the same order.
    np.testing.assert_array_equal(rec_y, direct_y)
    np.testing.assert_array_equal(rec_x["text"], direct_x["text"])
    np.testing.assert_array_equal(rec_x["audio"], direct_x["audio"])
    atol = 0 if image_dtype == "float32" else 0.5
    np.testing.assert_allclose(rec_x["image"], direct_x["image"], atol=atol)


def test_tfrecord_training_is_seeded_and_file_sharded(av_folder, tmp_path):
    folder, rows = av_folder
    pipe = make_pipe()
    pipe.adapt(str(folder / "train.csv"))
    pipe.write_tfrecords(str(folder / "train.csv"), str(tmp_path / "rec"), shards=2)
    ds = pipe.dataset(str(tmp_path / "rec"), training=True, batch_size=4, seed=1, cache=True)
    policy = ds.options().experimental_distribute.auto_shard_policy
    assert policy == tf.data.experimental.AutoShardPolicy.FILE
    a = as_numpy(ds)
    b = as_numpy(pipe.dataset(str(tmp_path / "rec"), training=True, batch_size=4, seed=1))
    np.testing.assert_array_equal(a[1], b[1])
    np.testing.assert_array_equal(a[0]["image"], b[0]["image"])
    assert sorted(a[1].tolist()) == sorted([0, 1, 2] * 4)


def test_preprocess_runs_inside_a_saved_model(av_folder, tmp_path):
    folder, rows = av_folder
    pipe = make_pipe()
    pipe.adapt(str(folder / "train.csv"))
    module = tf.Module()
    module.resources = pipe.trackables()
    module.serve = tf.function(pipe.preprocess, input_signature=[pipe.raw_input_specs()])
    tf.saved_model.save(module, str(tmp_path / "sm"))
    del module
    loaded = tf.saved_model.load(str(tmp_path / "sm"))
    raw = {
        "image": tf.constant([(folder / r["image"]).read_bytes() for r in rows[:4]]),
        "audio": tf.constant([(folder / r["wav"]).read_bytes() for r in rows[:4]]),
        "text": tf.constant([r["caption"] for r in rows[:4]]),
    }
    served = loaded.serve(raw)
    eager = pipe.preprocess(raw)
    for name in ("image", "text", "audio"):
        np.testing.assert_array_equal(served[name].numpy(), eager[name].numpy())


def test_opencv_augment_is_seeded_and_keeps_range(rng):
    images = rng.uniform(0, 255, (3, 16, 20, 3)).astype(np.float32)
    aug = mk.data.OpenCVAugment(
        rotation=30,
        scale=(0.8, 1.2),
        translate=0.1,
        flip="both",
        brightness=0.2,
        contrast=0.2,
        saturation=0.2,
        hue=0.05,
        blur=0.5,
        cutout=0.2,
    )
    seeds = np.array([[0, 0, i] for i in range(3)])
    out = aug.augment_batch(images, seeds)
    np.testing.assert_array_equal(out, aug.augment_batch(images, seeds))
    assert out.shape == images.shape and out.dtype == np.float32
    assert out.min() >= 0 and out.max() <= 255
    assert not np.array_equal(out, aug.augment_batch(images, seeds + [1, 0, 0]))
    # A pure horizontal flip mirrors the image exactly (when it happens).
    flip = mk.data.OpenCVAugment(flip="horizontal")
    flipped = [flip.augment_batch(images[:1], np.array([[s, 0, 0]]))[0] for s in range(8)]
    assert any(np.allclose(f, images[0, :, ::-1]) for f in flipped)
    assert any(np.allclose(f, images[0]) for f in flipped)
    gray = flip.augment_batch(images[:, :, :, :1], seeds)
    assert gray.shape == (3, 16, 20, 1)


def test_audio_augment_is_seeded():
    waves = tf.constant(np.sin(np.linspace(0, 50, 400))[None].repeat(2, 0), tf.float32)
    aug = mk.data.AudioAugment(gain_db=6, noise=0.01, shift=0.2)
    seeds = tf.constant([[1, 2], [1, 3]], tf.int64)
    a = aug.augment_batch(waves, seeds).numpy()
    np.testing.assert_array_equal(a, aug.augment_batch(waves, seeds).numpy())
    assert not np.allclose(a[0], a[1]) and np.abs(a).max() <= 1.0


def test_wordpiece_text_spec(tmp_path):
    pytest.importorskip("mmkeras.data.wordpiece")
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "the", "cat", "##s", "sat"]
    (tmp_path / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    pipe = mk.data.Pipeline(
        schema={"text": "t", "label": "y"},
        text=mk.data.TextSpec(
            tokenizer="wordpiece", vocab=str(tmp_path / "vocab.txt"), max_length=6, lower_case=True
        ),
    )
    pipe.adapt([{"t": "the cats sat", "y": "a"}, {"t": "the cat", "y": "b"}])
    assert pipe.vocab_size("text") == len(vocab)
    ids = pipe.preprocess({"text": tf.constant(["The cats sat"])})["text"].numpy()
    np.testing.assert_array_equal(ids, [[2, 4, 5, 6, 7, 3]])
    pipe.save(str(tmp_path / "pipe"))
    loaded = mk.data.Pipeline.load(str(tmp_path / "pipe"))
    np.testing.assert_array_equal(
        loaded.preprocess({"text": tf.constant(["The cats sat"])})["text"].numpy(), ids
    )
