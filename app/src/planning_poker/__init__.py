"""Planning Poker: real-time estimation for agile teams."""

__version__ = "0.1.0"
