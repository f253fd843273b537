"""One number per set of predictions on the tuning data: higher is better."""

import numpy as np

from mmkeras.auto import column_types as ct

# The name of the score of each problem type, as `leaderboard()` shows it.
SCORE_NAMES = {
    ct.BINARY: "accuracy",
    ct.MULTICLASS: "accuracy",
    ct.MULTI_LABEL: "label_accuracy",
    ct.REGRESSION: "neg_rmse",
}


def score(problem_type, targets, outputs):
    """The tuning score of `outputs` (probabilities or values) against the pipeline's targets.

    Classification: accuracy (a one-unit sigmoid output counts as the probability of class 1).
    Multi-label: the share of (row, label) decisions at threshold 0.5 that are right.
    Regression: minus the root mean squared error.
    """
    targets, outputs = np.asarray(targets), np.asarray(outputs, dtype=np.float64)
    if problem_type in (ct.BINARY, ct.MULTICLASS):
        if outputs.ndim == 1 or outputs.shape[-1] == 1:
            predicted = (outputs.reshape(-1) >= 0.5).astype(np.int64)
        else:
            predicted = outputs.argmax(axis=-1)
        return float(np.mean(predicted == targets.reshape(-1)))
    if problem_type == ct.MULTI_LABEL:
        return float(np.mean((outputs >= 0.5) == (targets >= 0.5)))
    error = outputs.reshape(len(outputs), -1) - targets.reshape(len(targets), -1)
    return -float(np.sqrt(np.mean(error**2)))


def greedy_ensemble(problem_type, targets, candidates, rounds=20):
    """Greedy ensemble selection with replacement on the tuning data.

    Starts from the best single candidate and adds, round after round, the candidate whose
    addition to the running average scores best, as long as the score does not drop. A
    candidate may be chosen several times: its weight is the share of rounds it was chosen.

    Args:
        problem_type: one of `column_types.PROBLEM_TYPES`.
        targets: the tuning targets.
        candidates: dict `{name: outputs on the tuning data}`.
        rounds: int, most additions.

    Returns:
        `(weights, score)`: `{name: weight}` (summing to 1, only chosen names) and the score of
        the weighted average.
    """
    names = list(candidates)
    outputs = {n: np.asarray(candidates[n], dtype=np.float64) for n in names}
    scores = {n: score(problem_type, targets, outputs[n]) for n in names}
    best = max(names, key=lambda n: scores[n])
    chosen, total, current = [best], outputs[best].copy(), scores[best]
    for _ in range(rounds - 1):
        k = len(chosen) + 1
        trial = {n: score(problem_type, targets, (total + outputs[n]) / k) for n in names}
        pick = max(names, key=lambda n: (trial[n], -names.index(n)))
        if trial[pick] < current:
            break
        chosen.append(pick)
        total += outputs[pick]
        current = trial[pick]
    weights = {n: chosen.count(n) / len(chosen) for n in dict.fromkeys(chosen)}
    return weights, current
