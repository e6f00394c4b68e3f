// How long the dashboard takes to show a view, against a running `wangge serve`, and the
// same six API calls made directly (the reference: what the browser adds is the rest).
// Usage: node bench/dashboard_load.mjs BASE_URL TOKEN [LOADS] [QUERY]
//   e.g. node bench/dashboard_load.mjs http://127.0.0.1:8080 wg_… 20 'office=zongzhi&from=2026-08-29'
// Needs playwright-core (npm ci --prefix tests/ui) and Chromium (/usr/bin/chromium).
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const [base, token, loadsArg = '20', query = ''] = process.argv.slice(2);
if (!base || !token) {
  console.error('usage: node bench/dashboard_load.mjs BASE_URL TOKEN [LOADS] [QUERY]');
  process.exit(2);
}
const loads = Number(loadsArg);
const require = createRequire(join(dirname(fileURLToPath(import.meta.url)), '../tests/ui/package.json'));
const { chromium } = require('playwright-core');

const quantile = (xs, q) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(q * xs.length) - 1)];
const report = (name, ms) => console.log(`${name}: p50 ${quantile(ms, 0.5).toFixed(1)} ms, p90 ${quantile(ms, 0.9).toFixed(1)} ms, max ${Math.max(...ms).toFixed(1)} ms (${ms.length} loads)`);

// The reference: the page's six calls, at once, from Node.
const p = new URLSearchParams(query);
const filters = Object.fromEntries(['from', 'to', 'office', 'village', 'category'].filter((k) => p.get(k)).map((k) => [k, p.get(k)]));
const interval = p.get('interval') ?? 'month';
const calls = [{}, { group_by: 'office' }, { group_by: 'village' }, { interval }, { group_by: 'grid' }]
  .map((extra) => `/v1/stats?${new URLSearchParams({ ...filters, ...extra })}`)
  .concat(`/v1/cases?${new URLSearchParams({ ...filters, overdue: 'true', limit: '20' })}`);
const direct = [];
for (let i = 0; i < loads; ++i) {
  const start = performance.now();
  await Promise.all(calls.map(async (c) => {
    const res = await fetch(base + c, { headers: { Authorization: `Bearer ${token}` } });
    if (!res.ok) throw new Error(`${c}: ${res.status}`);
    await res.arrayBuffer();
  }));
  direct.push(performance.now() - start);
}

const browser = await chromium.launch({
  executablePath: process.env.WANGGE_CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
         '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
});
const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
await page.goto(`${base}/ui/`);
await page.evaluate((t) => sessionStorage.setItem('wangge.token', t), token);
const shown = [];
for (let i = 0; i < loads; ++i) {
  const start = performance.now();
  await page.goto(`${base}/ui/?${query}`);
  await page.waitForFunction(() => ['ready', 'error'].includes(document.body.dataset.state));
  shown.push(performance.now() - start);
  if ((await page.evaluate(() => document.body.dataset.state)) !== 'ready') throw new Error(await page.textContent('#error'));
}
await browser.close();
console.log(`view: /ui/?${query}`);
report('dashboard, navigation to every figure drawn', shown);
report('the same six API calls from Node (reference)', direct);
