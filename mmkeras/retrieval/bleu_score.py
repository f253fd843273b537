"""Corpus BLEU (Papineni et al., 2002) in plain Python, for captioning evaluation."""

import math
from collections import Counter


def _ngrams(tokens, order):
    return Counter(tuple(tokens[i : i + order]) for i in range(len(tokens) - order + 1))


def _as_reference_list(references, index):
    if isinstance(references, (str, bytes)):
        raise ValueError(
            f"references[{index}] is a string; give token lists (split the text first)."
        )
    references = list(references)
    if (
        references
        and not isinstance(references[0], (str, bytes, int))
        and hasattr(references[0], "__iter__")
    ):
        return [list(reference) for reference in references]
    return [references]


def corpus_bleu(references, hypotheses, max_order=4, smooth=False):
    """Corpus-level BLEU with clipped n-gram precisions and the brevity penalty.

    N-gram counts are summed over the whole corpus before the precisions are taken (this is
    corpus BLEU, not an average of sentence scores). Each hypothesis n-gram counts at most as
    often as it appears in one of its references. The brevity penalty compares the total
    hypothesis length `c` with the total of the reference lengths closest to each hypothesis
    (`r`; the shorter one on a tie): `exp(1 - r / c)` when `c < r`, else 1.

    Args:
        references: one entry per hypothesis: a token list (one reference), or a list of token
            lists (several references). Tokens are any hashable values (words or ids).
        hypotheses: list of token lists.
        max_order: int, the longest n-gram (4 for BLEU-4); precisions are weighted uniformly.
        smooth: bool, add one to the matched and total counts of every order above 1 so that
            one missing order does not give 0 (useful on small sets; off for standard BLEU).

    Returns:
        Float in [0, 1].

    Example:
    >>> corpus_bleu([["a", "red", "square", "top", "left"]], [["a", "red", "square", "top", "left"]])
    1.0
    """
    if isinstance(max_order, bool) or not isinstance(max_order, int) or max_order <= 0:
        raise ValueError(
            f"`max_order` must be a positive integer; received max_order={max_order!r}."
        )
    hypotheses = [list(h) for h in hypotheses]
    if len(references) != len(hypotheses):
        raise ValueError(
            f"`references` has {len(references)} entries and `hypotheses` {len(hypotheses)}; "
            "give one entry of references per hypothesis."
        )
    matches = [0] * max_order
    totals = [0] * max_order
    hypothesis_length = 0
    reference_length = 0
    for index, (refs, hypothesis) in enumerate(zip(references, hypotheses, strict=False)):
        refs = _as_reference_list(refs, index)
        hypothesis_length += len(hypothesis)
        # Closest reference length, the shorter one on a tie.
        reference_length += min((abs(len(r) - len(hypothesis)), len(r)) for r in refs)[1]
        for order in range(1, max_order + 1):
            counts = _ngrams(hypothesis, order)
            max_reference_counts = Counter()
            for reference in refs:
                max_reference_counts |= _ngrams(reference, order)
            matches[order - 1] += sum(
                min(count, max_reference_counts[gram]) for gram, count in counts.items()
            )
            totals[order - 1] += max(len(hypothesis) - order + 1, 0)
    if hypothesis_length == 0:
        return 0.0
    log_precision = 0.0
    for order in range(max_order):
        matched, total = matches[order], totals[order]
        if smooth and order > 0:
            matched, total = matched + 1, total + 1
        if matched == 0 or total == 0:
            return 0.0
        log_precision += math.log(matched / total) / max_order
    if hypothesis_length < reference_length:
        log_precision += 1.0 - reference_length / hypothesis_length
    return float(math.exp(log_precision))
