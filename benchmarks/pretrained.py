"""Forward throughput of base-size ViT and RoBERTa: Keras, as mmkeras loads them, against PyTorch.

Keras (TensorFlow backend) and Hugging Face `transformers` on PyTorch run each in its own process
and take turns.

What it compares, for each of two architectures, with random weights (nothing is downloaded):
- ViT, the architecture of google/vit-base-patch16-224 (12 layers, width 768, 12 heads, patches
  of 16, 224x224 images): a batch of 8 images;
- RoBERTa, the architecture of roberta-base (12 layers, width 768, 12 heads, vocabulary 50265):
  a batch of 32 sequences of 128 tokens, unpadded (every position is a real token).

The weights: the PyTorch side builds the model from its base config with `transformers`
(`torch.manual_seed(0)`, the library's own initialisation) and writes it with `save_pretrained`
(safetensors) to a temporary folder, as `ViTForImageClassification` / `RobertaForMaskedLM`, the
classes of the published checkpoints; RoBERTa's segment embedding is zero, as in the published
roberta-base. Both sides then load that same folder:
- Keras (TensorFlow backend): `keras_model(folder)` below, which is what an mmkeras user gets for a
  Hugging Face folder: `mmkeras.branches.pretrained(folder)` where it exists, otherwise keras-hub's
  converter, `keras_hub.models.Backbone.from_preset(folder)` (keras-hub reads the folder with the
  `safetensors` package). It is timed three ways, each what a user calling the model would get:
  `model.predict(x, batch_size=batch)` (on a CPU-only machine Keras does not use XLA there),
  `model(x, training=False)` inside a `tf.function`, and the same with `jit_compile=True` (XLA).
- PyTorch: `AutoModel.from_pretrained(folder, add_pooling_layer=False)` (the encoder without the
  pooler, like the Keras backbones), `eval()`, called under `torch.inference_mode()`, with the
  library's default attention implementation (printed).

The inputs are the same arrays on both sides (images drawn uniformly from [-1, 1], the range of
ViT's normalisation; token ids uniform over the vocabulary between `<s>` and `</s>`), written by
this script: NCHW for PyTorch and NHWC for Keras. The last hidden states of the two sides are
compared (max abs difference), so that both are seen to compute the same function.

Method: the script runs under mmkeras's Python (TensorFlow) and starts the PyTorch side as a
subprocess under `--torch-python` (or `$MMKERAS_TORCH_PYTHON`), an interpreter with torch and
transformers; TensorFlow and PyTorch never share a process. Both processes get `--threads` intra-
and inter-op threads (default: the cores this process may use) and the same OpenMP/MKL limits.
Each side loads, checks and warms up (`--warmup` calls per variant, not timed); then the sides take
turns, Keras then PyTorch, for `--rounds` rounds, each timing `--calls` consecutive forward
passes per variant while the other side waits. Printed: each side's throughput in every round,
its median CPU seconds per call (all threads, busy waiting included), and for each Keras variant
the median over rounds of its throughput divided by PyTorch's in the same round. On a machine
shared with other jobs, PyTorch's OpenMP threads wait busily for each other when more than one
runs, so the ratio with several threads depends on the load; `--threads 1` gives the
load-independent comparison.

keras-hub's ViT converter keeps the backbone's default layer-norm epsilon (1e-6) where the
checkpoint's config says 1e-12, so the ViT hidden states differ by about 1e-3 (4e-6 when the
config's epsilon is passed to `from_preset`); the work per call is the same.

    python benchmarks/pretrained.py --torch-python /path/to/torch-venv/bin/python \
        [--models vit roberta] [--rounds 3] [--calls 1] [--warmup 2] [--threads N]
"""

import argparse
import os
import sys
import tempfile

import _side_by_side as side_by_side

SEED = 0
# Every size of the two architectures spelled out, rather than taken from library defaults.
CONFIGS = {
    "vit": {
        "hidden_size": 768,
        "num_hidden_layers": 12,
        "num_attention_heads": 12,
        "intermediate_size": 3072,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.0,
        "attention_probs_dropout_prob": 0.0,
        "layer_norm_eps": 1e-12,
        "image_size": 224,
        "patch_size": 16,
        "num_channels": 3,
        "qkv_bias": True,
    },
    "roberta": {
        "vocab_size": 50265,
        "hidden_size": 768,
        "num_hidden_layers": 12,
        "num_attention_heads": 12,
        "intermediate_size": 3072,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": 514,
        "type_vocab_size": 1,
        "layer_norm_eps": 1e-5,
        "pad_token_id": 1,
        "bos_token_id": 0,
        "eos_token_id": 2,
    },
}
BATCHES = {"vit": (8, "images"), "roberta": (32, "sequences")}
SEQUENCE_LENGTH = 128


def make_inputs(model, path):
    """Writes the benchmark's input arrays for `model` to `path` (.npz)."""
    import numpy as np

    rng = np.random.default_rng(SEED)
    batch = BATCHES[model][0]
    if model == "vit":
        size = CONFIGS["vit"]["image_size"]
        images = rng.uniform(-1.0, 1.0, size=(batch, 3, size, size)).astype("float32")
        np.savez(path, images=images)
    else:
        config = CONFIGS["roberta"]
        ids = rng.integers(3, config["vocab_size"], size=(batch, SEQUENCE_LENGTH)).astype("int32")
        ids[:, 0], ids[:, -1] = config["bos_token_id"], config["eos_token_id"]
        np.savez(path, ids=ids, mask=np.ones_like(ids))


# === PyTorch side (runs under --torch-python) ===


class TorchSide:
    """Writes the checkpoint, then times `transformers`' model on it."""

    def checkpoint(self, model, folder):
        import torch
        import transformers

        torch.manual_seed(SEED)
        if model == "vit":
            network = transformers.ViTForImageClassification(
                transformers.ViTConfig(**CONFIGS["vit"])
            )
        else:
            network = transformers.RobertaForMaskedLM(
                transformers.RobertaConfig(**CONFIGS["roberta"])
            )
            # RoBERTa has no segments: the published checkpoints hold a zero segment embedding
            # (their conversion from fairseq wrote zeros), and keras-hub's converter omits it.
            with torch.no_grad():
                network.roberta.embeddings.token_type_embeddings.weight.zero_()
        network.save_pretrained(folder, safe_serialization=True)
        return type(network).__name__

    def load(self, model, folder, inputs, output, warmup):
        import numpy as np
        import torch
        import transformers

        network = transformers.AutoModel.from_pretrained(folder, add_pooling_layer=False).eval()
        arrays = np.load(inputs)
        if model == "vit":
            feed = {"pixel_values": torch.from_numpy(arrays["images"])}
        else:
            feed = {
                "input_ids": torch.from_numpy(arrays["ids"].astype("int64")),
                "attention_mask": torch.from_numpy(arrays["mask"].astype("int64")),
            }

        def forward():
            with torch.inference_mode():
                return network(**feed).last_hidden_state

        np.save(output, forward().numpy())
        self.variants = side_by_side.Variants()
        self.variants.add(model, "PyTorch", forward)
        for _ in range(warmup):
            forward()
        return {
            "model": f"transformers {transformers.__version__} {type(network).__name__}",
            "attention": network.config._attn_implementation,
            "parameters": sum(p.numel() for p in network.parameters()),
            "threads": f"torch {torch.__version__}: intra-op {torch.get_num_threads()}, "
            f"inter-op {torch.get_num_interop_threads()}",
        }

    def round(self, calls, index, group=None):
        return self.variants.round(calls, index, group)


# === Keras side (runs under mmkeras's Python) ===


def keras_model(folder):
    """The Keras model an mmkeras user gets for a Hugging Face checkpoint folder."""
    import mmkeras

    # mmkeras's own builder for Hugging Face folders, used as soon as it exists.
    if hasattr(mmkeras.branches, "pretrained"):
        return mmkeras.branches.pretrained(folder)
    import keras_hub

    return keras_hub.models.Backbone.from_preset(folder)


def _keras_feed(network, arrays):
    """The input arrays in the form `network` takes them, matched by input name."""
    import numpy as np

    images = arrays["images"] if "images" in arrays else None
    by_name = {}
    for tensor in network.inputs:
        name = tensor.name.split(":")[0]
        if images is not None:
            channels_last = tensor.shape[-1] == images.shape[1]
            by_name[name] = np.transpose(images, (0, 2, 3, 1)) if channels_last else images
        elif "mask" in name:
            by_name[name] = arrays["mask"]
        else:
            by_name[name] = arrays["ids"]
    return next(iter(by_name.values())) if len(by_name) == 1 else by_name


def _sequence(outputs):
    """The per-token hidden states among a model's outputs."""
    if isinstance(outputs, dict):
        for key in ("sequence", "sequence_output", "last_hidden_state"):
            if key in outputs:
                return outputs[key]
        return next(iter(outputs.values()))
    return outputs


class KerasSide:
    """Loads the checkpoint with `keras_model` and times its forward pass three ways."""

    def load(self, model, folder, inputs, output, warmup):
        import keras
        import numpy as np
        import tensorflow as tf

        network = keras_model(folder)
        feed = _keras_feed(network, np.load(inputs))
        batch = BATCHES[model][0]
        tensors = tf.nest.map_structure(tf.constant, feed)
        graph = tf.function(lambda x: network(x, training=False))
        xla = tf.function(lambda x: network(x, training=False), jit_compile=True)

        def to_numpy(structure):
            return tf.nest.map_structure(lambda t: t.numpy(), structure)

        self.variants = side_by_side.Variants()
        self.variants.add(
            model,
            "Keras model.predict",
            lambda: network.predict(feed, batch_size=batch, verbose=0),
        )
        self.variants.add(model, "Keras tf.function", lambda: to_numpy(graph(tensors)))
        self.variants.add(model, "Keras tf.function+XLA", lambda: to_numpy(xla(tensors)))
        np.save(output, np.asarray(_sequence(graph(tensors))))
        for variant in self.variants.all().values():
            for _ in range(warmup):
                variant()
        import mmkeras

        return {
            "model": f"{type(network).__module__}.{type(network).__name__} (Keras "
            f"{keras.__version__}, TensorFlow {tf.__version__}, mmkeras {mmkeras.__version__})",
            "parameters": int(network.count_params()),
            "threads": "TensorFlow: intra-op "
            f"{tf.config.threading.get_intra_op_parallelism_threads()}, inter-op "
            f"{tf.config.threading.get_inter_op_parallelism_threads()}",
        }

    def round(self, calls, index, group=None):
        return self.variants.round(calls, index, group)


# === Driver ===


def run_worker(side, threads):
    if side == "torch":
        side_by_side.set_torch_threads(threads)
        worker = TorchSide()
        handlers = {"checkpoint": worker.checkpoint, "load": worker.load, "round": worker.round}
    else:
        side_by_side.set_tensorflow_threads(threads)
        worker = KerasSide()
        handlers = {"load": worker.load, "round": worker.round}
    side_by_side.serve(handlers)


def compare(model, args, torch_python, folder):
    import numpy as np

    script = os.path.abspath(__file__)
    items, unit = BATCHES[model]
    worker_args = ["--threads", str(args.threads)]
    with side_by_side.Worker(
        "PyTorch", [torch_python, script, "--worker", "torch", *worker_args], args.threads
    ) as torch_side:
        checkpoint = os.path.join(folder, model)
        saved_as = torch_side.call("checkpoint", model=model, folder=checkpoint)
        inputs = os.path.join(folder, f"{model}_inputs.npz")
        make_inputs(model, inputs)
        with side_by_side.Worker(
            "Keras", [sys.executable, script, "--worker", "keras", *worker_args], args.threads
        ) as keras_side:
            load = {"model": model, "folder": checkpoint, "inputs": inputs, "warmup": args.warmup}
            keras_info = keras_side.call("load", output=os.path.join(folder, "k.npy"), **load)
            torch_info = torch_side.call("load", output=os.path.join(folder, "t.npy"), **load)
            ours = np.load(os.path.join(folder, "k.npy"))
            theirs = np.load(os.path.join(folder, "t.npy"))
            difference = (
                f"{float(np.abs(ours - theirs).max()):.2e} (largest magnitude "
                f"{float(np.abs(theirs).max()):.2f})"
                if ours.shape == theirs.shape
                else f"not compared (shapes {ours.shape} and {theirs.shape})"
            )
            shape = "224x224 images" if model == "vit" else f"{SEQUENCE_LENGTH} tokens, unpadded"
            print(f"\n{model}: random weights, {saved_as} checkpoint written by transformers")
            print(f"  batch: {items} x {shape}; threads: {args.threads}")
            print(f"  Keras:   {keras_info['model']}\n           {keras_info['threads']}")
            print(f"  PyTorch: {torch_info['model']}, attention {torch_info['attention']!r}")
            print(f"           {torch_info['threads']}")
            print(
                f"  parameters: Keras {keras_info['parameters']:,}, "
                f"PyTorch {torch_info['parameters']:,}"
            )
            print(f"  last hidden state, max abs difference: {difference}")
            results = side_by_side.alternate([keras_side, torch_side], args.rounds, args.calls)
    return side_by_side.report(results, items, unit, reference="PyTorch")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", choices=sorted(CONFIGS), default=["vit", "roberta"])
    parser.add_argument(
        "--torch-python",
        default=None,
        help=f"Python with torch and transformers (default: ${side_by_side.TORCH_PYTHON_ENV})",
    )
    parser.add_argument("--threads", type=int, default=side_by_side.available_cores())
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--calls", type=int, default=1, help="forward passes per timed round")
    parser.add_argument("--warmup", type=int, default=2, help="untimed calls per variant")
    parser.add_argument("--worker", choices=("keras", "torch"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return run_worker(args.worker, args.threads)

    torch_python = side_by_side.torch_python(args.torch_python)
    print(f"cores available: {side_by_side.available_cores()}, threads per side: {args.threads}")
    print(f"rounds: {args.rounds} x {args.calls} call(s) per side, warm-up {args.warmup} call(s)")
    ratios = {}
    with tempfile.TemporaryDirectory(prefix="mmkeras_pretrained_") as folder:
        for model in args.models:
            ratios[model] = compare(model, args, torch_python, folder)
    print("\nSummary, median throughput ratio Keras / PyTorch:")
    for model, by_variant in ratios.items():
        shown = ", ".join(f"{label[6:]} {ratio:.2f}x" for label, ratio in by_variant.items())
        print(f"  {model}: {shown}")


if __name__ == "__main__":
    main()
