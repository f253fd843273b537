"""`task_report`: full-set evaluation of a retrieval or captioning run on a manifest."""

import hashlib

import numpy as np

from mmkeras.train import builders

RECALL_KS = (1, 5, 10)


def caption_vocabulary(pipe, key):
    """The token of every id of caption input `key` (padding, OOV, start, end, words)."""
    from mmkeras.data.word_tokenizer import OOV, PAD

    return [PAD, OOV, *pipe.tokenizer(key).vocabulary]


def _digest(array):
    return hashlib.sha1(np.ascontiguousarray(array).tobytes()).hexdigest()


class _Groups:
    """Union-find over row indices: rows sharing an image or a text become one item."""

    def __init__(self, count):
        self.parent = list(range(count))

    def find(self, i):
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def join_equal(self, keys):
        first = {}
        for i, key in enumerate(keys):
            if key in first:
                self.parent[self.find(i)] = self.find(first[key])
            else:
                first[key] = i

    def ids(self):
        return np.array([self.find(i) for i in range(len(self.parent))])


def _batches(run, data, batch_size, errors):
    config = run.config
    ds = run.pipeline.dataset(
        data,
        training=False,
        batch_size=batch_size or config.data.batch_size,
        errors=errors,
        verbose=False,
    )
    return ds.map(builders.task_selector(config))


def _retrieval(run, data, batch_size, errors):
    model = run.model
    image_encoder, text_encoder = model.image_encoder(), model.text_encoder()
    images, texts, image_keys, text_keys = [], [], [], []
    for batch in _batches(run, data, batch_size, errors):
        images.append(np.asarray(image_encoder.predict_on_batch(batch["image"])))
        texts.append(np.asarray(text_encoder.predict_on_batch(batch["text"])))
        image_keys += [_digest(x) for x in batch["image"].numpy()]
        text_keys += [_digest(x) for x in batch["text"].numpy()]
    from mmkeras.retrieval import retrieval_recalls

    groups = _Groups(len(image_keys))
    groups.join_equal(image_keys)
    groups.join_equal(text_keys)
    ids = groups.ids()
    recalls = retrieval_recalls(
        np.concatenate(images), np.concatenate(texts), ks=RECALL_KS, image_ids=ids, text_ids=ids
    )
    return {
        "task": "retrieval",
        "examples": len(ids),
        "items": len(set(ids.tolist())),
        "metrics": recalls,
    }


def _captioning(run, data, batch_size, errors, samples):
    model = run.model
    images, references, order = {}, {}, []
    for batch in _batches(run, data, batch_size, errors):
        captions = model.caption_tokens(batch["caption"].numpy())
        for image, caption in zip(batch["image"].numpy(), captions, strict=True):
            key = _digest(image)
            if key not in images:
                images[key] = image
                references[key] = []
                order.append(key)
            references[key].append(caption)
    generated = model.caption_tokens(
        model.generate(np.stack([images[k] for k in order]), method="greedy")
    )
    from mmkeras.retrieval import corpus_bleu

    refs = [references[k] for k in order]
    vocabulary = caption_vocabulary(run.pipeline, run.config.caption_input)

    def text(words):
        return " ".join(vocabulary[t] for t in words)

    return {
        "task": "captioning",
        "examples": sum(len(r) for r in refs),
        "images": len(order),
        "metrics": {"bleu4": corpus_bleu(refs, generated, max_order=4)},
        "samples": [
            {"generated": text(hyp), "references": [text(r) for r in ref]}
            for hyp, ref in list(zip(generated, refs, strict=True))[:samples]
        ],
    }


def task_report(run, data, batch_size=None, errors="skip", samples=5):
    """Evaluates a retrieval or captioning run on every row of a manifest.

    Retrieval: recall@1/5/10 of image-to-text and text-to-image search over the whole manifest
    (`DualEncoder.evaluate_retrieval`); rows with the same image or the same token ids are one
    item, so a repeated caption or image counts as a match rather than a tie.
    Captioning: corpus BLEU-4 of greedy captions, one caption per distinct image, against all
    the captions that image has in the manifest, plus the first `samples` captions as text.

    Args:
        run: a `mmkeras.train.Run` whose `config.model.task.kind` is retrieval or captioning.
        data: a manifest (path, list of dicts) with the run's input columns.
        batch_size: int, default the run's.
        errors: `"raise"` or `"skip"` for unusable rows.
        samples: int, how many sample captions to include.

    Returns:
        A JSON-ready dict: `task`, counts, `metrics` (and `samples` for captioning).

    Example:
    >>> task_report(mmkeras.train.Run.load("runs/captions"), "test.csv")["metrics"]["bleu4"]
    """
    kind = run.config.model.model_task
    if kind == "retrieval":
        return _retrieval(run, data, batch_size, errors)
    if kind == "captioning":
        return _captioning(run, data, batch_size, errors, samples)
    raise ValueError(
        f"task_report: the run's task is {run.config.model.task!r}; allowed: a retrieval or "
        "captioning task."
    )
