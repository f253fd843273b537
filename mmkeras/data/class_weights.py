"""Balanced class weights of a classification target, counted over a manifest's usable rows."""

import numpy as np

from mmkeras.data.row_checks import check_rows


def balanced_class_weights(pipe, manifest, target=None):
    """`{class_index: weight}` of `target` over the usable rows of `manifest`; see
    `Pipeline.class_weights`."""
    target = target or (pipe.target_names[0] if len(pipe.target_names) == 1 else None)
    if target is None or pipe.specs[target].kind != "classification":
        raise ValueError(
            f"class_weights: `target` must name a classification target, received {target!r} "
            f"(targets: {pipe.target_names})."
        )
    pipe._require_adapted()
    rows, _ = check_rows(pipe, manifest)
    classes = pipe.specs[target].labels
    counts = np.zeros(len(classes))
    for row in rows:
        counts[classes.index(row[target][0])] += 1
    weights = np.where(counts > 0, counts.sum() / (len(classes) * np.maximum(counts, 1)), 0)
    weights[counts == 0] = weights.max() if weights.max() > 0 else 1.0
    return {i: float(w) for i, w in enumerate(weights)}
