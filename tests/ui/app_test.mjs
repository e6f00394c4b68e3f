// End-to-end tests of the field app (/app/) in headless Chromium, driven by
// playwright-core, against a real `wangge demo`: a grid worker on a phone viewport with
// its position overridden reports with a photo; offline, queues three reports with
// photos, reloads, comes back online and sees each delivered exactly once; a photo upload
// cut off mid-way resumes where it stopped; an office handler accepts, returns and
// resolves; the worker verifies; the case closes and the supervisor's dashboard counts it.
// Also: the shell's compressed size stays within its budget. Screenshots of each screen
// go to ARTIFACT_DIR (docs/app.md shows them).
// Usage: node app_test.mjs WANGGE_BINARY ARTIFACT_DIR
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { launch, setUp, startDemo, stepper, watcher } from './harness.mjs';

const { binary, artifacts, chromium, chromiumPath } = await setUp('node app_test.mjs WANGGE_BINARY ARTIFACT_DIR');
const { base, tokens, actors } = await startDemo(binary);
const SHELL = ['', 'index.html', 'app.css', 'icon.svg', 'manifest.webmanifest', 'sw.js', 'main.js', 'api.js', 'i18n.js',
               'store.js', 'sync.js', 'sha256.js', 'worker.js', 'office.js', 'map.js', 'api_error.js'];
const SHELL_BUDGET = 150 * 1024;  // bytes, gzip-compressed (docs/app.md)
const CATEGORY = 'city.occupation';  // routed to the demo handler's office, zonghe-zhifa

async function api(path, token = tokens.supervisor, init = {}) {
  const res = await fetch(`${base}${path}`, { ...init, headers: { Authorization: `Bearer ${token}`, ...(init.headers ?? {}) } });
  const body = await res.json().catch(() => null);
  assert.ok(res.ok, `${path}: ${res.status} ${JSON.stringify(body)}`);
  return body;
}

// A point inside a grid of the demo geography (the middle of its vertices, checked).
async function pointInGrid() {
  const { geography } = await api('/v1/geography');
  for (const f of geography.features) {
    const ring = f.geometry.type === 'Polygon' ? f.geometry.coordinates[0] : f.geometry.coordinates[0][0];
    const lon = ring.reduce((s, p) => s + p[0], 0) / ring.length;
    const lat = ring.reduce((s, p) => s + p[1], 0) / ring.length;
    const at = await api(`/v1/geography/locate?lat=${lat}&lon=${lon}`, tokens.worker);
    if (at.inside && at.grid === f.properties.grid) return { latitude: lat, longitude: lon, grid: at.grid };
  }
  throw new Error('no grid holds the middle of its vertices');
}

const browser = await launch(chromium, chromiumPath);
const { foreign, problems, watch } = watcher(base);
const here = await pointInGrid();
const phone = await browser.newContext({
  viewport: { width: 360, height: 740 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true,
  locale: 'zh-CN', timezoneId: 'Asia/Shanghai', geolocation: { latitude: here.latitude, longitude: here.longitude, accuracy: 10 },
  permissions: ['geolocation'], serviceWorkers: 'allow',
});
const desk = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });

const ready = (page) => page.waitForFunction(() => ['ready', 'login', 'error'].includes(document.body.dataset.state));
async function expectReady(page) {
  await ready(page);
  assert.equal(await page.evaluate(() => document.body.dataset.state), 'ready', `state; error: ${await page.textContent('#error')}`);
}
// Shows the view of `hash`, drawn afresh (the same hash again is redrawn too).
async function open(page, hash) {
  await page.evaluate((h) => {
    document.body.dataset.state = 'loading';
    if (location.hash === h) history.replaceState(null, '', '#');
    location.hash = h;
  }, hash);
  await expectReady(page);
}
async function login(page, token) {
  await page.goto(`${base}/app/`);
  await ready(page);
  await page.fill('#token', token);
  await page.evaluate(() => { document.body.dataset.state = 'submitting'; });
  await page.click('#login-form button[type=submit]');
  await expectReady(page);
}

// A JPEG of noise made by the page's own canvas: `side` pixels square, a different image
// for each seed. Returned as bytes for setInputFiles.
async function photo(page, side, seed) {
  const b64 = await page.evaluate(async ([n, s]) => {
    const canvas = new OffscreenCanvas(n, n);
    const g = canvas.getContext('2d');
    const img = g.createImageData(n, n);
    let x = s * 2654435761 >>> 0;
    for (let i = 0; i < img.data.length; i++) { x = (x * 1664525 + 1013904223) >>> 0; img.data[i] = i % 4 === 3 ? 255 : x >>> 24; }
    g.putImageData(img, 0, 0);
    const blob = await canvas.convertToBlob({ type: 'image/jpeg', quality: 0.92 });
    const bytes = new Uint8Array(await blob.arrayBuffer());
    let text = '';
    for (const b of bytes) text += String.fromCharCode(b);
    return btoa(text);
  }, [side, seed]);
  return { name: `photo-${seed}.jpg`, mimeType: 'image/jpeg', buffer: Buffer.from(b64, 'base64') };
}

// Fills the report form: the category by its pinyin initials, a text, the photos.
async function fillReport(page, text, photos) {
  await page.fill('#category-search', 'zdjy');  // 占道经营
  await page.click(`#categories [data-category="${CATEGORY}"]`);
  await page.fill('#text', text);
  await page.setInputFiles('#photos', photos);
  await page.waitForFunction((n) => document.querySelectorAll('#thumbs img').length === n, photos.length);
}

async function queueStates(page) {
  return page.$$eval('#queue-list li[data-client]', (lis) => lis.map((li) => ({
    client: li.dataset.client, state: li.querySelector('.pill').dataset.state, detail: li.querySelector('[data-detail]')?.textContent ?? '',
  })));
}

async function mineCount() {
  let n = 0, after = '';
  for (;;) {
    const page = await api(`/v1/cases?limit=500${after ? `&after=${after}` : ''}`, tokens.worker);
    n += page.cases.length;
    if (!page.next) return n;
    after = page.next;
  }
}

const step = stepper();
let exitCode = 0;
try {
  const page = watch(await phone.newPage());

  await step('the app shell is small: every file gzip-compressed is within 150 KB', async () => {
    let total = 0;
    for (const name of SHELL) {
      const res = await fetch(`${base}/app/${name}`);
      assert.equal(res.status, 200, name);
      assert.match(res.headers.get('content-security-policy'), /default-src 'self'/, name);
      total += gzipSync(Buffer.from(await res.arrayBuffer()), { level: 9 }).length;
    }
    console.log(`  shell: ${SHELL.length - 1} files, ${total} bytes gzip-compressed`);
    assert.ok(total <= SHELL_BUDGET, `${total} > ${SHELL_BUDGET}`);
  });

  await step('a worker logs in once, on a phone', async () => {
    await page.goto(`${base}/app/`);
    await ready(page);
    await page.screenshot({ path: join(artifacts, 'app-login.png') });
    await login(page, tokens.worker);
    assert.match(await page.textContent('#who'), new RegExp(actors.worker));
    assert.deepEqual(await page.$$eval('#tabs a', (as) => as.map((a) => a.dataset.tab)), ['report', 'queue', 'mine', 'verify']);
    // Touch targets: every button and tab at least 44 px high.
    const small = await page.$$eval('button:not([hidden]), .tab, select', (nodes) => nodes
      .filter((n) => n.offsetParent !== null && n.getBoundingClientRect().height < 44).map((n) => n.outerHTML.slice(0, 80)));
    assert.deepEqual(small, [], 'touch targets under 44 px');
    // No horizontal scrolling at 360 px.
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= 360), 'wider than 360 px');
  });

  await step('the link of a login QR code (wangge token add --qr) logs in and leaves no token in the address', async () => {
    const other = await browser.newContext({ viewport: { width: 360, height: 740 }, isMobile: true });
    const p = watch(await other.newPage());
    await p.goto(`${base}/app/#token=${tokens.worker}`);
    await expectReady(p);
    assert.equal(new URL(p.url()).hash, '', 'the token is dropped from the address');
    assert.match(await p.textContent('#who'), new RegExp(actors.worker));
    await other.close();
  });

  await step('the fallback SHA-256 agrees with WebCrypto (plain-http intranets use it)', async () => {
    const ok = await page.evaluate(async () => {
      const { sha256HexOfBytes } = await import('/app/sha256.js');
      for (const n of [0, 1, 55, 56, 63, 64, 65, 1000, 100_000]) {
        const bytes = new Uint8Array(n).map((_, i) => (i * 131 + n * 7 + (i >> 8)) & 255);
        const web = Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes)), (b) => b.toString(16).padStart(2, '0')).join('');
        if (web !== sha256HexOfBytes(bytes)) return n;
      }
      return true;
    });
    assert.equal(ok, true, `differs at ${ok} bytes`);
  });

  let first;
  await step('a report with a photo, placed by the phone\'s position, becomes a case', async () => {
    await open(page, '#report');
    await page.waitForFunction((g) => document.querySelector('#place')?.dataset.grid === g, here.grid);
    assert.match(await page.textContent('#place'), new RegExp(`位于网格 ${here.grid}`));
    assert.equal(await page.inputValue('#grid'), here.grid, 'the located grid is preselected and editable');
    const shot = await photo(page, 96, 1);
    await fillReport(page, '人行道被摊位占用', [shot]);
    await page.screenshot({ path: join(artifacts, 'app-report.png'), fullPage: true });
    await page.click('#send');
    await page.waitForFunction(() => document.querySelector('#queue-list [data-state]')?.dataset.state === 'delivered', null, { timeout: 15_000 });
    const [item] = await queueStates(page);
    assert.match(item.detail, /案件号 \d+/);
    const c = await api(`/v1/cases/${item.client}`, tokens.worker);
    assert.equal(c.grid, here.grid);
    assert.equal(c.category, CATEGORY);
    assert.equal(c.media[0].items[0].sha256, (await import('node:crypto')).createHash('sha256').update(shot.buffer).digest('hex'));
    first = c.case_id;
    await page.screenshot({ path: join(artifacts, 'app-queue.png'), fullPage: true });
  });

  const offlineIds = [];
  await step('offline: three reports with photos wait on the phone, survive a reload, and are delivered once online', async () => {
    const before = await mineCount();
    await phone.setOffline(true);
    await page.evaluate(() => window.dispatchEvent(new Event('offline')));
    for (let i = 0; i < 3; i++) {
      await open(page, '#report');
      await fillReport(page, `离线上报 ${i + 1}`, [await photo(page, 64, 10 + i)]);
      await page.click('#send');
      await page.waitForFunction((n) => document.querySelectorAll('#queue-list [data-state=waiting]').length === n, i + 1);
    }
    assert.equal(await page.isVisible('#offline'), true, 'the offline banner shows');
    await page.screenshot({ path: join(artifacts, 'app-offline-queue.png'), fullPage: true });
    await page.reload();  // from the service worker's cache: no network
    await expectReady(page);
    await open(page, '#queue');
    const waiting = (await queueStates(page)).filter((s) => s.state === 'waiting');
    assert.equal(waiting.length, 3, 'the queue survived the reload');
    offlineIds.push(...waiting.map((s) => s.client));
    assert.equal(await mineCount(), before, 'nothing reached the server while offline');
    await phone.setOffline(false);
    await page.evaluate(() => window.dispatchEvent(new Event('online')));
    await page.waitForFunction(() => document.querySelectorAll('#queue-list [data-state=delivered]').length === 4, null, { timeout: 30_000 });
    assert.equal(await mineCount(), before + 3, 'exactly three new cases');
    for (const id of offlineIds) {
      const c = await api(`/v1/cases/${id}`, tokens.worker);
      assert.equal(c.media?.[0]?.items?.length, 1, `case ${id} has its photo`);
    }
    // Sending again is harmless: the same client ids are duplicates, not new cases.
    await page.click('#send-now');
    await page.waitForTimeout(500);
    assert.equal(await mineCount(), before + 3);
  });

  await step('a photo upload cut off mid-way resumes from where the server\'s copy ends', async () => {
    const big = await photo(page, 1500, 42);
    assert.ok(big.buffer.length > 1024 * 1024, `a multi-part photo (parts of 1 MiB): ${big.buffer.length} bytes`);
    const starts = [];
    let cut = false;
    await page.route('**/v1/media/*', async (route) => {
      const range = route.request().headers()['content-range'];
      if (route.request().method() === 'PUT' && range) {
        const from = Number(range.match(/bytes (\d+)-/)[1]);
        starts.push(from);
        if (from > 0 && !cut) { cut = true; return route.abort('connectionreset'); }
      }
      return route.continue();
    });
    await open(page, '#report');
    await fillReport(page, '大图断点续传', [big]);
    await page.click('#send');
    for (let i = 0; i < 300 && !cut; i++) await page.waitForTimeout(50);
    assert.ok(cut, 'the second part was cut off');
    // The cut leaves the report waiting, with the network's error, until the next try.
    await page.waitForFunction(() => {
      const li = document.querySelector('#queue-list li[data-client]');
      return li?.querySelector('.pill').dataset.state === 'waiting' && li.querySelector('[data-detail]');
    }, null, { timeout: 15_000 });
    await page.click('#send-now');
    await page.waitForFunction(() => document.querySelector('#queue-list [data-state]')?.dataset.state === 'delivered', null, { timeout: 30_000 });
    await page.unroute('**/v1/media/*');
    const resumedAt = starts[starts.indexOf(starts.find((s) => s > 0)) + 1];
    assert.equal(resumedAt, starts.find((s) => s > 0), `resumed at the part that was cut (${starts})`);
    assert.equal(starts.filter((s) => s === 0).length, 1, `the first part was sent once (${starts})`);
  });

  const office = watch(await desk.newPage());
  let returned;
  await step('a handler sees the office\'s inbox by deadline, with the working time left', async () => {
    await login(office, tokens.handler);
    assert.deepEqual(await office.$$eval('#tabs a', (as) => as.map((a) => a.dataset.tab)), ['inbox']);
    const rows = await office.$$eval('#inbox-list li[data-case]', (lis) => lis.map((li) => li.dataset.case));
    assert.ok(rows.includes(first), 'the new case is in the inbox');
    const left = await office.$$eval('#inbox-list [data-hours-left]', (ds) => ds.map((d) => Number(d.dataset.hoursLeft)));
    const deadlines = await office.$$eval('#inbox-list li[data-case]', (lis) => lis.length);
    assert.equal(left.length, deadlines);
    await office.screenshot({ path: join(artifacts, 'app-inbox.png') });
    returned = offlineIds[0];
  });

  await step('the handler accepts and resolves one case with a photo, and returns another', async () => {
    await open(office, `#case=${encodeURIComponent(first)}`);
    assert.ok(await office.isVisible('#case-map svg'), 'the case has its small map');
    assert.match(await office.textContent('#routing'), /route\//);
    await office.click('[data-act=accept]');
    await office.waitForFunction(() => document.querySelector('#case')?.dataset.status === 'accepted');
    await office.fill('input[name=resolve-note]', '已清理占道摊位');
    await office.setInputFiles('#resolve-photos', [await photo(office, 80, 77)]);
    await office.screenshot({ path: join(artifacts, 'app-case.png'), fullPage: true });
    await office.click('[data-act=resolve]');
    await office.waitForFunction(() => document.querySelector('#case')?.dataset.status === 'resolved', null, { timeout: 15_000 });
    const steps = await office.$$eval('#history li', (lis) => lis.map((li) => li.dataset.action));
    assert.deepEqual(steps, ['report', 'accept', 'resolve']);
    // An error in words, and nothing changes: a return needs its reason.
    await open(office, `#case=${encodeURIComponent(returned)}`);
    await office.click('[data-act=return]');
    await office.waitForSelector('#act-error:not([hidden])');
    assert.match(await office.textContent('#act-error'), /note/);
    await office.fill('input[name=return-note]', '非本部门职责');
    await office.click('[data-act=return]');
    await office.waitForFunction(() => document.querySelector('#case')?.dataset.status === 'returned');
  });

  await step('a new case arrives live: the inbox tab gets a badge', async () => {
    await open(office, `#case=${encodeURIComponent(first)}`);
    const res = await fetch(`${base}/v1/reports`, {
      method: 'POST', headers: { Authorization: `Bearer ${tokens.worker}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ client_id: `live-${Date.now()}`, category: CATEGORY, village: 'V01', grid: 'V01-G1', severity: 2,
                             text: '又有摊位', reported_at: new Date().toISOString() }),
    });
    assert.equal(res.status, 201);
    await office.waitForSelector('#badge', { timeout: 40_000 });
    assert.equal(await office.textContent('#badge'), '1');
  });

  await step('the worker verifies; the case closes and the supervisor\'s dashboard counts it', async () => {
    const before = (await api('/v1/stats')).rows[0];
    await open(page, '#verify');
    const card = `#verify-list li[data-case="${first}"]`;
    await page.waitForSelector(card);
    // What the office did is shown with it: the resolution's note and its photo.
    await page.waitForSelector(`${card} .resolution .text`);
    assert.match(await page.textContent(`${card} .resolution`), /已清理占道摊位/);
    await page.waitForFunction((c) => document.querySelector(`${c} .resolution img`)?.complete &&
                                      document.querySelector(`${c} .resolution img`).naturalWidth > 0, card);
    await page.screenshot({ path: join(artifacts, 'app-verify.png'), fullPage: true });
    await page.click(`${card} [data-act=verify]`);
    await page.waitForSelector(card, { state: 'detached', timeout: 15_000 });  // no longer to verify
    await expectReady(page);
    const c = await api(`/v1/cases/${first}`, tokens.worker);
    assert.equal(c.status, 'closed');
    assert.equal(c.satisfaction, 5);
    const after = (await api('/v1/stats')).rows[0];
    assert.equal(after.closed, before.closed + 1);
    const dash = watch(await desk.newPage());
    await dash.goto(`${base}/ui/`);
    await dash.fill('#token', tokens.supervisor);
    await dash.click('#login-form button[type=submit]');
    await dash.waitForFunction(() => document.body.dataset.state === 'ready');
    const shown = await dash.getAttribute('[data-testid=tile-closure_rate]', 'data-value');
    assert.equal(shown, String((await api('/v1/stats')).rows[0].closure_rate));
  });

  await step('in English too, and nothing left the machine', async () => {
    await page.click('#lang');
    await expectReady(page);
    assert.equal(await page.textContent('#tabs [data-tab=report]'), 'Report');
    await page.screenshot({ path: join(artifacts, 'app-en.png') });
    assert.deepEqual(foreign, [], 'requests outside the server');
    const real = problems.filter((p) => !/Failed to load resource|net::ERR_INTERNET_DISCONNECTED|ERR_CONNECTION_RESET|status of 4\d\d/.test(p));
    assert.deepEqual(real, [], 'console errors');
  });
} catch (e) {
  console.error(`FAIL: ${e.stack ?? e}`);
  exitCode = 1;
} finally {
  await browser.close();
}
process.exit(exitCode);
