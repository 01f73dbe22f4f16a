"""Tokens of the expr language (expr-lang/expr), with the offset each starts at."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from kargo.expr.errors import ExprSyntaxError


class Kind(Enum):
    """What a token is."""

    IDENTIFIER = "identifier"
    NUMBER = "number"
    STRING = "string"
    OPERATOR = "operator"
    BRACKET = "bracket"
    EOF = "end of expression"


@dataclass(frozen=True)
class Token:
    """One token: its kind, its text (strings already unescaped) and its offset."""

    kind: Kind
    value: str
    offset: int

    def is_(self, kind: Kind, *values: str) -> bool:
        """Whether the token is of this kind (and one of these values, when given)."""
        return self.kind is kind and (not values or self.value in values)

    def __str__(self) -> str:
        if self.kind is Kind.EOF:
            return "EOF"
        return f'{self.kind.name.capitalize()}("{self.value}")'


# Words the lexer gives as operators, as expr does.
WORD_OPERATORS = frozenset(
    {"not", "and", "or", "in", "matches", "contains", "startsWith", "endsWith", "let", "if", "else"}
)
_DIGITS = {"x": "0123456789abcdefABCDEF_", "o": "01234567_", "b": "01_"}
_SPACE = re.compile(r"(?:\s+|//[^\n]*|/\*.*?\*/)+", re.DOTALL)
_TWO_CHAR = ("==", "!=", "<=", ">=", "&&", "||", "**", "??", "?.", "..", "::")
_SIMPLE_ESCAPES = {
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    "\\": "\\",
    "'": "'",
    '"': '"',
    "`": "`",
}


def position(source: str, offset: int) -> tuple[int, int]:
    """Line and column (1-based) of an offset in the source."""
    line = source.count("\n", 0, offset) + 1
    column = offset - (source.rfind("\n", 0, offset) + 1) + 1
    return line, column


def _fail(source: str, offset: int, message: str) -> ExprSyntaxError:
    line, column = position(source, offset)
    return ExprSyntaxError(message, source, line, column)


def tokenize(source: str) -> list[Token]:
    """All tokens of the source, ending with EOF; ExprSyntaxError on a bad character or literal."""
    tokens: list[Token] = []
    i, n = 0, len(source)
    while True:
        space = _SPACE.match(source, i)
        if space:
            i = space.end()
        if source.startswith("/*", i):
            raise _fail(source, i, "unclosed comment")
        if i >= n:
            tokens.append(Token(Kind.EOF, "", max(n - 1, 0)))  # expr puts EOF on the last char
            return tokens
        ch = source[i]
        if ch in "'\"":
            text, i2 = _scan_string(source, i)
            tokens.append(Token(Kind.STRING, text, i))
            i = i2
        elif ch == "`":
            end = source.find("`", i + 1)
            if end < 0:
                raise _fail(source, i, "literal not terminated")
            tokens.append(Token(Kind.STRING, source[i + 1 : end].replace("\r\n", "\n"), i))
            i = end + 1
        elif _ascii_digit(ch) or (ch == "." and i + 1 < n and _ascii_digit(source[i + 1])):
            end = _scan_number(source, i)
            tokens.append(Token(Kind.NUMBER, source[i:end], i))
            i = end
        elif ch == "#":
            end = _identifier_end(source, i + 1)
            tokens.append(Token(Kind.OPERATOR, source[i:end], i))
            i = end
        elif _identifier_char(ch):
            end = _identifier_end(source, i)
            word = source[i:end]
            kind = Kind.OPERATOR if word in WORD_OPERATORS else Kind.IDENTIFIER
            tokens.append(Token(kind, word, i))
            i = end
        elif ch in "([{)]}":
            tokens.append(Token(Kind.BRACKET, ch, i))
            i += 1
        elif source.startswith(_TWO_CHAR, i):
            tokens.append(Token(Kind.OPERATOR, source[i : i + 2], i))
            i += 2
        elif ch in ",;%+-^*/<>=!?:.|":
            tokens.append(Token(Kind.OPERATOR, ch, i))
            i += 1
        else:
            raise _fail(source, i, f"unrecognized character: {ch!r}")


def _scan_number(source: str, start: int) -> int:
    """Where a number literal ends, scanned as expr's lexer does (base digits, `.`, exponent)."""
    n = len(source)

    def run(i: int, allowed: str) -> int:
        while i < n and source[i] in allowed:
            i += 1
        return i

    digits = "0123456789_"
    i = start
    if source.startswith("0", i) and source[i + 1 : i + 2].lower() in _DIGITS:
        digits = _DIGITS[source[i + 1].lower()]
        i += 2
    i = run(i, digits)
    if source.startswith(".", i) and not source.startswith("..", i):
        i = run(i + 1, digits)
    if source[i : i + 1] in ("e", "E"):
        i += 1
        if source[i : i + 1] in ("+", "-"):
            i += 1
        i = run(i, digits)
    if i < n and (source[i].isalnum() or source[i] == "_"):
        word = source[start : i + 1]
        raise _fail(source, i, f'bad number syntax: "{word}"')
    return i


def _scan_string(source: str, start: int) -> tuple[str, int]:
    """The unescaped text of a quoted string starting at `start`, and the offset after it."""
    quote = source[start]
    out: list[str] = []
    i, n = start + 1, len(source)
    while i < n:
        ch = source[i]
        if ch == quote:
            return "".join(out), i + 1
        if ch == "\n":
            break
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        if i + 1 >= n:
            break
        esc = source[i + 1]
        if esc in _SIMPLE_ESCAPES:
            out.append(_SIMPLE_ESCAPES[esc])
            i += 2
        elif esc in "xuU":
            width = {"x": 2, "u": 4, "U": 8}[esc]
            digits = source[i + 2 : i + 2 + width]
            if len(digits) != width or not all(c in "0123456789abcdefABCDEF" for c in digits):
                raise _fail(source, i, "invalid char escape")
            out.append(chr(int(digits, 16)))
            i += 2 + width
        elif esc in "01234567":
            digits = source[i + 1 : i + 4]
            if len(digits) != 3 or not all(c in "01234567" for c in digits):
                raise _fail(source, i, "invalid char escape")
            out.append(chr(int(digits, 8)))
            i += 4
        else:
            raise _fail(source, i, "invalid char escape")
    raise _fail(source, start, "literal not terminated")


def _ascii_digit(ch: str) -> bool:
    """0-9 only: expr starts a number at an ASCII digit (other digits start a name)."""
    return "0" <= ch <= "9"


def _identifier_char(ch: str) -> bool:
    """Go's unicode.IsLetter or IsDigit, `_` or `$`: what expr lets a name consist of."""
    return ch.isalpha() or ch.isdecimal() or ch in "_$"


def _identifier_end(source: str, start: int) -> int:
    """The offset just past the name that starts at `start`."""
    end = start
    while end < len(source) and _identifier_char(source[end]):
        end += 1
    return end
