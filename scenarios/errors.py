"""The scenario layer's errors: one tree.

::

    ScenarioLayerError
    ├── ScenarioError      a scenario file that cannot be run: every problem with file and line
    ├── ScenarioRunError   a scenario that cannot run here (broker unreachable, bad --pki ...)
    ├── DebriefError       a run directory the debrief cannot read
    └── ControlError       a controller's action that cannot be done (no such card, message or
                           bureau)

The command line (``scenarios/cli.py``) translates each into one line on standard error and exit
code 2, once, at its boundary; errors of the layers below that reach it are translated there too.
"""

from __future__ import annotations

__all__ = ["ControlError", "ScenarioLayerError"]


class ScenarioLayerError(Exception):
    """Base class of the scenario layer's errors."""


class ControlError(ScenarioLayerError):
    """A controller's action that cannot be done: no such card, message or bureau."""
