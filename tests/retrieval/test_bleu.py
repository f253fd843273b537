import math

import pytest

from mmkeras.retrieval import corpus_bleu


def test_identical_captions_score_one():
    captions = [["a", "red", "square", "on", "the", "left"], ["two", "blue", "dots", "up", "high"]]
    assert corpus_bleu(captions, captions) == pytest.approx(1.0)


def test_matches_a_hand_computed_score():
    reference = ["the", "cat", "is", "on", "the", "mat"]
    hypothesis = ["the", "cat", "the", "mat"]
    # unigrams: 4/4 (clipped "the" 2 <= 2); bigrams: "the cat", "the mat" of 3; no 3- or 4-grams
    assert corpus_bleu([reference], [hypothesis], max_order=2) == pytest.approx(
        math.exp(1 - 6 / 4) * math.sqrt(1.0 * 2 / 3)
    )
    assert corpus_bleu([reference], [hypothesis]) == 0.0


def test_counts_are_clipped_by_the_reference():
    # "the the the" matches one "the" only: unigram precision 1/3, no brevity penalty.
    assert corpus_bleu(
        [["the", "cat", "sat"]], [["the", "the", "the"]], max_order=1
    ) == pytest.approx(1 / 3)


def test_counts_are_summed_over_the_corpus_not_averaged():
    references = [["a", "b", "c", "d"], ["e", "f", "g", "h"]]
    hypotheses = [["a", "b", "c", "d"], ["e", "f", "x", "y"]]
    # precisions 6/8 and 4/6 (corpus), not the mean of per-sentence scores
    assert corpus_bleu(references, hypotheses, max_order=2) == pytest.approx(
        math.sqrt(6 / 8 * 4 / 6)
    )


def test_closest_reference_length_sets_the_brevity_penalty():
    references = [[["a", "b", "c"], ["a", "b", "c", "d", "e", "f", "g"]]]
    assert corpus_bleu(references, [["a", "b", "c"]], max_order=1) == pytest.approx(1.0)
    # with only the long reference the short hypothesis is penalised
    assert corpus_bleu([references[0][1]], [["a", "b", "c"]], max_order=1) == pytest.approx(
        math.exp(1 - 7 / 3)
    )


def test_smoothing_avoids_zero_for_short_matches():
    assert corpus_bleu([[1, 2, 3]], [[1, 2, 9]]) == 0.0
    assert 0.0 < corpus_bleu([[1, 2, 3]], [[1, 2, 9]], smooth=True) < 1.0


def test_rejects_mismatched_lengths_and_strings():
    with pytest.raises(ValueError, match="one entry of references per hypothesis"):
        corpus_bleu([["a"]], [["a"], ["b"]])
    with pytest.raises(ValueError, match="split the text"):
        corpus_bleu(["a red square"], [["a"]])
