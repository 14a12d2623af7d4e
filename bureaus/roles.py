"""What each role does with what it receives: the General Secretariat's review and databases.

Pure decisions, kept apart from the networking so they can be tested and changed on their own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from protocol import (
    DocumentQuery,
    NominalQuery,
    NoticeRequest,
    SearchHit,
    SearchQuery,
    VehicleQuery,
)

__all__ = ["ARTICLE_3_TERMS", "Databases", "Refusal", "ReviewPolicy"]

# The organisation's constitution forbids activities of a political, military, religious or
# racial character (its Article 3). A rule-based stand-in for the legal review.
ARTICLE_3_TERMS = ("political", "military", "religious", "racial")


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why the General Secretariat refuses a notice request."""

    reason: Literal["missing-fields", "article-3", "insufficient-data", "duplicate", "other"]
    detail: str


@dataclass
class ReviewPolicy:
    """The General Secretariat's checks on a notice request.

    Attributes:
        delay_s: Scenario seconds the review takes.
        refuse_terms: Words in the summary of facts that flag an Article 3 matter.
    """

    delay_s: float = 0.0
    refuse_terms: tuple[str, ...] = ARTICLE_3_TERMS

    def review(self, request: NoticeRequest) -> Refusal | None:
        """``None`` to publish, or the refusal."""
        text = request.summary_of_facts.lower()
        flagged = [t for t in self.refuse_terms if t in text]
        if flagged:
            return Refusal("article-3", f"matter of a {flagged[0]} character")
        notice = request.notice
        if notice.notice_type == "red" and (
            notice.date_of_birth is None or not notice.nationalities
        ):
            return Refusal("missing-fields", "a Red notice needs a date of birth and a nationality")
        return None


@dataclass
class Databases:
    """The General Secretariat's databases, in memory: persons, travel documents, vehicles."""

    persons: dict[str, SearchHit] = field(default_factory=dict)
    documents: dict[tuple[str, str], SearchHit] = field(default_factory=dict)
    vehicles: dict[str, SearchHit] = field(default_factory=dict)

    def search(self, query: SearchQuery) -> tuple[SearchHit, ...]:
        """The records matching a query."""
        if isinstance(query, NominalQuery):
            hit = self.persons.get(query.name.upper())
        elif isinstance(query, DocumentQuery):
            hit = self.documents.get((query.issuing_country, query.document_number))
        elif isinstance(query, VehicleQuery):
            hit = self.vehicles.get(query.vin or "") or self.vehicles.get(query.plate or "")
        else:  # pragma: no cover - the union is closed
            hit = None
        return (hit,) if hit is not None else ()
