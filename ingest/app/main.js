// The field app: one page for grid workers (report, outbox, my reports, verification) and
// for office handlers (inbox, case). The view lives in the URL's hash; the token, the
// language and the last lists live on the device, the queue in IndexedDB. It starts
// offline from the home screen once its service worker has the shell.
import * as api from './api.js';
import { setLanguage, t, lang } from './i18n.js';
import * as sync from './sync.js';
import * as worker from './worker.js';
import * as office from './office.js';
import { el } from './worker.js';

const $ = (id) => document.getElementById(id);
const TABS = {
  worker: ['report', 'queue', 'mine', 'verify'],
  handler: ['inbox'],
};
const ctx = { me: null, catalog: null, generation: 0, badge: 0, feedRunning: false, refresh: null };

export function showError(message) {
  $('error').textContent = message ?? '';
  $('error').hidden = !message;
}

function setNet() {
  const online = navigator.onLine;
  $('offline').hidden = online;
  document.body.classList.toggle('is-offline', !online);
}

// A QR code from `wangge token add --qr` opens /app/#token=wg_…: kept, then dropped from
// the address bar and the history.
function takeTokenFromUrl() {
  const m = location.hash.match(/^#token=(wg_[0-9a-f]{64})$/);
  if (!m) return;
  api.setToken(m[1]);
  localStorage.removeItem('wangge.app.me');
  history.replaceState(null, '', location.pathname);
}

function showLogin(message = '') {
  ctx.me = null;
  $('login').hidden = false;
  $('view').hidden = true;
  $('tabs').hidden = true;
  $('logout').hidden = true;
  $('who').hidden = true;
  $('login-error').textContent = message;
  $('login-error').hidden = !message;
  document.body.dataset.state = 'login';
}

function drawTabs() {
  const current = location.hash.slice(1).split('=')[0] || TABS[ctx.me.role][0];
  $('tabs').replaceChildren(...TABS[ctx.me.role].map((name) => {
    const badge = name === 'inbox' && ctx.badge > 0 ? el('span', { class: 'badge', id: 'badge' }, String(ctx.badge)) : null;
    return el('a', { href: `#${name}`, class: current === name ? 'tab active' : 'tab', dataset: { tab: name } },
              t(`tab_${name}`), badge);
  }));
}

const EMPTY_CATALOG = { categories: [], offices: [], villages: [], grids: [] };

// The identity and the catalog from the server, kept on the device.
async function fetchMe() {
  const [me, catalog] = await Promise.all([api.get('/v1/me'), api.get('/v1/catalog')]);
  localStorage.setItem('wangge.app.me', JSON.stringify(me));
  localStorage.setItem('wangge.app.catalog', JSON.stringify(catalog));
  return { me, catalog };
}

// The identity and the catalog: the ones kept from last time at once, refreshed behind
// the first view (a changed role, or a refused token, redraws it); the server's on a
// first start. Offline, what was kept is all there is.
async function loadMe() {
  const me = JSON.parse(localStorage.getItem('wangge.app.me') ?? 'null');
  const catalog = JSON.parse(localStorage.getItem('wangge.app.catalog') ?? 'null');
  if (me && catalog) {
    ctx.me = me;
    ctx.catalog = catalog;
    fetchMe().then((fresh) => {
      const changed = fresh.me.actor !== me.actor || fresh.me.role !== me.role || fresh.catalog.version !== catalog.version;
      ctx.me = fresh.me;
      ctx.catalog = fresh.catalog;
      if (changed) route();
    }).catch((e) => {
      if (e.status === 401) { ctx.me = null; route(); }
    });
    return;
  }
  const fresh = await fetchMe();
  ctx.me = fresh.me;
  ctx.catalog = fresh.catalog ?? EMPTY_CATALOG;
}

export async function route() {
  showError('');
  const generation = ++ctx.generation;
  document.body.dataset.state = 'loading';
  if (!api.token()) return showLogin();
  try {
    if (!ctx.me) {
      await loadMe();
      if (!TABS[ctx.me.role]) {
        api.forgetToken();
        localStorage.removeItem('wangge.app.me');
        return showLogin(`${t('bad_role')} ${ctx.me.role}.`);
      }
      startFeed();
    }
    $('login').hidden = true;
    $('view').hidden = false;
    $('tabs').hidden = false;
    $('logout').hidden = false;
    $('who').hidden = false;
    $('who').textContent = ctx.me.office ? `${ctx.me.actor} · ${ctx.me.office}` : ctx.me.actor;
    const [name, arg] = location.hash.slice(1).split('=');
    const view = name || TABS[ctx.me.role][0];
    if (view === 'inbox') ctx.badge = 0;
    drawTabs();
    const stale = () => generation !== ctx.generation;
    const render = { report: worker.report, queue: worker.queue, mine: worker.mine, verify: worker.verify,
                     inbox: office.inbox, case: office.caseView }[view];
    if (!render) throw new Error(`no view ${view}`);
    await render($('view'), ctx, { arg: arg ? decodeURIComponent(arg) : '', stale, go });
    if (!stale()) document.body.dataset.state = 'ready';
  } catch (e) {
    if (generation !== ctx.generation) return;
    if (e.status === 401) {
      api.forgetToken();
      localStorage.removeItem('wangge.app.me');
      return showLogin(t('bad_token'));
    }
    showError(e.message);
    document.body.dataset.state = 'error';
  }
}

export function go(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

// New records from the feed (long-poll): new cases and escalations for an office raise the
// inbox's badge and, when allowed, a notification; either role's open list is redrawn.
async function startFeed() {
  if (ctx.feedRunning) return;
  ctx.feedRunning = true;
  let after = '';
  while (ctx.me && api.token()) {
    try {
      const body = await api.feed(after, after === '' ? 0 : 25);
      if (after !== '') notice(body.records);
      after = String(body.next);
    } catch {
      await new Promise((r) => setTimeout(r, 5000));
    }
  }
  ctx.feedRunning = false;
}

function notice(all) {
  // This user's own records are already drawn; redrawing for them would also wipe what
  // they are typing into the next form.
  const records = all.filter((r) => r.actor !== ctx.me.actor);
  if (!records.length) return;
  if (ctx.me.role === 'handler') {
    const fresh = records.filter((r) => r.kind === 'report' || (r.kind === 'transition' && r.action === 'escalate'));
    if (fresh.length && !location.hash.startsWith('#inbox')) ctx.badge += fresh.length;
    for (const r of fresh) {
      if (globalThis.Notification?.permission === 'granted') {
        new Notification(r.kind === 'report' ? t('new_cases') : t('escalated'), { body: `${r.case_id} ${r.text ?? r.note ?? ''}`, tag: r.case_id });
      }
    }
    drawTabs();
  }
  const view = location.hash.slice(1).split('=')[0] || TABS[ctx.me.role][0];
  if (['inbox', 'mine', 'verify'].includes(view) || (view === 'case' && records.some((r) => location.hash.endsWith(encodeURIComponent(r.case_id))))) route();
}

function init() {
  takeTokenFromUrl();
  setLanguage(lang());
  $('lang').textContent = lang() === 'en' ? '中文' : 'English';
  $('lang').addEventListener('click', () => {
    setLanguage(lang() === 'en' ? 'zh' : 'en');
    $('lang').textContent = lang() === 'en' ? '中文' : 'English';
    route();
  });
  $('logout').addEventListener('click', () => {
    api.forgetToken();
    localStorage.removeItem('wangge.app.me');
    localStorage.removeItem('wangge.app.catalog');
    ctx.me = null;
    history.replaceState(null, '', location.pathname);
    showLogin();
  });
  $('login-form').addEventListener('submit', (event) => {
    event.preventDefault();
    localStorage.removeItem('wangge.app.me');  // another token: nothing kept from the last one
    api.setToken($('token').value.trim());
    $('token').value = '';
    ctx.me = null;
    route();
  });
  window.addEventListener('hashchange', route);
  window.addEventListener('online', () => {
    setNet();
    if (ctx.me?.role === 'worker') sync.drain(ctx.me.actor);
  });
  window.addEventListener('offline', setNet);
  sync.onChange(() => {
    const view = location.hash.slice(1) || 'report';
    if (view === 'queue') worker.redrawQueue($('view'), ctx);
  });
  setNet();
  if ('serviceWorker' in navigator) navigator.serviceWorker.register('sw.js').catch(() => undefined);
  route().then(() => {
    if (ctx.me?.role === 'worker' && navigator.onLine) sync.drain(ctx.me.actor);
  });
  // A queue left by a closed app, or a network that came back unnoticed: try each minute.
  setInterval(() => { if (ctx.me?.role === 'worker' && navigator.onLine) sync.drain(ctx.me.actor); }, 60_000);
}

init();
