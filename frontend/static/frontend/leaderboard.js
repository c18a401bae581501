// ClickMe: the leaderboard page (day / week / all time).

import { ApiError, gameApi } from "./api.js";

const PERIODS = ["day", "week", "all"];
const board = document.getElementById("board");
const api = gameApi({ leaderboardUrl: board?.dataset.leaderboardUrl || "/api/game/leaderboard/" });
const limit = Number.parseInt(board?.dataset.limit || "50", 10) || 50;

const table = document.getElementById("leaderboard-table");
const tbody = table.querySelector("tbody");
const panel = document.getElementById("leaderboard-panel");
const empty = document.getElementById("leaderboard-empty");
const status = document.getElementById("leaderboard-status");
const tabs = Array.from(document.querySelectorAll('.tab[role="tab"]'));

let loading = null; // AbortController of the request in flight

function setStatus(message, kind = "info") {
  status.textContent = message || "";
  status.dataset.kind = kind;
  status.hidden = !message;
}

function cell(text, className) {
  const td = document.createElement("td");
  if (className) td.className = className;
  td.textContent = String(text ?? "");
  return td;
}

function render(entries) {
  const rows = entries.map((entry) => {
    const tr = document.createElement("tr");
    tr.dataset.rank = String(entry.rank);
    const nick = document.createElement("td");
    nick.className = "nick";
    const name = document.createElement("span");
    name.className = "nick-name";
    name.textContent = String(entry.nickname ?? "");
    nick.append(name);
    if (entry.is_me === true) {
      // The player's own row: marked for the eye and in words for a screen reader.
      tr.classList.add("is-me");
      tr.dataset.me = "true";
      const you = document.createElement("span");
      you.className = "you-tag";
      you.textContent = "you";
      nick.append(" ", you);
    }
    tr.append(cell(entry.rank, "rank"), nick, cell(entry.score, "num"), cell(entry.rounds_won, "num"));
    return tr;
  });
  tbody.replaceChildren(...rows);
  empty.hidden = rows.length > 0;
}

function selectTab(period) {
  for (const tab of tabs) {
    const selected = tab.dataset.period === period;
    tab.setAttribute("aria-selected", selected ? "true" : "false");
    tab.tabIndex = selected ? 0 : -1;
    if (selected) panel.setAttribute("aria-labelledby", tab.id);
  }
  document.body.dataset.period = period;
}

async function load(period) {
  if (!PERIODS.includes(period)) period = "day";
  selectTab(period);
  const address = new URL(window.location.href);
  address.searchParams.set("period", period);
  window.history.replaceState(null, "", address);

  if (loading) loading.abort();
  const controller = new AbortController();
  loading = controller;
  document.body.dataset.loading = "true";
  setStatus("Loading\u2026");
  try {
    const data = await api.leaderboard(period, limit, { signal: controller.signal });
    if (loading !== controller) return;
    render(Array.isArray(data?.entries) ? data.entries : []);
    setStatus("");
  } catch (error) {
    if (error?.name === "AbortError" || loading !== controller) return;
    tbody.replaceChildren();
    empty.hidden = true;
    setStatus(error instanceof ApiError ? error.detail : "Could not load the leaderboard.", "error");
  } finally {
    if (loading === controller) {
      loading = null;
      delete document.body.dataset.loading;
    }
  }
}

for (const tab of tabs) {
  tab.addEventListener("click", () => load(tab.dataset.period));
  tab.addEventListener("keydown", (event) => {
    const index = tabs.indexOf(tab);
    let next = null;
    if (event.key === "ArrowRight") next = tabs[(index + 1) % tabs.length];
    else if (event.key === "ArrowLeft") next = tabs[(index - 1 + tabs.length) % tabs.length];
    else if (event.key === "Home") next = tabs[0];
    else if (event.key === "End") next = tabs[tabs.length - 1];
    if (next) {
      event.preventDefault();
      next.focus();
      load(next.dataset.period);
    }
  });
}

const initial = new URLSearchParams(window.location.search).get("period");
load(PERIODS.includes(initial) ? initial : "day");
