// The office handler's screens: the inbox of the office's open cases by deadline, with
// the working time left (the calendar's holidays and adjusted workdays included), and a
// case with its history, photos, position and routing, where the handler accepts,
// returns, resolves or asks for more time: exactly the lifecycle's transitions.
import * as api from './api.js';
import { t, timeLeft, when } from './i18n.js';
import { drawPlace } from './map.js';
import { act, categoryName, el, officeName, photoInput, statusName } from './worker.js';

const OPEN = ['dispatched', 'accepted', 'resolved', 'returned'];

function select(name, options, value) {
  return el('select', { name, id: `filter-${name}`, 'aria-label': t(name) }, el('option', { value: '' }, `${t(name)} · ${t('any')}`),
            ...options.map(([v, label]) => el('option', { value: v, selected: v === value }, label)));
}

export async function inbox(view, ctx, { stale, go }) {
  const p = new URLSearchParams(location.hash.split('?')[1] ?? '');
  const filters = { status: p.get('status') ?? '', village: p.get('village') ?? '', category: p.get('category') ?? '' };
  let cases;
  try {
    cases = await api.allCases({ open: 'true', status: filters.status, village: filters.village, category: filters.category });
    localStorage.setItem('wangge.app.inbox', JSON.stringify(cases));
  } catch (e) {
    if (e.status !== 0) throw e;
    cases = JSON.parse(localStorage.getItem('wangge.app.inbox') ?? '[]');
  }
  if (stale()) return;
  cases.sort((a, b) => a.deadline.localeCompare(b.deadline));
  const form = el('form', { class: 'filters', id: 'inbox-filters' },
    select('status', OPEN.map((s) => [s, statusName(s)]), filters.status),
    select('village', ctx.catalog.villages.map((v) => [v.id, `${v.id} ${v.name}`]), filters.village),
    select('category', ctx.catalog.categories.map((c) => [c.id, c.name]), filters.category));
  form.addEventListener('change', () => {
    const q = new URLSearchParams();
    for (const [k, v] of new FormData(form)) if (v) q.set(k, v);
    go(`#inbox${q.toString() ? `?${q}` : ''}`);
  });
  const notify = globalThis.Notification && Notification.permission === 'default'
    ? el('button', { type: 'button', class: 'link', onclick: () => Notification.requestPermission() }, t('notify')) : null;
  view.replaceChildren(el('section', { class: 'card' },
    el('div', { class: 'row' }, el('h2', {}, `${t('tab_inbox')} · ${officeName(ctx, ctx.me.office)}`), notify),
    form,
    el('ul', { class: 'list', id: 'inbox-list' }, ...(cases.length ? cases.map((c) => {
      const overdue = c.working_hours_left !== undefined && c.working_hours_left < 0;
      return el('li', { class: overdue ? 'item overdue' : 'item', dataset: { case: c.case_id, status: c.status } },
        el('a', { href: `#case=${encodeURIComponent(c.case_id)}` },
          el('div', { class: 'row' }, el('strong', {}, categoryName(ctx, c.category)),
             el('span', { class: `pill s-${c.status}` }, statusName(c.status))),
          el('div', { class: 'meta' }, `${t('case_no')} ${c.number} · ${c.village} ${c.grid} · ${t('deadline')} ${when(c.deadline)}`),
          el('div', { class: overdue ? 'left overdue' : 'left', dataset: { hoursLeft: String(c.working_hours_left) } },
             timeLeft(c.working_hours_left)),
          c.text ? el('div', { class: 'text' }, c.text) : null));
    }) : [el('li', { class: 'empty' }, t('inbox_empty'))]))));
}

function historyList(steps) {
  return el('ol', { class: 'history', id: 'history' }, ...steps.map((s) => el('li', { dataset: { action: s.action } },
    el('div', { class: 'row' }, el('strong', {}, t(`a_${s.action}`)), el('span', { class: 'meta' }, when(s.at))),
    el('div', { class: 'meta' }, `${s.actor}${s.actor_office ? ` · ${s.actor_office}` : ''}${s.until ? ` · ${t('until')} ${when(s.until)}` : ''}`),
    s.note ? el('div', { class: 'text' }, s.note) : null)));
}

async function photos(c) {
  const box = el('div', { class: 'thumbs', id: 'case-photos' });
  const all = (c.media ?? []).flatMap((step) => step.items.map((item) => ({ step: step.step, item })));
  if (!all.length) box.append(el('p', { class: 'meta' }, t('no_media')));
  for (const { step, item } of all) {
    const img = el('img', { alt: t(`a_${step}`), dataset: { sha256: item.sha256, step } });
    box.append(el('figure', {}, img, el('figcaption', {}, t(`a_${step}`))));
    api.image(`${item.url}?size=256`).then((url) => { img.src = url; }).catch(() => undefined);
  }
  return box;
}

async function routing(c) {
  try {
    const e = await api.get(`/v1/cases/${encodeURIComponent(c.case_id)}/explain`);
    const hit = e.trace.find((r) => r.matched);
    return el('p', { class: 'meta', id: 'routing' },
              `${t('rule')} ${e.recorded.rule}${hit ? ` · ${hit.table}/${hit.row} ${t('matched')}: ${hit.reason}` : ''}`);
  } catch {
    return null;
  }
}

// The actions this case allows its office now.
function actions(ctx, c, go) {
  const problem = el('p', { class: 'error', id: 'act-error', hidden: true });
  const done = async (body, pics = []) => {
    const error = await act(c.case_id, body, pics);
    if (error) { problem.textContent = error; problem.hidden = false; return; }
    go(`#case=${encodeURIComponent(c.case_id)}`);
  };
  const note = (name) => el('input', { type: 'text', name, placeholder: t('reason') });
  const parts = [];
  if (c.status === 'dispatched') {
    parts.push(el('button', { type: 'button', class: 'primary', dataset: { act: 'accept' }, onclick: () => done({ action: 'accept' }) }, t('accept')));
  }
  if (c.status === 'dispatched' || c.status === 'accepted') {
    const why = note('return-note');
    parts.push(el('div', { class: 'action' }, why,
      el('button', { type: 'button', dataset: { act: 'return' }, onclick: () => done({ action: 'return', note: why.value.trim() }) }, t('return'))));
    const until = el('input', { type: 'datetime-local', name: 'until' });
    const because = note('extension-note');
    parts.push(el('div', { class: 'action' }, el('label', {}, t('until'), until), because,
      el('button', { type: 'button', dataset: { act: 'request_extension' }, onclick: () => {
        const at = until.value ? new Date(until.value).toISOString() : undefined;
        done({ action: 'request_extension', until: at, note: because.value.trim() });
      } }, t('request_extension'))));
  }
  if (c.status === 'accepted') {
    const pick = photoInput('resolve-photos');
    const what = el('input', { type: 'text', name: 'resolve-note', placeholder: t('note') });
    parts.push(el('div', { class: 'action' }, what, el('span', { class: 'meta' }, t('after_photos')), pick.node,
      el('button', { type: 'button', class: 'primary', dataset: { act: 'resolve' },
                     onclick: () => done({ action: 'resolve', note: what.value.trim() }, pick.photos) }, t('resolve'))));
  }
  return parts.length ? el('div', { class: 'actions', id: 'actions' }, ...parts, problem) : null;
}

async function geographyOnce() {
  try {
    return (await api.get('/v1/geography')).geography;
  } catch {
    return null;
  }
}
let geography;

export async function caseView(view, ctx, { arg, stale, go }) {
  const c = await api.get(`/v1/cases/${encodeURIComponent(arg)}`);
  geography ??= await geographyOnce();
  const [pics, why] = await Promise.all([photos(c), routing(c)]);
  if (stale()) return;
  const map = el('div', { class: 'map', id: 'case-map' });
  if (geography) drawPlace(map, geography, c.grid, c.lat, c.lon);
  view.replaceChildren(el('section', { class: 'card', id: 'case', dataset: { status: c.status } },
    el('a', { href: ctx.me.role === 'handler' ? '#inbox' : '#mine', class: 'link' }, t('back')),
    el('h2', {}, `${categoryName(ctx, c.category)} · ${t('case_no')} ${c.number}`),
    el('div', { class: 'row' }, el('span', { class: `pill s-${c.status}`, id: 'case-status' }, statusName(c.status)),
       el('span', { class: 'meta' }, timeLeft(c.working_hours_left))),
    el('div', { class: 'meta' }, `${officeName(ctx, c.office)} · ${c.village} ${c.grid} · ${t('deadline')} ${when(c.deadline)}`),
    c.text ? el('p', { class: 'text' }, c.text) : null,
    actions(ctx, c, go),
    el('h3', {}, t('map')), map,
    el('h3', {}, t('routing')), why,
    pics,
    el('h3', {}, t('history')), historyList(c.history)));
}
