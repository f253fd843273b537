"""Distribution strategies: `auto | default | mirrored | multi_worker | tpu`."""

import glob
import os

from mmkeras.names import STRATEGIES

# Signs of an attached TPU that can be read without network access (creating a TPU cluster
# resolver without them may query a cloud metadata server).
_TPU_ENV = ("TPU_NAME", "COLAB_TPU_ADDR", "TPU_ACCELERATOR_TYPE", "TPU_WORKER_ID")


def tpu_present():
    """True when environment variables or device files show a TPU on this machine."""
    return any(os.environ.get(k) for k in _TPU_ENV) or bool(glob.glob("/dev/accel*"))


_MULTI_WORKER = []


def _tpu_strategy():
    import tensorflow as tf

    # TPU_NAME names a remote TPU (Cloud TPU node, Colab's address comes from COLAB_TPU_ADDR
    # when it is empty); on a TPU VM the chips are local device files.
    name = os.environ.get("TPU_NAME", "")
    if not name and not os.environ.get("COLAB_TPU_ADDR") and glob.glob("/dev/accel*"):
        name = "local"
    resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=name)
    tf.config.experimental_connect_to_cluster(resolver)
    tf.tpu.experimental.initialize_tpu_system(resolver)
    return tf.distribute.TPUStrategy(resolver)


def resolve_strategy_name(name):
    """The concrete strategy `auto` picks here.

    `tpu` when a TPU is attached, `multi_worker` when `TF_CONFIG` lists several workers,
    `mirrored` with several GPUs, `default` otherwise.
    """
    if name not in STRATEGIES:
        raise ValueError(f"Unknown strategy {name!r}; allowed: {', '.join(STRATEGIES)}.")
    if name != "auto":
        return name
    if tpu_present():
        return "tpu"
    from mmkeras.train.cluster import num_workers

    if num_workers() > 1:
        return "multi_worker"
    import tensorflow as tf

    if len(tf.config.list_physical_devices("GPU")) > 1:
        return "mirrored"
    return "default"


def get_strategy(name="auto"):
    """Returns a `tf.distribute.Strategy`.

    Model building and `compile` must happen inside `strategy.scope()`; `model.fit` then
    distributes the datasets itself, and the batch size of the datasets is the global one.

    Args:
        name: `"auto"` (TPU if present, `MirroredStrategy` for several GPUs, the default strategy
            otherwise), `"default"`, `"mirrored"`, `"multi_worker"` (reads the cluster from
            `TF_CONFIG`) or `"tpu"`.

    Returns:
        A `tf.distribute.Strategy`.

    Example:
    >>> strategy = get_strategy("auto")
    >>> with strategy.scope():
    ...     model = mmkeras.build_model(...)
    """
    import tensorflow as tf

    name = resolve_strategy_name(name)
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi_worker":
        return _multi_worker_strategy()
    return _tpu_strategy()


def _multi_worker_strategy():
    # Collective ops are configured once per process, before TensorFlow's runtime starts: the
    # strategy is created once and shared by every later run of this process.
    if _MULTI_WORKER:
        return _MULTI_WORKER[0]
    import tensorflow as tf

    from mmkeras.train.cluster import check_multi_worker

    check_multi_worker()
    try:
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
    except RuntimeError as e:
        raise RuntimeError(
            "MultiWorkerMirroredStrategy must be created before any other TensorFlow operation "
            "of the process (it configures the collective ops of the runtime): call "
            "mmkeras.train.fit (or get_strategy('multi_worker')) at the start of the program. "
            f"TensorFlow said: {e}"
        ) from e
    _MULTI_WORKER.append(strategy)
    return strategy


def strategy_kind(strategy):
    """The name in `STRATEGIES` of a `tf.distribute.Strategy` instance."""
    import tensorflow as tf

    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return "multi_worker"
    if isinstance(strategy, tf.distribute.TPUStrategy):
        return "tpu"
    if isinstance(strategy, tf.distribute.MirroredStrategy):
        return "mirrored"
    return "default"


def synchronize_batch_norm(model):
    """Makes every batch-norm layer use batch statistics all-reduced over the replicas.

    Each replica sees its own batches; with local statistics the moving mean and variance (weights
    that no gradient all-reduce touches) would drift apart between replicas and workers.
    """
    import keras

    def walk(layer):
        yield layer
        for sub in getattr(layer, "layers", []):
            yield from walk(sub)

    for layer in walk(model):
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.synchronized = True
