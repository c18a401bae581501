// The staff dashboard's plots, drawn with the vendored Chart.js (window.Chart, loaded just before)
// from the series the page carries as JSON (#dashboard-series, built by frontend/monitoring.py).

const Chart = window.Chart;
const series = JSON.parse(document.getElementById("dashboard-series").textContent);
const css = getComputedStyle(document.documentElement);
const colour = (name, fallback) => css.getPropertyValue(name).trim() || fallback;
const PALETTE = ["#4f46e5", "#c2410c", "#15803d", "#0e7490", "#a21caf", "#b45309", "#475569"];
const TEXT = colour("--muted", "#5b6275");
const GRID = "rgba(127, 127, 127, 0.18)";

Chart.defaults.animation = false;
Chart.defaults.maintainAspectRatio = false;
Chart.defaults.color = TEXT;
Chart.defaults.borderColor = GRID;
Chart.defaults.font.family = colour("--font", "system-ui, sans-serif");

const hourLabel = (iso) => `${iso.slice(11, 13)}:00`;
const dayHourLabel = (iso) => {
  const date = new Date(iso);
  return `${date.toLocaleDateString("en-GB", { weekday: "short", timeZone: "UTC" })} ${iso.slice(11, 13)}h`;
};
const percent = { callback: (value) => `${Math.round(value * 100)}%` };

function draw(id, config) {
  const canvas = document.getElementById(id);
  if (!canvas) return null;
  const chart = new Chart(canvas, config);
  canvas.dataset.drawn = "true";
  return chart;
}

function activity(id, data, label) {
  return draw(id, {
    type: "bar",
    data: {
      labels: data.hours.map(label),
      datasets: [
        { type: "bar", label: "rounds started", data: data.rounds, backgroundColor: PALETTE[0], yAxisID: "y" },
        {
          type: "line",
          label: "active players",
          data: data.players,
          borderColor: PALETTE[1],
          backgroundColor: PALETTE[1],
          pointRadius: 0,
          tension: 0.2,
          yAxisID: "y",
        },
      ],
    },
    options: {
      scales: { x: { ticks: { maxTicksLimit: 12, autoSkip: true } }, y: { beginAtZero: true, ticks: { precision: 0 } } },
      plugins: { legend: { position: "bottom" } },
    },
  });
}

activity("chart-activity-day", series.activity_day, hourLabel);
activity("chart-activity-week", series.activity_week, dayHourLabel);

draw("chart-win-rate", {
  type: "line",
  data: {
    labels: series.win_rate.days,
    datasets: series.win_rate.partners.map((partner, k) => ({
      label: partner.name,
      data: partner.win_rate,
      borderColor: PALETTE[k % PALETTE.length],
      backgroundColor: PALETTE[k % PALETTE.length],
      spanGaps: true,
    })),
  },
  options: {
    scales: { y: { min: 0, max: 1, ticks: percent } },
    plugins: {
      legend: { position: "bottom" },
      tooltip: {
        callbacks: {
          label: (item) =>
            `${item.dataset.label}: ${Math.round(item.parsed.y * 100)}% of ${series.win_rate.partners[item.datasetIndex].completed[item.dataIndex]}`,
        },
      },
    },
  },
});

const coverage = series.coverage;
const coverageBox = document.getElementById("chart-coverage")?.parentElement;
if (coverageBox) coverageBox.style.height = `${Math.max(220, 26 * coverage.length + 60)}px`;
draw("chart-coverage", {
  type: "bar",
  data: {
    labels: coverage.map((row) => row.name),
    datasets: [
      { label: "images with a map", data: coverage.map((row) => row.n_maps), backgroundColor: PALETTE[2] },
      {
        label: "images without",
        data: coverage.map((row) => Math.max(0, row.n_images - row.n_maps)),
        backgroundColor: "rgba(127, 127, 127, 0.35)",
      },
    ],
  },
  options: {
    indexAxis: "y",
    scales: { x: { stacked: true, beginAtZero: true, ticks: { precision: 0 } }, y: { stacked: true } },
    plugins: { legend: { position: "bottom" } },
  },
});

draw("chart-rho", {
  type: "line",
  data: {
    labels: series.split_half_rho.days,
    datasets: [
      {
        label: "mean split-half rho",
        data: series.split_half_rho.mean_rho,
        borderColor: PALETTE[3],
        backgroundColor: PALETTE[3],
        spanGaps: true,
      },
    ],
  },
  options: {
    scales: { y: { suggestedMin: 0, suggestedMax: 1 } },
    plugins: {
      legend: { position: "bottom" },
      tooltip: { callbacks: { afterLabel: (item) => `${series.split_half_rho.n_maps[item.dataIndex]} maps` } },
    },
  },
});

function curves(id, keys, yOptions) {
  const jobs = series.training;
  const longest = Math.max(0, ...jobs.map((job) => job.epochs.length));
  return draw(id, {
    type: "line",
    data: {
      labels: Array.from({ length: longest }, (_, k) => k + 1),
      datasets: jobs.flatMap((job, j) =>
        keys
          .filter(([key]) => job[key].some((value) => value !== null && value !== undefined))
          .map(([key, name, dash]) => ({
            label: `${job.label} ${name}`,
            data: job[key],
            borderColor: PALETTE[j % PALETTE.length],
            backgroundColor: PALETTE[j % PALETTE.length],
            borderDash: dash,
            pointRadius: 2,
            spanGaps: true,
          })),
      ),
    },
    options: {
      scales: { x: { title: { display: true, text: "epoch" } }, y: yOptions },
      plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } } },
    },
  });
}

curves("chart-training-loss", [["train_loss", "train loss", []]], { beginAtZero: true });
curves(
  "chart-training-val",
  [
    ["val_top1", "val top-1", []],
    ["val_attention_rho", "val attention rho", [6, 4]],
  ],
  { suggestedMin: 0, suggestedMax: 1 },
);
document.body.dataset.chartsDrawn = "true";
