import keras
import numpy as np
import pytest
from shape_pairs import VOCAB, make_pairs, token_ids

from mmkeras.export.dual_encoder import export_dual_encoder
from mmkeras.models.dual_encoder import DualEncoder
from mmkeras.retrieval import Index


def _image_branch():
    inputs = keras.Input((16, 16, 3))
    x = keras.layers.Rescaling(1 / 255)(inputs)
    x = keras.layers.Conv2D(16, 3, strides=2, padding="same", activation="relu")(x)
    x = keras.layers.Conv2D(16, 3, strides=2, padding="same", activation="relu")(x)
    feature = keras.layers.Dense(32, activation="relu")(keras.layers.Flatten()(x))
    return keras.Model(inputs, feature, name="tiny_image")


def _text_branch():
    inputs = keras.Input((5,), dtype="int32")
    x = keras.layers.Flatten()(keras.layers.Embedding(len(VOCAB), 8)(inputs))
    feature = keras.layers.Dense(32, activation="relu")(x)
    return keras.Model(inputs, {"feature": feature}, name="tiny_text")


@pytest.fixture(scope="module")
def trained():
    keras.utils.set_random_seed(1)
    images, words, _ = make_pairs(384, seed=0)
    model = DualEncoder(_image_branch(), _text_branch(), embed_dim=16)
    model.compile_defaults(learning_rate=3e-3)
    test_images, test_words, test_classes = make_pairs(96, seed=1)
    test_texts = token_ids(test_words, 5)
    before = model.evaluate_retrieval(
        test_images, test_texts, ks=(1,), image_ids=test_classes, text_ids=test_classes
    )
    history = model.fit(
        {"image": images, "text": token_ids(words, 5)}, batch_size=32, epochs=5, verbose=0
    )
    return model, history.history, before, (test_images, test_texts, test_classes)


@pytest.mark.slow
def test_training_makes_retrieval_far_better_than_chance(trained):
    model, history, before, (images, texts, classes) = trained
    assert history["loss"][-1] < 0.5 * history["loss"][0]
    assert history["image_to_text_recall@1"][-1] > history["image_to_text_recall@1"][0]
    after = model.evaluate_retrieval(images, texts, ks=(1, 5), image_ids=classes, text_ids=classes)
    # 32 classes, about 3 test items per class: chance recall@1 is about 0.03-0.1
    assert before["image_to_text_recall@1"] < 0.3
    assert after["image_to_text_recall@1"] > 0.8
    assert after["text_to_image_recall@1"] > 0.8
    assert after["text_to_image_recall@5"] >= after["text_to_image_recall@1"]


@pytest.mark.slow
def test_evaluate_reports_in_batch_recalls(trained):
    model, _, _, (images, texts, _) = trained
    results = model.evaluate(
        {"image": images, "text": texts}, batch_size=32, verbose=0, return_dict=True
    )
    assert set(results) >= {
        "loss",
        "image_to_text_recall@1",
        "text_to_image_recall@5",
        "image_to_text_recall@10",
    }
    assert 0.0 <= results["text_to_image_recall@1"] <= results["text_to_image_recall@5"] <= 1.0


@pytest.mark.slow
def test_embeddings_are_unit_vectors_and_search_finds_the_pair(trained):
    model, _, _, (images, texts, classes) = trained
    image_vectors = model.encode_images(images)
    np.testing.assert_allclose(np.linalg.norm(image_vectors, axis=1), 1.0, atol=1e-5)
    index = Index().add(model.encode_texts(texts), ids=np.arange(len(texts)))
    _, ids = index.search(image_vectors, k=1)
    assert np.mean(classes[ids[:, 0]] == classes) > 0.8
    predicted = model.predict({"image": images[:40], "text": texts[:40]}, batch_size=16, verbose=0)
    np.testing.assert_allclose(predicted["image_embedding"], image_vectors[:40], atol=1e-5)


@pytest.mark.slow
def test_save_load_with_safe_mode_and_export(trained, tmp_path):
    import tensorflow as tf

    model, _, _, (images, texts, _) = trained
    model.save(tmp_path / "dual.keras")
    loaded = keras.saving.load_model(tmp_path / "dual.keras", safe_mode=True)
    assert isinstance(loaded, DualEncoder)
    np.testing.assert_allclose(
        loaded.encode_images(images[:8]), model.encode_images(images[:8]), atol=1e-5
    )
    np.testing.assert_allclose(
        loaded.encode_texts(texts[:8]), model.encode_texts(texts[:8]), atol=1e-5
    )
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(loaded.contrastive_logits.scale()),
        keras.ops.convert_to_numpy(model.contrastive_logits.scale()),
    )

    export_dual_encoder(model, tmp_path / "export")
    served = tf.saved_model.load(str(tmp_path / "export"))
    np.testing.assert_allclose(
        served.encode_images(tf.constant(images[:8])).numpy(),
        model.encode_images(images[:8]),
        atol=1e-5,
    )
    np.testing.assert_allclose(
        served.encode_texts(tf.constant(texts[:8])).numpy(),
        model.encode_texts(texts[:8]),
        atol=1e-5,
    )


def test_fixed_temperature_has_no_trainable_scale():
    model = DualEncoder(_image_branch(), _text_branch(), embed_dim=8, temperature=0.1)
    assert model.contrastive_logits.logit_scale is None
    assert float(keras.ops.convert_to_numpy(model.contrastive_logits.scale())) == pytest.approx(
        10.0
    )
    config = model.get_config()
    assert config["temperature"] == 0.1 and config["embed_dim"] == 8


def test_loss_is_symmetric_cross_entropy(rng):
    model = DualEncoder(_image_branch(), _text_branch(), embed_dim=4, temperature=1.0)
    logits = rng.normal(size=(3, 3)).astype("float32")

    def cross_entropy(rows):
        rows = rows - rows.max(axis=1, keepdims=True)
        log_probs = rows - np.log(np.exp(rows).sum(axis=1, keepdims=True))
        return -np.mean(np.diag(log_probs))

    loss = model.compute_loss(y_pred={"logits": logits})
    expected = 0.5 * (cross_entropy(logits) + cross_entropy(logits.T))
    assert float(keras.ops.convert_to_numpy(loss)) == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"embed_dim": 0}, ValueError, "embed_dim=0"),
        ({"embed_dim": 8, "temperature": -1.0}, ValueError, "temperature=-1.0"),
        ({"embed_dim": 8, "recall_ks": (0,)}, ValueError, "recall_ks"),
        ({"embed_dim": 8, "text_branch": "text_rnn"}, TypeError, "text_branch"),
    ],
)
def test_rejects_bad_arguments(kwargs, error, message):
    kwargs = {"image_branch": _image_branch(), "text_branch": _text_branch(), **kwargs}
    with pytest.raises(error, match=message):
        DualEncoder(**kwargs)


def test_sigmoid_loss_scores_each_pair_with_a_bias(rng):
    model = DualEncoder(_image_branch(), _text_branch(), embed_dim=4, loss="sigmoid")
    head = model.contrastive_logits
    assert float(keras.ops.convert_to_numpy(head.scale())) == pytest.approx(10.0)
    assert float(keras.ops.convert_to_numpy(head.shift())) == -10.0
    logits = rng.normal(size=(3, 3)).astype("float32")
    signs = 2 * np.eye(3) - 1
    expected = np.mean(np.sum(np.log1p(np.exp(-signs * logits)), axis=1))
    loss = model.compute_loss(y_pred={"logits": logits})
    assert float(keras.ops.convert_to_numpy(loss)) == pytest.approx(expected, rel=1e-5)
    assert model.get_config()["loss"] == "sigmoid"


def test_projection_choices():
    linear = DualEncoder(_image_branch(), _text_branch(), embed_dim=8, projection="linear")
    assert not linear.image_projection.use_bias and not linear.text_projection.use_bias
    direct = DualEncoder(_image_branch(), _text_branch(), embed_dim=32, projection=None)
    assert direct.image_projection is None
    images = np.random.default_rng(0).uniform(0, 255, (2, 16, 16, 3)).astype("float32")
    features = _feature_of(direct.image_branch, images)
    np.testing.assert_allclose(
        direct.encode_images(images),
        features / np.linalg.norm(features, axis=1, keepdims=True),
        atol=1e-5,
    )
    with pytest.raises(ValueError, match="features of size 32, not embed_dim=8"):
        DualEncoder(_image_branch(), _text_branch(), embed_dim=8, projection=None)
    with pytest.raises(ValueError, match="`projection` must be one of"):
        DualEncoder(_image_branch(), _text_branch(), embed_dim=8, projection="mlp")
    with pytest.raises(ValueError, match="`loss` must be one of"):
        DualEncoder(_image_branch(), _text_branch(), embed_dim=8, loss="hinge")


def _feature_of(branch, x):
    out = branch.predict(x, verbose=0)
    return out["feature"] if isinstance(out, dict) else out


def test_strings_need_a_pretrained_tokenizer():
    model = DualEncoder(_image_branch(), _text_branch(), embed_dim=8)
    with pytest.raises(ValueError, match="only a model built by DualEncoder.from_pretrained"):
        model.encode_texts(["a photo of a cat"])


def test_zero_shot_softmax_over_token_ids(rng):
    model = DualEncoder(_image_branch(), _text_branch(), embed_dim=8, temperature=0.5)
    images = rng.uniform(0, 255, (3, 16, 16, 3)).astype("float32")
    ids = rng.integers(0, len(VOCAB), (2, 5)).astype("int32")
    probabilities = model.zero_shot(images, ids)
    logits = model.encode_images(images) @ model.encode_texts(ids).T / 0.5
    expected = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    np.testing.assert_allclose(probabilities, expected, atol=1e-5)
