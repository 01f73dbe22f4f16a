"""Argo Rollouts durations in seconds: `kargo.model.durations` under its old name."""

from __future__ import annotations

from kargo.model.durations import duration_seconds as parse_duration

__all__ = ["parse_duration"]
