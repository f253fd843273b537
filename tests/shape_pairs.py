"""Generated image-text pairs (coloured squares with short descriptions) for retrieval and captioning tests."""

import numpy as np

WORDS = [
    "big",
    "small",
    "red",
    "green",
    "blue",
    "yellow",
    "square",
    "top",
    "bottom",
    "left",
    "right",
]
VOCAB = ["[PAD]", "[UNK]", "[START]", "[END]", *WORDS]
COLOURS = {
    "red": (230, 30, 30),
    "green": (30, 200, 30),
    "blue": (40, 60, 230),
    "yellow": (230, 220, 30),
}
SIZE = 16


def make_pairs(count, seed):
    """Returns `(images, words, classes)`: float images (count, 16, 16, 3) on 0..255, the
    description of each as a list of words, and its class index in [0, 32)."""
    rng = np.random.default_rng(seed)
    images = rng.uniform(0, 25, size=(count, SIZE, SIZE, 3)).astype("float32")
    words, classes = [], np.zeros(count, "int64")
    colour_names = list(COLOURS)
    for i in range(count):
        big, colour, top, left = (int(v) for v in rng.integers(0, [2, 4, 2, 2]))
        side = 7 if big else 4
        row = rng.integers(0, SIZE // 2 - side + 1) + (0 if top else SIZE // 2)
        col = rng.integers(0, SIZE // 2 - side + 1) + (0 if left else SIZE // 2)
        images[i, row : row + side, col : col + side] = COLOURS[colour_names[colour]]
        words.append(
            [
                "big" if big else "small",
                colour_names[colour],
                "square",
                "top" if top else "bottom",
                "left" if left else "right",
            ]
        )
        classes[i] = ((big * 4 + colour) * 2 + top) * 2 + left
    return images, words, classes


def token_ids(words, length, start_end=False):
    """Maps word lists to int32 ids `(count, length)`, 0-padded; optionally adds start/end ids."""
    ids = np.zeros((len(words), length), "int32")
    for i, sentence in enumerate(words):
        row = [VOCAB.index(w) for w in sentence]
        if start_end:
            row = [2, *row, 3]
        ids[i, : len(row)] = row
    return ids
