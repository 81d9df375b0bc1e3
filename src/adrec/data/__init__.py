"""Data: reading tables, validating them, vocabularies, splits and the embedded sample."""

from adrec.data.dataset import InteractionData
from adrec.data.layouts import load_data
from adrec.data.sample import load_sample, sample_data_path
from adrec.data.split import (
    SPLIT_METHODS,
    SplitReport,
    leave_n_out_split,
    random_split,
    split_data,
    time_split,
)
from adrec.data.validation import DUPLICATE_POLICIES, DataReport
from adrec.data.vocabulary import Vocabulary

__all__ = [
    "DUPLICATE_POLICIES",
    "DataReport",
    "InteractionData",
    "Vocabulary",
    "load_data",
    "load_sample",
    "SPLIT_METHODS",
    "SplitReport",
    "leave_n_out_split",
    "random_split",
    "split_data",
    "time_split",
    "sample_data_path",
]
