"""A tiny image run for tests: 8x8 PNGs, two classes, and rows naming files that do not exist."""

import numpy as np


def image_run_config(folder, name, num_images, errors="raise", epochs=1):
    """Writes `num_images` PNGs and `train.csv` (plus one row naming `missing.png`) into
    `folder`; returns a run configuration dict training an image CNN on them."""
    import cv2

    rng = np.random.default_rng(0)
    lines = ["image,label"]
    for i in range(num_images):
        cv2.imwrite(str(folder / f"{i}.png"), rng.integers(0, 255, (8, 8, 3), dtype=np.uint8))
        lines.append(f"{i}.png,{'ab'[i % 2]}")
    lines.append("missing.png,a")
    (folder / "train.csv").write_text("\n".join(lines) + "\n")
    return {
        "name": name,
        "output_dir": str(folder / "runs"),
        "data": {
            "train": "train.csv",
            "schema": {"image": "image", "label": "label"},
            "image": {"size": [8, 8]},
            "errors": errors,
            "batch_size": 4,
        },
        "model": {
            "branches": {"image": {"kind": "image_cnn", "filters": [4], "output_dim": 4}},
            "task": {"kind": "classification"},
        },
        "train": {"epochs": epochs, "verbose": 0},
        "callbacks": {"tensorboard": False},
    }
