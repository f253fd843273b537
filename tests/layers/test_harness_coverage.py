"""Every registered mmkeras layer has a test file that runs Keras's layer harness on it."""

import ast
import re
from pathlib import Path

import keras

from mmkeras.testing import registered_mmkeras_objects

TESTS_DIR = Path(__file__).resolve().parent
# Layers that map strings to ragged token ids, outside what Keras's harness feeds a layer (float
# tensors of a fixed shape): each is tested against its reference tokenizer in the named file.
STRING_LAYERS = {
    "mmkeras>CLIPTokenizer": "tests/pretrained/test_clip.py",
    "mmkeras>SigLIPTokenizer": "tests/pretrained/test_siglip.py",
}


def snake_case(name):
    """`MLPFusion` -> `mlp_fusion`, `AudioCNN` -> `audio_cnn`, `Conv1DBlock` -> `conv1d_block`."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()


def _harness_targets(path):
    """Names of the classes passed to `run_layer_test` in the test file at `path`."""
    targets = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if not isinstance(node, ast.Call):
            continue
        function = node.func
        called = (
            function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", None)
        )
        if called != "run_layer_test":
            continue
        arguments = list(node.args[:1]) + [
            kw.value for kw in node.keywords if kw.arg == "layer_cls"
        ]
        for argument in arguments:
            if isinstance(argument, ast.Name):
                targets.add(argument.id)
            elif isinstance(argument, ast.Attribute):
                targets.add(argument.attr)
    return targets


def _registered_layers():
    return {
        key: obj
        for key, obj in registered_mmkeras_objects().items()
        if isinstance(obj, type)
        and issubclass(obj, keras.layers.Layer)
        and not issubclass(obj, keras.Model)
    }


def test_snake_case():
    assert snake_case("MLPFusion") == "mlp_fusion"
    assert snake_case("LowRankFusion") == "low_rank_fusion"
    assert snake_case("AudioCNN") == "audio_cnn"
    assert snake_case("BERTEmbedding") == "bert_embedding"


def test_harness_targets_are_found(tmp_path):
    path = tmp_path / "test_example.py"
    path.write_text(
        "from mmkeras import testing\n"
        "def test_a():\n"
        "    run_layer_test(GatedFusion, {}, input_shape=((2, 3), (2, 4)))\n"
        "def test_b():\n"
        "    testing.run_layer_test(layer_cls=layers.SumFusion, init_kwargs={})\n"
        "def test_c():\n"
        "    other_check(ConcatFusion)\n"
    )
    assert _harness_targets(path) == {"GatedFusion", "SumFusion"}


def test_every_registered_layer_runs_the_keras_harness():
    layers = _registered_layers()
    assert "mmkeras>GatedFusion" in layers  # the registry was read
    missing = []
    for key, layer_cls in sorted(layers.items()):
        if key in STRING_LAYERS:
            tests = TESTS_DIR.parents[1] / STRING_LAYERS[key]
            if layer_cls.__name__ not in tests.read_text():
                missing.append(f"{key}: {STRING_LAYERS[key]} never names {layer_cls.__name__}")
            continue
        path = TESTS_DIR / f"test_{snake_case(layer_cls.__name__)}.py"
        if not path.exists():
            missing.append(f"{key}: no file tests/layers/{path.name}")
        elif layer_cls.__name__ not in _harness_targets(path):
            missing.append(
                f"{key}: tests/layers/{path.name} never calls run_layer_test({layer_cls.__name__}, ...)"
            )
    assert not missing, "layers without a Keras harness test:\n" + "\n".join(missing)
