// The campaign page's two charts, drawn with the vendored uPlot (static/vendor/uplot,
// MIT): outcomes as bars, and calls vs. answers per hour over the latest 24 hours. Drawn
// again when live.js hears new figures ("campaign-figures"); each has a text twin
// ([data-chart-summary]) for screen readers and the tests.
/* global uPlot */
import { pageZone } from "./times.js";

let drawn = document.getElementById("chart-data").textContent;
const COLORS = { calls: "#94a3b8", answers: "#15803d", outcome: "#2563eb" };

function widthOf(node) {
  return Math.max(260, node.clientWidth || node.parentElement.clientWidth - 40);
}

function bars(size) {
  return uPlot.paths.bars({ size: [size, 60], align: 0 });
}

function outcomesChart(node, outcomes) {
  if (!outcomes.length) return null;
  const xs = outcomes.map((_, i) => i);
  const labels = outcomes.map((o) => o.label);
  return new uPlot({
    width: widthOf(node), height: 240,
    legend: { show: false },
    cursor: { points: { show: false } },
    scales: { x: { time: false, range: [-0.6, outcomes.length - 0.4] }, y: { range: (u, min, max) => [0, Math.max(1, max * 1.1)] } },
    axes: [
      { values: (u, ticks) => ticks.map((t) => labels[t] ?? ""), splits: () => xs, gap: 4, size: 56,
        rotate: outcomes.length > 4 ? -25 : 0, font: "12px system-ui" },
      { size: 50, font: "12px system-ui" },
    ],
    series: [{}, { label: "Leads", fill: COLORS.outcome, stroke: COLORS.outcome, paths: bars(0.6), points: { show: false } }],
  }, [xs, outcomes.map((o) => o.count)], node);
}

function hourlyChart(node, hourly) {
  if (!hourly.hours.length) return null;
  return new uPlot({
    width: widthOf(node), height: 240,
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), pageZone()), // the staff member's clock
    // Half an hour of room either side, so the first and last hour's bars are not cut in half.
    scales: { x: { range: (u, min, max) => [min - 1800, max + 1800] },
              y: { range: (u, min, max) => [0, Math.max(1, max * 1.1)] } },
    axes: [{ font: "12px system-ui" }, { size: 50, font: "12px system-ui" }],
    series: [
      {},
      { label: "Calls", fill: COLORS.calls + "99", stroke: COLORS.calls, paths: bars(0.8), points: { show: false } },
      { label: "Answered", stroke: COLORS.answers, width: 2, points: { size: 5 } },
    ],
  }, [hourly.hours, hourly.calls, hourly.answers], node);
}

const CHARTS = {
  outcomes: {
    node: document.getElementById("chart-outcomes"),
    draw: (node, data) => outcomesChart(node, data.outcomes),
    summary: (data) => data.outcomes.map((o) => `${o.label}: ${o.count}`).join(", "),
    empty: (data) => !data.outcomes.length,
  },
  hourly: {
    node: document.getElementById("chart-hourly"),
    draw: (node, data) => hourlyChart(node, data.hourly),
    summary: (data) => `${data.hourly.total_calls} calls, ${data.hourly.total_answers} answered in the latest 24 hours of calling`,
    empty: (data) => !data.hourly.hours.length,
  },
};
const charts = {};

function drawAll(data) {
  for (const [name, chart] of Object.entries(CHARTS)) {
    if (!chart.node) continue;
    if (charts[name]) charts[name].destroy();
    charts[name] = chart.draw(chart.node, data);
    document.querySelector(`[data-chart-summary="${name}"]`).textContent = chart.summary(data);
    document.querySelector(`[data-chart-empty="${name}"]`).hidden = !chart.empty(data);
    chart.node.hidden = chart.empty(data); // no blank plot area above "No … yet."
  }
}

drawAll(JSON.parse(drawn));

document.addEventListener("campaign-figures", (event) => {
  const fresh = JSON.stringify(event.detail);
  if (fresh === drawn) return; // most updates move the board, not the charts
  drawn = fresh;
  drawAll(event.detail);
});

// Tablets rotate and laptops resize: keep each chart as wide as its card.
window.addEventListener("resize", () => {
  for (const [name, chart] of Object.entries(charts)) {
    if (chart) chart.setSize({ width: widthOf(CHARTS[name].node), height: 240 });
  }
});
