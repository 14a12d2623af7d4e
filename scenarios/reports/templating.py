"""HTML pages from Jinja2 templates, which an organisation may replace with its own.

The templates shipped with bureaunet are in ``scenarios/reports/templates/``. A directory given
with ``--templates DIR`` (or the ``BUREAUNET_TEMPLATES`` environment variable) is searched
first: a ``debrief.html`` there replaces ours, for a logo, a house style or another language.
Copy ours as a start. Templates get the page's parts as prepared HTML (tables, images) and its
texts; autoescaping is on for everything else.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup

from scenarios.errors import ScenarioLayerError

__all__ = ["TemplateError", "html_part", "render"]


class TemplateError(ScenarioLayerError):
    """A page template that cannot be used (missing, or not valid Jinja2): one line."""


def html_part(text: str) -> Markup:
    """HTML the code built (escaped where it had to be), to insert into a template as it is."""
    return Markup(text)  # noqa: S704 - every part is built by our code with html.escape


def render(name: str, context: dict[str, Any], templates: Path | None = None) -> str:
    """Render template ``name`` with ``context``; a user's directory first, then ours.

    Raises:
        TemplateError: The template is missing or broken.
    """
    own = templates or (
        Path(os.environ["BUREAUNET_TEMPLATES"]) if os.environ.get("BUREAUNET_TEMPLATES") else None
    )
    loaders: list[jinja2.BaseLoader] = []
    if own is not None:
        if not own.is_dir():
            raise TemplateError(f"{own}: not a directory of page templates")
        loaders.append(jinja2.FileSystemLoader(own))
    loaders.append(jinja2.PackageLoader("scenarios.reports", "templates"))
    # sandboxed: a template directory handed over by someone else can lay out the page and
    # nothing more (no attribute walks to Python internals, no mutation of what it is given)
    environment = ImmutableSandboxedEnvironment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=jinja2.select_autoescape(default=True),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    try:
        return environment.get_template(name).render(**context)
    except jinja2.TemplateError as exc:
        where = f" line {exc.lineno}" if isinstance(exc, jinja2.TemplateSyntaxError) else ""
        raise TemplateError(f"template {name}{where}: {exc}") from None
