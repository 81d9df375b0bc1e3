"""Training: loss, optimizer, epochs, early stopping and checkpoints."""

from adrec.training.als import ALSTrainer
from adrec.training.config import OBJECTIVES, OPTIMIZERS, TARGET_TRANSFORMS, TrainConfig
from adrec.training.targets import TargetTransform
from adrec.training.trainer import EpochRecord, Trainer, TrainingArrays, TrainResult

__all__ = [
    "OBJECTIVES",
    "ALSTrainer",
    "OPTIMIZERS",
    "TARGET_TRANSFORMS",
    "EpochRecord",
    "TargetTransform",
    "TrainConfig",
    "TrainResult",
    "Trainer",
    "TrainingArrays",
]
