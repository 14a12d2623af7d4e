"""Whatever a person wrote is data: made safe for the file, the cell or the page it lands in.

Scenario writers, players and members name injects, bureaus, lessons and notes; those names reach
CSV tables that trainers open in a spreadsheet, Markdown that is rendered as HTML, terminals and
file names. Each place has its own way to be attacked, and its own rule here:

- **Spreadsheet cells** (OWASP's rule for CSV injection): a cell starting with ``=``, ``+``,
  ``-``, ``@``, a tab or a carriage return is a formula to a spreadsheet (``=HYPERLINK(...)``
  sends data away when clicked); it is written with a leading ``'``, which spreadsheets show as
  text and do not store. Numbers we format ourselves are written as they are.
- **Markdown**: raw HTML is escaped (``<``, ``>``, ``&``), table pipes and line breaks too, so a
  name stays one cell of one row and never becomes a tag.
- **File names**: a name becomes one path component (letters, digits, ``.``, ``_``, ``-``), so
  ``../x`` or ``/abs/x`` cannot put a report outside the folder it belongs in.
- **Writing a run's files**: each file is written beside its destination and renamed over it,
  never opened through a symbolic link, so a link planted in a handed-over run directory is
  replaced, not written through.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

from bureaus.keystore import write_atomically

__all__ = [
    "from_spreadsheet_cell",
    "markdown_text",
    "path_component",
    "spreadsheet_cell",
    "write_run_file",
]

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def spreadsheet_cell(text: str) -> str:
    """``text`` as a CSV cell no spreadsheet runs as a formula."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def from_spreadsheet_cell(text: str) -> str:
    """A cell as :func:`spreadsheet_cell` wrote it, read back as the original text."""
    return text[1:] if text.startswith("'") and text[1:].startswith(_FORMULA_START) else text


def markdown_text(text: str) -> str:
    """``text`` for a Markdown paragraph or table cell: no HTML, no table or line breaks."""
    escaped = html.escape(text, quote=False)
    return escaped.replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def path_component(name: str, default: str = "run") -> str:
    """``name`` as one safe file or folder name (never empty, never ``.`` or ``..``)."""
    cleaned = _UNSAFE_NAME.sub("-", name).strip(".-")[:100]
    return cleaned or default


def write_run_file(path: Path, data: bytes | str) -> None:
    """Write a run's file whole, never through a link (:func:`bureaus.keystore.write_atomically`).

    Raises:
        OSError: The folder cannot be written.
    """
    write_atomically(path, data.encode("utf-8") if isinstance(data, str) else data)
