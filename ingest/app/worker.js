// The grid worker's screens: report (上报), the outbox of reports on this phone, my
// reports, and the verification tasks (核查). Text from the API is always set as text.
import * as api from './api.js';
import { sha256Hex } from './sha256.js';
import * as store from './store.js';
import * as sync from './sync.js';
import { t, when } from './i18n.js';

export const MAX_PHOTOS = 9;

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === false || v === null || v === undefined) continue;
    if (k === 'dataset') Object.assign(node.dataset, v);
    else if (k === 'class') node.className = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) node.append(c);
  return node;
}

export const statusName = (s) => t(`s_${s}`);
export const officeName = (ctx, id) => ctx.catalog.offices.find((o) => o.id === id)?.name ?? id;
export const categoryName = (ctx, id) => ctx.catalog.categories.find((c) => c.id === id)?.name ?? id;

// A random UUID, also where crypto.randomUUID is missing (plain http on an intranet).
function uuid() {
  if (globalThis.crypto?.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

// Now, as RFC 3339 with the phone's offset: the report's device time.
function deviceTime() {
  const d = new Date();
  const off = -d.getTimezoneOffset();
  const pad = (n, w = 2) => String(Math.abs(n)).padStart(w, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:` +
         `${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}${off >= 0 ? '+' : '-'}${pad(Math.trunc(off / 60))}:${pad(off % 60)}`;
}

function field(label, ...control) {
  return el('label', { class: 'field' }, el('span', { class: 'label' }, label), ...control);
}

function position() {
  return new Promise((resolve) => {
    if (!navigator.geolocation) return resolve(null);
    navigator.geolocation.getCurrentPosition(
      (p) => resolve({ lat: p.coords.latitude, lon: p.coords.longitude, accuracy: p.coords.accuracy }),
      () => resolve(null), { enableHighAccuracy: true, timeout: 15_000, maximumAge: 60_000 });
  });
}

// The category picker: the ruleset's categories under their groups, filtered by Chinese
// text or pinyin initials as the worker types.
function categoryPicker(ctx, chosen) {
  const list = el('div', { class: 'categories', id: 'categories' });
  const search = el('input', { type: 'search', id: 'category-search', placeholder: t('search_category'), autocomplete: 'off' });
  const draw = () => {
    const q = search.value.trim().toLowerCase();
    const groups = new Map();
    for (const c of ctx.catalog.categories) {
      if (q && !c.name.toLowerCase().includes(q) && !c.initials.includes(q) && !c.id.includes(q)) continue;
      if (!groups.has(c.group)) groups.set(c.group, []);
      groups.get(c.group).push(c);
    }
    list.replaceChildren(...[...groups].map(([group, items]) => el('div', { class: 'group' },
      el('h3', {}, group),
      ...items.map((c) => el('button', {
        type: 'button', class: chosen.value === c.id ? 'chip chosen' : 'chip', dataset: { category: c.id },
        onclick: () => { chosen.value = c.id; draw(); },
      }, c.name.includes('·') ? c.name.split('·')[1] : c.name)))));
  };
  search.addEventListener('input', draw);
  draw();
  return el('div', {}, search, list);
}

function gridSelect(ctx) {
  const select = el('select', { id: 'grid', name: 'grid' }, el('option', { value: '' }, t('grid_auto')));
  const byVillage = new Map();
  for (const g of ctx.catalog.grids) {
    if (!byVillage.has(g.village)) byVillage.set(g.village, []);
    byVillage.get(g.village).push(g);
  }
  for (const [village, grids] of byVillage) {
    const name = ctx.catalog.villages.find((v) => v.id === village)?.name ?? village;
    select.append(el('optgroup', { label: `${village} ${name}` },
                     ...grids.map((g) => el('option', { value: g.id, dataset: { village } }, g.name ? `${g.id} ${g.name}` : g.id))));
  }
  return select;
}

export async function report(view, ctx, { go }) {
  const chosen = { value: '' };
  const photos = [];  // {sha256, blob, url}
  let where = null;
  const preview = el('div', { class: 'thumbs', id: 'thumbs' });
  const placeNote = el('p', { class: 'note', id: 'place' }, t('locating'));
  const grid = gridSelect(ctx);
  const problem = el('p', { class: 'error', id: 'form-error', hidden: true });
  const drawPhotos = () => preview.replaceChildren(...photos.map((p, i) => el('figure', {},
    el('img', { src: p.url, alt: '' }),
    el('button', { type: 'button', class: 'remove', onclick: () => { URL.revokeObjectURL(p.url); photos.splice(i, 1); drawPhotos(); } }, '×'))));
  const input = el('input', {
    type: 'file', id: 'photos', accept: 'image/*', capture: 'environment', multiple: true,
    onchange: async () => {
      for (const file of input.files) {
        if (photos.length >= MAX_PHOTOS) { problem.textContent = t('too_many_photos'); problem.hidden = false; break; }
        const sha256 = await sha256Hex(file);
        if (!photos.some((p) => p.sha256 === sha256)) photos.push({ sha256, blob: file, url: URL.createObjectURL(file) });
      }
      input.value = '';
      drawPhotos();
    },
  });
  const locate = async () => {
    placeNote.textContent = t('locating');
    where = await position();
    if (!where) { placeNote.textContent = t('no_position'); return; }
    const at = `${where.lat.toFixed(5)}, ${where.lon.toFixed(5)}`;
    try {
      const found = await api.get('/v1/geography/locate', { lat: where.lat, lon: where.lon });
      placeNote.textContent = found.inside ? `${at} · ${t('in_grid')} ${found.grid}`
                                           : `${at} · ${t('near_grid')} ${found.grid} (${found.distance_m} ${t('metres')})`;
      placeNote.dataset.grid = found.grid;
      if (found.inside && !grid.value) grid.value = found.grid;
    } catch {
      placeNote.textContent = `${at} · ${t('located_later')}`;
    }
  };
  const severity = el('div', { class: 'segmented', id: 'severity' }, ...[1, 2, 3, 4].map((n) =>
    el('label', {}, el('input', { type: 'radio', name: 'severity', value: String(n), checked: n === 2 }), t(`sev_${n}`))));
  const text = el('textarea', { id: 'text', rows: '3', maxlength: '4000', placeholder: t('text_hint') });

  const submit = async (event) => {
    event.preventDefault();
    const fail = (key) => { problem.textContent = t(key); problem.hidden = false; };
    if (!chosen.value) return fail('need_category');
    if (photos.length === 0) return fail('need_photo');
    if (!where && !grid.value) return fail('need_place');
    const body = {
      client_id: uuid(), category: chosen.value,
      severity: Number(view.querySelector('input[name=severity]:checked').value),
      text: text.value.trim(), reported_at: deviceTime(), attachments: photos.length,
      media: photos.map((p) => p.sha256),
    };
    if (where) { body.lat = Number(where.lat.toFixed(6)); body.lon = Number(where.lon.toFixed(6)); }
    if (grid.value) {
      body.grid = grid.value;
      body.village = grid.selectedOptions[0].dataset.village;
    }
    await store.enqueue({ client_id: body.client_id, actor: ctx.me.actor, report: body, state: 'waiting',
                          created_at: new Date().toISOString(), error: '' }, photos);
    for (const p of photos) URL.revokeObjectURL(p.url);
    sync.drain(ctx.me.actor);
    go('#queue');
  };

  view.replaceChildren(el('form', { class: 'card', id: 'report-form', onsubmit: submit },
    el('h2', {}, t('tab_report')),
    field(t('category'), categoryPicker(ctx, chosen)),
    field(t('severity'), severity),
    field(t('text'), text),
    field(t('photos'), el('span', { class: 'button' }, t('add_photos'), input), preview),
    field(t('position'), placeNote, el('button', { type: 'button', class: 'link', onclick: locate }, t('locate'))),
    field(t('grid'), grid),
    problem,
    el('button', { type: 'submit', class: 'primary', id: 'send' }, t('submit'))));
  locate();
}

function queueItem(ctx, item) {
  const state = el('span', { class: `pill ${item.state}`, dataset: { state: item.state } }, t(`state_${item.state}`));
  const detail = item.state === 'delivered' ? `${t('case_no')} ${item.number} · ${officeName(ctx, item.office)}`
                                           : item.error;
  return el('li', { class: 'item', dataset: { client: item.client_id } },
    el('div', { class: 'row' }, el('strong', {}, categoryName(ctx, item.report.category)), state),
    el('div', { class: 'meta' }, `${when(item.created_at)} · ${item.report.media?.length ?? 0} ${t('photo_count')}`),
    detail ? el('div', { class: item.state === 'refused' ? 'error' : 'meta', dataset: { detail: '' } }, detail) : null,
    item.state === 'refused' ? el('button', { type: 'button', class: 'link', onclick: async () => {
      await store.dropPhotos(item.report.media ?? []);
      await store.remove(item.client_id);
      redrawQueue(document.getElementById('view'), ctx);
    } }, t('remove')) : null);
}

export async function redrawQueue(view, ctx) {
  const list = view.querySelector('#queue-list');
  if (!list) return;
  const items = (await store.items(ctx.me.actor)).reverse();
  list.replaceChildren(...(items.length ? items.map((i) => queueItem(ctx, i)) : [el('li', { class: 'empty' }, t('queue_empty'))]));
}

export async function queue(view, ctx) {
  view.replaceChildren(el('section', { class: 'card' },
    el('div', { class: 'row' }, el('h2', {}, t('tab_queue')),
       el('button', { type: 'button', id: 'send-now', onclick: () => sync.drain(ctx.me.actor) }, t('send_now'))),
    el('ul', { class: 'list', id: 'queue-list' })));
  await redrawQueue(view, ctx);
}

function caseItem(ctx, c, extra = null) {
  return el('li', { class: 'item', dataset: { case: c.case_id, status: c.status } },
    el('div', { class: 'row' }, el('strong', {}, categoryName(ctx, c.category)),
       el('span', { class: `pill s-${c.status}` }, statusName(c.status))),
    el('div', { class: 'meta' }, `${t('case_no')} ${c.number} · ${officeName(ctx, c.office)} · ${t('deadline')} ${when(c.deadline)}`),
    c.text ? el('div', { class: 'text' }, c.text) : null, extra);
}

// Lists read from the server, and kept for when the phone is offline.
async function cachedCases(key, params) {
  try {
    const cases = await api.allCases(params, 500);
    localStorage.setItem(key, JSON.stringify(cases));
    return cases;
  } catch (e) {
    if (e.status !== 0) throw e;
    return JSON.parse(localStorage.getItem(key) ?? '[]');
  }
}

export async function mine(view, ctx, { stale }) {
  const cases = await cachedCases('wangge.app.mine', {});
  if (stale()) return;
  cases.sort((a, b) => b.number - a.number);
  view.replaceChildren(el('section', { class: 'card' }, el('h2', {}, t('tab_mine')),
    el('ul', { class: 'list', id: 'mine-list' },
       ...(cases.length ? cases.map((c) => caseItem(ctx, c)) : [el('li', { class: 'empty' }, t('mine_empty'))]))));
}

// Picks photos for a transition: an input and the hashed files.
export function photoInput(id) {
  const photos = [];
  const thumbs = el('div', { class: 'thumbs' });
  const input = el('input', { type: 'file', id, accept: 'image/*', capture: 'environment', multiple: true, onchange: async () => {
    for (const file of input.files) {
      if (photos.length >= MAX_PHOTOS) break;
      const sha256 = await sha256Hex(file);
      if (!photos.some((p) => p.sha256 === sha256)) {
        photos.push({ sha256, blob: file });
        thumbs.append(el('img', { src: URL.createObjectURL(file), alt: '' }));
      }
    }
    input.value = '';
  } });
  return { photos, node: el('div', {}, el('span', { class: 'button' }, t('add_photos'), input), thumbs) };
}

// Sends a transition with its photos; answers with the error's words, or null.
export async function act(caseId, body, photos = []) {
  try {
    if (photos.length) {
      for (const p of photos) await sync.uploadBlob(p.sha256, p.blob);
      body.media = photos.map((p) => p.sha256);
    }
    await api.transition(caseId, body);
    return null;
  } catch (e) {
    return e.status === 0 ? t('need_network') : (e.field ? `${e.message} (${e.field})` : e.message);
  }
}

// What the office did, under a case to verify: its last resolution's note and photos.
async function resolution(c, box) {
  try {
    const full = await api.get(`/v1/cases/${encodeURIComponent(c.case_id)}`);
    const step = [...full.history].reverse().find((s) => s.action === 'resolve');
    if (step?.note) box.append(el('div', { class: 'text' }, `${t('a_resolve')}：${step.note}`));
    const media = (full.media ?? []).filter((m) => m.step === 'resolve' && m.seq === step?.seq).flatMap((m) => m.items);
    const thumbs = el('div', { class: 'thumbs' });
    for (const item of media) {
      const img = el('img', { alt: t('after_photos') });
      thumbs.append(img);
      api.image(`${item.url}?size=256`).then((url) => { img.src = url; }).catch(() => undefined);
    }
    if (media.length) box.append(thumbs);
  } catch { /* offline: the card shows what the list had */ }
}

function verifyCard(ctx, c, redraw) {
  const pick = photoInput(`verify-photos-${c.number}`);
  const score = el('select', { name: 'satisfaction' }, ...[5, 4, 3, 2, 1].map((n) => el('option', { value: String(n) }, '★'.repeat(n))));
  const note = el('input', { type: 'text', name: 'note', placeholder: t('note') });
  const problem = el('p', { class: 'error', hidden: true });
  const run = async (body, photos) => {
    const error = await act(c.case_id, body, photos);
    if (error) { problem.textContent = error; problem.hidden = false; return; }
    redraw();
  };
  const done = el('div', { class: 'resolution' });
  resolution(c, done);
  return caseItem(ctx, c, el('div', { class: 'actions' }, done,
    field(t('satisfaction'), score), pick.node, field(t('note'), note), problem,
    el('div', { class: 'row' },
       el('button', { type: 'button', class: 'primary', dataset: { act: 'verify' },
                      onclick: () => run({ action: 'verify', satisfaction: Number(score.value), note: note.value.trim() }, pick.photos) }, t('verify')),
       el('button', { type: 'button', dataset: { act: 'reopen' },
                      onclick: () => {
                        if (!note.value.trim()) { problem.textContent = `${t('note')}?`; problem.hidden = false; return; }
                        run({ action: 'reopen', note: note.value.trim() });
                      } }, t('reopen')))));
}

export async function verify(view, ctx, { stale, go }) {
  const cases = await cachedCases('wangge.app.verify', { status: 'resolved' });
  if (stale()) return;
  const redraw = () => go('#verify');
  view.replaceChildren(el('section', { class: 'card' }, el('h2', {}, t('tab_verify')),
    el('ul', { class: 'list', id: 'verify-list' },
       ...(cases.length ? cases.map((c) => verifyCard(ctx, c, redraw)) : [el('li', { class: 'empty' }, t('verify_empty'))]))));
}
