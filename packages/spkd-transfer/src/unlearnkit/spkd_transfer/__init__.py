"""SPKD unlearning (gradient ascent + similarity-preserving distillation) and transfer evaluation
(k-NN on downstream data, CKA to the retrained model), on top of ``unlearnkit.shared``."""

from .losses import get_distill_loss, rkd_angle_loss, rkd_distance_loss, sp_loss
from .spkd import SPKDParams, spkd_unlearn
from .transfer import cka_to_reference, knn_transfer

__all__ = ["SPKDParams", "cka_to_reference", "get_distill_loss", "knn_transfer", "rkd_angle_loss",
           "rkd_distance_loss", "sp_loss", "spkd_unlearn"]
__version__ = "0.1.0"
