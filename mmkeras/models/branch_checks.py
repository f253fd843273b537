"""`check_branch_model`: the checks every model makes of a branch it is given."""

import keras


def check_branch_model(what, branch, alternatives=""):
    """Raises unless `branch` is a `keras.Model` with exactly one input.

    Args:
        what: str, how errors name the branch (e.g. "`image_branch`" or "Branch 'image'").
        branch: the object to check.
        alternatives: str, what else the caller accepts, said after "must be a keras.Model".
    """
    if not isinstance(branch, keras.Model):
        raise TypeError(
            f"{what} must be a keras.Model (e.g. from mmkeras.branches){alternatives}; received "
            f"{type(branch).__name__}."
        )
    if len(branch.inputs) != 1:
        raise ValueError(
            f"{what} ({branch.name}) has {len(branch.inputs)} inputs; a branch takes exactly "
            "one raw input tensor."
        )
