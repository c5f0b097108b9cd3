"""Fail when a function body is longer than the project's limit (20 lines, docstring excluded).

The formatter owns the layout, so a line that opts out of it (``fmt: skip`` or ``fmt: off``)
fails too: packing statements onto one line would otherwise meet the limit without a split.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

LIMIT = 20
OPT_OUTS = ("fmt: skip", "fmt: off")


def body_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """Count the lines a function's body spans, not counting its docstring."""
    body = node.body
    if (
        body
        and isinstance(body[0], ast.Expr)
        and isinstance(body[0].value, ast.Constant)
        and isinstance(body[0].value.value, str)
        and len(body) > 1
    ):
        body = body[1:]
    end = node.end_lineno or node.lineno
    return end - body[0].lineno + 1


def offenders(root: Path) -> list[str]:
    """List every function under ``root`` whose body exceeds the limit, and every opt-out."""
    found = []
    for path in sorted(root.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        found += long_functions(path, ast.parse(text, filename=str(path)))
        found += opt_outs(path, text)
    return found


def long_functions(path: Path, tree: ast.AST) -> list[str]:
    """The functions of ``tree`` whose bodies exceed the limit."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            lines = body_lines(node)
            if lines > LIMIT:
                found.append(f"{path}:{node.lineno}: {node.name} has {lines} lines")
    return found


def opt_outs(path: Path, text: str) -> list[str]:
    """The lines of ``text`` that opt out of the formatter."""
    return [
        f"{path}:{number}: opts out of the formatter ({marker})"
        for number, line in enumerate(text.splitlines(), start=1)
        for marker in OPT_OUTS
        if f"# {marker}" in line
    ]


def main() -> int:
    """Check each directory given on the command line."""
    found = [line for arg in sys.argv[1:] for line in offenders(Path(arg))]
    for line in found:
        print(line)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
