"""Unlearning metrics: each a plain function (or a small context manager), tested on known cases.

Accuracies and MIA-efficacy are percentages; SCAR's AUS takes fractions; CKA from models is x100.
"""

from .accuracy import accuracy, accuracy_from_logits, topk_accuracy, unlearning_accuracies
from .aus import aus_cr, aus_hr
from .cka import batched_linear_cka, linear_cka, model_cka
from .clip import (
    clip_zero_shot_classifier,
    format_prompts,
    zero_shot_accuracy,
    zero_shot_classifier,
    zero_shot_logits,
    zero_shot_predict,
)
from .gap import avg_gap
from .knn import knn_accuracy, knn_split, knn_transfer_accuracy
from .mia import MIA_FEATURES, entropy, mia_efficacy, mia_efficacy_from_probs, mia_features, modified_entropy
from .rte import RTEMeter, Timer, measure_rte
from .scar_mia import SCAR_PARAM_GRID, scar_mia, scar_mia_from_probs
from .ulira import logit_confidence, ulira_attack, ulira_evaluate, ulira_scores

__all__ = [
    "accuracy",
    "accuracy_from_logits",
    "topk_accuracy",
    "unlearning_accuracies",
    "aus_cr",
    "aus_hr",
    "linear_cka",
    "batched_linear_cka",
    "model_cka",
    "format_prompts",
    "zero_shot_classifier",
    "clip_zero_shot_classifier",
    "zero_shot_logits",
    "zero_shot_predict",
    "zero_shot_accuracy",
    "avg_gap",
    "knn_accuracy",
    "knn_split",
    "knn_transfer_accuracy",
    "MIA_FEATURES",
    "entropy",
    "modified_entropy",
    "mia_features",
    "mia_efficacy_from_probs",
    "mia_efficacy",
    "RTEMeter",
    "Timer",
    "measure_rte",
    "SCAR_PARAM_GRID",
    "scar_mia_from_probs",
    "scar_mia",
    "logit_confidence",
    "ulira_scores",
    "ulira_evaluate",
    "ulira_attack",
]
