"""Text from templates, BUILD files and AWS made inert in Markdown (a pull-request comment):
nothing in it becomes a link, an image, a mention, HTML or a new table cell."""

from __future__ import annotations

import re

# Logical ids, resource types, stack and property names: shown as they are (nothing that
# could become a link, a mention or markup).
VALUE_LIMIT = 80  # characters of a property value shown in a cell
IDENTIFIER = re.compile(r"[A-Za-z0-9:-]*")


def cell(text: str) -> str:
    """One line that stays in its table cell: each pipe escaped, as GitHub reads it (after an
    odd number of backslashes)."""
    text = re.sub(r"\s*\n\s*", " ", text)
    return re.sub(r"(\\*)\|", lambda m: m.group(1) + "\\" * (len(m.group(1)) % 2 == 0) + "|", text)


def code(text: str) -> str:
    """`text` as a code span, so that nothing in it renders: no link, image, mention or HTML
    (its delimiters are longer than any run of backticks it holds)."""
    text = cell(text)
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    return f"{fence} {text} {fence}" if longest else f"{fence}{text}{fence}"


def fenced(text: str) -> list[str]:
    """`text` as a code block whose fence no line of it can close."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence, text, fence]


def name(text: str) -> str:
    """A name from a template or a BUILD file: as it is when it is one, else inert code."""
    return text if IDENTIFIER.fullmatch(text) else code(text)


def value(text: str | None) -> str:
    """A property value in a cell: `-` for none, else inert code, cut at VALUE_LIMIT."""
    if text is None:
        return "-"
    short = text if len(text) <= VALUE_LIMIT else text[: VALUE_LIMIT - 1] + "…"
    return code(short)
