// synthgen view: the run page refreshes its counts while its run goes (polling the JSON the server
// reads from the runner's journal), and reloads once the run ends so the data and charts appear.
"use strict";

const POLL_MS = 1000;

function setText(id, text) {
  const el = document.getElementById(id);
  if (el) el.textContent = text;
}

function formatNumber(n) {
  return Number(n).toLocaleString("en-US");
}

function applyLive(state) {
  const status = document.getElementById("status");
  status.textContent = state.status;
  status.dataset.status = state.status;
  setText("wall-time", state.wall_time);
  setText("finished", state.finished);
  for (const [step, counts] of Object.entries(state.steps)) {
    const row = document.querySelector(`table.steps tr[data-step="${CSS.escape(step)}"]`);
    if (!row) continue;
    row.querySelector('[data-field="rows"]').textContent = formatNumber(counts.rows);
    row.querySelector('[data-field="batches"]').textContent = formatNumber(counts.batches);
    row.querySelector('[data-field="failed"]').textContent = formatNumber(counts.failed);
    row.querySelector('[data-field="throughput"]').textContent =
      counts.throughput === null ? "—" : counts.throughput.toFixed(1);
  }
}

async function poll(section) {
  try {
    const response = await fetch(section.dataset.live, { cache: "no-store" });
    if (response.ok) {
      const state = await response.json();
      applyLive(state);
      if (state.status !== "running") {
        window.location.reload();
        return;
      }
    }
  } catch (err) {
    // the server may be restarting: try again at the next tick
  }
  setTimeout(() => poll(section), POLL_MS);
}

document.addEventListener("DOMContentLoaded", () => {
  const section = document.getElementById("run");
  if (section && section.dataset.status === "running") setTimeout(() => poll(section), POLL_MS);
});
