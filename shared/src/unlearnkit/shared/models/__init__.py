"""Backbones by name: ``create_model(name, num_classes, ...)``."""

from .base import MLP, Classifier
from .factory import MODELS, create_model, list_models, register_model
from .timm_models import LMERASER_BACKBONES, TimmClassifier
from .weights import load_weights, unwrap_state_dict

__all__ = ["Classifier", "LMERASER_BACKBONES", "MLP", "MODELS", "TimmClassifier", "create_model", "list_models",
           "load_weights", "register_model", "unwrap_state_dict"]
