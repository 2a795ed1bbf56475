"""SPKD unlearning (gradient ascent + similarity-preserving distillation) and transfer evaluation
(k-NN on downstream data, CKA to the retrained model), on top of ``unlearnkit.shared``."""

from unlearnkit.shared.versions import dist_version

from .losses import get_distill_loss, rkd_angle_loss, rkd_distance_loss, sp_loss
from .spkd import SPKDParams, spkd_unlearn
from .transfer import cka_to_reference, knn_transfer

__version__ = dist_version("unlearnkit-spkd-transfer")

__all__ = ["SPKDParams", "cka_to_reference", "get_distill_loss", "knn_transfer", "rkd_angle_loss",
           "rkd_distance_loss", "sp_loss", "spkd_unlearn"]
