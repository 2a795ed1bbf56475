from unlearnkit.shared.versions import dist_version

__version__ = dist_version("unlearnkit-lmeraser")
