"""SCAR (ECCV 2024): retain-free unlearning by Mahalanobis metric learning and OOD distillation."""

from .algorithm import ScarResult, SurrogateView, scar, scar_self
from .params import ScarParams

__all__ = ["ScarParams", "ScarResult", "SurrogateView", "scar", "scar_self"]
