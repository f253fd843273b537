"""SavedModel export of a `DualEncoder`: one signature per encoder."""

import keras

from mmkeras.models.dual_encoder import IMAGE, TEXT, DualEncoder


def export_dual_encoder(dual_encoder, path):
    """Writes a SavedModel with the signatures `encode_images` and `encode_texts`.

    Both take the raw tensors the branches take (float images `(batch, H, W, C)` on the 0..255
    scale, int32 token ids `(batch, steps)`) and return unit-length embeddings; the SavedModel
    loads with TensorFlow alone (`tf.saved_model.load(path).encode_images(images)`).

    Args:
        dual_encoder: a `DualEncoder`.
        path: str, the output folder.
    """
    if not isinstance(dual_encoder, DualEncoder):
        raise TypeError(
            f"`dual_encoder` must be a DualEncoder; received {type(dual_encoder).__name__}."
        )
    archive = keras.export.ExportArchive()
    image_encoder = dual_encoder.image_encoder()
    text_encoder = dual_encoder.text_encoder()
    archive.track(dual_encoder)
    archive.add_endpoint(
        "encode_images",
        lambda images: image_encoder(images, training=False),
        input_signature=[dual_encoder.input[IMAGE]],
    )
    archive.add_endpoint(
        "encode_texts",
        lambda texts: text_encoder(texts, training=False),
        input_signature=[dual_encoder.input[TEXT]],
    )
    archive.write_out(str(path), verbose=False)
