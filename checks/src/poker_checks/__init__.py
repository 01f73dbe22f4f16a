"""Smoke, security and load suites for Planning Poker."""

__version__ = "0.1.0"
