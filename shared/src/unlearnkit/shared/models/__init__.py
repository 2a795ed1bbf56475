"""Backbones by name: ``create_model(name, num_classes, ...)``."""

from .base import MLP, Classifier
from .factory import MODELS, allowed_kwargs, create_model, list_models, model_from_config, register_model
from .timm_models import LMERASER_BACKBONES, TimmClassifier
from .weights import load_weights, unwrap_state_dict

__all__ = ["Classifier", "LMERASER_BACKBONES", "MLP", "MODELS", "TimmClassifier", "allowed_kwargs", "create_model",
           "list_models", "load_weights", "model_from_config", "register_model", "unwrap_state_dict"]
