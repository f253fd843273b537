"""The contrastive losses of a batch of image-text pairs, from its `(B, B)` logits (row `i`:
image `i` against every text; the pair of image `i` is text `i`)."""

import keras
from keras import ops


def symmetric_cross_entropy(logits):
    """CLIP's loss: the mean of the image-to-text and text-to-image cross-entropies, each item
    classifying its own pair among the batch."""
    labels = ops.arange(ops.shape(logits)[0])
    image_to_text = keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True)
    text_to_image = keras.losses.sparse_categorical_crossentropy(
        labels, ops.transpose(logits), from_logits=True
    )
    return 0.5 * (ops.mean(image_to_text) + ops.mean(text_to_image))


def sigmoid_pair_loss(logits):
    """SigLIP's loss: `-log sigmoid(z * logit)` summed over the texts of each image, averaged
    over the images, with `z` = +1 for the pair on the diagonal and -1 elsewhere."""
    batch = ops.shape(logits)[0]
    signs = 2.0 * ops.eye(batch, dtype="float32") - 1.0
    return -ops.mean(ops.sum(ops.log_sigmoid(signs * logits), axis=1))
