"""The griffe extension that turns the docstrings' reST maths into arithmatex delimiters."""
from __future__ import annotations

import importlib.util
from pathlib import Path

SPEC = importlib.util.spec_from_file_location("rest_math", Path(__file__).parents[2] / "docs" / "_ext" / "rest_math.py")
rest_math = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(rest_math)


def test_directive_becomes_a_display_block_and_the_text_after_it_stays():
    text = "What.\n\n.. math::\n    a = b\n    + c\n\nwith ``c`` a constant.\n\nArgs:\n    x: the input."
    assert rest_math.convert(text) == "What.\n\n\\[\na = b\n+ c\n\\]\n\nwith ``c`` a constant.\n\nArgs:\n    x: the input."


def test_directive_inside_a_section_keeps_its_indent_and_inline_roles_convert():
    text = "Shapes:\n    out: :math:`[N, F]`, where\n    .. math:: N = |V|\nnext"
    assert rest_math.convert(text) == "Shapes:\n    out: \\([N, F]\\), where\n\n    \\[\n    N = |V|\n    \\]\n\nnext"


def test_text_without_maths_and_dollar_signs_are_left_alone():
    text = "Reads ``$GNNKIT_DATA`` ($HOME/data) and costs $3 or $4."
    assert rest_math.convert(text) == text
