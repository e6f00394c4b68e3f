// The dashboard's state lives in the URL (filters, language, the open case), so a view
// can be shared; the token lives in sessionStorage. Every figure comes from the API.
import * as api from './api.js';
import { setLanguage, t } from './i18n.js';
import * as view from './views.js';
import { drawMap } from './map.js';

const ROLES = new Set(['supervisor', 'auditor', 'admin']);
const SCOPES = ['office', 'village', 'category'];  // the stats API takes one at a time
const state = { me: null, names: null, geography: undefined, generation: 0, live: false };
const MAP_POINTS = 3000;  // open cases drawn on the map at most
const $ = (id) => document.getElementById(id);

function params() { return new URLSearchParams(location.search); }

function filters() {
  const p = params();
  const f = { from: p.get('from') ?? '', to: p.get('to') ?? '', interval: p.get('interval') === 'week' ? 'week' : 'month' };
  for (const k of SCOPES) f[k] = p.get(k) ?? '';
  return f;
}

// This page's URL with `changes` applied (an empty value removes the parameter).
function urlWith(changes) {
  const p = params();
  for (const [k, v] of Object.entries(changes)) (v ? p.set(k, v) : p.delete(k));
  const qs = p.toString();
  return qs ? `${location.pathname}?${qs}` : location.pathname;
}

function go(url) { history.pushState(null, '', url); route(); }

function show(id) {
  for (const m of ['login', 'dashboard', 'case']) $(m).hidden = m !== id;
  $('logout').hidden = id === 'login';
  $('who').hidden = id === 'login';
}

function showError(message) {
  $('error').textContent = message;
  $('error').hidden = !message;
}

function showLogin(message = '') {
  state.me = null;
  show('login');
  $('login-error').textContent = message;
  $('login-error').hidden = !message;
  document.body.dataset.state = 'login';
}

async function route() {
  showError('');
  const generation = ++state.generation;
  document.body.dataset.state = 'loading';
  if (!api.token()) return showLogin();
  try {
    if (!state.me) {
      const me = await api.get('/v1/me');
      if (!ROLES.has(me.role)) {
        api.forgetToken();
        return showLogin(`${t('bad_role')} ${me.role}.`);
      }
      state.me = me;
    }
    $('who').textContent = `${state.me.actor} · ${state.me.role}`;
    state.names ??= await loadNames();
    const id = params().get('case');
    await (id ? showCase(id, generation) : showDashboard(generation));
  } catch (e) {
    if (e.status === 401) {
      api.forgetToken();
      return showLogin(t('bad_token'));
    }
    showError(e.message);
    document.body.dataset.state = 'error';
  }
}

// Office and category names from the active ruleset; villages from the ruleset's village
// offices and the figures of all time.
async function loadNames() {
  const [rules, villages] = await Promise.all([api.get('/v1/rules'), api.get('/v1/stats', { group_by: 'village' })]);
  const offices = new Map(rules.ruleset.offices.map((o) => [o.id, o.name]));
  const categories = new Map(rules.ruleset.categories.map((c) => [c.id, c.name]));
  const villageIds = new Set(villages.rows.map((r) => r.key));
  for (const o of rules.ruleset.offices) if (o.village) villageIds.add(o.village);
  return { offices, categories, villages: [...villageIds].sort() };
}

function fillSelect(select, ids, names, chosen) {
  const options = [view.el('option', { value: '' }, t('any'))];
  for (const id of ids) options.push(view.el('option', { value: id }, names && names.has(id) ? `${names.get(id)}` : id));
  if (chosen && !ids.includes(chosen)) options.push(view.el('option', { value: chosen }, chosen));
  select.replaceChildren(...options);
  select.value = chosen;
}

function syncForm(f) {
  const form = $('filters');
  form.from.value = f.from;
  form.to.value = f.to;
  form.interval.value = f.interval;
  const zh = document.documentElement.lang === 'zh-CN';
  fillSelect(form.office, [...state.names.offices.keys()], zh ? state.names.offices : null, f.office);
  fillSelect(form.village, state.names.villages, null, f.village);
  fillSelect(form.category, [...state.names.categories.keys()], zh ? state.names.categories : null, f.category);
}

async function showDashboard(generation) {
  const f = filters();
  syncForm(f);
  if (state.geography === undefined) state.geography = await api.geography();
  const selected = params().get('grid') ?? '';
  const [headline, byOffice, byVillage, trend, grids, overdue, points, gridCases] = await Promise.all([
    api.stats(f), api.stats(f, { group_by: 'office' }), api.stats(f, { group_by: 'village' }),
    api.stats(f, { interval: f.interval }), api.stats(f, { group_by: 'grid' }), api.overdue(f),
    state.geography ? api.cases(f, { open: 'true' }, MAP_POINTS) : null,
    state.geography && selected ? api.cases(f, { grid: selected, open: 'true' }, 200) : null,
  ]);
  if (generation !== state.generation) return;  // a newer view was asked for meanwhile
  show('dashboard');
  const row = headline.rows[0];
  view.tiles(row);
  view.groupView('table-office', 'chart-office', byOffice.rows, state.names.offices);
  view.groupView('table-village', 'chart-village', byVillage.rows, new Map());
  view.trend(trend.rows);
  view.backlog(row);
  view.heat(grids.rows);
  showMap(grids.rows, points, selected, gridCases);
  view.overdueList(overdue, state.names, Date.parse(headline.as_of), (id) => urlWith({ case: id }));
  document.body.dataset.state = 'ready';
  if (!state.live) follow(generation);
}

function showMap(rows, points, selected, gridCases) {
  $('map-none').hidden = Boolean(state.geography);
  $('map').hidden = !state.geography;
  $('map-grid').hidden = !gridCases;
  if (!state.geography) return;
  const shade = params().get('shade') === 'overdue' ? 'overdue' : 'open';
  $('map-shade').value = shade;
  const located = points.cases.filter((c) => c.lat !== undefined && c.lon !== undefined);
  drawMap($('map'), state.geography, rows, located, {
    shade, selected, onSelect: (grid) => go(urlWith({ grid: grid === selected ? '' : grid })),
  });
  if (gridCases) {
    $('map-grid-title').textContent = `${t('grid_cases')} ${selected}`;
    view.caseList('map-cases', gridCases, state.names, (id) => urlWith({ case: id }));
  }
}

// Live updates: a long-poll of GET /v1/feed; any new record the caller may see redraws the
// view. It hands over to the newest view when the view changes; after an error (the
// server restarting, say) it tries again every 5 s, resuming after the last record seen.
async function follow(generation) {
  state.live = true;
  let next = null;
  while (api.token() && !$('dashboard').hidden) {
    try {
      next ??= (await api.get('/v1/feed')).next;
      const body = await api.get('/v1/feed', { after: next, wait: '30s', limit: 1000 });
      next = body.next;
      // A newer view may have loaded since the poll began; records may still have come
      // after it did, so any record redraws the view in force.
      generation = state.generation;
      if (body.records.length > 0) {
        $('live').textContent = `${t('updated')} ${new Date().toLocaleTimeString()}`;
        await showDashboard(generation);
        document.body.dataset.updates = String(Number(document.body.dataset.updates ?? 0) + 1);
      }
    } catch (e) {
      if (e.status === 401) break;  // the next view asks for a token
      await new Promise((resolve) => setTimeout(resolve, 5000));
    }
  }
  state.live = false;
}

async function showCase(id, generation) {
  const c = await api.get(`/v1/cases/${encodeURIComponent(id)}`);
  const explain = await api.get(`/v1/cases/${encodeURIComponent(id)}/explain`).catch(() => null);
  if (generation !== state.generation) return;
  show('case');
  $('back').href = urlWith({ case: '' });
  view.caseView(c, explain, state.names);
  document.body.dataset.state = 'ready';
}

function shanghaiDate(d) {
  return new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai' }).format(d);
}

function preset(kind) {
  const today = new Date();
  if (kind === 'all') return { from: '', to: '' };
  if (kind === 'year') return { from: `${shanghaiDate(today).slice(0, 4)}-01-01`, to: shanghaiDate(today) };
  return { from: shanghaiDate(new Date(today - (Number(kind) - 1) * 86400000)), to: shanghaiDate(today) };
}

function wire() {
  const form = $('filters');
  form.addEventListener('submit', (e) => e.preventDefault());
  form.addEventListener('change', (e) => {
    const name = e.target.name;
    const changes = { [name]: e.target.value };
    if (SCOPES.includes(name) && e.target.value) for (const k of SCOPES) if (k !== name) changes[k] = '';
    go(urlWith(changes));
  });
  $('map-shade').addEventListener('change', (e) => go(urlWith({ shade: e.target.value === 'overdue' ? 'overdue' : '' })));
  for (const b of form.querySelectorAll('[data-preset]')) {
    b.addEventListener('click', () => go(urlWith(preset(b.dataset.preset))));
  }
  $('login-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const value = $('token').value.trim();
    $('token').value = '';
    try {
      const me = await api.get('/v1/me', {}, value);
      if (!ROLES.has(me.role)) return showLogin(`${t('bad_role')} ${me.role}.`);
      api.setToken(value);
      state.me = me;
      route();
    } catch (err) {
      showLogin(err.status === 401 ? t('bad_token') : err.message);
    }
  });
  $('logout').addEventListener('click', () => {
    api.forgetToken();
    go(urlWith({ case: '' }));
  });
  $('lang').addEventListener('click', () => {
    const en = document.documentElement.lang !== 'en';
    history.replaceState(null, '', urlWith({ lang: en ? 'en' : '' }));
    applyLanguage();
    route();
  });
  // Links inside the page (a case, back to the dashboard) keep the page loaded.
  document.addEventListener('click', (e) => {
    const a = e.target.closest('a');
    if (!a || a.origin !== location.origin || e.ctrlKey || e.metaKey || e.shiftKey) return;
    e.preventDefault();
    go(a.pathname + a.search);
  });
  window.addEventListener('popstate', route);
}

function applyLanguage() {
  setLanguage(params().get('lang'));
  $('lang').textContent = document.documentElement.lang === 'en' ? '中文' : 'English';
}

applyLanguage();
wire();
route();
