"""Visual question answering on synthetic scenes: the question attends over image regions.

Each 32x32 image holds two objects (a square, a circle or a triangle, in red, green, blue or
yellow), one in each half. Questions ask for the colour of a shape ("what colour is the
circle") or the shape of a colour ("what shape is the blue object"), so the answer depends on
both the question and the image. The model reads the question with a recurrent branch and the
image with a small CNN that returns its regions; `CrossModalAttention(query=0)` lets every
question token attend over the image regions. A question-only model is trained beside it: it
can learn only the answer priors, which shows how much the image contributes.

Run: python examples/vqa.py   (under a minute on a laptop CPU)
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import mmkeras as mk  # noqa: E402

COLOURS = {
    "red": (230, 40, 40),
    "green": (40, 200, 40),
    "blue": (50, 70, 230),
    "yellow": (230, 220, 40),
}
SHAPES = ("square", "circle", "triangle")
ANSWERS = [*COLOURS, *SHAPES]
WORDS = ["what", "colour", "shape", "is", "the", "object", *COLOURS, *SHAPES]
VOCAB = ["[PAD]", "[UNK]", *WORDS]
SIZE = 32
QUESTION_LENGTH = 6


def draw(image, shape, colour, top, left, side):
    rows, cols = np.mgrid[0:side, 0:side]
    if shape == "square":
        inside = np.ones((side, side), bool)
    elif shape == "circle":
        centre = (side - 1) / 2
        inside = (rows - centre) ** 2 + (cols - centre) ** 2 <= (side / 2) ** 2
    else:
        inside = np.abs(cols - (side - 1) / 2) <= rows / 2
    image[top : top + side, left : left + side][inside] = colour


def make_scenes(count, seed):
    """Returns images (count, 32, 32, 3) on 0..255, question token ids and answer indices."""
    rng = np.random.default_rng(seed)
    images = rng.uniform(0, 30, size=(count, SIZE, SIZE, 3)).astype("float32")
    questions = np.zeros((count, QUESTION_LENGTH), "int32")
    answers = np.zeros(count, "int32")
    colour_names = list(COLOURS)
    for i in range(count):
        shapes = rng.choice(len(SHAPES), size=2, replace=False)
        colours = rng.choice(len(colour_names), size=2, replace=False)
        for slot in range(2):
            side = int(rng.integers(9, 14))
            top = int(rng.integers(0, SIZE - side))
            left = int(rng.integers(0, SIZE // 2 - side)) + slot * SIZE // 2
            draw(
                images[i],
                SHAPES[shapes[slot]],
                COLOURS[colour_names[colours[slot]]],
                top,
                left,
                side,
            )
        asked = int(rng.integers(0, 2))
        if rng.random() < 0.5:
            words = ["what", "colour", "is", "the", SHAPES[shapes[asked]]]
            answer = colour_names[colours[asked]]
        else:
            words = ["what", "shape", "is", "the", colour_names[colours[asked]], "object"]
            answer = SHAPES[shapes[asked]]
        questions[i, : len(words)] = [VOCAB.index(w) for w in words]
        answers[i] = ANSWERS.index(answer)
    return images, questions, answers


def question_branch(return_sequence):
    return mk.branches.text_rnn(
        vocab_size=len(VOCAB),
        bidirectional=True,
        embedding_dim=32,
        units=32,
        output_dim=64,
        max_length=QUESTION_LENGTH,
        dropout=0.0,
        return_sequence=return_sequence,
        name="question_rnn",
    )


def main():
    keras.utils.set_random_seed(0)
    train_images, train_questions, train_answers = make_scenes(3000, seed=0)
    test_images, test_questions, test_answers = make_scenes(600, seed=1)
    task = mk.tasks.Classification(num_classes=len(ANSWERS))

    vqa = mk.build_model(
        branches={
            "question": question_branch(return_sequence=True),
            "image": mk.branches.image_cnn(
                input_shape=(SIZE, SIZE, 3),
                filters=(16, 32),
                output_dim=64,
                dropout=0.0,
                return_sequence=True,
            ),
        },
        fusion="cross_attention",
        fusion_kwargs={"units": 64, "num_heads": 4, "query": 0},
        task=task,
        learning_rate=3e-3,
        name="vqa",
    )
    vqa.fit(
        {"question": train_questions, "image": train_images},
        train_answers,
        batch_size=64,
        epochs=10,
        verbose=0,
    )
    vqa_accuracy = vqa.evaluate(
        {"question": test_questions, "image": test_images},
        test_answers,
        verbose=0,
        return_dict=True,
    )

    baseline = mk.build_model(
        branches={"question": question_branch(return_sequence=False)},
        fusion="concat",
        task=task,
        learning_rate=3e-3,
        name="question_only",
    )
    baseline.fit({"question": train_questions}, train_answers, batch_size=64, epochs=10, verbose=0)
    baseline_accuracy = baseline.evaluate(
        {"question": test_questions}, test_answers, verbose=0, return_dict=True
    )

    metric = next(k for k in vqa_accuracy if "acc" in k)
    print(f"answers: {len(ANSWERS)} classes, {len(test_answers)} test questions")
    print(f"question + image (cross-modal attention): accuracy {vqa_accuracy[metric]:.3f}")
    print(f"question only (baseline):                 accuracy {baseline_accuracy[metric]:.3f}")


if __name__ == "__main__":
    main()
