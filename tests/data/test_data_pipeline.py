import keras
import numpy as np
import pytest
import tensorflow as tf

import mmkeras as mk

SCHEMA = {"image": "image", "text": "caption", "audio": "wav", "label": "label"}


def make_pipe(root=None, augment=True, **kwargs):
    aug = (
        mk.data.OpenCVAugment(
            rotation=30,
            scale=(0.8, 1.2),
            translate=0.1,
            flip="horizontal",
            brightness=0.2,
            contrast=0.2,
            blur=0.3,
            cutout=0.2,
        )
        if augment
        else None
    )
    return mk.data.Pipeline(
        schema=SCHEMA,
        image=mk.data.ImageSpec(size=(24, 24), augment=aug),
        text=mk.data.TextSpec(tokenizer="word", max_length=8, vocab_size=12),
        audio=mk.data.AudioSpec(
            sample_rate=8000,
            duration=0.25,
            augment=mk.data.AudioAugment(gain_db=3, noise=0.01, shift=0.1),
        ),
        root=root,
        **kwargs,
    )


def batches(ds):
    return [
        (tf.nest.map_structure(lambda t: t.numpy(), x), tf.nest.map_structure(np.asarray, y))
        for x, y in ds
    ]


@pytest.mark.slow
def test_eval_dataset_equals_preprocess_on_the_same_bytes(av_folder):
    folder, rows = av_folder
    pipe = make_pipe()
    pipe.adapt(str(folder / "train.csv"))
    (inputs, labels), *_ = batches(pipe.dataset(str(folder / "train.csv"), batch_size=len(rows)))
    raw = {
        "image": tf.constant([(folder / r["image"]).read_bytes() for r in rows]),
        "audio": tf.constant([(folder / r["wav"]).read_bytes() for r in rows]),
        "text": tf.constant([r["caption"] for r in rows]),
    }
    direct = pipe.preprocess(raw)
    for name in ("image", "audio", "text"):
        np.testing.assert_array_equal(direct[name].numpy(), inputs[name])
    assert inputs["image"].shape == (len(rows), 24, 24, 3)
    assert inputs["image"].dtype == np.float32 and 0 <= inputs["image"].min()
    assert inputs["image"].max() <= 255 and inputs["image"].max() > 150  # raw 0..255 scale
    assert inputs["audio"].shape == (len(rows), 2000) and np.abs(inputs["audio"]).max() <= 1
    assert inputs["text"].dtype == np.int32
    # Labels follow the sorted label index.
    assert pipe.labels == ["blue", "green", "red"]
    np.testing.assert_array_equal(labels, [pipe.labels.index(r["label"]) for r in rows])


def test_word_vocabulary_ids(av_folder):
    folder, rows = av_folder
    pipe = make_pipe()
    pipe.adapt(str(folder / "train.csv"))
    tok = pipe.tokenizer("text")
    # "a photo of ... thing" are in every row: the most frequent words get the smallest ids.
    assert tok.vocabulary[:4] == ["a", "of", "photo", "thing"]
    assert pipe.vocab_size("text") == 12  # capped: padding + OOV + 10 words
    ids = pipe.preprocess(
        {
            "image": tf.constant([b""]),
            "audio": tf.constant([b""]),
            "text": tf.constant(["A PHOTO zebra"]),
        }
    )["text"].numpy()
    np.testing.assert_array_equal(ids, [[2, 4, 1, 0, 0, 0, 0, 0]])


@pytest.mark.slow
def test_same_seed_same_batches_different_seed_different(av_folder):
    folder, _ = av_folder
    pipe = make_pipe()
    pipe.adapt(str(folder / "train.csv"))
    manifest = str(folder / "train.csv")

    def run(seed):
        ds = pipe.dataset(manifest, training=True, batch_size=4, seed=seed)
        return [batches(ds), batches(ds)]  # two epochs

    first, again, other = run(3), run(3), run(4)
    for epoch_a, epoch_b in zip(first, again, strict=True):
        for (xa, ya), (xb, yb) in zip(epoch_a, epoch_b, strict=True):
            np.testing.assert_array_equal(ya, yb)
            for name in xa:
                np.testing.assert_array_equal(xa[name], xb[name])
    # A new epoch reshuffles and re-augments; another seed gives other batches.
    assert not np.array_equal(first[0][0][0]["image"], first[1][0][0]["image"])
    assert not np.array_equal(first[0][0][0]["image"], other[0][0][0]["image"])
    assert not np.array_equal(first[0][0][0]["audio"], other[0][0][0]["audio"])
    # Training augmentation changes pixels, and every epoch still covers every row once.
    labels = np.sort(np.concatenate([y for _, y in first[1]]))
    np.testing.assert_array_equal(labels, np.sort([0, 1, 2] * 4))


def test_initial_epoch_starts_the_epoch_numbering(av_folder):
    folder, _ = av_folder
    pipe = make_pipe()
    manifest = str(folder / "train.csv")
    pipe.adapt(manifest)
    ds = pipe.dataset(manifest, training=True, batch_size=12, seed=5)
    _, second = batches(ds), batches(ds)
    (resumed,) = [
        batches(pipe.dataset(manifest, training=True, batch_size=12, seed=5, initial_epoch=1))
    ]
    for (xa, ya), (xb, yb) in zip(second, resumed, strict=True):
        np.testing.assert_array_equal(ya, yb)
        for name in xa:
            np.testing.assert_array_equal(xa[name], xb[name])
    with pytest.raises(ValueError, match="initial_epoch"):
        pipe.dataset(manifest, initial_epoch=-1)


@pytest.mark.slow
def test_model_trains_from_the_pipeline(av_folder):
    folder, _ = av_folder
    pipe = make_pipe()
    pipe.adapt(str(folder / "train.csv"))
    train_ds = pipe.dataset(str(folder / "train.csv"), training=True, batch_size=4, seed=0)
    val_ds = pipe.dataset(str(folder / "train.csv"), batch_size=6)

    specs = pipe.input_specs()
    image = keras.Input(specs["image"]["shape"], name="image")
    text = keras.Input(specs["text"]["shape"], dtype="int32", name="text")
    audio = keras.Input(specs["audio"]["shape"], name="audio")
    img_feat = keras.layers.GlobalAveragePooling2D()(keras.layers.Rescaling(1 / 255)(image))
    txt_feat = keras.layers.GlobalAveragePooling1D()(
        keras.layers.Embedding(pipe.vocab_size("text"), 8)(text)
    )
    aud_feat = keras.layers.Dense(8, activation="relu")(audio)
    fused = keras.layers.Concatenate()([img_feat, txt_feat, aud_feat])
    out = keras.layers.Dense(pipe.num_classes, activation="softmax")(fused)
    model = keras.Model({"image": image, "text": text, "audio": audio}, out)
    model.compile(
        keras.optimizers.Adam(0.05), "sparse_categorical_crossentropy", metrics=["accuracy"]
    )
    history = model.fit(train_ds, validation_data=val_ds, epochs=8, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    assert history.history["val_accuracy"][-1] > 0.8  # chance is 1/3


@pytest.mark.slow
def test_save_load_round_trip(av_folder, tmp_path):
    folder, rows = av_folder
    pipe = make_pipe(allow_missing=True)
    pipe.adapt(str(folder / "train.csv"))
    pipe.save(str(tmp_path / "pipe"))
    loaded = mk.data.Pipeline.load(str(tmp_path / "pipe"))
    assert loaded.labels == pipe.labels
    assert loaded.tokenizer("text").vocabulary == pipe.tokenizer("text").vocabulary
    assert loaded.get_config() == pipe.get_config()
    assert repr(loaded.specs["image"].augment) == repr(pipe.specs["image"].augment)
    for ds_a, ds_b in (
        (
            pipe.dataset(str(folder / "train.csv"), batch_size=5),
            loaded.dataset(str(folder / "train.csv"), batch_size=5),
        ),
        (
            pipe.dataset(str(folder / "train.csv"), training=True, batch_size=5, seed=1),
            loaded.dataset(str(folder / "train.csv"), training=True, batch_size=5, seed=1),
        ),
    ):
        for (xa, ya), (xb, yb) in zip(batches(ds_a), batches(ds_b), strict=True):
            np.testing.assert_array_equal(ya, yb)
            for name in xa:
                np.testing.assert_array_equal(xa[name], xb[name])


def test_missing_modalities_give_present_mask(av_folder, files):
    folder, rows = av_folder
    rows = [dict(r) for r in rows[:6]]
    rows[1]["image"] = ""
    rows[2]["caption"] = ""
    rows[3]["wav"] = ""
    files.write_csv(folder / "partial.csv", rows)
    pipe = make_pipe(allow_missing=True)
    pipe.adapt(str(folder / "partial.csv"))
    ((inputs, _),) = batches(pipe.dataset(str(folder / "partial.csv"), batch_size=6))
    expected = np.ones((6, 3), np.float32)  # columns in schema order: image, text, audio
    expected[1, 0] = expected[2, 1] = expected[3, 2] = 0
    np.testing.assert_array_equal(inputs["present"], expected)
    assert inputs["image"][1].max() == 0 and inputs["audio"][3].max() == 0
    assert inputs["text"][2].max() == 0
    raw = {
        "image": tf.constant([b"", (folder / rows[0]["image"]).read_bytes()]),
        "text": tf.constant(["a photo", ""]),
        "audio": tf.constant([b"", b""]),
    }
    np.testing.assert_array_equal(pipe.preprocess(raw)["present"], [[0, 1, 0], [1, 0, 0]])
    # Without allow_missing, empty cells are validation errors.
    report = make_pipe().validate(str(folder / "partial.csv"))
    assert report.counts == {"value_missing": 2, "text_empty": 1}


def test_multitask_targets_tabular_and_class_weights(tmp_path):
    rows = [
        {
            "a": i,
            "b": 2.0 * i,
            "digit": i % 3,
            "tags": ["x|y", "y", ""][i % 3],
            "score": f"{i}|{-i}",
        }
        for i in range(9)
    ] + [{"a": 9, "b": 18.0, "digit": 0, "tags": "x", "score": "9|-9"}]
    pipe = mk.data.Pipeline(
        schema={"meta": ["a", "b"], "digit": "digit", "tags": "tags", "score": "score"},
        specs={"meta": mk.data.TabularSpec(normalize=True)},
        targets={
            "digit": mk.data.LabelSpec(),
            "tags": mk.data.LabelSpec(kind="multilabel"),
            "score": mk.data.LabelSpec(kind="regression"),
        },
    )
    pipe.adapt(rows)
    assert pipe.labels == {"digit": ["0", "1", "2"], "tags": ["x", "y"], "score": []}
    assert pipe.num_classes == {"digit": 3, "tags": 2, "score": 2}
    ((x, y),) = batches(pipe.dataset(rows, batch_size=10))
    mean, std = pipe.tabular_stats("meta")
    np.testing.assert_allclose(mean, [4.5, 9.0])
    np.testing.assert_allclose(x["meta"][:, 0], (np.arange(10) - 4.5) / std[0], rtol=1e-6)
    np.testing.assert_array_equal(y["digit"], [0, 1, 2, 0, 1, 2, 0, 1, 2, 0])
    np.testing.assert_array_equal(y["tags"][:4], [[1, 1], [0, 1], [0, 0], [1, 1]])
    np.testing.assert_array_equal(y["score"][3], [3, -3])
    # digit 0 has 4 rows, 1 and 2 have 3: balanced weights n / (k * count).
    weights = pipe.class_weights(rows, target="digit")
    np.testing.assert_allclose([weights[0], weights[1]], [10 / 12, 10 / 9])


def test_jsonl_and_list_manifests_give_the_same_batches(av_folder):
    import json

    folder, rows = av_folder
    with open(folder / "train.jsonl", "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
    pipe = make_pipe(root=str(folder))
    pipe.adapt(rows)
    a = batches(pipe.dataset(str(folder / "train.jsonl"), batch_size=12))
    b = batches(pipe.dataset(rows, batch_size=12))
    np.testing.assert_array_equal(a[0][0]["image"], b[0][0]["image"])
    np.testing.assert_array_equal(a[0][1], b[0][1])


def test_grayscale_and_resampling(tmp_path, files):
    import cv2

    gray = np.tile(np.arange(16, dtype=np.uint8)[None] * 10, (16, 1))
    cv2.imwrite(str(tmp_path / "g.png"), gray)
    files.write_wav(tmp_path / "s.wav", 100.0, rate=4000, seconds=0.5, channels=2)
    rows = [{"img": "g.png", "wav": "s.wav", "label": "a"}]
    for channels in (3, 1):
        pipe = mk.data.Pipeline(
            schema={"img": "img", "wav": "wav", "label": "label"},
            specs={
                "img": mk.data.ImageSpec(size=(16, 16), channels=channels),
                "wav": mk.data.AudioSpec(sample_rate=8000, duration=1.0),
            },
            root=str(tmp_path),
        )
        pipe.adapt(rows)
        ((x, _),) = batches(pipe.dataset(rows, batch_size=1))
        assert x["img"].shape == (1, 16, 16, channels)
        np.testing.assert_allclose(x["img"][0, :, :, 0], gray, atol=1e-4)
        np.testing.assert_allclose(x["img"][0, :, :, -1], gray, atol=1e-4)
    # 0.5 s at 4 kHz becomes 4000 samples at 8 kHz, zero padded to 1 s.
    wave = x["wav"][0]
    t = np.arange(4000) / 8000
    np.testing.assert_allclose(wave[:3999], 0.5 * np.sin(2 * np.pi * 100 * t[:3999]), atol=2e-3)
    assert np.all(wave[4001:] == 0)


def test_constructor_errors_name_the_argument():
    with pytest.raises(ValueError, match="not in the schema"):
        mk.data.Pipeline(schema={"img": "path"}, image=mk.data.ImageSpec())
    with pytest.raises(ValueError, match="has no spec"):
        mk.data.Pipeline(schema={"img": "path"})
    with pytest.raises(ValueError, match="size"):
        mk.data.ImageSpec(size=(0, 3))
    with pytest.raises(ValueError, match="tokenizer"):
        mk.data.TextSpec(tokenizer="bpe")
    with pytest.raises(ValueError, match="vocab"):
        mk.data.TextSpec(tokenizer="wordpiece")
    with pytest.raises(ValueError, match="flip"):
        mk.data.OpenCVAugment(flip="diagonal")
    pipe = make_pipe()
    with pytest.raises(ValueError, match="adapt"):
        pipe.dataset([{"image": "a.jpg", "caption": "x", "wav": "a.wav", "label": "a"}])
    with pytest.raises(ValueError, match="errors"):
        pipe.dataset([], errors="ignore")


def test_input_and_raw_specs(av_folder):
    folder, _ = av_folder
    pipe = make_pipe(allow_missing=True)
    pipe.adapt(str(folder / "train.csv"))
    specs = pipe.input_specs()
    assert list(specs) == ["image", "text", "audio", "present"]
    assert specs["image"] == {"modality": "image", "shape": (24, 24, 3), "dtype": "float32"}
    assert specs["audio"]["shape"] == (2000,)
    assert specs["present"]["shape"] == (3,)
    raw = pipe.raw_input_specs()
    assert all(s.dtype == tf.string and s.shape.as_list() == [None] for s in raw.values())
    assert list(raw) == ["image", "text", "audio"]  # the raw inputs: no presence mask
    assert [s.name for s in raw.values()] == ["image", "text", "audio"]
