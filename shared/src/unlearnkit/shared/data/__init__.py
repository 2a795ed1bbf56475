"""Data sets, transforms and forget requests."""

from .base import DatasetInfo, LabeledDataset, TensorImages
from .catalog import (
    DATASETS,
    DatasetEntry,
    dataset_info,
    list_datasets,
    load_dataset,
    load_image_folder,
    register_dataset,
)
from .loaders import EpochShuffleSampler, make_loader
from .requests import ForgetRequest, Splits, make_splits, read_index_file
from .synthetic import SyntheticImages, SyntheticSpec  # registers the synthetic-* data sets

__all__ = [
    "DATASETS", "DatasetEntry", "DatasetInfo", "EpochShuffleSampler", "ForgetRequest", "LabeledDataset", "Splits",
    "SyntheticImages", "SyntheticSpec", "TensorImages", "dataset_info", "list_datasets", "load_dataset", "load_image_folder", "make_loader",
    "make_splits", "read_index_file", "register_dataset",
]
