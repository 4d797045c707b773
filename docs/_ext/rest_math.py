"""Griffe extension: turn the reST maths of gnnkit's docstrings into arithmatex maths.

The docstrings write maths the reST way, which renders in an editor's help and
in PyCharm, and this site uses Google-style Markdown docstrings. Before
mkdocstrings renders a docstring, this rewrites

    .. math::                       \\[
        H' = A H W          into      H' = A H W
                                    \\]

and ``:math:`x_i``` into ``\\(x_i\\)``, the delimiters that
``pymdownx.arithmatex`` (generic mode) hands to the bundled KaTeX
(``docs/javascripts/katex-render.js``). Dollar signs are never produced, so
a ``$GNNKIT_DATA`` in prose stays text.
"""
from __future__ import annotations

import re

import griffe

ROLE = re.compile(r":math:`([^`]+)`")
DIRECTIVE = re.compile(r"^(?P<indent>[ \t]*)\.\. math::[ \t]*(?P<first>\S.*)?$")


def convert(text: str) -> str:
    """The docstring ``text`` with every ``.. math::`` block and ``:math:`` role converted."""
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        m = DIRECTIVE.match(lines[i])
        if m is None:
            out.append(ROLE.sub(lambda r: rf"\({r.group(1)}\)", lines[i]))
            i += 1
            continue
        indent = m.group("indent")
        body = [m.group("first")] if m.group("first") else []
        i += 1
        # the block is every following line indented deeper than the directive, or blank
        while i < len(lines) and (not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip()) > len(indent)):
            body.append(lines[i].strip())
            i += 1
        while body and not body[-1]:
            body.pop()
        formula = [line for line in body if line]
        if out and out[-1].strip():
            out.append("")
        out.extend([indent + r"\[", *(indent + line for line in formula), indent + r"\]", ""])
    return "\n".join(out)


class RestMath(griffe.Extension):
    """Rewrites each object's docstring with :func:`convert` as griffe loads it."""

    def on_instance(self, *, obj: griffe.Object, **kwargs) -> None:
        if obj.docstring is not None:
            obj.docstring.value = convert(obj.docstring.value)
