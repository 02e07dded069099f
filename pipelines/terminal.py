"""Text bound for a terminal: one line, and nothing in it that a terminal would act on.

Names, emails and error messages come from the API (or a server posing as it) and reach stderr in
error and progress lines and stdout in `usage-pipeline sql` tables; an escape sequence among them
could recolour, move the cursor, retitle the window or hide the rest of a line.
"""

from __future__ import annotations

import re

# C0 and C1 controls (ESC, CR, BEL, ...), DEL, and the bidirectional overrides that reorder a line.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """`text` with each control character shown as its escape (``\\x1b``, ``\\n``, ``\\u202e``)."""
    return _CONTROL.sub(lambda match: match.group().encode("unicode_escape").decode(), text)


def one_line(text: str) -> str:
    """`text` on one printable line: runs of whitespace (newlines too) become one space."""
    return printable(" ".join(text.split()))


def first_line(error: BaseException) -> str:
    """The first line of an error's message: DuckDB and polars add the statement, a caret and hints
    on further lines; the first says what failed."""
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__
