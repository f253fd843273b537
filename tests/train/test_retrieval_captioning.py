"""Retrieval and captioning runs from a configuration: train, evaluate, export, config errors."""

import csv
import itertools
import json
import os

import numpy as np
import pytest

from mmkeras import config as C
from mmkeras.train import builders

COLOURS = {
    "red": (220, 30, 30),
    "green": (30, 200, 40),
    "blue": (30, 40, 210),
    "yellow": (230, 220, 40),
}
PAIRS = list(itertools.permutations(COLOURS, 2))  # 12 (square, background) combinations


def write_scenes(folder, name, repeats):
    """16x16 PNGs of a square on a background, with a caption naming both colours."""
    import cv2

    rows = []
    for r in range(repeats):
        for i, (square, background) in enumerate(PAIRS):
            image = np.empty((16, 16, 3), np.uint8)
            image[:] = COLOURS[background]
            image[4:12, 4:12] = COLOURS[square]
            path = os.path.join(folder, f"{name}_{r}_{i}.png")
            cv2.imwrite(path, image[..., ::-1])
            rows.append(
                {"path": os.path.basename(path), "text": f"{square} square on {background}"}
            )
    manifest = os.path.join(folder, f"{name}.csv")
    with open(manifest, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=["path", "text"])
        writer.writeheader()
        writer.writerows(rows)
    return manifest


def base_config(folder, kind):
    config = {
        "name": kind,
        "output_dir": str(folder / "runs"),
        "seed": 1,
        "data": {
            "train": "train.csv",
            "test": "test.csv",
            "schema": {"photo": "path", "words": "text"},
            "specs": {
                "photo": {"modality": "image", "size": [16, 16]},
                "words": {"modality": "text", "max_length": 6, "vocab_size": 32},
            },
            "batch_size": 12,
        },
        "model": {
            "branches": {"photo": {"kind": "image_cnn", "filters": [8], "output_dim": 16}},
        },
        "train": {"epochs": 2, "verbose": 0},
        "callbacks": {"tensorboard": False},
    }
    if kind == "retrieval":
        config["model"]["branches"]["words"] = {
            "kind": "text_rnn",
            "embedding_dim": 8,
            "units": 8,
            "output_dim": 16,
        }
        config["model"]["task"] = {"kind": "retrieval", "embed_dim": 8, "temperature": "learnable"}
    else:
        config["model"]["task"] = {
            "kind": "captioning",
            "decoder": "lstm",
            "attention": True,
            "embedding_dim": 8,
            "units": 16,
        }
    return config


@pytest.fixture(scope="module")
def scenes(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scenes")
    write_scenes(str(folder), "train", repeats=2)
    write_scenes(str(folder), "test", repeats=1)
    return folder


def problems(data):
    with pytest.raises(C.ConfigError) as info:
        C.from_dict(data)
    return info.value.problems


# === Config ===
def test_configs_of_both_kinds_validate_and_round_trip(tmp_path):
    for kind in ("retrieval", "captioning"):
        config = C.from_dict(base_config(tmp_path, kind))
        assert config.model.model_task == kind
        again = C.loads(C.dump(config))
        assert C.to_dict(again) == C.to_dict(config)
        # Fusion keys do not apply, so they are not written back.
        assert "fusion" not in C.to_dict(config)["model"]
    captioning = C.from_dict(base_config(tmp_path, "captioning"))
    assert captioning.caption_input == "words"
    assert builders.model_inputs(captioning) == {"image": "photo", "caption": "words"}
    retrieval = C.from_dict(base_config(tmp_path, "retrieval"))
    assert builders.model_inputs(retrieval) == {"image": "photo", "text": "words"}
    assert retrieval.caption_input is None


def test_retrieval_needs_one_image_and_one_text_branch(tmp_path):
    data = base_config(tmp_path, "retrieval")
    data["model"]["branches"]["words"] = {"kind": "image_cnn"}
    assert problems(data) == [
        "model.branches: a retrieval task takes two branches, one image and one text; received "
        "{'photo': 'image_cnn', 'words': 'image_cnn'}"
    ]


def test_captioning_takes_one_image_branch_and_finds_its_caption(tmp_path):
    data = base_config(tmp_path, "captioning")
    data["model"]["branches"]["words"] = {"kind": "text_rnn"}
    found = problems(data)
    assert found[0].startswith("model.branches: a captioning task takes one image branch")
    assert found[1] == (
        "model.task.caption: give the text input that holds the captions; data.schema inputs "
        "without a branch: []"
    )
    data = base_config(tmp_path, "captioning")
    data["model"]["task"]["caption"] = "photo"
    assert problems(data) == [
        "model.task.caption: 'photo' is not an input of data.schema without a branch; "
        "allowed: ['words']"
    ]


def test_task_keys_of_another_kind_and_bad_values_are_named(tmp_path):
    data = base_config(tmp_path, "retrieval")
    data["model"]["task"].update(num_classes=3, temperature="hot")
    found = problems(data)
    assert found[0].startswith("model.task.num_classes: does not apply to a retrieval task")
    assert "embed_dim, kind, recall_ks, temperature" in found[0]
    data["model"]["task"] = {"kind": "retrieval", "temperature": "hot"}
    assert problems(data) == [
        "model.task.temperature: 'hot' is not allowed; allowed: 'learnable' or a positive number"
    ]
    data["model"]["task"] = {"kind": "captioning", "decoder": "gru"}
    (line,) = problems(base_config(tmp_path, "captioning") | {"model": data["model"]})
    assert line.startswith("model.task.decoder: 'gru' is not allowed; allowed: 'lstm' or")
    data["model"]["task"] = {"kind": "retrievl"}
    (line,) = problems(data)
    assert line.startswith("model.task.kind: 'retrievl' is not allowed")
    assert line.endswith("did you mean 'retrieval'?")


def test_labels_fusion_and_several_tasks_are_refused(tmp_path):
    data = base_config(tmp_path, "retrieval")
    data["data"]["schema"]["label"] = "colour"
    data["model"]["fusion"] = "gated"
    found = problems(data)
    assert "model.fusion: does not apply to a retrieval task (its branches are not fused)" in found
    assert any(
        p.startswith("data.schema: ['label'] are targets, but a retrieval task") for p in found
    )
    data = base_config(tmp_path, "retrieval")
    data["data"]["schema"]["label"] = "colour"
    data["model"]["task"] = {"label": {"kind": "classification"}, "pairs": {"kind": "retrieval"}}
    assert "model.task.pairs.kind: 'retrieval' is a model of its own" in problems(data)[0]


def test_caption_ids_are_wrapped_in_start_and_end_tokens(scenes):
    config = C.from_dict(base_config(scenes, "captioning"), base_dir=str(scenes))
    pipe = builders.build_pipeline(config)
    pipe.adapt(str(scenes / "train.csv"))
    vocabulary = pipe.tokenizer("words").vocabulary
    assert vocabulary[:2] == ["[START]", "[END]"]
    inputs, _ = next(iter(pipe.dataset(str(scenes / "test.csv"), batch_size=2)))
    ids = inputs["words"].numpy()
    words = ["red", "square", "on", "green"]
    expected = [2, *(vocabulary.index(w) + 2 for w in words), 3]
    assert ids[0].tolist() == expected
    resolved = builders.resolve_config(config, pipe)
    assert resolved.model.task.vocab_size == pipe.vocab_size("words") == len(vocabulary) + 2
    assert resolved.model.task.max_length == 6
    # The attending decoder reads the image regions: the branch returns them.
    assert resolved.model.branches["photo"].builder_kwargs()["return_sequence"] is True


def test_attention_refuses_a_branch_without_regions(scenes):
    data = base_config(scenes, "captioning")
    data["model"]["branches"]["photo"]["return_sequence"] = False
    config = C.from_dict(data, base_dir=str(scenes))
    pipe = builders.build_pipeline(config)
    pipe.adapt(str(scenes / "train.csv"))
    with pytest.raises(C.ConfigError) as info:
        builders.resolve_config(config, pipe)
    assert info.value.problems == [
        "model.branches.photo.return_sequence: false, but a captioning task with attention: true "
        "attends over the image regions; set it true, or set model.task.attention: false"
    ]


def test_captions_need_the_word_tokenizer(scenes):
    data = base_config(scenes, "captioning")
    data["data"]["specs"]["words"].update(tokenizer="wordpiece", vocab="vocab.txt")
    config = C.from_dict(data, base_dir=str(scenes))
    with pytest.raises(C.ConfigError) as info:
        builders.build_pipeline(config)
    assert info.value.problems[0].startswith("data.specs.words: TextSpec: `start_end=True`")


# === Runs ===
@pytest.mark.slow
def test_retrieval_trains_evaluates_and_exports_from_the_command_line(scenes, capsys):
    import tensorflow as tf
    import yaml

    from mmkeras.cli import main
    from mmkeras.train import Run

    path = scenes / "retrieval.yaml"
    path.write_text(yaml.safe_dump(base_config(scenes, "retrieval")))
    assert main(["train", str(path), "--quiet"]) == 0
    run_dir = str(scenes / "runs" / "retrieval")
    run = Run.load(run_dir)
    losses = [row["loss"] for row in run.history]
    assert len(losses) == 2 and np.isfinite(losses).all()
    assert "image_to_text_recall@1" in run.metrics["test"]

    capsys.readouterr()
    out = str(scenes / "retrieval.json")
    assert main(["evaluate", run_dir, "--data", str(scenes / "test.csv"), "--out", out]) == 0
    printed = capsys.readouterr().out
    report = json.loads(open(out).read())
    assert json.loads(printed[: printed.rindex("}") + 1]) == report
    assert report["task"] == "retrieval" and report["examples"] == report["items"] == 12
    # Every test pair is distinct, so the report is the plain full-set evaluation.
    images, texts = [], []
    for inputs, _ in run.pipeline.dataset(str(scenes / "test.csv"), batch_size=12):
        images.append(inputs["photo"].numpy())
        texts.append(inputs["words"].numpy())
    images, texts = np.concatenate(images), np.concatenate(texts)
    expected = run.model.evaluate_retrieval(images, texts)
    assert report["metrics"] == pytest.approx(expected)
    assert set(expected) == {
        f"{d}_recall@{k}" for d in ("image_to_text", "text_to_image") for k in (1, 5, 10)
    }
    for direction in ("image_to_text", "text_to_image"):
        at = [report["metrics"][f"{direction}_recall@{k}"] for k in (1, 5, 10)]
        assert 0 <= at[0] <= at[1] <= at[2] <= 1
    assert main(["predict", run_dir, str(scenes / "test.csv")]) == 2

    export_dir = str(scenes / "retrieval_export")
    assert main(["export", run_dir, export_dir]) == 0
    loaded = tf.saved_model.load(export_dir)
    image_vectors = loaded.encode_images(tf.constant(images)).numpy()
    np.testing.assert_allclose(image_vectors, run.model.encode_images(images), atol=1e-5)
    text_vectors = loaded.encode_texts(tf.constant(texts)).numpy()
    np.testing.assert_allclose(np.linalg.norm(text_vectors, axis=1), 1.0, atol=1e-5)
    assert main(["export", run_dir, export_dir, "--format", "tflite"]) == 2


@pytest.mark.slow
def test_captioning_trains_evaluates_and_exports(scenes, capsys):
    import tensorflow as tf

    import mmkeras as mk
    from mmkeras.cli import main

    data = base_config(scenes, "captioning")
    data["train"]["epochs"] = 3
    data["optimizer"] = {"learning_rate": 0.01}
    run = mk.train.fit(C.from_dict(data, base_dir=str(scenes)), verbose=False)
    losses = [row["loss"] for row in run.history]
    assert losses[-1] < losses[0]
    assert isinstance(run.model, mk.models.Captioner) and run.model.attention
    assert run.model.vocab_size == run.pipeline.vocab_size("words")

    capsys.readouterr()
    out = str(scenes / "captioning.json")
    assert main(["evaluate", run.run_dir, "--data", str(scenes / "test.csv"), "--out", out]) == 0
    report = json.loads(open(out).read())
    assert report["task"] == "captioning" and report["images"] == 12
    assert 0.0 <= report["metrics"]["bleu4"] <= 1.0
    assert len(report["samples"]) == 5
    assert report["samples"][0]["references"] == ["red square on green"]

    # The score is corpus BLEU-4 of the greedy captions against the test captions.
    images, captions = [], []
    for inputs, _ in run.pipeline.dataset(str(scenes / "test.csv"), batch_size=12):
        images.append(inputs["photo"].numpy())
        captions.append(inputs["words"].numpy())
    images, captions = np.concatenate(images), np.concatenate(captions)
    assert report["metrics"]["bleu4"] == pytest.approx(run.model.evaluate_bleu(images, captions))
    vocabulary = ["[PAD]", "[UNK]", *run.pipeline.tokenizer("words").vocabulary]
    generated = run.model.to_text(run.model.generate(images[:5]), vocabulary)
    assert [s["generated"] for s in report["samples"]] == generated

    export_dir = str(scenes / "captioning_export")
    assert main(["export", run.run_dir, export_dir]) == 0
    loaded = tf.saved_model.load(export_dir)
    served = loaded.serve(tf.constant(images[:5]))
    assert [c.decode() for c in served["captions"].numpy()] == generated


def test_long_captions_are_truncated_with_the_end_token_kept():
    import tensorflow as tf

    from mmkeras.data import TextSpec, WordTokenizer

    tok = WordTokenizer(max_length=4, start_end=True)
    tok.adapt(["a red square on blue"], vocab_size=6)
    assert tok.vocabulary == ["[START]", "[END]", "a", "blue"]
    # Words cut to max_length - 2; "[start]" in a text is a plain (unknown) word.
    ids = tok(tf.constant(["a red square", "[start]", ""])).numpy().tolist()
    assert ids == [[2, 4, 1, 3], [2, 1, 3, 0], [2, 3, 0, 0]]
    with pytest.raises(ValueError, match="must start with"):
        WordTokenizer(["a", "b"], start_end=True)
    with pytest.raises(ValueError, match="`vocab_size` at least 5"):
        TextSpec(vocab_size=4, start_end=True)


def test_schema_decoders_match_the_captioner():
    from mmkeras.config.schema import DECODERS
    from mmkeras.models.captioner import DECODERS as MODEL_DECODERS

    assert DECODERS == MODEL_DECODERS
