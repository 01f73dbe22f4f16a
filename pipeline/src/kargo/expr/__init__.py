"""The expr language (expr-lang/expr) that Kargo and Argo Rollouts write expressions in.

Pure: no engine imports. `compile_expression(source)` parses once (cached) and raises
ExprSyntaxError with line and column; `Program.run(env, functions)` evaluates and raises
ExprRuntimeError with a one-line message. See docs/expressions.md.
"""

from kargo.expr.builtins import BUILTINS, to_json, to_json_value
from kargo.expr.errors import ExprError, ExprRuntimeError, ExprSyntaxError, Fault
from kargo.expr.program import BUILTIN_NAMES, Program, compile_expression
from kargo.expr.values import Methods, StringMap, Struct, format_value, type_name

__all__ = [
    "BUILTINS",
    "BUILTIN_NAMES",
    "ExprError",
    "ExprRuntimeError",
    "ExprSyntaxError",
    "Fault",
    "Methods",
    "Program",
    "StringMap",
    "Struct",
    "compile_expression",
    "format_value",
    "to_json",
    "to_json_value",
    "type_name",
]
