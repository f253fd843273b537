"""`ImageSpec.from_pretrained`: images at the size a pretrained branch or checkpoint takes."""

import csv

import cv2
import keras
import numpy as np
import pytest
import tensorflow as tf
from pretrained_golden import golden_dir

import mmkeras as mk
from mmkeras.data import ImageSpec


@pytest.fixture(scope="module")
def vit_branch():
    return mk.branches.pretrained(golden_dir("vit"))


def test_from_a_checkpoint_the_size_its_image_processor_yields():
    assert ImageSpec.from_pretrained(golden_dir("vit")).size == (32, 32)
    # DINOv2's processor centre-crops to 28: the size its branch takes by default.
    assert ImageSpec.from_pretrained(golden_dir("dinov2")).size == (28, 28)


def test_from_a_branch_the_size_of_its_input(vit_branch):
    assert ImageSpec.from_pretrained(vit_branch).shape == (32, 32, 3)
    dinov2 = mk.branches.pretrained(golden_dir("dinov2"), input_shape=(40, 40, 3))
    assert ImageSpec.from_pretrained(dinov2).size == (40, 40)
    backbone = mk.branches.image_backbone("mobilenetv2", input_shape=(48, 40, 3), output_dim=4)
    assert ImageSpec.from_pretrained(backbone).size == (48, 40)


def test_from_a_reloaded_branch(vit_branch, tmp_path):
    vit_branch.save(tmp_path / "vit.keras")
    reloaded = keras.saving.load_model(tmp_path / "vit.keras", safe_mode=True)
    assert ImageSpec.from_pretrained(reloaded).size == (32, 32)


def test_other_arguments_pass_through(vit_branch):
    augment = mk.data.OpenCVAugment(flip="horizontal")
    spec = ImageSpec.from_pretrained(
        vit_branch, resize_method="bicubic", max_pixels=1000, augment=augment
    )
    assert (spec.size, spec.resize_method, spec.max_pixels) == ((32, 32), "bicubic", 1000)
    assert spec.augment is not None


def test_clear_errors(vit_branch):
    with pytest.raises(ValueError, match="`size` comes from the pretrained branch"):
        ImageSpec.from_pretrained(vit_branch, size=(64, 64))
    with pytest.raises(ValueError, match="has no image encoder"):
        ImageSpec.from_pretrained(golden_dir("roberta"))
    two_inputs = mk.build_model(
        branches={
            "a": mk.branches.image_cnn(input_shape=(8, 8, 3), filters=(2,)),
            "b": mk.branches.image_cnn(input_shape=(8, 8, 3), filters=(2,)),
        },
        fusion="concat",
        task=mk.tasks.Classification(num_classes=2),
    )
    with pytest.raises(ValueError, match="must have one image input"):
        ImageSpec.from_pretrained(two_inputs)


def test_a_pipeline_feeds_the_branch_as_the_resized_images_do(vit_branch, tmp_path):
    rng = np.random.default_rng(0)
    rows = []
    images = []
    for index, (height, width) in enumerate([(45, 60), (32, 32), (70, 28)]):
        image = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
        cv2.imwrite(str(tmp_path / f"{index}.png"), image[:, :, ::-1])  # OpenCV writes BGR
        images.append(image)
        rows.append({"image": f"{index}.png", "label": "ab"[index % 2]})
    with open(tmp_path / "train.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["image", "label"])
        writer.writeheader()
        writer.writerows(rows)

    spec = ImageSpec.from_pretrained(vit_branch)
    pipe = mk.data.Pipeline(schema={"image": "image", "label": "label"}, image=spec)
    pipe.adapt(str(tmp_path / "train.csv"))
    inputs, _ = next(iter(pipe.dataset(str(tmp_path / "train.csv"), batch_size=3)))
    pixels = inputs["image"].numpy()
    assert pixels.shape == (3, 32, 32, 3)
    assert pixels.max() > 200  # 0..255: the branch normalises

    resized = np.stack(
        [tf.image.resize(image.astype("float32"), (32, 32)).numpy() for image in images]
    )
    np.testing.assert_allclose(pixels, np.clip(resized, 0, 255), atol=1e-4)
    np.testing.assert_allclose(
        vit_branch.predict(pixels, verbose=0),
        vit_branch.predict(np.clip(resized, 0, 255), verbose=0),
        atol=1e-5,
    )
