"""Image-text retrieval with a contrastive dual encoder, and captioning, on synthetic scenes.

Each 32x32 image holds one coloured square; its description says its size, colour and place
("small blue square top left": 32 different descriptions). A `DualEncoder` learns a shared
embedding space from the pairs alone (no labels); retrieval is then measured over the whole
test set and served with a `mmkeras.retrieval.Index`. A `Captioner` with attention learns to
write the descriptions, scored with corpus BLEU-4 for greedy and beam-search decoding.

Run: python examples/retrieval.py   (about a minute on a laptop CPU)
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import mmkeras as mk  # noqa: E402
from mmkeras.models.captioner import Captioner  # noqa: E402
from mmkeras.models.dual_encoder import DualEncoder  # noqa: E402

COLOURS = {
    "red": (230, 30, 30),
    "green": (30, 200, 30),
    "blue": (40, 60, 230),
    "yellow": (230, 220, 30),
}
WORDS = ["big", "small", *COLOURS, "square", "top", "bottom", "left", "right"]
VOCAB = ["[PAD]", "[UNK]", "[START]", "[END]", *WORDS]
START, END = 2, 3
SIZE = 32
CAPTION_LENGTH = 8  # start + 5 words + end + 1 padding


def make_pairs(count, seed):
    """Returns images (count, 32, 32, 3) on 0..255, descriptions (lists of words), class ids."""
    rng = np.random.default_rng(seed)
    images = rng.uniform(0, 25, size=(count, SIZE, SIZE, 3)).astype("float32")
    words, classes = [], np.zeros(count, "int64")
    names = list(COLOURS)
    for i in range(count):
        big, colour, top, left = (int(v) for v in rng.integers(0, [2, 4, 2, 2]))
        side = 13 if big else 7
        row = rng.integers(0, SIZE // 2 - side + 1) + (0 if top else SIZE // 2)
        col = rng.integers(0, SIZE // 2 - side + 1) + (0 if left else SIZE // 2)
        images[i, row : row + side, col : col + side] = COLOURS[names[colour]]
        words.append(
            [
                "big" if big else "small",
                names[colour],
                "square",
                "top" if top else "bottom",
                "left" if left else "right",
            ]
        )
        classes[i] = ((big * 4 + colour) * 2 + top) * 2 + left
    return images, words, classes


def to_ids(words, length, start_end=False):
    ids = np.zeros((len(words), length), "int32")
    for i, sentence in enumerate(words):
        row = [VOCAB.index(w) for w in sentence]
        ids[i, : len(row) + 2 * start_end] = [START, *row, END] if start_end else row
    return ids


def scene_cnn(return_sequence=False):
    """A small image branch that keeps where things are.

    `mk.branches.image_cnn` average-pools its last feature map, which discards position; these
    descriptions depend on position, so this branch flattens the map instead. Any single-input
    Keras model with the branch outputs of docs/conventions.md can be used as a branch.
    """
    images = keras.Input((SIZE, SIZE, 3), name="pixels")
    x = keras.layers.Rescaling(1 / 255)(images)
    x = keras.layers.Conv2D(16, 3, strides=2, padding="same", activation="relu")(x)
    x = keras.layers.Conv2D(32, 3, strides=2, padding="same", activation="relu")(x)
    feature = keras.layers.Dense(64, activation="relu")(keras.layers.Flatten()(x))
    if not return_sequence:
        return keras.Model(images, feature, name="scene_cnn")
    regions = keras.layers.Reshape((64, 32))(x)
    outputs = {
        "feature": feature,
        "sequence": regions,
        "sequence_mask": mk.layers.SequenceMask()(regions),
    }
    return keras.Model(images, outputs, name="scene_cnn")


def retrieval(train, test):
    (images, words, _), (test_images, test_words, test_classes) = train, test
    model = DualEncoder(
        image_branch=scene_cnn(),
        text_branch=mk.branches.text_transformer(
            vocab_size=len(VOCAB), max_length=5, num_layers=1, output_dim=64
        ),
        embed_dim=32,
        temperature="learnable",
    )
    model.compile_defaults(learning_rate=2e-3)
    model.fit({"image": images, "text": to_ids(words, 5)}, batch_size=64, epochs=8, verbose=0)

    test_texts = to_ids(test_words, 5)
    # Several test pairs share a description: any item of the same class counts as a match.
    recalls = model.evaluate_retrieval(
        test_images, test_texts, ks=(1, 5), image_ids=test_classes, text_ids=test_classes
    )
    print("retrieval over the test set (32 descriptions, chance recall@1 about 0.03):")
    for name, value in recalls.items():
        print(f"  {name}: {value:.3f}")

    # Index every distinct description once, then search it with images.
    distinct = {" ".join(w): w for w in test_words}
    index = mk.retrieval.Index().add(
        model.encode_texts(to_ids(list(distinct.values()), 5)), ids=list(distinct)
    )
    scores, ids = index.search(model.encode_images(test_images[:3]), k=2)
    for truth, found, score in zip(test_words[:3], ids, scores, strict=False):
        print(f"  image of '{' '.join(truth)}' -> '{found[0]}' ({score[0]:.2f}), then '{found[1]}'")


def captioning(train, test):
    (images, words, _), (test_images, test_words, _) = train, test
    captioner = Captioner(
        image_branch=scene_cnn(return_sequence=True),
        vocab_size=len(VOCAB),
        decoder="lstm",
        attention=True,
        max_length=CAPTION_LENGTH,
        units=64,
        dropout=0.0,
    )
    references = to_ids(test_words, CAPTION_LENGTH, start_end=True)
    untrained = captioner.evaluate_bleu(test_images, references)
    captioner.compile_defaults(learning_rate=3e-3)
    captions = to_ids(words, CAPTION_LENGTH, start_end=True)
    captioner.fit({"image": images, "caption": captions}, batch_size=64, epochs=10, verbose=0)
    greedy = captioner.evaluate_bleu(test_images, references, method="greedy")
    beam = captioner.evaluate_bleu(test_images, references, method="beam", beam_width=3)
    print(f"captioning BLEU-4: untrained {untrained:.3f}, greedy {greedy:.3f}, beam(3) {beam:.3f}")
    for truth, text in zip(
        test_words[:3], captioner.to_text(captioner.generate(test_images[:3]), VOCAB), strict=False
    ):
        print(f"  '{' '.join(truth)}' -> '{text}'")


def main():
    keras.utils.set_random_seed(0)
    train, test = make_pairs(1500, seed=0), make_pairs(300, seed=1)
    retrieval(train, test)
    captioning(train, test)


if __name__ == "__main__":
    main()
