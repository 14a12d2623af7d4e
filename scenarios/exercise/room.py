"""The room: each player's bureau on their own screen, and the facilitator's page.

Theory of operation. ``bureaunet exercise SCENARIO --serve`` runs the exercise headless and serves
a small ASGI application (Starlette under uvicorn, in the run's own event loop) with one page per
played bureau and one for the facilitator. Every page reads the run through the
:class:`~scenarios.exercise.control.ExerciseControl` and every button sends one of its commands
(acknowledge, reply, forward; pause, resume, an ad-hoc inject, a bureau down or up, a bookmark,
the end): the room re-implements no rule, so an answer given here counts exactly as one given at
the terminal (a reply or a permitted forward answers the message; a refused forward leaves it).

Access is by capability link (as a shared document's): each page's URL carries a token of 192
random bits, made fresh for every exercise; a token opens its own page and nothing else, and a
request without a valid one gets a plain 404. The tokens are printed on the facilitator's
terminal (and shown on the facilitator's page) to hand out. Every form carries a value derived
from the page's token (HMAC-SHA256 under a per-exercise secret) and a POST from another origin is
refused, so a page elsewhere cannot make a player's browser act. Pages are server-rendered from
Jinja2 templates with autoescaping in its sandbox, carry a Content-Security-Policy that allows
only the room's own script and style (shipped in the package, nothing from a CDN), and are not
cached; the server listens on loopback unless told otherwise.

A small script of our own (``static/room.js``) reloads the live part of a page from its ``/live``
fragment (a player's every second, the facilitator's twice a second, so a player's answer shows
there within a second: ``bench/room.py``), and holds off while the person is typing, so nothing
they write is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from importlib import resources
from typing import Any
from urllib.parse import quote, urlsplit

import jinja2
import uvicorn
from jinja2.sandbox import ImmutableSandboxedEnvironment
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from scenarios.errors import ControlError
from scenarios.exercise.control import ExerciseControl
from scenarios.exercise.deadlines import clock_label, pace_label, span_label

__all__ = ["Room", "serve"]

_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    # the token is in the URL: never sent to another site (same-origin, not no-referrer: with
    # no-referrer the browser's own form posts carry `Origin: null`, which is then refused)
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}
_NOT_FOUND = "nothing here\n"


def _environment() -> jinja2.Environment:
    return ImmutableSandboxedEnvironment(
        loader=jinja2.PackageLoader("scenarios.exercise", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )


def _static(name: str) -> bytes:
    return resources.files("scenarios.exercise").joinpath("static", name).read_bytes()


@dataclass
class Room:
    """The capability links of one exercise and the application that serves them.

    Args:
        control: The run's control (bound to the run before requests are served).
        base: The address the links are printed with (``http://host:port``).
    """

    control: ExerciseControl
    base: str = ""
    facilitator: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    """The facilitator's token."""
    players: dict[str, str] = field(default_factory=dict)
    """Played bureau → its player's token."""
    _secret: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)
    _env: jinja2.Environment = field(default_factory=_environment, repr=False)
    _by_token: dict[str, str] = field(default_factory=dict, repr=False)

    def open_for(self, bureaus: list[str]) -> None:
        """Make one player's link for each played bureau."""
        for bureau in bureaus:
            token = self.players.setdefault(bureau, secrets.token_urlsafe(24))
            self._by_token[token] = bureau

    def links(self) -> dict[str, str]:
        """``facilitator`` and each played bureau → its page's address."""
        out = {"facilitator": f"{self.base}/run/{self.facilitator}"}
        out.update({b: f"{self.base}/play/{t}" for b, t in sorted(self.players.items())})
        return out

    # --- the application ------------------------------------------------------------------

    def app(self) -> Starlette:
        """The ASGI application."""
        return Starlette(
            routes=[
                Route("/static/{name}", self._asset),
                Route("/play/{token}", self._player_page),
                Route("/play/{token}/live", self._player_live),
                Route("/play/{token}/{command}", self._player_command, methods=["POST"]),
                Route("/run/{token}", self._facilitator_page),
                Route("/run/{token}/live", self._facilitator_live),
                Route("/run/{token}/{command}", self._facilitator_command, methods=["POST"]),
            ]
        )

    def _csrf(self, token: str) -> str:
        return hmac.new(self._secret, token.encode(), hashlib.sha256).hexdigest()[:32]

    def _page(self, template: str, status: int = 200, **context: Any) -> Response:
        page = self._env.get_template(template).render(**context)
        return HTMLResponse(page, status_code=status, headers=_SECURITY_HEADERS)

    @staticmethod
    def _nothing() -> Response:
        return PlainTextResponse(_NOT_FOUND, status_code=404, headers=_SECURITY_HEADERS)

    async def _asset(self, request: Request) -> Response:
        name = request.path_params["name"]
        kinds = {"room.js": "text/javascript", "room.css": "text/css"}
        if name not in kinds:
            return self._nothing()
        return Response(_static(name), media_type=kinds[name], headers=_SECURITY_HEADERS)

    def _bureau_of(self, request: Request) -> str | None:
        token = str(request.path_params["token"])
        for known, bureau in self._by_token.items():
            if hmac.compare_digest(known, token):
                return bureau
        return None

    def _is_facilitator(self, request: Request) -> bool:
        return hmac.compare_digest(str(request.path_params["token"]), self.facilitator)

    async def _checked_form(self, request: Request) -> dict[str, str] | None:
        """The form of a POST from this room's own page (``None``: refused)."""
        origin = request.headers.get("origin")
        if origin is not None and urlsplit(origin).netloc != request.headers.get("host"):
            return None
        form = await request.form()
        values = {k: v for k, v in form.multi_items() if isinstance(v, str)}
        expected = self._csrf(str(request.path_params["token"]))
        if not hmac.compare_digest(values.get("csrf", ""), expected):
            return None
        return values

    # --- a player's page ------------------------------------------------------------------

    def _player_context(self, request: Request, bureau: str) -> dict[str, Any]:
        token = str(request.path_params["token"])
        context: dict[str, Any] = {
            "bureau": bureau,
            "token": token,
            "csrf": self._csrf(token),
            "note": request.query_params.get("note", "")[:300],
            "ready": self.control.ready,
            "lessons": [],
        }
        if not self.control.ready:
            return context
        context["lessons"] = list(enumerate(self.control.lessons()))
        view = self.control.player_view(bureau)
        context.update(
            clock=clock_label(view.scenario_s),
            paused=view.paused,
            finished=view.finished,
            inbox=[
                {
                    "id": m.message_id,
                    "kind": m.kind,
                    "sender": m.sender,
                    "priority": m.priority,
                    "handling": m.handling_code,
                    "tlp": m.tlp,
                    "text": m.text,
                    "due": clock_label(m.due_s) if m.due_s is not None else "",
                    "left": _left(m.due_s, view.scenario_s),
                }
                for m in view.inbox
            ],
            sent=[{"at": clock_label(t), "kind": kind, "to": to} for t, kind, to in view.sent],
        )
        return context

    async def _player_page(self, request: Request) -> Response:
        bureau = self._bureau_of(request)
        if bureau is None:
            return self._nothing()
        return self._page("room_player.html", **self._player_context(request, bureau))

    async def _player_live(self, request: Request) -> Response:
        bureau = self._bureau_of(request)
        if bureau is None:
            return self._nothing()
        return self._page("room_player_live.html", **self._player_context(request, bureau))

    async def _player_command(self, request: Request) -> Response:
        bureau = self._bureau_of(request)
        if bureau is None:
            return self._nothing()
        actions: dict[str, Callable[[str, dict[str, str]], str]] = {
            "answer": self._answer,
            "reply": self._reply,
            "forward": self._forward,
            "lesson": self._lesson,
        }
        action = actions.get(str(request.path_params["command"]))
        if action is None:
            return self._nothing()

        async def act(form: dict[str, str]) -> str:
            return action(bureau, form)

        return await self._command(request, act, f"/play/{request.path_params['token']}")

    async def _command(
        self,
        request: Request,
        act: Callable[[dict[str, str]], Awaitable[str]],
        back: str,
    ) -> Response:
        """One command from a page's form: checked, sent to the control, and said back."""
        form = await self._checked_form(request)
        if form is None:
            return PlainTextResponse("refused\n", status_code=403, headers=_SECURITY_HEADERS)
        try:
            if not self.control.ready:
                raise ControlError("the exercise has not started yet")
            said = await act(form)
        except ControlError as exc:
            said = f"not done: {exc}"
        return RedirectResponse(
            f"{back}?note={quote(said)}", status_code=303, headers=_SECURITY_HEADERS
        )

    def _answer(self, bureau: str, form: dict[str, str]) -> str:
        self.control.answer(bureau, form.get("message_id", ""), "actioned")
        return "acknowledged"

    def _reply(self, bureau: str, form: dict[str, str]) -> str:
        text = form.get("text", "").strip()
        if not text:
            raise ControlError("the reply is empty")
        self.control.reply(bureau, form.get("message_id", ""), text[:4000])
        return "reply sent: that answers it"

    def _forward(self, bureau: str, form: dict[str, str]) -> str:
        mid = form.get("message_id", "")
        breaches = self.control.forward(
            bureau, mid, _bureaus(form.get("to", "")), permission=form.get("permission") == "yes"
        )
        if any(m.message_id == mid for m in self.control.player_view(bureau).inbox):
            return f"not forwarded: it would break {breaches} caveat(s); answer it another way"
        flagged = f" ({breaches} caveat breach(es) flagged)" if breaches else ""
        return "forwarded: that answers it" + flagged

    def _lesson(self, bureau: str, form: dict[str, str]) -> str:
        try:
            index = int(form.get("index", ""))
        except ValueError:
            raise ControlError("no such question") from None
        self.control.lesson(bureau, index, form.get("text", ""))
        return "your answer is kept for the debrief"

    # --- the facilitator's page -------------------------------------------------------------

    def _facilitator_context(self, request: Request) -> dict[str, Any]:
        context: dict[str, Any] = {
            "token": self.facilitator,
            "csrf": self._csrf(self.facilitator),
            "note": request.query_params.get("note", "")[:300],
            "ready": self.control.ready,
            "links": self.links(),
        }
        if not self.control.ready:
            return context
        control = self.control
        snap = control.snapshot()
        played = control.played()
        context.update(
            clock=clock_label(snap.scenario_s),
            end=clock_label(snap.duration_s),
            paused=snap.paused,
            finished=snap.finished,
            speed=pace_label(snap.speed),
            played=[(b, len(snap.inboxes.get(b, []))) for b in played],
            senders=[b for b in control.bureaus() if b not in played],
            bureaus=control.bureaus(),
            online=[(region, up, total) for region, (up, total) in snap.online.items()],
            deadlines=[
                {
                    "name": d.name,
                    "kind": d.kind,
                    "waiting": ", ".join(sorted(d.waiting_for)),
                    "due": clock_label(d.due_s),
                    "left": _left(d.due_s, snap.scenario_s),
                }
                for d in snap.deadlines
            ],
            expectations=[
                {"name": e.name, "state": state, "detail": e.detail}
                for e, state in zip(snap.expectations, snap.states, strict=True)
            ],
            log=list(reversed(snap.log)),
        )
        return context

    async def _facilitator_page(self, request: Request) -> Response:
        if not self._is_facilitator(request):
            return self._nothing()
        return self._page("room_facilitator.html", **self._facilitator_context(request))

    async def _facilitator_live(self, request: Request) -> Response:
        if not self._is_facilitator(request):
            return self._nothing()
        return self._page("room_facilitator_live.html", **self._facilitator_context(request))

    async def _facilitator_command(self, request: Request) -> Response:
        if not self._is_facilitator(request):
            return self._nothing()
        actions: dict[str, Callable[[dict[str, str]], Awaitable[str]]] = {
            "pause": self._pause,
            "resume": self._resume,
            "inject": self._inject,
            "down": self._down,
            "up": self._up,
            "bookmark": self._bookmark,
            "end": self._end,
        }
        action = actions.get(str(request.path_params["command"]))
        if action is None:
            return self._nothing()
        return await self._command(request, action, f"/run/{self.facilitator}")

    async def _pause(self, _form: dict[str, str]) -> str:
        self.control.pause()
        return "paused"

    async def _resume(self, _form: dict[str, str]) -> str:
        self.control.resume()
        return "running"

    async def _inject(self, form: dict[str, str]) -> str:
        name = self.control.send_adhoc(
            form.get("sender", ""),
            _bureaus(form.get("to", "")),
            form.get("text", "").strip()[:4000] or "Please check your records.",
            priority=form.get("priority", "routine"),
        )
        return f"sent as {name}"

    async def _down(self, form: dict[str, str]) -> str:
        await self.control.take_down(form.get("bureau", ""))
        return f"{form.get('bureau')} is offline"

    async def _up(self, form: dict[str, str]) -> str:
        await self.control.bring_up(form.get("bureau", ""))
        return f"{form.get('bureau')} is back online"

    async def _bookmark(self, form: dict[str, str]) -> str:
        self.control.bookmark(form.get("text", "").strip()[:500] or "bookmark")
        return "bookmarked"

    async def _end(self, form: dict[str, str]) -> str:
        if form.get("sure") != "yes":
            raise ControlError("tick 'yes, end it now' to end the exercise")
        self.control.stop()
        return "ending: the report is written when traffic has settled"


def _bureaus(field: str) -> list[str]:
    """Bureau ids as people type them in a form: ``nl, BE`` is ``["NL", "BE"]``."""
    return [b.strip().upper() for b in field.split(",") if b.strip()]


def _left(due_s: float | None, now_s: float) -> str:
    if due_s is None:
        return ""
    left = due_s - now_s
    return f"in {span_label(left)}" if left >= 0 else f"{span_label(-left)} late"


@contextlib.asynccontextmanager
async def serve(room: Room, host: str = "127.0.0.1", port: int = 0) -> Any:
    """Serve ``room`` until the block ends; ``room.base`` is set to where it listens.

    Raises:
        ControlError: The server could not listen there.
    """
    config = uvicorn.Config(
        room.app(), host=host, port=port, log_level="warning", lifespan="off", access_log=False
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(), name="room.server")
    while not server.started:
        if task.done():
            raise ControlError(f"the room could not listen on {host}:{port}")
        await asyncio.sleep(0.02)
    bound = server.servers[0].sockets[0].getsockname()
    shown = f"[{bound[0]}]" if ":" in str(bound[0]) else str(bound[0])
    room.base = f"http://{shown}:{bound[1]}"
    try:
        yield room
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await task
