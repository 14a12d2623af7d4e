"""Schema versions and how bureaus on different versions talk to each other.

Theory of operation. Every message says which schema version it was written to (MAJOR.MINOR,
also in the envelope's signed header). A receiver accepts its own major version only; anything
else is refused with ``unsupported_version``. Within a major version, a newer minor may only add
optional fields (``bureaunet schema diff`` says whether a change is compatible), so a receiver on
an older minor accepts such a message and ignores the fields it does not know. A receiver never
loosens anything else.

Version 1.1 is defined here as the first such evolution, and used by scenarios that mix versions:
a diffusion may say which language its text is in.
"""

from __future__ import annotations

from typing import Literal

from protocol.errors import ArgumentError
from protocol.messages.models import SCHEMA_VERSION, Diffusion, MessageBase
from protocol.messages.types import LanguageCode

__all__ = ["KNOWN_VERSIONS", "DiffusionV1_1", "major_of", "minor_of", "model_for", "written_as"]

KNOWN_VERSIONS = ("1.0", "1.1", "2.0")
"""Versions a simulated bureau can be set to run (2.0 stands for an incompatible future)."""


def major_of(version: str) -> int:
    """The major part of ``MAJOR.MINOR``."""
    return int(version.split(".", 1)[0])


def minor_of(version: str) -> int:
    """The minor part of ``MAJOR.MINOR``."""
    return int(version.split(".", 1)[1])


class DiffusionV1_1(Diffusion):  # noqa: N801 - the version is part of the name
    """A diffusion as schema version 1.1 writes it: with the language of its text."""

    schema_version: Literal["1.1"] = "1.1"
    """Always 1.1."""
    language: LanguageCode | None = None
    """Language of ``text`` (added in 1.1, optional)."""


def model_for(kind: str, version: str) -> type[MessageBase] | None:
    """The model for ``kind`` written as ``version``, when it is not the 1.0 model."""
    if kind == "diffusion" and major_of(version) == 1 and minor_of(version) >= 1:
        return DiffusionV1_1
    return None


def written_as(message: MessageBase, version: str) -> MessageBase:
    """The message as a bureau running ``version`` writes it.

    Raises:
        ArgumentError: An unknown version.
    """
    if version not in KNOWN_VERSIONS:
        raise ArgumentError(f"unknown schema version {version!r}")
    if version in (SCHEMA_VERSION, message.schema_version):
        return message
    if version == "1.1" and isinstance(message, Diffusion):
        fields = message.model_dump(exclude={"schema_version"})
        return DiffusionV1_1(**fields, language="ENG")
    return message.model_copy(update={"schema_version": version})
