// The dashboard's calls to wangge's API, with the token held in sessionStorage (never
// localStorage, never a cookie): closing the browser session forgets it.
const KEY = 'wangge.token';

import { ApiError } from './api_error.js';

export { ApiError };

export function token() { return sessionStorage.getItem(KEY); }
export function setToken(value) { sessionStorage.setItem(KEY, value); }
export function forgetToken() { sessionStorage.removeItem(KEY); }

// GET `path` with `params` (empty values left out); the parsed JSON, or ApiError.
export async function get(path, params = {}, bearer = token()) {
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== '' && v != null) query.set(k, v);
  const qs = query.toString();
  const url = qs ? `${path}?${qs}` : path;
  const res = await fetch(url, { headers: { Authorization: `Bearer ${bearer}` }, cache: 'no-store' });
  let body = null;
  try { body = await res.json(); } catch { /* a non-JSON answer keeps body null */ }
  if (!res.ok) throw new ApiError(res.status, body);
  return body;
}

// An object URL of the image at `path` (a photo or its thumbnail), fetched with the token:
// an <img src> cannot send it. The caller revokes it when the page changes.
export async function image(path, bearer = token()) {
  const res = await fetch(path, { headers: { Authorization: `Bearer ${bearer}` } });
  if (!res.ok) throw new ApiError(res.status, null);
  return URL.createObjectURL(await res.blob());
}

// Figures for the window and the one filter: stats(filters, {group_by, interval}).
export function stats(filters, extra = {}) {
  const { from, to, office, village, category } = filters;
  return get('/v1/stats', { from, to, office, village, category, ...extra });
}

// Overdue open cases received in the window, oldest deadline first: follows `next` until
// `want` cases or `maxPages` pages (a page examines a bounded number of index entries).
export async function overdue(filters, want = 20, maxPages = 20) {
  const { from, to, office, village, category } = filters;
  const cases = [];
  let after = '';
  for (let page = 0; page < maxPages && cases.length < want; ++page) {
    const body = await get('/v1/cases', { overdue: 'true', limit: want - cases.length, from, to,
                                          office, village, category, after });
    cases.push(...body.cases);
    if (!body.next) return { cases, complete: true };
    after = body.next;
  }
  return { cases, complete: cases.length >= want };
}

// The active geography's GeoJSON, or null when none is active (404).
export async function geography() {
  try {
    return (await get('/v1/geography')).geography;
  } catch (e) {
    if (e.status === 404) return null;
    throw e;
  }
}

// Cases received in the window under the one filter and `extra` conditions, following
// `next` until `want` cases or `maxPages` pages.
export async function cases(filters, extra, want, maxPages = 10) {
  const { from, to, office, village, category } = filters;
  const out = [];
  let after = '';
  for (let page = 0; page < maxPages && out.length < want; ++page) {
    const body = await get('/v1/cases', { limit: Math.min(500, want - out.length), from, to, office,
                                          village, category, after, ...extra });
    out.push(...body.cases);
    if (!body.next) return { cases: out, complete: true };
    after = body.next;
  }
  return { cases: out, complete: out.length >= want };
}
