"""Data-parallel training across processes with ``torch.distributed``.

A run launched by ``torchrun`` gets ``RANK``, ``WORLD_SIZE``, ``MASTER_ADDR`` and
``MASTER_PORT`` in its environment. :func:`init_from_environment` joins the process
group (gloo on the CPU, NCCL on CUDA). Every process then keeps the whole model and
the whole data set, shuffles it with the same seed and trains on its own share of
each epoch:

- the PyTorch loop averages the gradients of every step across processes;
- the SGD kernel trains a share of the rows, then the processes add up their weight
  changes, so every process ends the epoch with the same weights.

Outside a process group every function here is a no-op for a world of one.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

from adrec.errors import ConfigError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class World:
    """This process's rank and the number of processes."""

    rank: int = 0
    size: int = 1

    @property
    def is_main(self) -> bool:
        """True for the process that writes files and prints results."""
        return self.rank == 0


def world() -> World:
    """Return the current process group's rank and size, or a world of one."""
    if dist.is_available() and dist.is_initialized():
        return World(dist.get_rank(), dist.get_world_size())
    return World()


def launched_by_torchrun() -> bool:
    """True when the environment describes more than one process (``WORLD_SIZE`` > 1)."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def init_from_environment(device: str = "cpu") -> World:
    """Join the process group described by the ``torchrun`` environment variables.

    Uses gloo for CPU training and NCCL for CUDA. Does nothing when the
    environment describes a single process or the group already exists.
    """
    if not launched_by_torchrun() or dist.is_initialized():
        return world()
    if not dist.is_available():
        raise ConfigError("this torch build has no torch.distributed; train in one process")
    backend = "nccl" if torch.device(device).type == "cuda" else "gloo"
    dist.init_process_group(backend=backend)
    current = world()
    if backend == "nccl":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    logger.info("joined process group: rank %d of %d, backend %s", current.rank, current.size,
                backend)
    return current


def shutdown() -> None:
    """Leave the process group, if this process joined one."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def average_gradients(model: nn.Module, current: World) -> None:
    """Replace every parameter's gradient by its mean across processes."""
    if current.size == 1:
        return
    for parameter in model.parameters():
        if parameter.grad is None:
            # A process whose share of the step was empty still takes part in the sum.
            parameter.grad = torch.zeros_like(parameter)
        dist.all_reduce(parameter.grad, op=dist.ReduceOp.SUM)
        parameter.grad /= current.size


def sum_scalar(value: float, current: World) -> float:
    """Return the sum of ``value`` across processes."""
    if current.size == 1:
        return value
    total = torch.tensor([value], dtype=torch.float64)
    dist.all_reduce(total, op=dist.ReduceOp.SUM)
    return float(total[0])


def add_up_changes(parameters: list[torch.Tensor], starts: list[torch.Tensor], current: World) -> None:
    """Set each parameter to its start plus the sum of every process's change from that start.

    A row that one process changed gets that change in full. A row that several
    processes changed gets the sum of their changes, as if they had applied their
    updates one after the other to shared weights.
    """
    if current.size == 1:
        return
    for parameter, start in zip(parameters, starts, strict=True):
        change = parameter.detach() - start
        dist.all_reduce(change, op=dist.ReduceOp.SUM)
        parameter.detach().copy_(start + change)

