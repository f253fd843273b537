"""`mmkeras doctor`: what this machine offers mmkeras (versions, devices, XLA, precision)."""

import importlib.metadata
import os
import platform
import sys

HELP = "report library versions, devices (CPU/GPU/TPU), XLA and mixed-precision support"

_PACKAGES = (
    ("tensorflow", "tensorflow"),
    ("keras", "keras"),
    ("tensorflow-text", "tensorflow_text"),
    ("opencv-python-headless", "cv2"),
    ("numpy", "numpy"),
    ("pydantic", "pydantic"),
    ("pyyaml", "yaml"),
)


def add_arguments(parser):
    del parser  # no options


def _version(distribution, module):
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        pass
    try:
        return getattr(__import__(module), "__version__", "installed")
    except ImportError:
        return None


def _cpu_flags():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def _check_xla(tf):
    try:
        fn = tf.function(lambda x: tf.reduce_sum(x * 2.0), jit_compile=True)
        value = float(fn(tf.ones((4,))))
        return value == 8.0, "compiles and runs" if value == 8.0 else f"wrong result {value}"
    except Exception as e:  # noqa: BLE001 - any failure means XLA is unusable here
        return False, f"failed: {type(e).__name__}: {str(e).splitlines()[0][:120]}"


def run(args):
    lines = [f"mmkeras doctor (Python {platform.python_version()}, {platform.platform()})", ""]
    from mmkeras.version import __version__

    lines.append("Libraries")
    lines.append(f"  {'mmkeras':24s} {__version__}")
    missing = []
    for distribution, module in _PACKAGES:
        version = _version(distribution, module)
        if version is None:
            missing.append(distribution)
        lines.append(f"  {distribution:24s} {version or 'MISSING'}")
    if "tensorflow" in missing or "keras" in missing:
        lines.append("")
        lines.append("TensorFlow or Keras is missing: install mmkeras's requirements.")
        print("\n".join(lines))
        return 1
    from mmkeras.cli.quiet import import_tensorflow

    tf = import_tensorflow()
    import keras

    lines.append(f"  {'keras backend':24s} {keras.backend.backend()}")
    from mmkeras.train.strategies import resolve_strategy_name, tpu_present

    lines += ["", "Devices"]
    cpus = tf.config.list_physical_devices("CPU")
    gpus = tf.config.list_physical_devices("GPU")
    lines.append(f"  CPU: {len(cpus)} device(s), {os.cpu_count()} cores")
    if gpus:
        for gpu in gpus:
            details = tf.config.experimental.get_device_details(gpu)
            cc = details.get("compute_capability")
            lines.append(
                f"  GPU: {gpu.name} {details.get('device_name', '')} compute capability {cc}"
            )
    else:
        cuda = "built with CUDA" if tf.test.is_built_with_cuda() else "not built with CUDA"
        lines.append(f"  GPU: none found (TensorFlow {cuda})")
    lines.append(
        "  TPU: "
        + ("signs of a TPU found (environment or /dev/accel*)" if tpu_present() else "none found")
    )
    lines.append(f"  strategy 'auto' picks: {resolve_strategy_name('auto')}")

    lines += ["", "Compilation and precision"]
    ok, message = _check_xla(tf)
    lines.append(f"  XLA (jit_compile): {'yes' if ok else 'no'} - {message}")
    fast_fp16 = [
        g
        for g in gpus
        if (tf.config.experimental.get_device_details(g).get("compute_capability") or (0, 0))
        >= (7, 0)
    ]
    if fast_fp16:
        lines.append("  mixed_float16: yes - GPU with compute capability >= 7.0 (tensor cores)")
    elif gpus:
        lines.append("  mixed_float16: runs, but these GPUs lack fast float16 (capability < 7.0)")
    else:
        lines.append("  mixed_float16: no GPU - float16 would be emulated on the CPU (slow)")
    flags = _cpu_flags()
    bf16 = sorted(flags & {"avx512_bf16", "amx_bf16"})
    lines.append(
        "  mixed_bfloat16: runs on CPU; hardware bfloat16 "
        + (f"yes ({', '.join(bf16)})" if bf16 else "not detected (it may be slower than float32)")
    )
    from mmkeras.train.precision import resolve_precision

    lines.append(f"  mixed_precision 'auto' picks: {resolve_precision('auto')}")
    if missing:
        lines += ["", f"Missing optional packages: {', '.join(missing)}"]
    print("\n".join(lines))
    sys.stdout.flush()
    return 0
