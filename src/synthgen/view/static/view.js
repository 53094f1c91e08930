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
    const note = document.querySelector(`svg.dag g[data-step="${CSS.escape(step)}"] text.note`);
    if (note) note.textContent = `${formatNumber(counts.rows)} rows`;
    const row = document.querySelector(`table.steps tr[data-step="${CSS.escape(step)}"]`);
    if (!row) continue;
    row.querySelector('[data-field="rows"]').textContent = formatNumber(counts.rows);
    row.querySelector('[data-field="batches"]').textContent = formatNumber(counts.batches);
    row.querySelector('[data-field="throughput"]').textContent =
      counts.throughput === null ? "—" : counts.throughput.toFixed(1);
  }
}

// Rows per step over time, sampled at each poll while the page watches the run: drawn as one SVG
// polyline per step, scaled to the largest count so far.
const samples = {};
const CHART_W = 600, CHART_H = 160, PAD = 20, PLOT_W = 460;
const SVG_NS = "http://www.w3.org/2000/svg";

function recordSamples(state) {
  const now = Date.now() / 1000;
  for (const [step, counts] of Object.entries(state.steps)) {
    (samples[step] = samples[step] || []).push([now, counts.rows]);
  }
  drawProgress();
}

function drawProgress() {
  const svg = document.getElementById("progress-chart");
  if (!svg) return;
  svg.closest("figure").hidden = false;
  const all = Object.values(samples).flat();
  const t0 = Math.min(...all.map((p) => p[0])), t1 = Math.max(...all.map((p) => p[0]), t0 + 1);
  const top = Math.max(...all.map((p) => p[1]), 1);
  svg.replaceChildren();
  Object.entries(samples).forEach(([step, points], i) => {
    const line = document.createElementNS(SVG_NS, "polyline");
    line.setAttribute("class", `series s${i % 6}`);
    line.dataset.step = step;
    line.setAttribute("points", points.map(([t, n]) =>
      `${(PAD + (t - t0) / (t1 - t0) * PLOT_W).toFixed(1)},${(CHART_H - PAD - n / top * (CHART_H - 2 * PAD)).toFixed(1)}`).join(" "));
    const label = document.createElementNS(SVG_NS, "text");
    label.setAttribute("x", PAD + PLOT_W + 12);
    label.setAttribute("y", 14 + 12 * i);
    label.setAttribute("class", `legend s${i % 6}`);
    label.textContent = step;
    svg.append(line, label);
  });
}

async function poll(section) {
  try {
    const response = await fetch(section.dataset.live, { cache: "no-store" });
    if (response.ok) {
      const state = await response.json();
      applyLive(state);
      recordSamples(state);
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
  // The start page follows its running pipelines by reloading until none is running.
  if (document.querySelector('table.pipelines .status[data-status="running"]')) {
    setTimeout(() => window.location.reload(), 3 * POLL_MS);
  }
});
