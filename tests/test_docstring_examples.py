"""Every `>>>` example in mmkeras' docstrings runs and prints what it shows.

As keras-hub's doc tests do, each docstring with examples runs as a `doctest` in a prepared
namespace: the names of its own module, then `mk` / `mmkeras`, `keras`, `np`, `tf`, and the
small real objects the examples talk about (built once for the module, see `docs_namespace`):

- a working folder (the current directory while the examples run) holding a manifest
  `train.csv` / `val.csv` of JPEG images, WAV clips, captions and a `cat` / `dog` label, plus
  `cat.jpg` and `cat.wav`;
- `run.yaml`, a run configuration for the manifests, and `runs/pets/`, the run it trains for
  one epoch (so `mk.train.fit("run.yaml")` finds it finished);
- `pipe`, the run's `mk.data.Pipeline`, adapted on `train.csv`;
- `model`, the run's image + text + audio classifier (`mk.build_model`, attention fusion),
  trained for one epoch only: examples print shapes, names and rounded values, never its
  accuracy;
- `train_ds` / `val_ds`, batched datasets of the two manifests;
- `images` (float32 `(12, 32, 32, 3)`, 0..255) and `token_ids` (int32 `(12, 8)`), the
  images and tokenized captions of `train.csv`; `caption_ids`, the same captions tokenized
  for a `Captioner` (start and end tokens), and `vocabulary`, the token of each of their ids;
- `exported/`, the SavedModel export of `model` and `pipe`;
- `messy.csv`, the first rows of `train.csv` and two rows a pipeline rejects (rows 4 and 5: an
  image file that does not exist, an empty caption);
- `bert/`, a tiny random BERT checkpoint (`config.json`, `vocab.txt`, weights);
- `finetune.yaml`, a two-stage fine-tuning of the BERT branch on the captions.

Examples that cannot run in a test say `# doctest: +SKIP`; `SKIPPED` lists each with its
reason, and a test checks the list against the docstrings so skipping stays the exception.
"""

import csv
import doctest
import importlib
import os
import pkgutil
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from bert_helpers import write_tiny_bert
from pretrained_golden import golden_dir

import mmkeras
from tests.data.conftest import write_wav

PACKAGE_DIR = Path(mmkeras.__file__).resolve().parent
# `python -m mmkeras` runs the command line when imported.
NOT_IMPORTED = ("mmkeras.__main__",)
# Every skipped example (`# doctest: +SKIP`), by docstring, with the reason a test cannot run it.
SKIPPED = {
    # `aiohttp.web.run_app` serves until the process is interrupted (tests/serve runs the same
    # app through `Server`).
    "mmkeras.serve.app.make_app": 1,
    # `cluster.run()` starts a multi-worker training cluster (tests/distribute runs one).
    "mmkeras.train.local_cluster.LocalCluster": 1,
    # `trainer.run()` trains the three-epoch fine-tuning plan the example prints (tests/train
    # covers staged fine-tuning).
    "mmkeras.train.trainer.Trainer": 1,
    # Needs a trained captioning run, a second training run (tests/train covers task reports).
    "mmkeras.train.task_evaluation.task_report": 2,
}
MAX_SKIPPED = 15
OPTIONS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
_PROMPT = re.compile(r"^\s*>>>", re.M)


def _module_names():
    names = ["mmkeras"]
    for info in pkgutil.walk_packages([str(PACKAGE_DIR)], "mmkeras."):
        names.append(info.name)
    return sorted(n for n in names if n not in NOT_IMPORTED)


def _doctests():
    finder = doctest.DocTestFinder(exclude_empty=True)
    found = {}
    for name in _module_names():
        module = importlib.import_module(name)
        for test in finder.find(module, name, globs={}):
            if test.examples and test.filename and Path(test.filename).suffix == ".py":
                found.setdefault(test.name, (name, test))
    return [found[key] for key in sorted(found)]


DOCTESTS = _doctests()


RUN_YAML = """\
name: pets
data:
  train: train.csv
  validation: val.csv
  schema: {image: image, text: text, audio: audio, label: label}
  image: {size: [32, 32]}
  text: {max_length: 8, vocab_size: 50}
  audio: {sample_rate: 8000, duration: 0.5}
  batch_size: 4
model:
  branches:
    image: {kind: image_cnn, filters: [4], output_dim: 8}
    text: {kind: text_rnn, vocab_size: auto, embedding_dim: 8, units: 8, output_dim: 8}
    audio: {kind: audio_cnn, n_mels: 16, filters: [4], output_dim: 8}
  fusion: attention
  task: {kind: classification, num_classes: auto}
train: {epochs: 1, verbose: 0}
callbacks: {tensorboard: false}
"""
FINETUNE_YAML = """\
name: pets_finetune
data:
  train: train.csv
  validation: val.csv
  schema: {text: text, label: label}
  text: {tokenizer: wordpiece, vocab: bert/vocab.txt, max_length: 8}
  batch_size: 4
model:
  branches:
    text: {kind: text_bert, path: bert}
  task: {kind: classification}
finetune:
  stages:
    - {epochs: 1, trainable: none, learning_rate: 0.001}
    - {epochs: 2, trainable: all, learning_rate: 0.0001}
"""


def _write_manifests(folder):
    import cv2

    rng = np.random.default_rng(0)
    colours = {"cat": (30, 40, 210), "dog": (220, 30, 30)}
    tones = {"cat": 300.0, "dog": 900.0}
    rows = []
    for i in range(16):
        label = ("cat", "dog")[i % 2]
        image = np.full((40, 48, 3), colours[label], np.float64) + rng.normal(0, 10, (40, 48, 3))
        cv2.imwrite(str(folder / f"{label}{i}.jpg"), np.clip(image, 0, 255).astype(np.uint8))
        write_wav(folder / f"{label}{i}.wav", tones[label])
        rows.append(
            {
                "image": f"{label}{i}.jpg",
                "text": f"a {label}" if i % 4 < 2 else f"the {label} sleeps",
                "audio": f"{label}{i}.wav",
                "label": label,
            }
        )
    for name, part in (("train.csv", rows[:12]), ("val.csv", rows[12:])):
        with open(folder / name, "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(part)
    # Two rows a pipeline rejects: an image that does not exist, an empty caption.
    messy = rows[:4] + [
        {"image": "missing.jpg", "text": "a cat", "audio": "cat0.wav", "label": "cat"},
        {"image": "dog1.jpg", "text": "", "audio": "dog1.wav", "label": "dog"},
    ]
    with open(folder / "messy.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(messy)
    write_tiny_bert(folder / "bert")
    # Tiny Hugging Face checkpoints (random weights) for the examples of pretrained encoders.
    for family in ("roberta", "vit"):
        shutil.copytree(Path(golden_dir(family)), folder / family)
    (folder / "finetune.yaml").write_text(FINETUNE_YAML)
    (folder / "run.yaml").write_text(RUN_YAML)
    (folder / "cat.jpg").write_bytes((folder / "cat0.jpg").read_bytes())
    (folder / "cat.wav").write_bytes((folder / "cat0.wav").read_bytes())


@pytest.fixture(scope="module")
def docs_namespace(tmp_path_factory):
    import keras
    import tensorflow as tf

    import mmkeras as mk

    folder = tmp_path_factory.mktemp("docs")
    previous = os.getcwd()
    os.chdir(folder)
    try:
        keras.utils.set_random_seed(0)
        _write_manifests(folder)
        # The run `run.yaml` describes, trained for one epoch: its model and pipeline are the
        # `model` and `pipe` of the examples, and `mk.train.fit("run.yaml")` finds it finished.
        run = mk.train.fit("run.yaml", verbose=False)
        model, pipe = run.model, run.pipeline
        inputs, _ = next(iter(pipe.dataset("train.csv", batch_size=12, verbose=False)))
        with open("train.csv", newline="", encoding="utf-8") as f:
            captions = [row["text"] for row in csv.DictReader(f)]
        tokenizer = mk.data.WordTokenizer(max_length=8, start_end=True)
        tokenizer.adapt(captions, vocab_size=50)
        namespace = {
            "mk": mk,
            "mmkeras": mk,
            "keras": keras,
            "np": np,
            "tf": tf,
            "pipe": pipe,
            "model": model,
            "train_ds": pipe.dataset("train.csv", training=True, batch_size=4, verbose=False),
            "val_ds": pipe.dataset("val.csv", batch_size=4, verbose=False),
            "images": inputs["image"].numpy(),
            "token_ids": inputs["text"].numpy(),
            "caption_ids": tokenizer(tf.constant(captions)).numpy(),
            "vocabulary": ["[PAD]", "[UNK]", *tokenizer.vocabulary],
        }
        mk.export.saved_model(model, pipe, "exported/")
        yield namespace
    finally:
        os.chdir(previous)


def test_every_example_is_collected():
    """No `>>>` line escapes the test: each is an example of a docstring `DocTestFinder` sees."""
    collected = {}
    for _, test in DOCTESTS:
        path = Path(test.filename).resolve()
        collected[path] = collected.get(path, 0) + len(test.examples)
    missing = {}
    for path in PACKAGE_DIR.rglob("*.py"):
        prompts = len(_PROMPT.findall(path.read_text(encoding="utf-8")))
        if prompts != collected.get(path.resolve(), 0):
            found = collected.get(path.resolve(), 0)
            missing[str(path.relative_to(PACKAGE_DIR))] = (prompts, found)
    assert not missing, f"`>>>` lines vs examples collected, by file: {missing}"


def test_skips_are_listed_and_rare():
    skipped = {}
    for _, test in DOCTESTS:
        count = sum(bool(example.options.get(doctest.SKIP)) for example in test.examples)
        if count:
            skipped[test.name] = count
    assert skipped == SKIPPED, "a skipped example needs its reason in SKIPPED"
    assert sum(SKIPPED.values()) <= MAX_SKIPPED


@pytest.mark.slow
@pytest.mark.parametrize("module_name, test", DOCTESTS, ids=[test.name for _, test in DOCTESTS])
def test_docstring_examples_run(docs_namespace, module_name, test):
    module = importlib.import_module(module_name)
    test.globs = {**vars(module), **docs_namespace}
    runner = doctest.DocTestRunner(optionflags=OPTIONS)
    report = []
    try:
        result = runner.run(test, out=report.append, clear_globs=False)
    finally:
        test.globs = {}
    if result.failed:
        pytest.fail("".join(report), pytrace=False)
