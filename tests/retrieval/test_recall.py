import numpy as np
import pytest

from mmkeras.retrieval import recall_at_k, retrieval_recalls


def test_recall_at_k_counts_queries_with_their_item_in_the_top_k():
    similarity = np.array(
        [
            [0.9, 0.1, 0.0],  # item 0 first
            [0.8, 0.5, 0.1],  # item 1 second
            [0.7, 0.6, 0.2],  # item 2 third
        ]
    )
    assert recall_at_k(similarity, 1) == pytest.approx(1 / 3)
    assert recall_at_k(similarity, 2) == pytest.approx(2 / 3)
    assert recall_at_k(similarity, 10) == pytest.approx(1.0)


def test_ids_let_several_items_match():
    similarity = np.array([[0.1, 0.9, 0.0], [0.2, 0.3, 0.8]])
    assert recall_at_k(similarity, 1) == 0.0
    assert (
        recall_at_k(similarity, 1, query_ids=["cat", "dog"], item_ids=["cat", "cat", "dog"]) == 1.0
    )


def test_retrieval_recalls_in_both_directions(rng):
    texts = rng.normal(size=(20, 8))
    images = texts + 0.01 * rng.normal(size=(20, 8))
    images[0] = texts[1]  # image 0 now retrieves text 1 first
    recalls = retrieval_recalls(images, texts, ks=(1, 20))
    assert recalls["image_to_text_recall@1"] == pytest.approx(19 / 20)
    # text 1 now retrieves image 0 (an exact copy) before its own image
    assert recalls["text_to_image_recall@1"] <= 19 / 20
    assert recalls["text_to_image_recall@20"] == pytest.approx(1.0)
    assert set(recalls) == {
        "image_to_text_recall@1",
        "text_to_image_recall@1",
        "image_to_text_recall@20",
        "text_to_image_recall@20",
    }


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="k=0"):
        recall_at_k(np.eye(2), 0)
    with pytest.raises(ValueError, match="paired"):
        retrieval_recalls(np.ones((3, 2)), np.ones((4, 2)))
    with pytest.raises(ValueError, match="differ in size"):
        retrieval_recalls(np.ones((3, 2)), np.ones((3, 4)))
