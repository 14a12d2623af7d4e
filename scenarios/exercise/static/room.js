// bureaunet room: reload the live part of the page (every data-every ms, a second by default),
// unless the person is typing.
"use strict";
(function () {
  const live = document.getElementById("live");
  if (!live) { return; }
  const source = live.dataset.live;
  const every = Number(live.dataset.every || 1000);
  function typing() {
    const active = document.activeElement;
    if (active && live.contains(active) && active.matches("input, textarea, select")) {
      return true;
    }
    return Array.from(live.querySelectorAll("textarea, input[name=to]")).some(
      (field) => field.value.trim() !== ""
    );
  }
  async function refresh() {
    if (!typing()) {
      try {
        const answer = await fetch(source, { cache: "no-store", credentials: "same-origin" });
        if (answer.ok) {
          live.innerHTML = await answer.text();
          live.dataset.refreshed = String(Date.now());
        }
      } catch (error) {
        live.dataset.offline = "1"; // the server is gone: the exercise has ended
      }
    }
    window.setTimeout(refresh, every);
  }
  window.setTimeout(refresh, every);
})();
