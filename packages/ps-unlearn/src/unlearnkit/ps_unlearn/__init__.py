"""Prototype Surgery (Liu et al., CCS 2025): unlearning by editing the final layer's class prototypes.

``naive_prototype_surgery`` removes the forget samples' share of the training-time prototype change in
closed form; ``prototype_surgery`` soft-relabels the forget samples and fine-tunes only the final layer.
``run_experiment`` is the paper's ``main.py`` (both methods, metrics, gap to a retrained model).
"""

from unlearnkit.shared.versions import dist_version

from .decomposition import decompose, naive_ps_weight
from .experiment import ExperimentOptions, run_experiment, train_original
from .naive import NaivePSParams, init_classifier_weight, naive_prototype_surgery
from .ps import PSParams, prototype_surgery
from .soft_labels import soft_cross_entropy, soft_labels

__version__ = dist_version("unlearnkit-ps-unlearn")

__all__ = [
    "ExperimentOptions",
    "NaivePSParams",
    "PSParams",
    "decompose",
    "init_classifier_weight",
    "naive_prototype_surgery",
    "naive_ps_weight",
    "prototype_surgery",
    "run_experiment",
    "soft_cross_entropy",
    "soft_labels",
    "train_original",
]
