"""Training on several machines (TF_CONFIG, MultiWorkerMirroredStrategy): which worker writes
--out, and the two places where Keras 3's fit fails with several workers (keras-team/keras#20585).

Every worker runs the same command on the same corpus; each step's batch is split between them
and their gradients are summed, so all end with the same weights. Only the chief writes --out.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from chatbot.config import ConfigError
from train.config import TrainConfig


def cluster_task() -> tuple[bool, bool]:
    """(several workers, this one is the chief) from TF_CONFIG: the chief is task "chief", or
    "worker" 0 when the cluster names no chief."""
    if "TF_CONFIG" not in os.environ:
        return False, True
    try:
        tf_config = json.loads(os.environ["TF_CONFIG"])
        cluster, task = tf_config["cluster"], tf_config["task"]
        kind, index = task["type"], int(task["index"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"TF_CONFIG is not a cluster and task description: {exc}") from None
    chief = kind == "chief" or (kind == "worker" and index == 0 and "chief" not in cluster)
    return True, chief


def output_dir(train_cfg: TrainConfig) -> Path:
    """--out on the chief; a new temporary directory on the other workers, which write the same
    files (checkpoints, logs, bundle) so that every worker runs the same steps, then delete them."""
    several, chief = cluster_task()
    if several and train_cfg.resume:
        raise ConfigError("--resume is not supported with TF_CONFIG (several workers)")
    if several and train_cfg.time_budget_min > 0:
        raise ConfigError("--time-budget-min is not supported with TF_CONFIG: each worker's clock "
                          "would stop it at a different step; use --epochs")
    if chief:
        return Path(train_cfg.out)
    return Path(tempfile.mkdtemp(prefix="lembra-worker-"))


def fit_under_strategy(model, strategy) -> None:
    """Let `model.fit` and `model.evaluate` run under a tf.distribute strategy with several
    workers: build the model from this worker's part of the first batch (Keras averages the
    parts across workers, which fails for a nested batch of differently shaped parts), and
    average the step's scalar logs across workers (Keras reduces them along an axis they lack)."""
    from keras.src import tree
    from keras.src.backend.tensorflow import trainer as tf_trainer

    def build(iterator=None, data_batch=None):
        if data_batch is None:
            for _, _, batches in iterator:
                data_batch = tree.map_structure(
                    lambda v: strategy.experimental_local_results(v)[0], next(batches))
                break
        with strategy.scope():
            model._symbolic_build(data_batch=data_batch)

    model._maybe_symbolic_build = build
    if not getattr(tf_trainer.reduce_per_replica, "lembra_patched", False):
        keras_reduce = tf_trainer.reduce_per_replica

        def reduce_per_replica(values, strategy, reduction):
            if (reduction in ("auto", "mean")
                    and tf_trainer._collective_all_reduce_multi_worker(strategy)):
                return tree.map_structure(
                    lambda v: strategy.reduce("MEAN", v, axis=None), values)
            return keras_reduce(values, strategy, reduction)

        reduce_per_replica.lembra_patched = True
        tf_trainer.reduce_per_replica = reduce_per_replica
