"""unlearnkit's shared core: data sets and forget requests, backbones, training, metrics, baselines, bench."""

__version__ = "0.1.0"
