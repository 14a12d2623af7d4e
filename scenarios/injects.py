"""The inject actions: what each kind of inject does when its time comes.

One function per action, chosen by :data:`ACTIONS`; each returns the id of the message whose
delivery the inject's expectations follow (the publication of a notice request, the answer to a
search). The player passes itself in as the stage (:class:`scenarios.stage.Stage`): these are its
actions, kept apart from its timeline.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from protocol import (
    ArrestWarrant,
    Asset,
    BlueNotice,
    CaseMessage,
    Diffusion,
    DocumentQuery,
    GreenNotice,
    MessageBase,
    NominalQuery,
    NoticeRequest,
    RedNotice,
    SearchRequest,
    SilverNotice,
    ToBureaus,
    VehicleQuery,
    YellowNotice,
)
from protocol.errors import DecodeError, Issue
from protocol.messages.gateway import translate
from protocol.messages.iso3166 import ALPHA2
from scenarios.model import (
    CancelNoticeInject,
    CaseMessageAction,
    CaseMessageInject,
    DiffusionAction,
    DiffusionInject,
    ForwardAction,
    ForwardInject,
    Inject,
    NoticeRequestInject,
    RevokeInject,
    RotateKeyInject,
    SearchInject,
    SienaInject,
)
from scenarios.results import resolve
from scenarios.stage import Stage

__all__ = ["act", "search_request"]


def _notice(stage: Stage, action: Any, sender: str) -> Any:
    nationality = sender if sender in ALPHA2 else "FR"
    common: dict[str, Any] = {
        "name": action.name,
        "forename": action.forename,
        "date_of_birth": action.date_of_birth,
        "nationalities": tuple(action.nationalities)
        if action.nationalities is not None
        else (nationality,),
    }
    if action.notice == "red":
        return RedNotice(
            **common,
            arrest_warrants=(ArrestWarrant(issuing_country_id=nationality, charge=action.summary),),
        )
    if action.notice == "yellow":
        return YellowNotice(**common)
    if action.notice == "blue":
        return BlueNotice(**common, information_sought=action.summary)
    if action.notice == "silver":
        return SilverNotice(
            **common,
            predicate_offence=action.summary,
            assets=(
                Asset(
                    asset_type="bank-account",
                    description="Accounts receiving the proceeds",
                    country=nationality,
                ),
            ),
        )
    return GreenNotice(**common, criminal_activity=action.summary)


async def act(stage: Stage, name: str, inject: Inject, mid: UUID, now: datetime) -> str:
    """Perform an inject's action; return the id of the message whose delivery matters."""
    key_id = str(mid)
    match inject:
        case NoticeRequestInject(notice_request=a):
            stage.submit(
                a.sender,
                NoticeRequest(
                    message_id=mid,
                    sender=a.sender,
                    recipients=ToBureaus(bureaus=("gs",)),
                    created_at=now,
                    notice=_notice(stage, a, a.sender),
                    summary_of_facts=a.summary,
                    priority=a.priority,
                ),
            )
            stage.request_ids[name] = (a.sender, mid)
            key_id = str(stage.ctx.ids.publication(mid, a.sender))
            span = _span_review(stage, inject)
            stage.open_deadline(name, "review", str(mid), by=a.sender, to=["gs"], span=span)
        case DiffusionInject(diffusion=d):
            _write(stage, name, inject, d, mid=mid, now=now)
        case CaseMessageInject(case_message=c):
            _write(stage, name, inject, c, mid=mid, now=now)
        case SearchInject(search=q):
            # what matters: the answer comes back
            key_id = str(stage.ctx.ids.search_result(mid, q.sender))
            stage.submit(
                q.sender,
                search_request(
                    stage,
                    mid,
                    sender=q.sender,
                    database=q.database,
                    value=q.value,
                    country=q.country,
                    priority=q.priority,
                ),
            )
            span = stage.span_for(inject, q.priority)
            stage.open_deadline(name, "answer", key_id, by=q.sender, to=["gs"], span=span)
        case CancelNoticeInject(cancel_notice=c):
            await _cancel(stage, mid, c.notice, c.reason)
        case ForwardInject(forward=f):
            _forward(stage, name, inject, f, mid)
        case RevokeInject(revoke=r):
            await stage.net.revoke_bureaus([r.bureau])
            stage.result.revoked_at[r.bureau] = stage.ctx.clock.scenario_s()
        case RotateKeyInject(rotate_key=r):
            _rotate(stage, r.bureau)
        case SienaInject(siena=g):
            _gateway(stage, mid, g.organisation, g.message, name)
    return key_id


def _write(
    stage: Stage,
    name: str,
    inject: Inject,
    spec: DiffusionAction | CaseMessageAction,
    *,
    mid: UUID,
    now: datetime,
) -> None:
    """A diffusion or a case message from a bureau to others, with its acknowledgement deadline."""
    to = resolve(spec.to, stage.roster, exclude=spec.sender)
    common: dict[str, Any] = {
        "message_id": mid,
        "sender": spec.sender,
        "recipients": ToBureaus(bureaus=tuple(to)),
        "created_at": now,
        "priority": spec.priority,
        "handling_code": spec.handling_code,
        "tlp": spec.tlp,
    }
    message: MessageBase
    if isinstance(spec, DiffusionAction):
        message = Diffusion(
            **common,
            diffusion_type=spec.type,
            text=spec.text,
            source_reliability=spec.source_reliability,
            information_accuracy=spec.information_accuracy,
        )
    else:
        message = CaseMessage(
            **common, case_reference=spec.case, subject=spec.subject, body=spec.body
        )
    stage.submit(spec.sender, message)
    span = stage.span_for(inject, spec.priority)
    stage.open_deadline(name, "acknowledgement", str(mid), by=spec.sender, to=to, span=span)


def search_request(
    stage: Stage,
    mid: UUID,
    *,
    sender: str,
    database: str,
    value: str,
    country: str,
    priority: Any = "routine",
) -> SearchRequest:
    """A search of one database (nominal, SLTD or vehicles) by ``sender`` of the GS's records."""
    if database == "nominal":
        query: Any = NominalQuery(name=value)
    elif database == "sltd":
        query = DocumentQuery(document_number=value, issuing_country=country)
    else:
        query = VehicleQuery(vin=value) if len(value) == 17 else VehicleQuery(plate=value)
    return SearchRequest(
        message_id=mid,
        sender=sender,
        recipients=ToBureaus(bureaus=("gs",)),
        created_at=stage.now(),
        query=query,
        priority=priority,
    )


def _span_review(stage: Stage, inject: Inject) -> float:
    return inject.deadline if inject.deadline is not None else stage.s.deadlines.notice_review


def _forward(stage: Stage, name: str, inject: Inject, spec: ForwardAction, mid: UUID) -> None:
    to = resolve(spec.to, stage.roster, exclude=spec.by)
    source = stage.result.inject_ids.get(spec.message)
    original = stage.net.received(spec.by, source) if source is not None else None
    if source is None or original is None:
        stage.note(
            "shed",
            spec.by,
            f"cannot forward {spec.message!r}: {spec.by} has not received it",
            reason="send_failed",
        )
        return
    sent, _breaches = stage.net.forward(spec.by, source, to, mid, permission=spec.permission)
    if not sent:
        return  # blocked by the caveats: the breaches are recorded
    span = stage.span_for(inject, original.priority)
    stage.open_deadline(name, "acknowledgement", str(mid), by=spec.by, to=to, span=span)


async def _cancel(stage: Stage, mid: UUID, notice_name: str, reason: str) -> None:
    request = stage.request_ids.get(notice_name)
    if request is None or not stage.net.cancel_notice(*request, mid, reason):
        stage.note(
            "shed",
            "gs",
            f"cannot cancel {notice_name!r}: not published, or its lifecycle does not allow it",
            reason="send_failed",
        )


def _gateway(stage: Stage, mid: UUID, organisation: str, raw: dict[str, Any], name: str) -> None:
    try:
        message = translate(raw, message_id=mid, created_at=stage.now(), roster=stage.roster)
        if message.sender != organisation:
            raise DecodeError(
                (
                    Issue(
                        "/from_unit",
                        f"{message.sender!r} is not {organisation!r}, whose gateway this is",
                    ),
                ),
                "siena",
            )
    except DecodeError as exc:
        problems = "; ".join(str(issue) for issue in exc.issues)
        stage.net.count(organisation, "rejected:gateway_invalid")
        stage.note(
            "rejected",
            organisation,
            f"gateway refused {name}: {problems}",
            reason="gateway_invalid",
            message_id=str(mid),
        )
        return
    stage.submit(organisation, message)


def _rotate(stage: Stage, bureau: str) -> None:
    # the new certificate is announced to every bureau (in-process distribution)
    serial = stage.net.rotate_keys(bureau)
    stage.note("inject", bureau, f"keys rotated, new certificate {serial}")
