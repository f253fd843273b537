"""Two implementations timed side by side, each in its own process, taking turns.

Used by `benchmarks/pretrained.py` and `benchmarks/bert.py`. TensorFlow and PyTorch in one
process compete for the same cores (each keeps its own thread pools), so each side runs in a
worker process of its own, under its own interpreter, and the driver asks them in turn for one
timed round: side A, side B, side A, side B, ... Only one side computes at any time, both get the
same thread settings, and a change of machine load during the run reaches both sides alike.

The driver and the workers talk over the worker's stdin and stdout, one JSON object per line.
This module imports only the standard library, so a worker can run under an interpreter that has
no mmkeras, TensorFlow or numpy.
"""

import json
import os
import statistics
import subprocess
import sys
import time
import traceback

TORCH_PYTHON_ENV = "MMKERAS_TORCH_PYTHON"


def available_cores():
    """The number of cores this process may run on (its CPU affinity, not the machine's total)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def thread_environment(threads):
    """Environment variables that bound every thread pool of either framework to `threads`."""
    value = str(threads)
    return {
        "OMP_NUM_THREADS": value,  # PyTorch's and oneDNN's OpenMP pools
        "MKL_NUM_THREADS": value,
        "TF_NUM_INTRAOP_THREADS": value,
        "TF_NUM_INTEROP_THREADS": value,
        "RAYON_NUM_THREADS": value,  # the Hugging Face tokenizers library
        "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "3"),
    }


def set_tensorflow_threads(threads):
    """Sets TensorFlow's intra- and inter-op thread counts; call before TensorFlow runs an op."""
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)


def set_torch_threads(threads):
    """Sets PyTorch's intra- and inter-op thread counts; call before PyTorch runs an op."""
    import torch

    torch.set_num_threads(threads)
    torch.set_num_interop_threads(threads)


def torch_python(value):
    """The interpreter of the PyTorch side: `--torch-python`, else `$MMKERAS_TORCH_PYTHON`.

    Exits with a message saying how to supply it when neither is set or the path is not an
    executable file.
    """
    value = value or os.environ.get(TORCH_PYTHON_ENV)
    if not value:
        sys.exit(
            "The PyTorch side runs under its own Python interpreter, one with torch and "
            "transformers installed (they are never mmkeras dependencies). Give its path with "
            f"--torch-python /path/to/venv/bin/python or the environment variable "
            f"{TORCH_PYTHON_ENV}=/path/to/venv/bin/python."
        )
    if not (os.path.isfile(value) and os.access(value, os.X_OK)):
        sys.exit(f"--torch-python / ${TORCH_PYTHON_ENV}: {value!r} is not an executable file.")
    return value


class Worker:
    """One side of a benchmark in its own process, driven by requests over a pipe.

    Args:
        name: str, how the side is called in messages.
        argv: list, the worker's command line; the worker calls `serve`.
        threads: int, thread count exported to the worker's environment.
        env: optional dict of further environment variables.
    """

    def __init__(self, name, argv, threads, env=None):
        self.name = name
        full_env = {**os.environ, **thread_environment(threads), **(env or {})}
        # stderr is inherited: a worker's warnings and errors show up in the driver's output.
        self._process = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=full_env
        )

    def call(self, op, **arguments):
        """Sends one request and returns the worker's result; raises if the worker failed."""
        self._process.stdin.write(json.dumps({"op": op, **arguments}) + "\n")
        self._process.stdin.flush()
        line = self._process.stdout.readline()
        if not line:
            code = self._process.wait()
            raise RuntimeError(f"the {self.name} worker exited (code {code}) during {op!r}.")
        reply = json.loads(line)
        if "error" in reply:
            raise RuntimeError(f"the {self.name} worker failed during {op!r}:\n{reply['error']}")
        return reply["result"]

    def close(self):
        """Asks the worker to exit and waits for it."""
        if self._process.poll() is None:
            try:
                self._process.stdin.write(json.dumps({"op": "exit"}) + "\n")
                self._process.stdin.close()
            except BrokenPipeError:
                pass
            try:
                self._process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def serve(handlers):
    """The worker's loop: answers `{"op": name, **arguments}` requests with `handlers[name]`.

    Replies go to a private copy of stdout; the process's stdout is then pointed at stderr, so
    nothing a library prints can corrupt the protocol.
    """
    replies = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    for line in sys.stdin:
        request = json.loads(line)
        op = request.pop("op")
        if op == "exit":
            break
        try:
            reply = {"result": handlers[op](**request)}
        except Exception:  # noqa: BLE001 - the driver reports it with the worker's traceback
            reply = {"error": traceback.format_exc()}
        replies.write(json.dumps(reply) + "\n")


def seconds_per_call(fn, calls):
    """Wall seconds and process CPU seconds (all threads) of one `fn()`, averaged over `calls`.

    CPU seconds count busy waiting too: when they grow with the thread count for the same work,
    threads spend them waiting for each other. Wall seconds well above CPU seconds / threads mean
    the process did not get its cores (other load on the machine).
    """
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(calls):
        fn()
    return [(time.perf_counter() - wall) / calls, (time.process_time() - cpu) / calls]


def timed_round(variants, calls, round_index):
    """Times each of `variants` (an ordered dict `label -> fn`) once.

    The order of the variants rotates with `round_index`, so that none always runs first.

    Returns:
        dict `label -> [wall seconds, CPU seconds]` per call.
    """
    labels = list(variants)
    shift = round_index % len(labels)
    return {
        label: seconds_per_call(variants[label], calls) for label in labels[shift:] + labels[:shift]
    }


class Variants:
    """What one side times, by group: the driver asks for one group at a time (see `alternate`)."""

    def __init__(self):
        self.groups = {}

    def add(self, group, label, fn):
        """Adds `fn` (no arguments) to `group`, shown as `label` (unique over both sides)."""
        self.groups.setdefault(group, {})[label] = fn

    def all(self):
        """Every variant of every group, `label -> fn`."""
        return {label: fn for group in self.groups.values() for label, fn in group.items()}

    def round(self, calls, index, group=None):
        """The worker's `round` request: times `group` (default: every group) once."""
        return timed_round(self.groups[group] if group else self.all(), calls, index)


def alternate(workers, rounds, calls, groups=(None,)):
    """Asks each worker in turn for a timed round of each group, `rounds` times.

    Within a round the workers take turns group by group (A: group 1, B: group 1, A: group 2,
    ...), so the figures compared with each other are taken close together in time. Each worker
    answers `round(calls=..., index=..., group=...)` with what `timed_round` returns.

    Returns:
        list of dicts, one per round, `{label: [wall seconds, CPU seconds]}` over all workers.
    """
    results = []
    for index in range(rounds):
        row = {}
        for group in groups:
            for worker in workers:
                row.update(worker.call("round", calls=calls, index=index, group=group))
        results.append(row)
    return results


def report(results, items, unit, reference, labels=None):
    """Prints the throughput of `labels` in every round and each one's median ratio to `reference`.

    Args:
        results: what `alternate` returned.
        items: int, items (images, sequences, sentences) per call.
        unit: str, what an item is, for the table heading.
        reference: the label the others are divided by.
        labels: the labels to show, in order; default all of `results`, in their order.

    Returns:
        dict `label -> median over rounds of (throughput / reference's throughput in that round)`.
    """
    labels = list(labels or results[0])
    # Labels of one group share a prefix ("encode padded: "), which the caller prints as a title.
    shared = os.path.commonprefix(labels)
    shared = shared[: shared.rfind(": ") + 2] if ": " in shared else ""
    names = {label: label[len(shared) :] for label in labels}
    width = max(max(len(name) for name in names.values()) + 2, len(unit) + 3)
    heading = "".join(f"{f'round {i + 1}':>10}" for i in range(len(results)))
    print(f"  {unit + '/s':<{width}}{heading}  CPU s/call")
    for label in labels:
        rates = "".join(f"{items / row[label][0]:>10.2f}" for row in results)
        cpu = statistics.median(row[label][1] for row in results)
        print(f"  {names[label]:<{width}}{rates}{cpu:>12.3f}")
    return {
        label: report_ratio(results, label, reference, names[label], names[reference])
        for label in labels
        if label != reference
    }


def report_ratio(results, label, reference, name=None, reference_name=None):
    """Prints and returns the median over rounds of `label`'s throughput / `reference`'s.

    The line also gives the median ratio of CPU seconds per call (`reference`'s / `label`'s),
    which other jobs on the machine move less than wall time, as long as neither side's threads
    wait busily.
    """
    per_round = [row[reference][0] / row[label][0] for row in results]
    ratio = statistics.median(per_round)
    cpu = statistics.median(row[reference][1] / row[label][1] for row in results)
    shown = ", ".join(f"{r:.2f}" for r in per_round)
    print(
        f"  {name or label} / {reference_name or reference}: median {ratio:.2f}x "
        f"(per round: {shown}); CPU per call {cpu:.2f}x"
    )
    return ratio
