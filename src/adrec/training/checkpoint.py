"""Checkpoints: the best weights so far, written atomically while training runs."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from adrec.atomic import atomic_file


def write_checkpoint(path: Path, state: dict[str, torch.Tensor], info: dict) -> None:
    """Write a state dict as safetensors, with ``info`` (epoch, loss) in its metadata."""
    tensors = {name: tensor.detach().cpu().contiguous() for name, tensor in state.items()}
    with atomic_file(path) as temporary:
        save_file(tensors, str(temporary), metadata={"adrec_checkpoint": json.dumps(info)})


def read_checkpoint(path: Path) -> dict[str, torch.Tensor]:
    """Read the tensors of a checkpoint written by :func:`write_checkpoint`."""
    return load_file(str(path))
