"""Training: one loop for original training, retraining and fine-tuning methods."""

from .config import TrainConfig
from .loop import FitResult, GradMask, check_model_fits, cross_entropy_step, evaluate, fit, resume_mismatch
from .optim import build_optimizer, build_scheduler, lr_factor
from .seeding import rng_state, seed_everything, set_rng_state

__all__ = ["FitResult", "GradMask", "TrainConfig", "build_optimizer", "build_scheduler", "check_model_fits",
           "cross_entropy_step", "evaluate", "fit", "lr_factor", "resume_mismatch", "rng_state", "seed_everything",
           "set_rng_state"]
