import numpy as np
import pytest

from mmkeras.layers.speech import FrameMask
from mmkeras.testing import run_layer_test


def test_layer_harness():
    run_layer_test(
        FrameMask,
        init_kwargs={"conv_kernel": (10, 3), "conv_stride": (5, 2)},
        input_shape=(2, 9, 4),
        call_kwargs={"lengths": np.array([100, 60], "int32")},
        expected_output_shape=(2, 9),
        expected_output_dtype="bool",
        run_training_check=False,
        run_mixed_precision_check=False,
    )


def test_real_frames_follow_the_convolution_arithmetic():
    import keras

    # 100 samples: (100 - 10) // 5 + 1 = 19, then (19 - 3) // 2 + 1 = 9 frames; 60 samples: 11, 5;
    # 12 samples: 1 frame, then none.
    layer = FrameMask(conv_kernel=(10, 3), conv_stride=(5, 2))
    mask = layer(np.zeros((3, 9, 4), "float32"), lengths=np.array([100, 60, 12]))
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(mask).sum(axis=1), [9, 5, 0])


def test_rejects_layouts_of_different_depths():
    with pytest.raises(ValueError, match="one entry per convolution"):
        FrameMask(conv_kernel=(10, 3), conv_stride=(5,))
