// Benchmarks of the field app in headless Chromium against `wangge demo`, under Chromium's
// network emulation (docs/benchmarks.md "The field app"):
//   1. time to interactive (the report form ready, logged in) on throttled 3G, for a
//      first visit (nothing cached) and a repeat visit (the service worker's shell);
//   2. a queue of N offline reports with ~2 MB photos draining on a throttled link, beside
//      the raw upload of the same bytes over the same link, measured in the same run.
// Usage: node bench/app_bench.mjs WANGGE_BINARY [--reports 50] [--runs 5]
//   (playwright-core comes from tests/ui: npm ci --prefix tests/ui)
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launch, setUp, startDemo } from '../tests/ui/harness.mjs';

const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
process.argv = [process.argv[0], process.argv[1], args[0], mkdtempSync(join(tmpdir(), 'wangge-bench-'))];
const { binary, chromium, chromiumPath } = await setUp('node bench/app_bench.mjs WANGGE_BINARY [--reports N] [--runs N]');
const REPORTS = flag('--reports', 50);
const RUNS = flag('--runs', 5);
const { base, tokens } = await startDemo(binary);

// Chromium DevTools' presets (kbit/s as DevTools gives them, 90% of the nominal rate).
const PROFILES = {
  'Slow 3G': { latency: 2000, downloadThroughput: (500 * 1024 * 0.9) / 8, uploadThroughput: (500 * 1024 * 0.9) / 8 },
  'Fast 3G': { latency: 562.5, downloadThroughput: (1.6 * 1024 * 1024 * 0.9) / 8, uploadThroughput: (750 * 1024 * 0.9) / 8 },
  // The drain's link: a county 4G uplink (20 Mbit/s up, 40 ms): 100 MB of photos take
  // tens of seconds here where 3G would take a quarter of an hour.
  '4G uplink': { latency: 40, downloadThroughput: (40 * 1024 * 1024) / 8, uploadThroughput: (20 * 1024 * 1024) / 8 },
};

const browser = await launch(chromium, chromiumPath);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const range = (xs) => `${Math.round(Math.min(...xs))}–${Math.round(Math.max(...xs))}`;

// Defines window.noiseJpeg(seed) in every page: a JPEG of noise of about 2 MB, made by
// the page's canvas, a different image for each seed.
function noiseJpeg(context) {
  return context.addInitScript(() => {
    window.noiseJpeg = async (seed) => {
      const side = 1870;
      const canvas = new OffscreenCanvas(side, side);
      const g = canvas.getContext('2d');
      const img = g.createImageData(side, side);
      let x = seed * 2654435761 >>> 0;
      for (let j = 0; j < img.data.length; j++) { x = (x * 1664525 + 1013904223) >>> 0; img.data[j] = j % 4 === 3 ? 255 : x >>> 24; }
      g.putImageData(img, 0, 0);
      return canvas.convertToBlob({ type: 'image/jpeg', quality: 0.75 });
    };
  });
}

async function throttle(page, profile) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', { offline: false, ...PROFILES[profile] });
  return cdp;
}

async function timeToInteractive(profile) {
  const first = [], repeat = [];
  for (let run = 0; run < RUNS; run++) {
    const context = await browser.newContext({ viewport: { width: 360, height: 740 }, isMobile: true, serviceWorkers: 'allow',
                                               geolocation: { latitude: 29.82, longitude: 120.23 }, permissions: ['geolocation'] });
    await context.addInitScript((t) => localStorage.setItem('wangge.app.token', t), tokens.worker);
    const page = await context.newPage();
    await throttle(page, profile);
    const ready = () => page.waitForFunction(() => document.body.dataset.state === 'ready' && document.querySelector('#send'),
                                             null, { timeout: 120_000 });
    let t0 = Date.now();
    await page.goto(`${base}/app/`);
    await ready();
    first.push(Date.now() - t0);
    // The service worker holds the shell once it is active.
    await page.evaluate(() => navigator.serviceWorker.ready);
    t0 = Date.now();
    await page.reload();
    await ready();
    repeat.push(Date.now() - t0);
    await context.close();
  }
  return { first, repeat };
}

// Noise JPEGs of about 2 MB from the page's canvas, put in the queue as the app would.
async function queueReports(page, n) {
  return page.evaluate(async ([count, actor]) => {
    const store = await import('/app/store.js');
    const { sha256Hex } = await import('/app/sha256.js');
    let bytes = 0;
    for (let i = 0; i < count; i++) {
      const blob = await window.noiseJpeg(i + 1);
      const sha256 = await sha256Hex(blob);
      bytes += blob.size;
      const client_id = crypto.randomUUID();
      await store.enqueue({ client_id, actor, state: 'waiting', created_at: new Date().toISOString(), error: '',
                            report: { client_id, category: 'env.garbage', village: 'V01', grid: 'V01-G1', severity: 2,
                                      text: `排队 ${i}`, reported_at: new Date().toISOString(), attachments: 1, media: [sha256] } },
                          [{ sha256, blob }]);
    }
    return bytes;
  }, [n, 'W001']);
}

async function drain() {
  const context = await browser.newContext({ serviceWorkers: 'allow' });
  await noiseJpeg(context);
  await context.addInitScript((t) => localStorage.setItem('wangge.app.token', t), tokens.worker);
  const page = await context.newPage();
  await page.goto(`${base}/app/#queue`);
  await page.waitForFunction(() => document.body.dataset.state === 'ready');
  await context.setOffline(true);
  const bytes = await queueReports(page, REPORTS);
  await throttle(page, '4G uplink');
  await context.setOffline(false);
  const t0 = Date.now();
  await page.evaluate(async () => (await import('/app/sync.js')).drain('W001'));
  const ms = Date.now() - t0;
  const delivered = await page.evaluate(async () => (await (await import('/app/store.js')).items('W001'))
    .filter((i) => i.state === 'delivered').length);
  await context.close();
  return { bytes, ms, delivered };
}

// The raw upload: as many photos of the same sizes (other seeds, so that none is stored
// yet), each PUT whole, one after another, over the same link: what the bytes cost
// without the queue, the parts and the reports.
async function rawUpload(n) {
  const context = await browser.newContext();
  await noiseJpeg(context);
  const page = await context.newPage();
  await page.goto(`${base}/app/`);
  await page.evaluate(async (count) => {
    const { sha256Hex } = await import('/app/sha256.js');
    window.rawPhotos = [];
    for (let i = 0; i < count; i++) {
      const blob = await window.noiseJpeg(i + 1001);
      window.rawPhotos.push({ blob, sha256: await sha256Hex(blob) });
    }
  }, n);
  await throttle(page, '4G uplink');
  const result = await page.evaluate(async (token) => {
    const t0 = performance.now();
    let bytes = 0, stored = 0;
    for (const { blob, sha256 } of window.rawPhotos) {
      const res = await fetch(`/v1/media/${sha256}`, { method: 'PUT', body: blob, headers: { Authorization: `Bearer ${token}` } });
      bytes += blob.size;
      stored += res.status === 201;
    }
    return { ms: performance.now() - t0, bytes, stored };
  }, tokens.worker);
  await context.close();
  return result;
}

console.log(`machine: ${(await import('node:os')).cpus().length} cores; Chromium ${browser.version()}; runs: ${RUNS}`);
for (const profile of ['Slow 3G', 'Fast 3G']) {
  const { first, repeat } = await timeToInteractive(profile);
  console.log(`time to interactive, ${profile}: first visit median ${median(first)} ms (${range(first)}), ` +
              `repeat visit median ${median(repeat)} ms (${range(repeat)})`);
}
const d = await drain();
const raw = await rawUpload(REPORTS);
console.log(`queue drain, 4G uplink: ${d.delivered}/${REPORTS} reports, ${(d.bytes / 1e6).toFixed(1)} MB of photos in ` +
            `${(d.ms / 1000).toFixed(1)} s; raw upload of ${raw.stored} photos, ${(raw.bytes / 1e6).toFixed(1)} MB, ` +
            `one PUT each: ${(raw.ms / 1000).toFixed(1)} s; raw/drain ${(raw.ms / d.ms).toFixed(2)}`);
await browser.close();
process.exit(0);
