"""Configuration: YAML files with line numbers → validated, cross-checked resources."""

from kargo.config.errors import ConfigError, ConfigIssue
from kargo.config.loading import DEFAULT_PROJECT, LoadedResource, load_path, load_text, load_texts
from kargo.config.references import check_references

__all__ = [
    "DEFAULT_PROJECT",
    "ConfigError",
    "ConfigIssue",
    "LoadedResource",
    "check_references",
    "load_path",
    "load_text",
    "load_texts",
]
