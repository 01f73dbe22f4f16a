"""A Kargo-style promotion pipeline that runs on one machine."""

__version__ = "0.1.0"
