"""The Keras callbacks train.train adds to fit: a wall-clock budget and a learning-rate schedule."""

from __future__ import annotations

import time

import keras

from train.train import learning_rate_at, log


class TimeBudget(keras.callbacks.Callback):
    """Stop fitting after a wall-clock budget, so two architectures get equal training time."""

    def __init__(self, minutes: float):
        super().__init__()
        self.minutes = minutes

    def on_train_begin(self, logs=None):
        self.start = time.monotonic()

    def on_train_batch_end(self, batch, logs=None):
        if time.monotonic() - self.start > self.minutes * 60:
            log(f"time budget of {self.minutes} min reached; stopping")
            self.model.stop_training = True


class LearningRateSchedule(keras.callbacks.Callback):
    """Linear warm-up, then cosine decay to a tenth of the peak, over the time budget when one is
    set (so the decay ends when the budget does) or else over the epochs."""

    def __init__(self, peak: float, warmup: float, minutes: float, epochs: int, cosine: bool):
        super().__init__()
        self.peak, self.warmup, self.minutes, self.epochs = peak, warmup, minutes, epochs
        self.cosine = cosine
        self.epoch = 0

    def on_train_begin(self, logs=None):
        self.start = time.monotonic()

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def progress(self) -> float:
        if self.minutes > 0:
            return min(1.0, (time.monotonic() - self.start) / (self.minutes * 60))
        return min(1.0, self.epoch / self.epochs)

    def on_train_batch_begin(self, batch, logs=None):
        self.model.optimizer.learning_rate.assign(learning_rate_at(
            self.progress(), self.peak, self.warmup, self.cosine))
