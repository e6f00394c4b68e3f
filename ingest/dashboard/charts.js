// Chart.js (the UMD build from Debian's libjs-chart.js, loaded as the global `Chart`).
// Animations are off: figures appear at once and screenshots are repeatable.
const charts = new Map();

const COLORS = ['#1d4ed8', '#15803d', '#b45309', '#7c3aed', '#be123c'];

function draw(id, config) {
  charts.get(id)?.destroy();
  const canvas = document.getElementById(id);
  config.options = { animation: false, responsive: true, maintainAspectRatio: false, ...config.options };
  charts.set(id, new Chart(canvas, config));
}

function datasets(series, type) {
  return series.map((s, i) => ({ label: s.label, data: s.data, type, borderColor: COLORS[i % COLORS.length],
                                 backgroundColor: COLORS[i % COLORS.length], spanGaps: true }));
}

const percentAxis = { min: 0, max: 100, ticks: { callback: (v) => `${v}%` } };

// Rates (0..1 or null) per label, drawn as percentages.
export function rateBars(id, labels, series) {
  draw(id, { type: 'bar', data: { labels, datasets: datasets(series.map(asPercent), 'bar') },
             options: { scales: { y: percentAxis } } });
}

export function rateLines(id, labels, series) {
  draw(id, { type: 'line', data: { labels, datasets: datasets(series.map(asPercent), 'line') },
             options: { scales: { y: percentAxis } } });
}

export function countBars(id, labels, series) {
  draw(id, { type: 'bar', data: { labels, datasets: datasets(series, 'bar') },
             options: { scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } } });
}

function asPercent(s) {
  return { label: s.label, data: s.data.map((r) => (r === null ? null : Math.round(r * 1000) / 10)) };
}
