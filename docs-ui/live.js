// Joins a live room with a ticket (from the form, or the page's #ticket=… fragment), follows
// the leader's piece and page, and resumes after a drop with ?since= the last seq it saw.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  let seq = 0;
  let ticketUsed = false;

  function show(state) {
    $("leader").textContent = state.leader ?? "nobody";
    $("piece").textContent = state.item_id ?? "–";
    $("page").textContent = state.page ?? "–";
    if (state.version !== undefined) $("version").textContent = state.version;
  }

  function log(text) {
    const li = document.createElement("li");
    li.textContent = text;
    $("events").prepend(li);
    while ($("events").children.length > 50) $("events").lastChild.remove();
  }

  function connect(ticket) {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const since = ticketUsed ? `?since=${seq}` : "";
    ticketUsed = true;
    const ws = new WebSocket(`${scheme}://${location.host}/v1/live/${encodeURIComponent(ticket)}${since}`);
    $("status").textContent = "connecting";
    ws.onopen = () => { $("status").textContent = "connected"; };
    ws.onclose = (e) => { $("status").textContent = `closed (${e.code})`; };
    ws.onmessage = (e) => {
      const f = JSON.parse(e.data);
      if (typeof f.seq === "number") seq = Math.max(seq, f.seq);
      if (f.type === "hello") {
        $("role").textContent = f.role;
        $("online").textContent = f.online.length;
        show(f.state);
      } else if (f.type === "state") {
        show(f);
      } else if (f.type === "presence") {
        $("online").textContent = f.online.length;
      } else if (f.type === "setlist_changed") {
        $("version").textContent = f.version;
      }
      log(f.type === "error" ? `error ${f.code}: ${f.message}` : f.type);
    };
    // Keep idle connections alive; the room answers without waking up.
    const ping = setInterval(() => {
      if (ws.readyState === WebSocket.OPEN) ws.send('{"type":"ping"}');
      else if (ws.readyState === WebSocket.CLOSED) clearInterval(ping);
    }, 30000);
  }

  $("join").addEventListener("submit", (e) => {
    e.preventDefault();
    connect($("ticket").value.trim());
  });
  const fromHash = new URLSearchParams(location.hash.slice(1)).get("ticket");
  if (fromHash) {
    $("ticket").value = fromHash;
    connect(fromHash);
  }
})();
