"""`data.shards`: a run writes its training rows as TFRecord files once and trains from them."""

import os

import pytest
import yaml

import mmkeras as mk
from mmkeras.config import ConfigError, load


def test_a_run_trains_from_tfrecord_shards_and_reuses_them(multi_worker_config):
    path = multi_worker_config(name="records", epochs=2, shards=3, strategy="default")
    run = mk.train.fit(path, verbose=False)
    folder = os.path.join(run.run_dir, "tfrecords", "train")
    shards = sorted(n for n in os.listdir(folder) if n.endswith(".tfrecord"))
    assert len(shards) == 3
    assert [row["epoch"] for row in run.history] == [0, 1]
    assert run.metrics["validation"]["accuracy"] > 0.6
    saved = yaml.safe_load(open(os.path.join(run.run_dir, "config.yaml")))
    assert saved["data"]["shards"] == 3


def test_the_global_batch_must_split_over_replicas(multi_worker_config):
    from mmkeras.train.distributed_data import check_batch_size

    config = load(multi_worker_config(name="odd"))
    check_batch_size(config, "multi_worker", 4)  # 32 rows over 4 replicas
    check_batch_size(config, "mirrored", 3)  # uneven splits are fine where shapes may vary
    with pytest.raises(ConfigError, match=r"data.batch_size: 32 is the global batch size .* 3"):
        check_batch_size(config, "tpu", 3)


def test_fit_takes_a_strategy_override(multi_worker_config):
    path = multi_worker_config(name="override", epochs=1)  # the file says multi_worker
    run = mk.train.fit(path, verbose=False, strategy="default")
    assert run.config.train.strategy == "default"
    with pytest.raises(ValueError, match="`strategy` must be one of auto, default"):
        mk.train.fit(path, strategy="gpu")
