"""A Pratt parser for the expr language, with expr-lang's precedences and error messages.

Hand-written rather than generated with lark: expr's grammar depends on where a token stands
(`#` and a leading `.field` exist only inside a predicate's arguments, `not` before `in` is one
operator, `??` may not mix with other operators, a map key may be a bare word), and errors must
name the line and column of the offending token as expr does. Both are direct in a Pratt parser
and awkward to express as a context-free grammar.
"""

from __future__ import annotations

import math

from kargo.expr import nodes as n
from kargo.expr.errors import ExprSyntaxError
from kargo.expr.lexer import Kind, Token, position, tokenize

BINARY: dict[str, tuple[int, bool]] = {  # operator -> (precedence, right-associative)
    "|": (0, False),
    "or": (10, False),
    "||": (10, False),
    "and": (15, False),
    "&&": (15, False),
    "==": (20, False),
    "!=": (20, False),
    "<": (20, False),
    ">": (20, False),
    ">=": (20, False),
    "<=": (20, False),
    "in": (20, False),
    "matches": (20, False),
    "contains": (20, False),
    "startsWith": (20, False),
    "endsWith": (20, False),
    "..": (25, False),
    "+": (30, False),
    "-": (30, False),
    "*": (60, False),
    "/": (60, False),
    "%": (60, False),
    "**": (100, True),
    "^": (100, True),
    "??": (500, False),
}
UNARY = {"not": 50, "!": 50, "-": 90, "+": 90}
NEGATABLE = {"contains", "matches", "startsWith", "endsWith", "in"}
COMPARISONS = {"<", ">", "<=", ">="}
# Built-ins whose arguments are predicates: argument kinds, "p" a predicate, "?" optional.
PREDICATES: dict[str, tuple[str, ...]] = {
    "all": ("e", "p"),
    "none": ("e", "p"),
    "any": ("e", "p"),
    "one": ("e", "p"),
    "filter": ("e", "p"),
    "map": ("e", "p"),
    "count": ("e", "p?"),
    "sum": ("e", "p?"),
    "find": ("e", "p"),
    "findIndex": ("e", "p"),
    "findLast": ("e", "p"),
    "findLastIndex": ("e", "p"),
    "groupBy": ("e", "p"),
    "sortBy": ("e", "p", "e?"),
    "reduce": ("e", "p", "e?"),
}
MAX_NODES = 10_000
# Number literals by prefix: the name expr gives the kind and the Go function that parses it.
_NUMBER_KINDS = {
    "0x": ("hex", "ParseInt"),
    "0b": ("binary", "ParseInt"),
    "0o": ("octal", "ParseInt"),
}
# expr-lang (Go) has no nesting limit below MAX_NODES; Python's call stack needs one, so every
# walk of the tree (type check, evaluation, name lists) stays well inside the recursion limit.
MAX_DEPTH = 128
TOO_DEEP = f"expression nests deeper than {MAX_DEPTH} levels"


def parse(source: str) -> n.Node:
    """The tree of an expression, or ExprSyntaxError naming line and column."""
    parser = _Parser(source)
    try:
        tree = parser.parse()
    except RecursionError:
        raise parser.error(TOO_DEEP) from None
    deepest = _deeper_than(tree, MAX_DEPTH)
    if deepest is not None:
        line, column = position(source, deepest.offset)
        raise ExprSyntaxError(TOO_DEEP, source, line, column)
    return tree


def _deeper_than(tree: n.Node, limit: int) -> n.Node | None:
    """The first node found below `limit` levels of the tree (walked without recursion)."""
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return node
        stack.extend((child, depth + 1) for child in n.children(node))
    return None


class _Parser:
    def __init__(self, source: str):
        self.source = source
        self.tokens = tokenize(source)
        self.index = 0
        self.depth = 0  # how many predicates we are inside
        self.count = 0

    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        if token.kind is not Kind.EOF:
            self.index += 1
        return token

    def error(self, message: str, token: Token | None = None) -> ExprSyntaxError:
        at = token or self.current
        line, column = position(self.source, at.offset)
        return ExprSyntaxError(message, self.source, line, column)

    def unexpected(self, token: Token | None = None) -> ExprSyntaxError:
        at = token or self.current
        return self.error(f"unexpected token {at}", at)

    def expect(self, kind: Kind, value: str) -> Token:
        if not self.current.is_(kind, value):
            raise self.unexpected()
        return self.advance()

    def node(self, node: n.Node) -> n.Node:
        self.count += 1
        if self.count > MAX_NODES:
            raise self.error("compilation failed: expression exceeds maximum allowed nodes")
        return node

    def parse(self) -> n.Node:
        tree = self.sequence()
        if self.tokens[self.index].kind is not Kind.EOF:
            raise self.unexpected()
        return tree

    def sequence(self) -> n.Node:
        first = self.expression(0)
        parts = [first]
        while self.current.is_(Kind.OPERATOR, ";"):
            self.advance()
            if self.current.kind is Kind.EOF or self.current.is_(Kind.BRACKET, "}", ")"):
                break
            parts.append(self.expression(0))
        if len(parts) == 1:
            return first
        return self.node(n.Sequence(first.offset, tuple(parts)))

    def expression(self, precedence: int) -> n.Node:
        if precedence == 0 and self.current.is_(Kind.OPERATOR, "let"):
            return self.let()
        if precedence == 0 and self.current.is_(Kind.OPERATOR, "if"):
            return self.if_else()
        left = self.primary()
        previous = ""
        while self.current.kind is Kind.OPERATOR:
            token = self.current
            negate = False
            if token.value == "not":
                after = self.tokens[self.index + 1]
                if not (after.kind is Kind.OPERATOR and after.value in NEGATABLE):
                    raise self.unexpected(after)
                if BINARY[after.value][0] < precedence:
                    break
                negate = True
                self.advance()
                token = self.current
            spec = BINARY.get(token.value)
            if spec is None or spec[0] < precedence:
                break
            op_precedence, right_assoc = spec
            self.advance()
            if previous == "??" and token.value != "??":
                raise self.error(
                    f"Operator ({token.value}) and coalesce expressions (??) cannot be mixed. "
                    "Wrap either by parentheses.",
                    token,
                )
            if token.value == "|":
                name = self.current
                if name.kind is not Kind.IDENTIFIER:
                    raise self.unexpected()
                self.advance()
                left = self.call(name, [left])
            elif token.value in COMPARISONS:
                left = self.comparison(left, token, op_precedence)
            else:
                right = self.expression(op_precedence if right_assoc else op_precedence + 1)
                left = self.node(n.Binary(token.offset, token.value, left, right))
                if negate:
                    left = self.node(n.Unary(token.offset, "not", left))
            previous = token.value
        if precedence == 0:
            left = self.conditional(left)
        return left

    def comparison(self, left: n.Node, token: Token, precedence: int) -> n.Node:
        """`a < b < c` is `a < b and b < c`, as in expr."""
        right = self.expression(precedence + 1)
        result = self.node(n.Binary(token.offset, token.value, left, right))
        while self.current.kind is Kind.OPERATOR and self.current.value in COMPARISONS:
            op = self.advance()
            following = self.expression(precedence + 1)
            step = self.node(n.Binary(op.offset, op.value, right, following))
            result = self.node(n.Binary(op.offset, "&&", result, step))
            right = following
        return result

    def let(self) -> n.Node:
        self.advance()
        name = self.current
        if name.kind is not Kind.IDENTIFIER:
            raise self.unexpected()
        self.advance()
        self.expect(Kind.OPERATOR, "=")
        value = self.expression(0)
        self.expect(Kind.OPERATOR, ";")
        body = self.sequence()
        return self.node(n.Let(name.offset, name.value, value, body))

    def if_else(self) -> n.Node:
        start = self.advance()
        condition = self.expression(0)
        self.expect(Kind.BRACKET, "{")
        then = self.sequence()
        self.expect(Kind.BRACKET, "}")
        self.expect(Kind.OPERATOR, "else")
        if self.current.is_(Kind.OPERATOR, "if"):
            otherwise = self.if_else()
        else:
            self.expect(Kind.BRACKET, "{")
            otherwise = self.sequence()
            self.expect(Kind.BRACKET, "}")
        return self.node(n.Conditional(start.offset, condition, then, otherwise))

    def conditional(self, node: n.Node) -> n.Node:
        while self.current.is_(Kind.OPERATOR, "?"):
            token = self.advance()
            if self.current.is_(Kind.OPERATOR, ":"):
                self.advance()
                then, otherwise = node, self.expression(0)
            else:
                then = self.expression(0)
                self.expect(Kind.OPERATOR, ":")
                otherwise = self.expression(0)
            node = self.node(n.Conditional(token.offset, node, then, otherwise))
        return node

    def primary(self) -> n.Node:
        token = self.current
        if token.kind is Kind.OPERATOR and token.value in UNARY:
            self.advance()
            operand = self.expression(UNARY[token.value])
            return self.postfix(self.node(n.Unary(token.offset, token.value, operand)))
        if token.is_(Kind.BRACKET, "("):
            self.advance()
            inner = self.sequence()
            self.expect(Kind.BRACKET, ")")
            return self.postfix(inner)
        if token.kind is Kind.OPERATOR and token.value.startswith("#"):
            if self.depth == 0:
                raise self.error("cannot use pointer accessor outside predicate", token)
            self.advance()
            return self.postfix(self.node(n.Pointer(token.offset, token.value[1:])))
        if token.is_(Kind.OPERATOR, ".") and self.depth > 0:
            # `.field` is `#.field` inside a predicate.
            pointer = self.node(n.Pointer(token.offset, ""))
            return self.postfix(pointer, leading_dot=True)
        return self.secondary()

    def secondary(self) -> n.Node:
        token = self.current
        node: n.Node
        if token.kind is Kind.IDENTIFIER:
            self.advance()
            if token.value in ("true", "false"):
                return self.node(n.Literal(token.offset, token.value == "true"))
            if token.value == "nil":
                return self.node(n.Literal(token.offset, None))
            if self.current.is_(Kind.BRACKET, "("):
                node = self.call(token, [])
            else:
                node = self.node(n.Name(token.offset, token.value))
        elif token.kind is Kind.NUMBER:
            self.advance()  # expr reports a bad literal at the token after it
            return self.node(n.Literal(token.offset, self.number(token, self.current)))
        elif token.kind is Kind.STRING:
            self.advance()
            node = self.node(n.Literal(token.offset, token.value))
        elif token.is_(Kind.BRACKET, "["):
            node = self.array()
        elif token.is_(Kind.BRACKET, "{"):
            node = self.mapping()
        else:
            raise self.unexpected()
        return self.postfix(node)

    def number(self, token: Token, after: Token) -> int | float:
        """A number literal; out of int64/float64 range or malformed is refused, as Go's strconv."""
        text = token.value.replace("_", "")
        lower = text.lower()
        kind, parser = _NUMBER_KINDS.get(lower[:2], ("integer", "ParseInt"))
        if kind != "hex" and ("." in lower or "e" in lower):  # expr's order: hex, float, others
            kind, parser = "float", "ParseFloat"
        try:
            value: int | float = (
                float(text)
                if kind == "float"
                else int(text, 0 if lower[:2] in _NUMBER_KINDS else 10)
            )
        except ValueError:
            value, problem = 0, "invalid syntax"
        else:
            out_of_range = math.isinf(value) if isinstance(value, float) else value > 2**63 - 1
            problem = "value out of range" if out_of_range else ""
        if problem:
            raise self.error(
                f'invalid {kind} literal: strconv.{parser}: parsing "{text}": {problem}', after
            )
        return value

    def call(self, name: Token, args: list[n.Node]) -> n.Node:
        """A call; predicate built-ins parse their closures, as expr does."""
        kinds = PREDICATES.get(name.value)
        if kinds is None:
            args = args + self.arguments()
            return self.node(n.Call(name.offset, name.value, tuple(args)))
        self.expect(Kind.BRACKET, "(")
        for i, kind in enumerate(kinds[len(args) :]):
            if self.current.is_(Kind.BRACKET, ")"):
                if kind.endswith("?"):
                    break
                raise self.error(f"expected at least {len(kinds)} arguments")
            if i > 0:
                self.expect(Kind.OPERATOR, ",")
                if self.current.is_(Kind.BRACKET, ")") and kind.endswith("?"):
                    break
            args.append(self.predicate() if kind.startswith("p") else self.expression(0))
        if self.current.is_(Kind.OPERATOR, ","):
            self.advance()
        self.expect(Kind.BRACKET, ")")
        return self.node(n.Call(name.offset, name.value, tuple(args)))

    def arguments(self) -> list[n.Node]:
        self.expect(Kind.BRACKET, "(")
        args: list[n.Node] = []
        while not self.current.is_(Kind.BRACKET, ")"):
            if args:
                self.expect(Kind.OPERATOR, ",")
                if self.current.is_(Kind.BRACKET, ")"):
                    break
            args.append(self.expression(0))
        self.expect(Kind.BRACKET, ")")
        return args

    def predicate(self) -> n.Node:
        start = self.current
        braces = start.is_(Kind.BRACKET, "{")
        if braces:
            self.advance()
        self.depth += 1
        if braces:
            body = self.sequence()
        else:
            body = self.expression(0)
            if self.current.is_(Kind.OPERATOR, ";"):
                raise self.error("wrap predicate with brackets { and }")
        self.depth -= 1
        if braces:
            self.expect(Kind.BRACKET, "}")
        return self.node(n.Predicate(start.offset, body))

    def array(self) -> n.Node:
        start = self.expect(Kind.BRACKET, "[")
        items: list[n.Node] = []
        while not self.current.is_(Kind.BRACKET, "]"):
            if items:
                self.expect(Kind.OPERATOR, ",")
                if self.current.is_(Kind.BRACKET, "]"):
                    break
            items.append(self.expression(0))
        self.expect(Kind.BRACKET, "]")
        return self.node(n.ArrayLiteral(start.offset, tuple(items)))

    def mapping(self) -> n.Node:
        start = self.expect(Kind.BRACKET, "{")
        pairs: list[tuple[n.Node, n.Node]] = []
        while not self.current.is_(Kind.BRACKET, "}"):
            if pairs:
                self.expect(Kind.OPERATOR, ",")
                if self.current.is_(Kind.BRACKET, "}"):
                    break
                if self.current.is_(Kind.OPERATOR, ","):
                    raise self.unexpected()
            token = self.current
            key: n.Node
            if token.kind in (Kind.NUMBER, Kind.STRING, Kind.IDENTIFIER) or (
                token.kind is Kind.OPERATOR and token.value.isalpha()
            ):
                self.advance()
                key = self.node(n.Literal(token.offset, token.value))
            elif token.is_(Kind.BRACKET, "("):
                key = self.expression(0)
            else:
                raise self.error(
                    "a map key must be a quoted string, a number, a identifier, or an "
                    f"expression enclosed in parentheses (unexpected token {token})"
                )
            self.expect(Kind.OPERATOR, ":")
            pairs.append((key, self.expression(0)))
        self.expect(Kind.BRACKET, "}")
        return self.node(n.MapLiteral(start.offset, tuple(pairs)))

    def postfix(self, node: n.Node, leading_dot: bool = False) -> n.Node:
        chained = False
        while True:
            token = self.current
            if token.is_(Kind.OPERATOR, ".", "?."):
                optional = token.value == "?."
                self.advance()
                if optional and self.current.is_(Kind.BRACKET, "["):
                    node, chained = self.index_or_slice(node, optional=True), True
                    continue
                prop = self.current
                if prop.kind is Kind.EOF:
                    raise self.error("unexpected end of expression", prop)
                if not (
                    prop.kind is Kind.IDENTIFIER
                    or (prop.kind is Kind.OPERATOR and prop.value.isalpha())
                ):
                    raise self.error("expected name")
                self.advance()
                chained = chained or optional
                if self.current.is_(Kind.BRACKET, "("):
                    args = tuple(self.arguments())
                    node = self.node(n.MethodCall(prop.offset, node, prop.value, args, optional))
                else:
                    key = self.node(n.Literal(prop.offset, prop.value))
                    node = self.node(n.Member(prop.offset, node, key, optional))
            elif token.is_(Kind.BRACKET, "[") and not leading_dot:
                node = self.index_or_slice(node, optional=False)
            else:
                break
            leading_dot = False
        if chained:
            node = self.node(n.Chain(node.offset, node))
        return node

    def index_or_slice(self, node: n.Node, optional: bool) -> n.Node:
        start = self.expect(Kind.BRACKET, "[")
        if self.current.is_(Kind.OPERATOR, ":"):
            self.advance()
            stop = None if self.current.is_(Kind.BRACKET, "]") else self.expression(0)
            self.expect(Kind.BRACKET, "]")
            return self.node(n.Slice(start.offset, node, None, stop))
        index = self.expression(0)
        if self.current.is_(Kind.OPERATOR, ":"):
            self.advance()
            stop = None if self.current.is_(Kind.BRACKET, "]") else self.expression(0)
            self.expect(Kind.BRACKET, "]")
            return self.node(n.Slice(start.offset, node, index, stop))
        self.expect(Kind.BRACKET, "]")
        return self.node(n.Member(start.offset, node, index, optional))
