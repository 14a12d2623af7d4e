"""The message models: every kind of message bureaus exchange, as one discriminated union.

Theory of operation: a message is an immutable, tagged value (``kind`` tells which model). All of
them share the fields of :class:`MessageBase` (id, schema version, sender, recipients, creation
time, priority, handling code, TLP marking); each kind adds what its purpose needs. ``created_at``
is always given by the caller: nothing here reads a clock.

The union is validated through one module-level ``TypeAdapter`` (:data:`MESSAGE_ADAPTER`), built
once; :mod:`protocol.messages.codec` is the only place that turns bytes into messages and back.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationInfo,
    field_validator,
    model_validator,
)

from protocol.messages.notices import Notice, PersonNotice
from protocol.messages.schema_rules import (
    outcome_matches_hits_schema,
    published_has_entity_id,
    vin_or_plate_schema,
)
from protocol.messages.types import (
    BureauId,
    Count,
    CountryCode,
    EntityId,
    Flag,
    HandlingCode,
    LongText,
    MessageUuid,
    PartialDate,
    Priority,
    SchemaVersion,
    ShortText,
    Timestamp,
    Tlp,
    at_the_boundary,
    json_number,
)
from protocol.network.roster import Region

__all__ = [
    "MESSAGE_ADAPTER",
    "MESSAGE_KINDS",
    "SCHEMA_VERSION",
    "Acknowledgement",
    "Attachment",
    "CaseMessage",
    "Diffusion",
    "DocumentQuery",
    "Message",
    "MessageBase",
    "NominalQuery",
    "NoticeCancelled",
    "NoticePublished",
    "NoticeRefused",
    "NoticeRequest",
    "NoticeUpdated",
    "Presence",
    "Recipients",
    "SearchHit",
    "SearchQuery",
    "SearchRequest",
    "SearchResult",
    "ToAll",
    "ToBureaus",
    "ToRegion",
    "VehicleQuery",
]

SCHEMA_VERSION = "1.0"
"""The version of the message schema this code writes."""


_CONFIG = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)


class ToBureaus(BaseModel):
    """Addressed to named bureaus."""

    model_config = _CONFIG

    scope: Literal["bureaus"] = "bureaus"
    """Discriminator."""
    bureaus: Annotated[
        tuple[BureauId, ...],
        Field(min_length=1, max_length=1000, json_schema_extra={"uniqueItems": True}),
    ]
    """The recipients, each once."""

    @field_validator("bureaus")
    @classmethod
    def _unique(cls, bureaus: tuple[str, ...]) -> tuple[str, ...]:
        seen: set[str] = set()
        for bureau in bureaus:
            if bureau in seen:
                raise ValueError(f"recipient {bureau!r} is listed twice")
            seen.add(bureau)
        return bureaus


class ToRegion(BaseModel):
    """Addressed to every NCB of one region."""

    model_config = _CONFIG

    scope: Literal["region"] = "region"
    """Discriminator."""
    region: Region
    """The region."""


class ToAll(BaseModel):
    """Addressed to every member country."""

    model_config = _CONFIG

    scope: Literal["all"] = "all"
    """Discriminator."""


Recipients = Annotated[ToBureaus | ToRegion | ToAll, Field(discriminator="scope")]
"""Who a message is for: named bureaus, a region, or all member countries."""


class MessageBase(BaseModel):
    """Fields every message carries."""

    model_config = _CONFIG

    kind: str
    """Which kind of message this is; each subclass narrows it to one literal."""

    @model_validator(mode="before")
    @classmethod
    def _kind_given(cls, data: Any, info: ValidationInfo) -> Any:
        # Code may leave the tag to its default; a document read from outside must carry it,
        # as the exported schemas require (a message without "kind" is not any one message).
        if isinstance(data, dict) and "kind" not in data and at_the_boundary(info):
            raise ValueError(
                f"'kind' is missing: a message says which kind it is ({cls.kind_name()!r})"
            )
        return data

    @classmethod
    def kind_name(cls) -> str:
        """The value of ``kind`` for this model."""
        return str(cls.model_fields["kind"].default)

    message_id: MessageUuid
    """Unique id of this message; replies and acknowledgements refer to it."""
    schema_version: SchemaVersion = SCHEMA_VERSION
    """MAJOR.MINOR version of the schema the sender wrote."""
    sender: BureauId
    """The bureau that wrote the message."""
    recipients: Recipients
    """Who the message is for."""
    created_at: Timestamp
    """When the sender wrote it (given by the caller, with a time zone)."""
    priority: Priority = "routine"
    """How fast it must be handled."""
    handling_code: HandlingCode = "H1"
    """How the information may be used and passed on (H0 ... H3); see
    :mod:`protocol.messages.caveats`."""
    tlp: Tlp | None = None
    """Traffic Light Protocol marking, if any."""
    source_reliability: Literal["A", "B", "C", "X"] | None = None
    """How reliable the source is: A always, B mostly, C not, X cannot be judged."""
    information_accuracy: Annotated[Literal[1, 2, 3, 4], BeforeValidator(json_number)] | None = None
    """How accurate the information is: 1 known true ... 4 cannot be judged."""


# --- Notice lifecycle -----------------------------------------------------------------------


class NoticeRequest(MessageBase):
    """An NCB asks the General Secretariat to publish a notice."""

    kind: Literal["notice-request"] = "notice-request"
    """Discriminator."""
    notice: Notice
    """The draft notice."""
    summary_of_facts: LongText
    """The facts of the case, which the General Secretariat reviews."""


class NoticePublished(MessageBase):
    """The General Secretariat publishes a notice it has reviewed."""

    model_config = ConfigDict(**_CONFIG, json_schema_extra=published_has_entity_id)

    kind: Literal["notice-published"] = "notice-published"
    """Discriminator."""
    notice: Notice
    """The published notice; its ``entity_id`` is set."""
    request_id: MessageUuid | None = None
    """The request this publication answers, if any."""

    @model_validator(mode="after")
    def _has_entity_id(self) -> NoticePublished:
        if self.notice.entity_id is None:
            raise ValueError("a published notice needs an entity_id")
        return self


class NoticeUpdated(MessageBase):
    """A published notice is amended."""

    kind: Literal["notice-updated"] = "notice-updated"
    """Discriminator."""
    entity_id: EntityId
    """The notice being updated."""
    revision: Annotated[Count, Field(ge=1)]
    """Revision number, counting from 1 for the first update."""
    notice: Notice
    """The notice as it now stands."""


class NoticeCancelled(MessageBase):
    """A published notice is withdrawn."""

    kind: Literal["notice-cancelled"] = "notice-cancelled"
    """Discriminator."""
    entity_id: EntityId
    """The notice being cancelled."""
    reason: LongText
    """Why (for example: the person was arrested, the warrant was withdrawn)."""


class NoticeRefused(MessageBase):
    """The General Secretariat refuses a notice request."""

    kind: Literal["notice-refused"] = "notice-refused"
    """Discriminator."""
    request_id: MessageUuid
    """The request refused."""
    reason: Literal["missing-fields", "article-3", "insufficient-data", "duplicate", "other"]
    """Why: ``article-3`` is a matter of a political, military, religious or racial character."""
    detail: LongText | None = None
    """Explanation for the requesting bureau."""


# --- Direct exchanges -----------------------------------------------------------------------


class Diffusion(MessageBase):
    """A bureau's direct request or alert to chosen bureaus, without prior review."""

    kind: Literal["diffusion"] = "diffusion"
    """Discriminator."""
    diffusion_type: Literal["wanted", "missing", "information", "warning", "locate"]
    """What is asked of the recipients."""
    text: LongText
    """The request or alert."""
    subject: PersonNotice | None = None
    """The person concerned, if any."""
    response_requested: Flag = False
    """Whether the sender expects an answer."""


class Attachment(BaseModel):
    """Metadata of a file attached to a case message (the file itself does not travel)."""

    model_config = _CONFIG

    filename: Annotated[str, Field(min_length=1, max_length=255, pattern=r"^[^/\\\x00]+$")]
    """File name, without directories."""
    media_type: Annotated[str, Field(pattern=r"^[a-z]+/[A-Za-z0-9.+-]+$")]
    """MIME type, such as ``application/pdf``."""
    size_bytes: Annotated[Count, Field(ge=0)]
    """Size of the file."""
    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    """SHA-256 of the file, lower-case hex."""


class CaseMessage(MessageBase):
    """Bilateral or multilateral correspondence on a case."""

    kind: Literal["case-message"] = "case-message"
    """Discriminator."""
    case_reference: Annotated[str, Field(pattern=r"^[A-Z0-9][A-Z0-9/.-]{2,63}$")]
    """The case this message belongs to, such as ``FR/2026/0042``."""
    subject: ShortText
    """Subject line."""
    body: LongText
    """Message text."""
    attachments: tuple[Attachment, ...] = ()
    """Files referred to."""
    in_reply_to: MessageUuid | None = None
    """The message this one answers, if any."""


# --- Database searches ----------------------------------------------------------------------


class NominalQuery(BaseModel):
    """Search the nominal database (persons)."""

    model_config = _CONFIG

    database: Literal["nominal"] = "nominal"
    """Discriminator."""
    name: ShortText
    """Family name."""
    forename: ShortText | None = None
    """Given names."""
    date_of_birth: PartialDate | None = None
    """Date of birth; may be partial."""
    nationality: CountryCode | None = None
    """A nationality, ISO 3166-1 alpha-2."""


class DocumentQuery(BaseModel):
    """Search the stolen and lost travel documents database."""

    model_config = _CONFIG

    database: Literal["sltd"] = "sltd"
    """Discriminator."""
    document_number: Annotated[str, Field(pattern=r"^[A-Z0-9]{5,20}$")]
    """The document's number."""
    issuing_country: CountryCode
    """The country that issued it."""
    document_type: Literal["passport", "id-card", "visa", "other"] = "passport"
    """What kind of document it is."""


class VehicleQuery(BaseModel):
    """Search the stolen motor vehicles database, by VIN or by plate."""

    model_config = ConfigDict(**_CONFIG, json_schema_extra=vin_or_plate_schema)

    database: Literal["smv"] = "smv"
    """Discriminator."""
    vin: Annotated[str, Field(pattern=r"^[A-HJ-NPR-Z0-9]{17}$")] | None = None
    """Vehicle identification number (ISO 3779: 17 characters, no I, O or Q)."""
    plate: Annotated[str, Field(pattern=r"^[A-Z0-9 -]{2,15}$")] | None = None
    """Registration plate."""
    registration_country: CountryCode | None = None
    """The country of registration of the plate."""

    @model_validator(mode="after")
    def _vin_or_plate(self) -> VehicleQuery:
        if self.vin is None and self.plate is None:
            raise ValueError("a vehicle search needs a vin or a plate")
        return self


SearchQuery = Annotated[
    NominalQuery | DocumentQuery | VehicleQuery, Field(discriminator="database")
]
"""A query against one of the databases, told apart by ``database``."""


class SearchRequest(MessageBase):
    """A database search, addressed to the bureau that holds the database."""

    kind: Literal["search-request"] = "search-request"
    """Discriminator."""
    query: SearchQuery
    """What to look for, and where."""


class SearchHit(BaseModel):
    """One record that matched a search."""

    model_config = _CONFIG

    record_id: ShortText
    """The matching record's id in its database."""
    summary: ShortText
    """What the record says, in short."""
    owner: BureauId
    """The bureau that entered the record, to be contacted for follow-up."""
    entity_id: EntityId | None = None
    """The notice the record belongs to, if any."""


class SearchResult(MessageBase):
    """The answer to a search request: a hit with its records, or no hit."""

    model_config = ConfigDict(**_CONFIG, json_schema_extra=outcome_matches_hits_schema)

    kind: Literal["search-result"] = "search-result"
    """Discriminator."""
    request_id: MessageUuid
    """The search this answers."""
    outcome: Literal["hit", "no-hit"]
    """Whether anything matched."""
    hits: Annotated[tuple[SearchHit, ...], Field(max_length=100)] = ()
    """The matching records (empty for no hit)."""

    @model_validator(mode="after")
    def _outcome_matches_hits(self) -> SearchResult:
        if self.outcome == "hit" and not self.hits:
            raise ValueError("outcome 'hit' needs at least one hit")
        if self.outcome == "no-hit" and self.hits:
            raise ValueError("outcome 'no-hit' cannot carry hits")
        return self


# --- Acknowledgements and presence ----------------------------------------------------------


class Acknowledgement(MessageBase):
    """A recipient confirms what it did with a message."""

    kind: Literal["acknowledgement"] = "acknowledgement"
    """Discriminator."""
    refers_to: MessageUuid
    """The acknowledged message."""
    status: Literal["received", "read", "actioned"]
    """How far the recipient got."""


class Presence(MessageBase):
    """A bureau announces that it came online (birth) or went away (death)."""

    kind: Literal["presence"] = "presence"
    """Discriminator."""
    status: Literal["birth", "death"]
    """Online or offline."""


Message = Annotated[
    NoticeRequest
    | NoticePublished
    | NoticeUpdated
    | NoticeCancelled
    | NoticeRefused
    | Diffusion
    | CaseMessage
    | SearchRequest
    | SearchResult
    | Acknowledgement
    | Presence,
    Field(discriminator="kind"),
]
"""Any message, told apart by ``kind``."""

MESSAGE_ADAPTER: TypeAdapter[Message] = TypeAdapter(Message)
"""Validates and serialises the union; built once, reused everywhere."""

MESSAGE_KINDS: dict[str, type[MessageBase]] = {
    cls.model_fields["kind"].default: cls
    for cls in (
        NoticeRequest,
        NoticePublished,
        NoticeUpdated,
        NoticeCancelled,
        NoticeRefused,
        Diffusion,
        CaseMessage,
        SearchRequest,
        SearchResult,
        Acknowledgement,
        Presence,
    )
}
"""Each message kind's name and model."""
