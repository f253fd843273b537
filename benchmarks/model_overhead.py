"""Training-step time of an mmkeras-built model against the same architecture written by hand.

What it compares: `mk.build_model` with `image_cnn`, `text_rnn` and `tabular_mlp` branches, concat
fusion and a classification head, against a plain-Keras functional model with the same layers
(checked: same parameter count). The difference is what mmkeras adds: the optional presence input,
the masking inside the fusion layer and the float32 output activation.
Data: random tensors, batch 64 (images 32x32x3, 20 tokens, 16 tabular features), 10 classes,
held in memory as a tf.data pipeline so input cost is the same for both.
Method: both models are compiled the same way (Adam, sparse categorical cross-entropy, accuracy)
and warmed up; then they take turns running `fit` for one epoch of `--steps` steps, `--rounds`
times; the median time per step of each and their ratio are printed. Goal: ratio <= 1.05.

    python benchmarks/model_overhead.py [--steps 40] [--rounds 7]
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import mmkeras as mk  # noqa: E402

BATCH, IMAGE, TOKENS, VOCAB, FEATURES, CLASSES, DIM = 64, 32, 20, 1000, 16, 10, 64


def mmkeras_model():
    return mk.build_model(
        branches={
            "image": mk.branches.image_cnn(
                input_shape=(IMAGE, IMAGE, 3), filters=(16, 32), output_dim=DIM, dropout=0.1
            ),
            "text": mk.branches.text_rnn(
                vocab_size=VOCAB,
                cell="gru",
                bidirectional=False,
                embedding_dim=32,
                units=32,
                output_dim=DIM,
                max_length=TOKENS,
                dropout=0.1,
            ),
            "tabular": mk.branches.tabular_mlp(
                num_features=FEATURES,
                hidden_units=(64,),
                output_dim=DIM,
                dropout=0.1,
                mean=np.zeros(FEATURES),
                variance=np.ones(FEATURES),
            ),
        },
        fusion="concat",
        task=mk.tasks.Classification(num_classes=CLASSES),
        compile=False,
    )


def plain_keras_model():
    layers = keras.layers
    image = keras.Input((IMAGE, IMAGE, 3), name="image")
    x = layers.Rescaling(1.0 / 255.0)(image)
    for filters in (16, 32):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.Activation("relu")(x)
        x = layers.MaxPooling2D(2, padding="same")(x)
        x = layers.SpatialDropout2D(0.1)(x)
    x = layers.GlobalAveragePooling2D()(x)
    image_feature = layers.Dense(DIM, activation="relu")(layers.Dropout(0.1)(x))

    text = keras.Input((TOKENS,), dtype="int32", name="text")
    t = layers.Embedding(VOCAB, 32, mask_zero=True)(text)
    _, state = layers.GRU(32, return_sequences=True, return_state=True, dropout=0.1)(t)
    text_feature = layers.Dense(DIM, activation="relu")(layers.Dropout(0.1)(state))

    tabular = keras.Input((FEATURES,), name="tabular")
    z = layers.Normalization(mean=np.zeros(FEATURES), variance=np.ones(FEATURES))(tabular)
    z = layers.Dense(64, use_bias=False)(z)
    z = layers.Activation("relu")(layers.BatchNormalization()(z))
    z = layers.Dropout(0.1)(z)
    tabular_feature = layers.Dense(DIM, activation="relu")(z)

    fused = layers.Concatenate()([image_feature, text_feature, tabular_feature])
    logits = layers.Dense(CLASSES)(fused)
    probs = layers.Activation("softmax", dtype="float32")(logits)
    return keras.Model({"image": image, "text": text, "tabular": tabular}, probs)


def dataset(steps):
    rng = np.random.default_rng(0)
    n = BATCH * steps
    x = {
        "image": rng.uniform(0, 255, (n, IMAGE, IMAGE, 3)).astype("float32"),
        "text": rng.integers(1, VOCAB, (n, TOKENS)).astype("int32"),
        "tabular": rng.normal(size=(n, FEATURES)).astype("float32"),
    }
    y = rng.integers(0, CLASSES, n)
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(BATCH).cache().prefetch(2)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=40, help="training steps per timed epoch")
    parser.add_argument("--rounds", type=int, default=7, help="timed epochs per model")
    args = parser.parse_args()

    keras.utils.set_random_seed(0)
    models = {"mmkeras build_model": mmkeras_model(), "plain Keras": plain_keras_model()}
    counts = {name: m.count_params() for name, m in models.items()}
    if len(set(counts.values())) != 1:
        raise SystemExit(f"architectures differ: parameter counts {counts}")
    ds = dataset(args.steps)
    for model in models.values():
        model.compile(
            optimizer=keras.optimizers.Adam(1e-3),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        model.fit(ds, epochs=1, verbose=0)  # trace and warm up

    times = {name: [] for name in models}
    for _ in range(args.rounds):
        for name, model in models.items():
            start = time.perf_counter()
            model.fit(ds, epochs=1, verbose=0)
            times[name].append((time.perf_counter() - start) / args.steps)

    print(
        f"Keras {keras.__version__}, TensorFlow {tf.__version__}, backend {keras.backend.backend()}"
    )
    print(
        f"parameters: {counts['plain Keras']:,} in both models; batch {BATCH}; "
        f"{args.rounds} rounds of {args.steps} steps"
    )
    print(f"{'model':<22}{'median ms/step':>16}{'min ms/step':>14}")
    for name, values in times.items():
        print(f"{name:<22}{1000 * statistics.median(values):>16.2f}{1000 * min(values):>14.2f}")
    ratio = statistics.median(times["mmkeras build_model"]) / statistics.median(
        times["plain Keras"]
    )
    print(f"ratio mmkeras / plain Keras (median step time): {ratio:.3f}  (goal <= 1.05)")


if __name__ == "__main__":
    main()
