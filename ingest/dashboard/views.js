// Rendering. Text from the API is always set as text, never parsed as HTML.
import { count, hours, nameOf, percent, statusName, t } from './i18n.js';
import { countBars, rateBars, rateLines } from './charts.js';
import * as api from './api.js';

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'dataset') Object.assign(node.dataset, v);
    else if (k === 'class') node.className = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(c);
  return node;
}

// The headline tiles of the window's one row. data-value holds the API's number.
export function tiles(row) {
  const items = [
    ['reports', row?.total ?? 0, count],
    ['closure_rate', row?.closure_rate ?? null, percent],
    ['on_time_rate', row?.on_time_rate ?? null, percent],
    ['p50', row?.closure_hours?.p50 ?? null, hours],
    ['p90', row?.closure_hours?.p90 ?? null, hours],
    ['overdue_open', row?.overdue_open ?? 0, count],
    ['satisfaction_rate', row?.satisfaction_rate ?? null, percent],
  ];
  document.getElementById('tiles').replaceChildren(...items.map(([key, value, format]) =>
    el('div', { class: 'tile', dataset: { testid: `tile-${key}`, value: value === null ? 'null' : String(value) } },
       el('div', { class: 'label' }, t(key)), el('div', { class: 'value' }, format(value)))));
}

const GROUP_COLUMNS = [
  { key: 'name', num: false, value: (r, names) => nameOf(names, r.key), show: (v) => v },
  { key: 'total', num: true, value: (r) => r.total, show: count },
  { key: 'closed', num: true, value: (r) => r.closed, show: count },
  { key: 'closure_rate', num: true, value: (r) => r.closure_rate, show: percent },
  { key: 'on_time_rate', num: true, value: (r) => r.on_time_rate, show: percent },
  { key: 'overdue_open', num: true, value: (r) => r.overdue_open, show: count },
  { key: 'p50', num: true, value: (r) => r.closure_hours?.p50 ?? null, show: hours },
];

const CHART_BARS = 20;

// A sortable table (click a header) and a bar chart of closure and on-time rates.
export function groupView(tableId, chartId, rows, names, sort = { key: 'total', desc: true }) {
  const table = document.getElementById(tableId);
  const render = () => {
    const col = GROUP_COLUMNS.find((c) => c.key === sort.key);
    const sorted = [...rows].sort((a, b) => compare(col.value(a, names), col.value(b, names)) * (sort.desc ? -1 : 1));
    const head = el('tr', {}, ...GROUP_COLUMNS.map((c) => el('th', {
      class: `sortable${c.num ? ' num' : ''}${c.key === sort.key ? (sort.desc ? ' sorted-desc' : ' sorted-asc') : ''}`,
      dataset: { sort: c.key },
      onclick: () => { sort = { key: c.key, desc: c.key === sort.key ? !sort.desc : c.num }; render(); },
    }, t(c.key === 'name' ? 'name' : c.key === 'total' ? 'total' : c.key))));
    const body = sorted.map((r) => el('tr', { dataset: { key: r.key } }, ...GROUP_COLUMNS.map((c) =>
      el('td', { class: c.num ? 'num' : '' }, c.show(c.value(r, names))))));
    table.replaceChildren(el('thead', {}, head), el('tbody', {}, ...body));
    // The chart shows the table's first rows in the table's order.
    const top = sorted.slice(0, CHART_BARS);
    rateBars(chartId, top.map((r) => nameOf(names, r.key)), [
      { label: t('closure_rate'), data: top.map((r) => r.closure_rate) },
      { label: t('on_time_rate'), data: top.map((r) => r.on_time_rate) },
    ]);
  };
  render();
}

// Nulls sort last whichever the direction; then numbers, then text.
function compare(a, b) {
  if (a === null || a === undefined) return b === null || b === undefined ? 0 : 1;
  if (b === null || b === undefined) return -1;
  return typeof a === 'number' ? a - b : String(a).localeCompare(String(b));
}

export function trend(rows) {
  rateLines('chart-trend', rows.map((r) => r.period), [
    { label: t('closure_rate'), data: rows.map((r) => r.closure_rate) },
    { label: t('on_time_rate'), data: rows.map((r) => r.on_time_rate) },
  ]);
}

export function backlog(row) {
  const bands = Object.keys(row?.backlog ?? {});
  countBars('chart-backlog', bands.map((b) => b.replace('d', t('days'))),
            [{ label: t('open'), data: bands.map((b) => row.backlog[b]) }]);
}

// Grids with open cases, most first, shaded by their share of the busiest grid.
export function heat(rows) {
  const open = rows.filter((r) => r.open > 0).sort((a, b) => b.open - a.open || a.key.localeCompare(b.key));
  const list = document.getElementById('heat');
  if (open.length === 0) return list.replaceChildren(el('li', { class: 'muted' }, t('none')));
  const max = open[0].open;
  list.replaceChildren(...open.map((r) => {
    const item = el('li', { dataset: { key: r.key, open: String(r.open) } },
                    el('span', { class: 'n' }, count(r.open)), r.key,
                    r.overdue_open ? ` · ${t('overdue')} ${count(r.overdue_open)}` : '');
    item.style.background = `hsl(0, 70%, ${Math.round(75 - 40 * (r.open / max))}%)`;
    return item;
  }));
}

// A list of cases (the map's selected grid): id, status, category, office, deadline.
export function caseList(tableId, result, names, caseHref) {
  const table = document.getElementById(tableId);
  if (result.cases.length === 0) {
    return table.replaceChildren(el('tbody', {}, el('tr', {}, el('td', { class: 'muted' }, t('no_cases')))));
  }
  const head = el('tr', {}, ...['case_id', 'status', 'category', 'office', 'deadline'].map((k) => el('th', {}, t(k))));
  const rows = result.cases.map((c) => el('tr', { dataset: { case: c.case_id } },
    el('td', {}, el('a', { href: caseHref(c.case_id), dataset: { case: c.case_id } }, c.case_id)),
    el('td', {}, statusName(c.status)), el('td', {}, nameOf(names.categories, c.category)),
    el('td', {}, nameOf(names.offices, c.office)), el('td', {}, shortTime(c.deadline))));
  const foot = result.complete ? [] : [el('tr', {}, el('td', { class: 'muted' }, t('more_pages')))];
  table.replaceChildren(el('thead', {}, head), el('tbody', {}, ...rows, ...foot));
}

export function overdueList(result, names, now, caseHref) {
  const table = document.getElementById('overdue');
  if (result.cases.length === 0) {
    return table.replaceChildren(el('tbody', {}, el('tr', {}, el('td', { class: 'muted' }, t('none_overdue')))));
  }
  const head = el('tr', {}, ...['case_id', 'category', 'village', 'office', 'deadline', 'overdue_by']
    .map((k) => el('th', { class: k === 'overdue_by' ? 'num' : '' }, t(k))));
  const rows = result.cases.map((c) => el('tr', { dataset: { case: c.case_id } },
    el('td', {}, el('a', { href: caseHref(c.case_id), dataset: { case: c.case_id } }, c.case_id)),
    el('td', {}, nameOf(names.categories, c.category)), el('td', {}, c.village),
    el('td', {}, nameOf(names.offices, c.office)), el('td', {}, shortTime(c.deadline)),
    el('td', { class: 'num bad' }, `${((now - Date.parse(c.deadline)) / 86400000).toFixed(1)} ${t('days')}`)));
  const foot = result.complete ? [] : [el('tr', {}, el('td', { class: 'muted' }, t('more_pages')))];
  table.replaceChildren(el('thead', {}, head), el('tbody', {}, ...rows, ...foot));
}

function shortTime(rfc3339) { return rfc3339 ? rfc3339.replace('T', ' ').slice(0, 16) : '—'; }

export function caseView(c, explain, names) {
  const fields = [
    ['case_id', c.case_id], ['status', statusName(c.status)], ['office', nameOf(names.offices, c.office)],
    ['category', nameOf(names.categories, c.category)], ['village', c.village], ['grid', c.grid],
    ['severity', String(c.severity)], ['priority', String(c.priority)], ['reporter', c.reporter],
    ['received_at', shortTime(c.received_at)], ['deadline', shortTime(c.deadline)],
    ['closed_at', shortTime(c.closed_at)], ['rule', c.rule], ['ruleset', c.ruleset],
    ['text', c.text ?? '—'], ['channel', c.channel ?? '—'],
  ];
  document.getElementById('case-summary').replaceChildren(
    el('h2', {}, `${t('case_id')} ${c.case_id}`),
    el('dl', { class: 'summary' }, ...fields.flatMap(([k, v]) =>
      [el('dt', {}, t(k)), el('dd', { dataset: { field: k } }, v)])));
  const cols = ['seq', 'at', 'actor', 'role', 'action', 'status', 'office', 'note'];
  document.getElementById('case-history').replaceChildren(
    el('thead', {}, el('tr', {}, ...cols.map((k) => el('th', {}, t(k))))),
    el('tbody', {}, ...c.history.map((s) => el('tr', { dataset: { seq: String(s.seq) } },
      el('td', { class: 'num' }, String(s.seq)), el('td', {}, shortTime(s.at)),
      el('td', {}, s.actor + (s.actor_office ? ` (${s.actor_office})` : '')), el('td', {}, s.role),
      el('td', {}, s.action), el('td', {}, statusName(s.status)), el('td', {}, nameOf(names.offices, s.office)),
      el('td', {}, [s.note, s.satisfaction && `★${s.satisfaction}`, s.to_office && `→ ${s.to_office}`,
                    s.rule, s.notified?.join(', ')].filter(Boolean).join(' · '))))));
  explainView(explain);
  mediaView(c.media ?? []);
}

let mediaUrls = [];

// The photos of each step side by side (the report's before the resolution's after), as
// thumbnails; a click opens the original. Evidence flags are shown under a photo.
function mediaView(steps) {
  for (const u of mediaUrls) URL.revokeObjectURL(u);
  mediaUrls = [];
  const box = document.getElementById('case-media');
  if (!steps.length) return box.replaceChildren(el('p', { class: 'muted' }, t('no_media')));
  box.replaceChildren(...steps.map((s) => el('figure', { class: 'media-step', dataset: { step: s.step } },
    el('figcaption', {}, `${t('step_' + s.step)} · #${s.seq}`),
    ...s.items.map((m) => {
      const img = el('img', { alt: m.sha256.slice(0, 12), width: '160', dataset: { sha256: m.sha256 } });
      const link = el('a', { href: '#', title: m.sha256 }, img);
      api.image(`${m.url}?size=320`).then((u) => { mediaUrls.push(u); img.src = u; })
        .catch(() => { img.alt = '×'; });
      link.addEventListener('click', async (e) => {
        e.preventDefault();
        const u = await api.image(m.url);
        mediaUrls.push(u);
        window.open(u, '_blank');
      });
      const notes = [m.captured_at && `${t('captured')} ${shortTime(m.captured_at)}`,
                     ...(m.flags ?? []).map((f) => t(f))].filter(Boolean);
      return el('div', { class: 'media-item' }, link,
                el('small', { class: (m.flags ?? []).length ? 'bad' : 'muted' }, notes.join(' · ')));
    }))));
}

function explainView(x) {
  const box = document.getElementById('case-explain');
  if (!x) return box.replaceChildren(el('p', { class: 'muted' }, '—'));
  const r = x.recorded;
  box.replaceChildren(
    el('p', {}, `${t('rule')}: `, el('strong', { dataset: { field: 'explain-rule' } }, r.rule), ` · ${t('ruleset')}: ${r.ruleset}`,
       ` · ${t('matches_record')}: `, el('span', { class: x.matches_record ? 'ok' : 'bad' }, t(x.matches_record ? 'yes' : 'no'))),
    el('table', { class: 'rows' },
       el('thead', {}, el('tr', {}, ...['table', 'row', 'matched', 'reason'].map((k) => el('th', {}, t(k))))),
       el('tbody', {}, ...x.trace.map((s) => el('tr', { class: s.matched ? 'ok' : 'muted' },
         el('td', {}, s.table), el('td', {}, s.row), el('td', {}, t(s.matched ? 'yes' : 'no')), el('td', {}, s.reason))))));
}
