"""The fast training path for matrix factorization: compiled lock-free SGD on the CPU.

It minimizes the same loss as :class:`Trainer`: the squared error plus L2 on the
rows each example touches. It takes one SGD step per row instead of a mini-batch
optimizer step. A compiled kernel updates only the two embedding rows and two
biases of that row (see :mod:`adrec.models.kernels`).

Data is shuffled once into contiguous arrays. Every epoch then visits small blocks
of rows in a fresh random order, which costs almost nothing and keeps reads
sequential.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from adrec.errors import ConfigError
from adrec.models.factorization import MatrixFactorization
from adrec.models.kernels import factorization_arrays, kernel_threads, sgd_epoch
from adrec.training import distributed
from adrec.training.trainer import Trainer, TrainingArrays

logger = logging.getLogger(__name__)

# Rows per block of the per-epoch shuffle: small enough that the block order is a
# good shuffle, large enough that reading a block is sequential.
BLOCK_SIZE = 128
# In a distributed run, processes add up their weight changes this many times per epoch.
SYNCS_PER_EPOCH = 4
# With threads=None, fewer training rows than this run on one thread: such epochs take
# well under a second anyway, and one thread makes the result reproducible.
PARALLEL_MIN_ROWS = 1_000_000


class SGDTrainer(Trainer):
    """Train a :class:`MatrixFactorization` with the compiled SGD kernel.

    Same interface, early stopping, checkpoints and epoch records as
    :class:`Trainer`. ``config.threads`` sets the number of threads; None uses
    one thread below :data:`PARALLEL_MIN_ROWS` training rows and every core
    above. With one thread a fixed seed gives identical weights on every run;
    with several, the order of concurrent updates varies a little between runs.
    """

    def _epoch_runner(self, model: nn.Module, train: TrainingArrays) -> Callable[[int], float]:
        config = self.config
        if not isinstance(model, MatrixFactorization):
            raise ConfigError(f"the fast backend trains matrix factorization only, not "
                              f"{type(model).__name__}; use backend 'torch'")
        if self.device.type != "cpu":
            raise ConfigError(f"the fast backend runs on the CPU, not {self.device}; use backend "
                              "'torch' for CUDA")
        world = distributed.world()
        rng = np.random.default_rng(config.seed)

        # One shuffle into contiguous arrays; epochs then shuffle blocks of rows.
        order = rng.permutation(len(train))
        users = np.ascontiguousarray(train.users[order], dtype=np.int32)
        interests = np.ascontiguousarray(train.interests[order], dtype=np.int32)
        targets = np.ascontiguousarray(train.targets[order], dtype=np.float32)
        del order
        n_blocks = math.ceil(len(targets) / BLOCK_SIZE)

        weights = factorization_arrays(model)
        parameters = [parameter for parameter in model.parameters()]
        threads = config.threads
        if threads is None and len(train) < PARALLEL_MIN_ROWS:
            threads = 1
        learning_rate = np.float32(config.learning_rate_for("fast"))
        l2 = np.float32(config.effective_l2)
        bias_l2 = np.float32(config.effective_bias_l2)

        def run_epoch(epoch: int) -> float:
            block_order = rng.permutation(n_blocks)
            # Every process draws the same block order; each takes every world.size-th block.
            mine = block_order[world.rank::world.size]
            squared_error_sum = 0.0
            with torch.no_grad(), kernel_threads(threads):
                for part in np.array_split(mine, SYNCS_PER_EPOCH if world.size > 1 else 1):
                    starts = [parameter.detach().clone() for parameter in parameters] \
                        if world.size > 1 else []
                    squared_error_sum += sgd_epoch(part, BLOCK_SIZE, users, interests, targets,
                                                   *weights[:4], weights[4], learning_rate, l2,
                                                   bias_l2)
                    distributed.add_up_changes(parameters, starts, world)
            return distributed.sum_scalar(squared_error_sum, world) / len(targets)

        return run_epoch
