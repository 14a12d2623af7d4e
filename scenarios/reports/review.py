"""The parts of ``report.html`` that step through a run: a time slider and a message table.

The page stays one self-contained file (no CDN, no framework): every grid cell and every
message row carries its scenario time (``data-t``), and a few lines of script hide what had
not happened yet at the slider's time, and the rows a filter does not match. Opening the page
as ``report.html#t=3600`` sets the slider there (a link to a moment of the run).
"""

from __future__ import annotations

import html
import json

from bureaus.events import Delivered
from scenarios.exercise.deadlines import SECONDS_FROM, when
from scenarios.reports.grid import KnowledgeGrid
from scenarios.reports.maps import MapData, first_traffic
from scenarios.results import RunResult

__all__ = [
    "CELL_WORDS",
    "GRID_COLUMNS",
    "MESSAGE_ROWS",
    "REVIEW_SCRIPT",
    "grid_html",
    "links_json",
    "messages_html",
    "slider_html",
]

MESSAGE_ROWS = 2_000
"""The most deliveries the message table lists (the CSV files have them all)."""


def _end(result: RunResult) -> float:
    figures = result.figures
    last = figures.last_t_s if figures is not None else 0.0
    return max([result.scenario.duration, last, *(e.t_s for e in result.events)])


def links_json(result: RunResult) -> str:
    """When each arrow of the map first happened, for the slider (a JSON island)."""
    data = json.dumps({k: round(v, 3) for k, v in first_traffic(MapData.of(result)).items()})
    data = data.replace("</", "<\\/")  # nothing in it may end the script element
    return f'<script id="review-links" type="application/json">{data}</script>'


def slider_html(result: RunResult, duration_s: float) -> str:
    """The slider over the run's scenario time (it starts at the end: everything shown)."""
    end = _end(result)
    long_run = "0" if duration_s < SECONDS_FROM else "1"
    return (
        f'<div class="review"><label>Step through the run: <input type="range" id="review-t" '
        f'min="0" max="{end:.3f}" step="any" value="{end:.3f}" data-long="{long_run}">'
        f'</label> <output id="review-at"></output></div>'
    )


CELL_WORDS: dict[str, str] = {
    "waiting": "waiting",
    "acknowledged": "ack",
    "received": "received",
    "late": "LATE",
    "overdue": "OVERDUE",
    "blocked": "BLOCKED",
    "missing": "MISSING",
}
"""How a grid cell names its state (the Markdown report and the debrief say the same)."""
GRID_COLUMNS = 7
"""Messages per grid table: wider grids are split, so that none is cut at a page's width."""


def grid_html(grid: KnowledgeGrid, result: RunResult, duration_s: float) -> str:
    """The grid as HTML tables, cells coloured by state.

    Each cell carries what it said at each moment (``data-phases``: from, state, text), so the
    slider shows the grid as it was: ``received`` before an answer, ``OVERDUE`` from the
    deadline on. Without script, the cell shows how it ended.
    """
    end = _end(result)
    tables = []
    for start in range(0, len(grid.messages), GRID_COLUMNS):
        chunk = grid.messages[start : start + GRID_COLUMNS]
        head = "".join(f"<th>{html.escape(n)}</th>" for n in ("bureau", *chunk))
        body = []
        for bureau in grid.bureaus:
            cells = [f"<th>{html.escape(bureau)}</th>"]
            for name in chunk:
                cell = grid.cells.get((bureau, name))
                if cell is None:
                    cells.append('<td class="cell-none"></td>')
                    continue
                phases = [
                    [round(at, 3), state, _cell_text(state, shown, duration_s)]
                    for at, state, shown in cell.phases(end)
                ]
                data = html.escape(json.dumps(phases, ensure_ascii=False), quote=True)
                text = _cell_text(cell.state, cell.t_s, duration_s)
                cells.append(
                    f'<td class="cell-{cell.state}" data-phases="{data}">{html.escape(text)}</td>'
                )
            body.append("<tr>" + "".join(cells) + "</tr>")
        tables.append(
            f'<table class="knowledge"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table>"
        )
    return '<div class="grid">' + "".join(tables) + "</div>"


def _cell_text(state: str, t_s: float | None, duration_s: float) -> str:
    """A cell's word and, on the next line, its scenario time."""
    word = CELL_WORDS[state]
    return word if t_s is None else f"{word}\n{when(t_s, duration_s)}"


def messages_html(result: RunResult, duration_s: float) -> str:
    """Every delivery (up to :data:`MESSAGE_ROWS`), filterable, each row with its time."""
    names = {mid: name for name, mid in result.inject_ids.items()}
    deliveries = [e for e in result.events if isinstance(e, Delivered)]
    rows = []
    for e in deliveries[:MESSAGE_ROWS]:
        message = names.get(e.message_id or "", e.message_kind or "")
        latency = "-" if e.latency_ms is None else f"{e.latency_ms:.1f}"
        cells = [when(e.t_s, duration_s), message, e.peer or "", e.bureau, latency]
        rows.append(
            f'<tr data-t="{e.t_s:.3f}">'
            + "".join(f"<td>{html.escape(c)}</td>" for c in cells)
            + "</tr>"
        )
    more = (
        f"<p>The first {MESSAGE_ROWS:,} of {len(deliveries):,} deliveries; "
        '<a href="deliveries.csv">deliveries.csv</a> has every scripted one.</p>'
        if len(deliveries) > MESSAGE_ROWS
        else ""
    )
    if result.figures is not None:
        more = (
            f"<p>This run was lean: it kept the deliveries of the scripted messages, "
            f"{len(deliveries):,} of {result.figures.delivered:,}; "
            "<code>events.jsonl</code> has every one.</p>" + more
        )
    head = "".join(f"<th>{h}</th>" for h in ("t", "message", "from", "to", "latency ms"))
    return (
        '<h2 id="messages">Messages</h2><p><input id="review-filter" type="search" '
        'placeholder="filter: a bureau, a message name or kind" size="40"></p>'
        + more
        + f'<table id="review-messages"><thead><tr>{head}</tr></thead><tbody>'
        + "".join(rows)
        + "</tbody></table>"
    )


REVIEW_SCRIPT = """<script>
(() => {
  const slider = document.getElementById("review-t");
  const label = document.getElementById("review-at");
  const filter = document.getElementById("review-filter");
  const two = (n) => String(Math.floor(n)).padStart(2, "0");
  const clock = (s) => {  // D+HH:MM, with :SS in short runs, as the tables write it
    const text = Math.floor(s / 86400) + "+" + two((s % 86400) / 3600) + ":" + two((s % 3600) / 60);
    return slider && slider.dataset.long === "1" ? text : text + ":" + two(s % 60);
  };
  const island = document.getElementById("review-links");
  const links = island ? JSON.parse(island.textContent) : {};
  const show = () => {
    const t = slider ? Number(slider.value) : Infinity;
    for (const [id, at] of Object.entries(links)) {  // the map's arrows, from their first use
      const arrow = document.getElementById(id);
      if (arrow) arrow.style.opacity = at > t ? "0" : "";
    }
    const words = filter ? filter.value.trim().toLowerCase() : "";
    document.querySelectorAll("[data-t]").forEach((el) => {
      const at = el.dataset.t === "" ? Infinity : Number(el.dataset.t);
      const unmatched = words && !el.textContent.toLowerCase().includes(words);
      const hidden = at > t || (el.tagName === "TR" && unmatched);
      el.classList.toggle("future", hidden);
    });
    document.querySelectorAll("td[data-phases]").forEach((cell) => {  // the grid as it was at t
      let now = null;
      for (const phase of JSON.parse(cell.dataset.phases)) if (phase[0] <= t) now = phase;
      if (!now) return;
      cell.className = "cell-" + now[1];
      cell.textContent = now[2];
    });
    if (label) label.textContent = "scenario time " + clock(t);
  };
  const wanted = /t=([0-9.]+)/.exec(location.hash);
  if (slider && wanted) slider.value = wanted[1];
  if (slider) slider.addEventListener("input", show);
  if (filter) filter.addEventListener("input", show);
  show();
})();
</script>"""
"""Hides what had not happened by the slider's time, and the rows the filter does not match."""
