// Live updates for the staff dashboard and the admin: one WebSocket per page to
// /ws/dashboard/, subscribed to the groups of the campaigns and calls the page shows.
// After every (re)connect the page catches up from the database (a JSON endpoint), so
// nothing is lost while the socket was down. No framework; the server renders the first
// state and this module keeps it current.

import { localizeTimes } from "./times.js";

const RANK = { queued: 0, initiated: 1, ringing: 2, "in-progress": 3 }; // finals rank 4
const rank = (status) => (status in RANK ? RANK[status] : 4);
const LABELS = {
  queued: "Queued", initiated: "Initiated", ringing: "Ringing", "in-progress": "In progress",
  completed: "Completed", busy: "Busy", failed: "Failed", "no-answer": "No answer", canceled: "Canceled",
};

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "className") node.className = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child ?? "");
  return node;
}

export function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  const mm = h ? String(m).padStart(2, "0") : String(m);
  return (h ? `${h}:` : "") + `${mm}:${String(r).padStart(2, "0")}`;
}

// --- the socket -------------------------------------------------------------------------

export function connect({ campaigns = [], calls = [], extra = {}, onEvent, onSync }) {
  const indicator = document.getElementById("live-state");
  let attempt = 0;
  const show = (text, cls) => {
    if (!indicator) return;
    indicator.hidden = false;
    indicator.textContent = text;
    indicator.className = `live-state ${cls}`;
  };
  let socket = null;
  const open = () => {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(`${scheme}://${location.host}/ws/dashboard/`);
    socket.addEventListener("open", () => {
      socket.send(JSON.stringify({ action: "subscribe", campaigns, calls, ...extra }));
    });
    socket.addEventListener("message", (e) => {
      const message = JSON.parse(e.data);
      if (message.type === "subscribed") {
        attempt = 0;
        show("● Live", "live");
        // Subscribed first, then read the database: an event can arrive twice, never be missed.
        if (onSync) onSync();
      } else if (message.type === "batch") {
        // The server sends a few batches a second at most; each holds the latest of everything.
        if (onEvent) message.events.forEach(onEvent);
      } else if (onEvent) {
        onEvent(message);
      }
    });
    socket.addEventListener("close", () => {
      // 1 s, 2 s, 4 s … up to 30 s, with jitter so a restarted server is not stampeded.
      const delay = Math.min(30000, 1000 * 2 ** attempt) * (0.5 + Math.random() / 2);
      attempt += 1;
      show("Reconnecting…", "down");
      setTimeout(open, delay);
    });
  };
  open();
  // What a page says on the open socket besides subscribing (listening in).
  return { send: (message) => socket.readyState === WebSocket.OPEN && socket.send(JSON.stringify(message)) };
}

async function getJSON(url) {
  const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
  if (!response.ok) throw new Error(`${url}: ${response.status}`);
  return response.json();
}

function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

// --- durations tick once a second for every [data-since] ------------------------------------

function tick() {
  const now = Date.now();
  for (const node of document.querySelectorAll("[data-since]")) {
    const since = Date.parse(node.dataset.since);
    if (!Number.isNaN(since)) node.textContent = clock((now - since) / 1000);
  }
}

// --- status badges anywhere on a page: [data-call-status="<id>"] -----------------------------

function setBadge(node, call) {
  if (rank(call.status) < rank(node.dataset.status || "queued")) return; // never move backwards
  node.dataset.status = call.status;
  node.textContent = call.status_display || LABELS[call.status] || call.status;
  node.className = node.className.replace(/\bstatus-\S+/g, "").trim() + ` status-${call.status}`;
}

function updateBadges(call) {
  for (const node of document.querySelectorAll(`[data-call-status="${call.id}"]`)) setBadge(node, call);
}

// --- campaign summaries: [data-campaign-row="<id>"] [data-summary=…] ------------------------

function renderOutcomes(container, outcomes) {
  container.replaceChildren();
  if (!outcomes.length) container.append(el("span", { className: "muted" }, "—"));
  for (const o of outcomes) {
    container.append(el("span", { className: `chip outcome-${o.value}` }, `${o.label} ${o.count}`), " ");
  }
}

export function updateSummary(summary) {
  for (const row of document.querySelectorAll(`[data-campaign-row="${summary.id}"]`)) {
    for (const node of row.querySelectorAll("[data-summary]")) {
      const field = node.dataset.summary;
      if (field === "status") {
        node.textContent = summary.status_display;
        node.className = `badge status-${summary.status}`;
      } else if (field === "status_reason") node.textContent = summary.status_reason;
      else if (field === "bar") node.style.width = `${summary.percent_done}%`;
      else if (field === "progress") node.textContent = `${summary.lead_done} / ${summary.lead_total}`;
      else if (field === "live_calls") node.textContent = summary.live_calls;
      else if (field === "answer_rate") node.textContent = summary.answer_rate === null ? "—" : `${summary.answer_rate}%`;
      else if (field === "outcomes") renderOutcomes(node, summary.outcomes);
    }
    // The controls this status allows (Resume once paused, no Pause …).
    for (const node of row.querySelectorAll("[data-shown-when]")) {
      node.hidden = !node.dataset.shownWhen.split(" ").includes(summary.status);
    }
  }
  // Leads imported since the campaign page loaded: said, the table left on its page.
  const added = document.querySelector(`#leads-added[data-campaign="${summary.id}"]`);
  const more = added ? summary.lead_total - Number(added.dataset.leadTotal) : 0;
  if (more > 0) {
    added.querySelector("[data-count]").textContent = `${more} ${more === 1 ? "lead" : "leads"} added since this page loaded.`;
    added.hidden = false;
    // The link is the page's own address: following it would only scroll, so it reloads.
    added.querySelector("a").onclick = (event) => { event.preventDefault(); location.reload(); };
  }
}

// --- a campaign's timeline: [data-campaign-timeline="<id>"], as the server renders it ------

const timelines = new Map(); // campaign id → the HTML shown (the page's own times are localized)

function showTimeline(campaignId, html) {
  const list = document.querySelector(`[data-campaign-timeline="${campaignId}"]`);
  if (!list || timelines.get(campaignId) === html) return;
  timelines.set(campaignId, html);
  list.innerHTML = html;
  localizeTimes(list);
}

// --- parts of a page the server renders, by element id --------------------------------------

const shownParts = new Map(); // element id → the HTML last put there

function showParts(parts) {
  for (const [id, html] of Object.entries(parts)) {
    const node = document.getElementById(id);
    // Compared with what was last received, not with innerHTML: localized times differ from
    // the server's, and a recording's player must not restart on every catch-up.
    if (!node || html === undefined || shownParts.get(id) === html) continue;
    shownParts.set(id, html);
    node.innerHTML = html;
    localizeTimes(node);
  }
}

// --- the campaign page's figures: charts, Recent calls, the leads it shows ------------------

function rowsFrom(html) {
  const template = document.createElement("template");
  template.innerHTML = `<table><tbody>${html}</tbody></table>`;
  return [...template.content.querySelector("tbody").children];
}

function applyFigures(figures) {
  updateSummary(figures.campaign);
  document.dispatchEvent(new CustomEvent("campaign-figures", { detail: figures.chart }));
  const recent = document.querySelector("#recent-calls-table tbody");
  if (recent) {
    recent.replaceChildren(...rowsFrom(figures.recent_calls_html));
    localizeTimes(recent);
  }
  showParts(figures.html);
  for (const [id, html] of Object.entries(figures.leads)) {
    const row = document.querySelector(`#leads-table tr[data-lead-id="${id}"]`);
    if (!row) continue;
    const [fresh] = rowsFrom(html);
    row.replaceWith(fresh);
    localizeTimes(fresh);
  }
}

function shownLeads() {
  return [...document.querySelectorAll("#leads-table tr[data-lead-id]")].map((r) => Number(r.dataset.leadId));
}

// --- the live call board of a campaign --------------------------------------------------------

function lastLine(line) {
  if (!line) return [el("span", { className: "muted" }, "—")];
  const who = line.speaker === "bot" ? "Bot" : "Caller";
  return [el("span", { className: `speaker-${line.speaker}` }, `${who}:`), ` ${line.text}`];
}

function boardRow(call) {
  const name = call.customer_name || call.phone;
  return el(
    "tr", { "data-call-id": call.id, className: "fresh" },
    el("td", {}, el("a", { href: `/calls/${call.id}/` }, name), el("div", { className: "muted small" }, call.phone)),
    el("td", {}, el("span", { className: `badge status-${call.status}`, "data-field": "status" }, call.status_display)),
    el("td", { className: "num mono", "data-field": "duration" }, "—"),
    el("td", { className: "last-line", "data-field": "last_line" }),
  );
}

function setupBoard(board) {
  const campaignId = Number(board.dataset.liveBoard);
  const body = board.tBodies[0];
  const empty = document.querySelector(".board-empty");
  const lastLineIds = new Map(); // call id → id of the line shown, so late lines never replace newer ones
  const refreshEmpty = () => { if (empty) empty.hidden = body.querySelector("tr:not(.ended)") !== null; };

  let events = 0; // call updates received so far: a board fetched before the latest is stale for its rows
  let moves = 0; // timelines received so far: the same for the timeline
  const touched = new Map(); // call id → value of `events` when its row last changed by an event

  const upsert = (call) => {
    let row = body.querySelector(`tr[data-call-id="${call.id}"]`);
    if (!call.is_live) {
      if (row) {
        row.classList.add("ended");
        const badge = row.querySelector('[data-field="status"]');
        badge.dataset.status = badge.dataset.status || "in-progress";
        setBadge(badge, call);
        const duration = row.querySelector('[data-field="duration"]');
        delete duration.dataset.since;
        if (call.duration_seconds !== null && call.duration_seconds !== undefined) duration.textContent = clock(call.duration_seconds);
        setTimeout(() => { row.remove(); refreshEmpty(); }, 5000);
      }
      return;
    }
    if (!row) {
      row = boardRow(call);
      body.append(row);
      row.querySelector('[data-field="last_line"]').append(...lastLine(call.last_line));
    }
    const badge = row.querySelector('[data-field="status"]');
    setBadge(badge, call);
    const duration = row.querySelector('[data-field="duration"]');
    if (call.answered_at) duration.dataset.since = call.answered_at;
    if (call.last_line) showLine(call.id, call.last_line);
    refreshEmpty();
  };

  const showLine = (callId, line) => {
    const row = body.querySelector(`tr[data-call-id="${callId}"]`);
    if (!row || (lastLineIds.get(callId) || 0) > line.id) return;
    lastLineIds.set(callId, line.id);
    row.querySelector('[data-field="last_line"]').replaceChildren(...lastLine(line));
  };

  const leads = shownLeads();
  const sync = async () => {
    const asked = events, movesAsked = moves;
    const data = await getJSON(`${board.dataset.boardUrl}?leads=${leads.join(",")}`);
    applyFigures(data.figures);
    if (moves === movesAsked) showTimeline(campaignId, data.timeline_html);
    // A call an event changed while the board was on its way is newer here than in the board.
    const newer = (id) => (touched.get(Number(id)) || 0) > asked;
    const live = new Set(data.calls.map((c) => String(c.id)));
    for (const row of body.querySelectorAll("tr[data-call-id]")) {
      if (!live.has(row.dataset.callId) && !row.classList.contains("ended") && !newer(row.dataset.callId)) row.remove();
    }
    data.calls.filter((call) => !newer(call.id)).forEach(upsert);
    refreshEmpty();
  };
  connect({
    campaigns: [campaignId],
    // The server recomputes the figures when calls move and sends them with the batches.
    extra: { figures: true, leads },
    onSync: () => sync().catch(console.error),
    onEvent: (message) => {
      if (message.type === "call.update" && message.call.campaign_id === campaignId) {
        touched.set(message.call.id, ++events);
        upsert(message.call);
        updateBadges(message.call); // Recent calls
      } else if (message.type === "transcript.line") {
        showLine(message.line.call_id, message.line);
      } else if (message.type === "campaign.update") {
        updateSummary(message.campaign);
      } else if (message.type === "campaign.figures" && message.figures.id === campaignId) {
        applyFigures(message.figures);
      } else if (message.type === "campaign.timeline" && message.campaign_id === campaignId) {
        moves += 1;
        showTimeline(campaignId, message.html);
      }
    },
  });
}

// --- a call's transcript, timeline and recording ----------------------------------------------

export function bubble(line) {
  const who = line.speaker === "bot" ? "Bot" : "Caller";
  return el(
    "div", { className: `bubble ${line.speaker} fresh`, "data-line-id": line.id, "data-offset": line.offset_ms },
    el("span", { className: "who" }, `${who} · ${clock(line.offset_ms / 1000)}`),
    el("p", {}, line.text, ...(line.unheard ? [" ", el("span", { className: "unheard", title: "Not heard: the caller talked over it" }, line.unheard)] : [])),
  );
}

function setupCall(transcript) {
  const callId = Number(transcript.dataset.liveCall);
  const empty = document.querySelector(".transcript-empty");
  let lastId = 0;
  for (const node of transcript.querySelectorAll("[data-line-id]")) lastId = Math.max(lastId, Number(node.dataset.lineId));

  const addLine = (line) => {
    if (transcript.querySelector(`[data-line-id="${line.id}"]`)) return;
    const node = bubble(line);
    // Keep time order even when lines arrive out of order (caller and bot overlap).
    const later = [...transcript.children].find((n) => Number(n.dataset.offset) > line.offset_ms);
    transcript.insertBefore(node, later || null);
    lastId = Math.max(lastId, line.id);
    if (empty) empty.hidden = true;
    transcript.scrollTop = transcript.scrollHeight;
  };

  const updateCall = (call) => {
    updateBadges(call);
    const duration = document.querySelector('[data-field="duration"]');
    if (duration) {
      if (call.is_live && call.answered_at) duration.dataset.since = call.answered_at;
      if (!call.is_live) {
        delete duration.dataset.since;
        duration.textContent = call.duration_seconds === null ? "—" : `${call.duration_seconds} s`;
      }
    }
    if (!call.is_live) {
      for (const note of document.querySelectorAll('[data-field="live-note"]')) note.remove();
      if (empty) empty.textContent = "No transcript for this call."; // no longer waiting for words
    }
    // The header's outcome chip and CallSid, beside the status badge.
    const outcome = document.querySelector('[data-field="header-outcome"]');
    if (outcome && call.disposition) {
      outcome.replaceChildren(el("span", { className: `chip outcome-${call.disposition}` }, call.disposition_display));
    }
    const sid = document.querySelector('[data-field="call-sid"]');
    if (sid && call.call_sid) sid.textContent = call.call_sid;
  };

  // The outcome (summary included), timeline, latency and recording cards, as the server renders them.
  const CARDS = { call_outcome: "call-outcome", timeline: "timeline", call_latency: "call-latency",
                  call_recording: "call-recording" };

  const sync = async () => {
    const data = await getJSON(`${transcript.dataset.liveUrl}?after=${lastId}`);
    data.lines.forEach(addLine);
    updateCall(data.call);
    showParts(Object.fromEntries(Object.entries(CARDS).map(([name, id]) => [id, data.html[name]])));
  };
  const resync = debounce(() => sync().catch(console.error), 300);

  let heard = () => {};
  const link = connect({
    calls: [callId],
    onSync: () => sync().catch(console.error),
    onEvent: (message) => {
      if (message.type.startsWith("listen") || message.type === "error") heard(message);
      else if (message.type === "transcript.line" && message.line.call_id === callId) addLine(message.line);
      else if (message.type === "call.update" && message.call.id === callId) {
        updateCall(message.call);
        resync(); // the cards and the recording come from the database
      }
    },
  });
  const listen = document.getElementById("listen");
  if (listen) import("./listen.js").then((m) => { heard = m.setupListen(listen, callId, link); });
}

// --- lists: campaign rows and call status badges ----------------------------------------------

function setupCampaignRows(rows) {
  const ids = [...new Set(rows.map((r) => Number(r.dataset.campaignRow)))];
  const urls = new Map(rows.map((r) => [Number(r.dataset.campaignRow), r.dataset.boardUrl]));
  connect({
    campaigns: ids,
    onSync: () => ids.forEach((id) => getJSON(urls.get(id)).then((d) => updateSummary(d.campaign)).catch(console.error)),
    // The server sends a campaign's summary again whenever its calls move.
    onEvent: (message) => { if (message.type === "campaign.update") updateSummary(message.campaign); },
  });
}

function setupCallBadges(badges) {
  // Only calls still in progress can change; finished ones need no subscription.
  const live = badges.filter((b) => rank(b.dataset.status) < 4).map((b) => Number(b.dataset.callStatus));
  const ids = [...new Set(live)];
  if (!ids.length) return;
  connect({
    calls: ids,
    onSync: () => ids.forEach((id) => getJSON(`/calls/${id}/live.json?after=999999999999`)
      .then((d) => updateBadges(d.call)).catch(console.error)),
    onEvent: (message) => { if (message.type === "call.update") updateBadges(message.call); },
  });
}

function init() {
  setInterval(tick, 1000);
  tick();
  const board = document.querySelector("[data-live-board]");
  const transcript = document.querySelector("[data-live-call]");
  if (board) return setupBoard(board);
  if (transcript) return setupCall(transcript);
  const rows = [...document.querySelectorAll("[data-live-campaigns] [data-campaign-row]")];
  if (rows.length) return setupCampaignRows(rows);
  const badges = [...document.querySelectorAll("[data-call-status]")];
  if (badges.length) return setupCallBadges(badges);
}

init();
