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


def class_probabilities(outputs):
    """Class probabilities with one column per class (a one-unit sigmoid output made two)."""
    outputs = np.asarray(outputs, dtype=np.float64)
    if outputs.ndim == 1 or outputs.shape[-1] == 1:
        p = outputs.reshape(-1, 1)
        return np.concatenate([1.0 - p, p], axis=1)
    return outputs


def decode(problem_type, outputs, class_names):
    """What the model says for each row: a class name, the `|`-joined names of the labels with
    probability at least 0.5 (multi-label), or a value (regression)."""
    outputs = np.asarray(outputs, dtype=np.float64)
    if problem_type == ct.REGRESSION:
        return [float(v) for v in outputs.reshape(len(outputs), -1)[:, 0]]
    if problem_type == ct.MULTI_LABEL:
        return [
            "|".join(c for c, p in zip(class_names, row, strict=True) if p >= 0.5)
            for row in outputs
        ]
    return [class_names[int(i)] for i in class_probabilities(outputs).argmax(axis=1)]


def score(problem_type, targets, outputs):
    """The tuning score of `outputs` (probabilities or values) against the pipeline's targets.

    Classification: accuracy (a one-unit sigmoid output counts as the probability of class 1).
    Multi-label: the share of (row, label) decisions at threshold 0.5 that are right.
    Regression: minus the root mean squared error.
    """
    targets, outputs = np.asarray(targets), np.asarray(outputs, dtype=np.float64)
    if problem_type in (ct.BINARY, ct.MULTICLASS):
        predicted = class_probabilities(outputs).argmax(axis=-1)
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


def choose_members(problem_type, records, outputs, targets, ensemble):
    """The trials to keep: the best one, or a greedy ensemble when it scores better.

    Args:
        problem_type: one of `column_types.PROBLEM_TYPES`.
        records: the trial records (`trial`, `status`, `score`).
        outputs: `{trial: outputs on the tuning data}`.
        targets: the tuning targets.
        ensemble: bool, try an ensemble of the ten best trials.

    Returns:
        `(members, ensemble_score, message)`: `{trial: weight}`, the ensemble's tuning score
        (None when no ensemble was tried) and a line saying what was kept.
    """
    ok = sorted((r for r in records if r["status"] == "ok"), key=lambda r: -r["score"])
    best = ok[0]
    kept = {best["trial"]: 1.0}
    if not ensemble or len(ok) < 2:
        return kept, None, f"kept the best trial, {best['trial']} ({best['score']:.4f})"
    candidates = {r["trial"]: outputs[r["trial"]] for r in ok[:10]}
    weights, value = greedy_ensemble(problem_type, targets, candidates)
    if len(weights) > 1 and value > best["score"]:
        return (
            weights,
            value,
            (
                f"ensemble of {len(weights)} trials: tuning score {value:.4f} "
                f"(best single trial {best['score']:.4f})"
            ),
        )
    return (
        kept,
        value,
        (
            f"the ensemble ({value:.4f}) does not beat the best trial ({best['score']:.4f}) "
            "on the tuning data: kept the best trial"
        ),
    )
