"""SCAR (ECCV 2024): retain-free unlearning by Mahalanobis metric learning and OOD distillation."""

from unlearnkit.shared.versions import dist_version

from .algorithm import ScarResult, SurrogateView, scar, scar_self
from .params import ScarParams

__version__ = dist_version("unlearnkit-scar")

__all__ = ["ScarParams", "ScarResult", "SurrogateView", "scar", "scar_self"]
