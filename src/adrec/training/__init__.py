"""Training: loss, optimizer, epochs, early stopping and checkpoints."""

from adrec.training.als import ALSTrainer
from adrec.training.config import BACKENDS, OBJECTIVES, OPTIMIZERS, TARGET_TRANSFORMS, TrainConfig
from adrec.training.sgd import SGDTrainer
from adrec.training.targets import TargetTransform
from adrec.training.trainer import EpochRecord, Trainer, TrainingArrays, TrainResult

__all__ = [
    "BACKENDS",
    "OBJECTIVES",
    "ALSTrainer",
    "OPTIMIZERS",
    "TARGET_TRANSFORMS",
    "EpochRecord",
    "SGDTrainer",
    "TargetTransform",
    "TrainConfig",
    "TrainResult",
    "Trainer",
    "TrainingArrays",
]
