"""Builds and trains an mmkeras model on the JAX backend.

The model code of mmkeras (layers, branches, tasks, models) uses `keras.ops` only, so the same
model runs where TensorFlow is not installed, e.g. on an accelerator host with JAX:

    KERAS_BACKEND=jax python examples/jax_backend.py

It trains a three-branch model (image, text, audio) on a small synthetic task for a few epochs,
checks that the loss falls, and saves and reloads the model as a `.keras` file.
"""

import os
import sys
import tempfile

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import mmkeras as mk  # noqa: E402


def synthetic_data(n, rng):
    """Image brightness, a text token and an audio tone frequency each carry part of the label."""
    labels = rng.integers(0, 4, n)
    images = rng.uniform(0, 80, (n, 16, 16, 3)).astype("float32")
    images += (labels % 2)[:, None, None, None] * 120.0
    texts = rng.integers(3, 40, (n, 6)).astype("int32")
    texts[:, 0] = 40 + labels // 2
    t = np.arange(2000) / 8000.0
    freqs = np.where(labels // 2 == 1, 1500.0, 300.0)
    audio = (0.5 * np.sin(2 * np.pi * freqs[:, None] * t)).astype("float32")
    audio += rng.normal(0, 0.05, audio.shape).astype("float32")
    return {"image": images, "text": texts, "audio": audio}, labels


def main():
    print(f"Keras {keras.__version__}, backend: {keras.backend.backend()}")
    rng = np.random.default_rng(0)
    x, y = synthetic_data(256, rng)
    model = mk.build_model(
        branches={
            "image": mk.branches.image_cnn(input_shape=(16, 16, 3), filters=(8, 16), output_dim=16),
            "text": mk.branches.text_rnn(vocab_size=48, cell="gru", output_dim=16),
            "audio": mk.branches.audio_cnn(sample_rate=8000, duration=0.25, output_dim=16),
        },
        fusion="attention",
        task=mk.tasks.Classification(num_classes=4, hidden_units=(16,)),
        learning_rate=3e-3,
    )
    history = model.fit(x, y, epochs=6, batch_size=32, verbose=2)
    losses = history.history["loss"]
    print(f"loss: first epoch {losses[0]:.4f}, last epoch {losses[-1]:.4f}")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.keras")
        model.save(path)
        loaded = keras.saving.load_model(path, safe_mode=True)
        same = np.allclose(model.predict(x, verbose=0), loaded.predict(x, verbose=0), atol=1e-6)
    print(f"saved and reloaded with safe_mode=True, same predictions: {same}")
    if not (losses[-1] < losses[0] and same):
        sys.exit("FAILED: the loss did not fall or the reloaded model differs")
    print("OK: the model built, trained and round-tripped on", keras.backend.backend())


if __name__ == "__main__":
    main()
