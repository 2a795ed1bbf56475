"""unlearnkit's shared core: data sets and forget requests, backbones, training, metrics, baselines, bench."""

from .versions import dist_version

__version__ = dist_version("unlearnkit-shared")
