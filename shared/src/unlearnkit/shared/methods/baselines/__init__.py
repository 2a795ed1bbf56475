"""The shared baselines, one module per method; importing this package registers them all."""

from . import bad_teacher, ft, ga, l1_sparse, neggrad, retrain, rl, salun, scrub, ssd
from .salun import load_mask, mask_fraction, saliency_mask, saliency_masks, save_mask

__all__ = ["bad_teacher", "ft", "ga", "l1_sparse", "load_mask", "mask_fraction", "neggrad", "retrain", "rl", "salun",
           "saliency_mask", "saliency_masks", "save_mask", "scrub", "ssd"]
