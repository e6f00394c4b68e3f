// End-to-end tests of the dashboard in headless Chromium, driven by playwright-core,
// against a real `wangge demo` (a generated town-year served on 127.0.0.1).
// Usage: node dashboard_test.mjs WANGGE_BINARY ARTIFACT_DIR
// Exits 0 when every check passes, 1 on a failure, 77 (ctest's skip) with a message
// when Chromium or playwright-core is not installed.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { launch, setUp, startDemo, stepper, watcher } from './harness.mjs';

const { binary, artifacts, chromium, chromiumPath } = await setUp('node dashboard_test.mjs WANGGE_BINARY ARTIFACT_DIR');
const { base, tokens, demo } = await startDemo(binary);

async function api(path, params = {}, token = tokens.supervisor) {
  const qs = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== '' && v != null)).toString();
  const res = await fetch(`${base}${path}${qs ? `?${qs}` : ''}`, { headers: { Authorization: `Bearer ${token}` } });
  assert.equal(res.status, 200, `${path}?${qs}: ${res.status}`);
  return res.json();
}

// --- The browser ------------------------------------------------------------------
const browser = await launch(chromium, chromiumPath);
const context = await browser.newContext({ viewport: { width: 1400, height: 1000 }, locale: 'zh-CN' });
// Requests that left the server's origin; console errors and uncaught page errors (CSP
// violations among them).
const { foreign, problems, watch } = watcher(base);

const ready = (page) => page.waitForFunction(() => ['ready', 'login', 'error'].includes(document.body.dataset.state));
async function expectState(page, state) {
  await ready(page);
  assert.equal(await page.evaluate(() => document.body.dataset.state), state,
               `page state (error banner: ${await page.textContent('#error')})`);
}
async function login(page, token) {
  await page.fill('#token', token);
  // Marked here, so the wait below sees this attempt's outcome and not the last one's.
  await page.evaluate(() => { document.body.dataset.state = 'submitting'; });
  await page.click('#login-form button[type=submit]');
  await ready(page);
}
// After an action that changes the URL: wait for the new view.
async function settled(page, urlPart) {
  await page.waitForURL((u) => u.href.includes(urlPart));
  await expectState(page, 'ready');
}

const pct = (r) => (r === null ? '—' : `${(r * 100).toFixed(1)}%`);
const hrs = (h, unit) => (h === null || h === undefined ? '—' : `${h.toFixed(1)} ${unit}`);
const num = (n) => Number(n).toLocaleString('en-US');

// The tiles must show the figures of GET /v1/stats for the same filters. overdue_open
// moves with the clock, so the page's value must equal the API's just before or after.
async function checkTiles(page, filters, unit = '小时') {
  const before = (await api('/v1/stats', filters)).rows[0];
  const shown = await page.$$eval('.tile', (tiles) => Object.fromEntries(tiles.map((t) =>
    [t.dataset.testid, { value: t.dataset.value, text: t.querySelector('.value').textContent }])));
  const after = (await api('/v1/stats', filters)).rows[0];
  const expected = {
    'tile-reports': [before.total, num(before.total)],
    'tile-closure_rate': [before.closure_rate, pct(before.closure_rate)],
    'tile-on_time_rate': [before.on_time_rate, pct(before.on_time_rate)],
    'tile-p50': [before.closure_hours?.p50 ?? null, hrs(before.closure_hours?.p50, unit)],
    'tile-p90': [before.closure_hours?.p90 ?? null, hrs(before.closure_hours?.p90, unit)],
    'tile-satisfaction_rate': [before.satisfaction_rate, pct(before.satisfaction_rate)],
  };
  for (const [id, [value, text]] of Object.entries(expected)) {
    assert.equal(shown[id].value, String(value), `${id} value for ${JSON.stringify(filters)}`);
    assert.equal(shown[id].text, text, `${id} text for ${JSON.stringify(filters)}`);
  }
  assert.ok([before.overdue_open, after.overdue_open].map(String).includes(shown['tile-overdue_open'].value),
            `overdue now: page ${shown['tile-overdue_open'].value}, API ${before.overdue_open}/${after.overdue_open}`);
  return before;
}

// The map shades every grid of the geography by its open cases under the view's filters.
async function checkMapShading(page, filters) {
  const rows = (await api('/v1/stats', { ...filters, group_by: 'grid' })).rows;
  const shaded = await page.$$eval('#map path.grid', (ps) => ps.map((p) => [p.dataset.grid, Number(p.dataset.value)]));
  assert.ok(shaded.length > 0, 'the map has grids');
  for (const [grid, value] of shaded) {
    assert.equal(value, rows.find((r) => r.key === grid)?.open ?? 0, `map shading of ${grid} for ${JSON.stringify(filters)}`);
  }
}

async function checkGroupTable(page, tableId, filters, groupBy) {
  const rows = (await api('/v1/stats', { ...filters, group_by: groupBy })).rows;
  const shown = await page.$$eval(`#${tableId} tbody tr`, (trs) => trs.map((tr) =>
    ({ key: tr.dataset.key, cells: [...tr.children].map((td) => td.textContent) })));
  assert.equal(shown.length, rows.length, `${tableId}: rows`);
  for (const r of rows) {
    const s = shown.find((x) => x.key === r.key);
    assert.ok(s, `${tableId}: no row for ${r.key}`);
    assert.deepEqual(s.cells.slice(1, 5), [num(r.total), num(r.closed), pct(r.closure_rate), pct(r.on_time_rate)],
                     `${tableId}: row ${r.key}`);
  }
  return rows;
}

const step = stepper();

let exitCode = 0;
try {
  const page = watch(await context.newPage());

  await step('without a token the page shows only the login form', async () => {
    await page.goto(`${base}/`);
    assert.ok(page.url().endsWith('/ui/'), `/ redirects to /ui/: ${page.url()}`);
    await expectState(page, 'login');
    assert.equal(await page.isVisible('#dashboard'), false);
    assert.equal(await page.$$eval('.tile', (t) => t.length), 0);
    assert.equal(await page.textContent('h1'), '网格事件办结看板');
  });

  await step('a wrong token and a worker token are refused with a message', async () => {
    await login(page, 'wg_not-a-token');
    assert.match(await page.textContent('#login-error'), /令牌无效/);
    await login(page, tokens.worker);
    assert.match(await page.textContent('#login-error'), /worker/);
    assert.equal(await page.isVisible('#dashboard'), false);
    assert.equal(await page.evaluate(() => sessionStorage.getItem('wangge.token')), null);
    problems.length = 0;  // the refused token's 401 is logged by the browser, as it should be
  });

  await step('a supervisor logs in; the tiles equal GET /v1/stats', async () => {
    await login(page, tokens.supervisor);
    await expectState(page, 'ready');
    assert.match(await page.textContent('#who'), /S-01 · supervisor/);
    const row = await checkTiles(page, {});
    assert.ok(row.total > 18000 && row.open > 0, 'the demo year has open cases');
    assert.equal(await page.evaluate(() => localStorage.length), 0, 'nothing in localStorage');
    await page.screenshot({ path: join(artifacts, 'dashboard-zh.png'), fullPage: true });
  });

  await step('the office and village tables equal the grouped stats', async () => {
    await checkGroupTable(page, 'table-office', {}, 'office');
    await checkGroupTable(page, 'table-village', {}, 'village');
  });

  await step('a table sorts by the column clicked', async () => {
    await page.click('#table-office th[data-sort="closure_rate"]');
    const rates = await page.$$eval('#table-office tbody tr td:nth-child(4)', (tds) => tds.map((t) => t.textContent));
    const values = rates.map((r) => (r === '—' ? -1 : parseFloat(r)));
    assert.deepEqual(values, [...values].sort((a, b) => b - a), 'closure rate, highest first');
    await page.click('#table-office th[data-sort="closure_rate"]');
    const again = await page.$$eval('#table-office tbody tr td:nth-child(4)', (tds) => tds.map((t) => parseFloat(t.textContent)));
    assert.deepEqual(again, [...again].sort((a, b) => a - b), 'a second click: lowest first');
  });

  await step('a new report appears without a reload (the change feed)', async () => {
    const before = Number(await page.getAttribute('[data-testid=tile-reports]', 'data-value'));
    const updates = await page.evaluate(() => Number(document.body.dataset.updates ?? 0));
    const res = await fetch(`${base}/v1/reports`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${tokens.worker}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ client_id: 'ui-live-1', category: 'env.garbage', village: 'V07', grid: 'V07-G1',
                             severity: 2, text: '河道漂浮垃圾', reported_at: new Date().toISOString() }),
    });
    assert.equal(res.status, 201);
    await page.waitForFunction((n) => Number(document.body.dataset.updates ?? 0) > n, updates, { timeout: 10_000 });
    await page.waitForFunction((n) => Number(document.querySelector('[data-testid=tile-reports]').dataset.value) === n + 1,
                               before, { timeout: 10_000 });
    assert.match(await page.textContent('#live'), /已实时更新/);
  });

  await step('the backlog, grid heat-list and overdue list equal the API', async () => {
    const grids = (await api('/v1/stats', { group_by: 'grid' })).rows.filter((r) => r.open > 0);
    const heat = await page.$$eval('#heat li', (lis) => lis.map((li) => [li.dataset.key, Number(li.dataset.open)]));
    assert.deepEqual(new Map(heat), new Map(grids.map((r) => [r.key, r.open])));
    assert.equal(heat[0][1], Math.max(...grids.map((r) => r.open)), 'the busiest grid first');
    const overdue = (await api('/v1/cases', { overdue: 'true', limit: 20 })).cases.map((c) => c.case_id);
    const shown = await page.$$eval('#overdue tbody tr[data-case]', (trs) => trs.map((tr) => tr.dataset.case));
    assert.ok(overdue.length > 0, 'the demo has overdue cases');
    assert.deepEqual(shown, overdue, 'overdue cases, oldest deadline first');
  });

  await step('the map draws every grid; a click lists its open cases; a new report appears on it live', async () => {
    const { features } = (await api('/v1/geography')).geography;
    assert.equal(features.length, 200, 'the demo town: 40 villages of 5 grids');
    assert.equal(await page.locator('#map path.grid').count(), features.length);
    await checkMapShading(page, {});
    assert.match(await page.textContent('#map path.grid[data-grid="V07-G3"] title'), /^V07-G3 · V07\n报告数 /);
    assert.ok(Number(await page.getAttribute('#map', 'data-points')) > 0, 'open cases are drawn as points');

    await page.click('#map path.grid[data-grid="V07-G3"]');
    await settled(page, 'grid=V07-G3');
    // The page's list: the grid's open cases (up to 200), over as many pages as that takes.
    const listed = [];
    for (let after = '', page = 0; page < 10 && listed.length < 200; ++page) {
      const body = await api('/v1/cases', { grid: 'V07-G3', open: 'true', limit: 200 - listed.length, after });
      listed.push(...body.cases.map((c) => c.case_id));
      if (!body.next) break;
      after = body.next;
    }
    const shown = await page.$$eval('#map-cases tbody tr[data-case]', (trs) => trs.map((tr) => tr.dataset.case));
    assert.ok(listed.length > 0, 'V07-G3 has open cases');
    assert.deepEqual(shown, listed, "the grid's cases");
    assert.equal(await page.getAttribute('#map path.grid.selected', 'data-grid'), 'V07-G3');

    // A report with a position and no grid: located in V07-G3, drawn without a reload.
    const ring = features.find((f) => f.properties.grid === 'V07-G3').geometry.coordinates[0].slice(0, -1);
    const lon = ring.reduce((a, p) => a + p[0], 0) / ring.length, lat = ring.reduce((a, p) => a + p[1], 0) / ring.length;
    const points = Number(await page.getAttribute('#map', 'data-points'));
    const res = await fetch(`${base}/v1/reports`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${tokens.worker}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ client_id: 'ui-map-1', category: 'env.garbage', severity: 2, text: '河道漂浮垃圾',
                             lat, lon, reported_at: new Date().toISOString() }),
    });
    assert.equal(res.status, 201);
    assert.equal((await res.json()).grid, 'V07-G3');
    await page.waitForFunction((n) => Number(document.querySelector('#map').dataset.points) === n + 1, points,
                               { timeout: 10_000 });
    await page.waitForSelector('#map-cases tr[data-case="ui-map-1"]', { timeout: 10_000 });
    await page.click('#map path.grid[data-grid="V07-G3"]');  // a second click clears the choice
    await page.waitForURL((u) => !u.href.includes('grid='));
    await expectState(page, 'ready');
  });

  let office;
  await step('choosing an office puts it in the URL and the figures follow', async () => {
    const byOffice = (await api('/v1/stats', { group_by: 'office' })).rows;
    office = byOffice.filter((r) => r.overdue_open > 0).sort((a, b) => b.total - a.total)[0]?.key ?? byOffice[0].key;
    await page.selectOption('select[name=office]', office);
    await settled(page, `office=${office}`);
    await checkTiles(page, { office });
    await checkGroupTable(page, 'table-village', { office }, 'village');
    await checkMapShading(page, { office });
    const ids = (await api('/v1/cases', { overdue: 'true', limit: 20, office })).cases.map((c) => c.case_id);
    assert.deepEqual(await page.$$eval('#overdue tbody tr[data-case]', (trs) => trs.map((tr) => tr.dataset.case)), ids);
  });

  await step('a period narrows every figure, and a village replaces the office', async () => {
    const to = (await api('/v1/stats')).as_of.slice(0, 10);
    const from = new Date(Date.parse(to) - 89 * 86400000).toISOString().slice(0, 10);
    await page.fill('input[name=from]', from);
    await page.dispatchEvent('input[name=from]', 'change');
    await settled(page, `from=${from}`);
    await page.fill('input[name=to]', to);
    await page.dispatchEvent('input[name=to]', 'change');
    await settled(page, `to=${to}`);
    await checkTiles(page, { from, to, office });
    await page.selectOption('select[name=village]', 'V07');
    await settled(page, 'village=V07');
    assert.ok(!page.url().includes('office='), 'one scope at a time');
    await checkTiles(page, { from, to, village: 'V07' });
    await page.selectOption('select[name=interval]', 'week');
    await settled(page, 'interval=week');
    const weeks = (await api('/v1/stats', { from, to, village: 'V07', interval: 'week' })).rows.length;
    const points = await page.evaluate(() => Chart.getChart('chart-trend').data.labels.length);
    assert.equal(points, weeks, 'one point a week');
    await page.screenshot({ path: join(artifacts, 'dashboard-filtered.png'), fullPage: true });
  });

  await step('the URL is shareable: a new tab asks for a token, then shows the same view', async () => {
    const shared = page.url();
    const other = watch(await context.newPage());
    await other.goto(shared);
    await expectState(other, 'login');
    await login(other, tokens.auditor);
    await expectState(other, 'ready');
    const form = await other.$eval('#filters', (f) => [f.from.value, f.to.value, f.village.value, f.office.value, f.interval.value]);
    const p = new URL(shared).searchParams;
    assert.deepEqual(form, [p.get('from'), p.get('to'), 'V07', '', 'week']);
    await checkTiles(other, { from: p.get('from'), to: p.get('to'), village: 'V07' });
    await other.close();
  });

  await step('a case opens from the overdue list with its history and routing', async () => {
    await page.click('button[data-preset=all]');
    await page.waitForURL((u) => !u.href.includes('from='));
    await expectState(page, 'ready');
    // The whole town (a village may have no overdue case); the weekly trend stays.
    await page.selectOption('select[name=village]', '');
    await page.waitForURL((u) => !u.href.includes('village='));
    await expectState(page, 'ready');
    const id = await page.$eval('#overdue tbody tr[data-case] a', (a) => a.dataset.case);
    await page.click(`#overdue a[data-case="${id}"]`);
    await settled(page, `case=${id}`);
    const c = await api(`/v1/cases/${encodeURIComponent(id)}`);
    assert.equal(await page.textContent('[data-field=case_id]'), c.case_id);
    assert.equal(await page.textContent('[data-field=rule]'), c.rule);
    assert.equal(await page.textContent('[data-field=explain-rule]'), c.rule);
    assert.deepEqual(await page.$$eval('#case-history tbody tr', (trs) => trs.map((tr) => Number(tr.dataset.seq))),
                     c.history.map((s) => s.seq));
    assert.ok(await page.$$eval('#case-explain tbody tr', (trs) => trs.length) > 0, 'the rule trace');
    await page.screenshot({ path: join(artifacts, 'case.png'), fullPage: true });
    await page.click('#back');
    await page.waitForURL((u) => !u.href.includes('case='));
    await expectState(page, 'ready');
    assert.ok(page.url().includes('interval=week'), 'back keeps the filters');
    await page.goBack();
    await settled(page, `case=${id}`);
  });

  await step('a case with photos shows them per step, before beside after', async () => {
    // The demo gives every 40th report a photo and its resolution another.
    let c = null;
    for (const item of (await api('/v1/cases', { limit: 200 })).cases) {
      const full = await api(`/v1/cases/${encodeURIComponent(item.case_id)}`);
      if ((full.media ?? []).some((m) => m.step === 'resolve')) { c = full; break; }
    }
    assert.ok(c, 'a demo case with a before and an after photo');
    await page.goto(`${base}/ui/?case=${encodeURIComponent(c.case_id)}`);
    await expectState(page, 'ready');
    assert.deepEqual(await page.$$eval('#case-media figure', (fs) => fs.map((f) => f.dataset.step)),
                     c.media.map((m) => m.step));
    await page.waitForFunction(() => {
      const imgs = [...document.querySelectorAll('#case-media img')];
      return imgs.length > 0 && imgs.every((i) => i.complete && i.naturalWidth > 0);
    });
    assert.deepEqual(await page.$$eval('#case-media img', (is) => is.map((i) => i.dataset.sha256)),
                     c.media.flatMap((m) => m.items.map((x) => x.sha256)));
    await page.screenshot({ path: join(artifacts, 'case-photos.png'), fullPage: true });
    await page.goBack();
    await settled(page, 'case=');
  });

  await step('English labels on request, kept in the URL', async () => {
    await page.click('#back');
    await page.waitForURL((u) => !u.href.includes('case='));
    await page.click('#lang');
    await settled(page, 'lang=en');
    assert.equal(await page.textContent('h1'), 'Grid case closure dashboard');
    assert.equal(await page.textContent('[data-testid=tile-closure_rate] .label'), 'Closure rate');
    await checkTiles(page, {}, 'h');
    await page.screenshot({ path: join(artifacts, 'dashboard-en.png'), fullPage: true });
  });

  await step('logging out forgets the token and hides the figures', async () => {
    await page.click('#logout');
    await expectState(page, 'login');
    assert.equal(await page.evaluate(() => sessionStorage.getItem('wangge.token')), null);
    await page.reload();
    await expectState(page, 'login');
    assert.equal(await page.isVisible('#dashboard'), false);
  });

  await step('no request left the server, and the page logged no error', async () => {
    assert.deepEqual(foreign, []);
    assert.deepEqual(problems, []);
  });
} catch (e) {
  console.error(`not ok ${step.count() + 1} - ${e.stack ?? e}`);
  exitCode = 1;
} finally {
  await browser.close();
  demo.kill('SIGTERM');
  const code = await new Promise((resolve) => demo.on('exit', resolve));
  if (code !== 0 && exitCode === 0) {
    console.error(`not ok - wangge demo exited ${code} after SIGTERM`);
    exitCode = 1;
  }
}
console.log(exitCode === 0 ? `dashboard: ${step.count()} checks passed; screenshots in ${artifacts}` : 'dashboard: FAILED');
process.exit(exitCode);
