"""The two ways an expression fails: it does not parse, or it cannot be evaluated."""

from __future__ import annotations


class ExprError(Exception):
    """An expression failed; `message` is the cause, `line`/`column` where it is (1-based)."""

    def __init__(self, message: str, source: str, line: int | None, column: int | None):
        self.message = message
        self.source = source
        self.line = line
        self.column = column
        super().__init__(self.describe())

    def describe(self) -> str:
        """One line: the cause and its position in the expression."""
        if self.line is None:
            return self.message
        return f"{self.message} (line {self.line}, column {self.column})"


class ExprSyntaxError(ExprError):
    """The expression does not parse (or names something unknown, when names are given)."""


class ExprRuntimeError(ExprError):
    """The expression parsed but could not be evaluated over these values."""


class Fault(Exception):
    """Raised inside the evaluator and built-ins; the program adds the source and position."""
