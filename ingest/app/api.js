// The app's calls to wangge's API. The token is kept on the device (localStorage): a grid
// worker logs in once. It is sent as a bearer token, never put in a URL.
const KEY = 'wangge.app.token';

import { ApiError as BaseError } from './api_error.js';

export class ApiError extends BaseError {
  // Whether trying again later may succeed: the network, a busy or full server.
  get transient() { return this.status === 0 || this.status >= 500; }
}

export const token = () => localStorage.getItem(KEY);
export const setToken = (value) => localStorage.setItem(KEY, value);
export const forgetToken = () => localStorage.removeItem(KEY);

function headers(extra = {}) {
  return { Authorization: `Bearer ${token()}`, ...extra };
}

// fetch, with a failed network turned into ApiError status 0.
async function send(url, init) {
  try {
    return await fetch(url, { cache: 'no-store', ...init });
  } catch (e) {
    throw new ApiError(0, { error: { message: e.message || 'network error' } });
  }
}

async function parse(res) {
  let body = null;
  try { body = await res.json(); } catch { /* no JSON body */ }
  if (!res.ok) throw new ApiError(res.status, body);
  return body;
}

export async function get(path, params = {}) {
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== '' && v != null) query.set(k, v);
  const qs = query.toString();
  return parse(await send(qs ? `${path}?${qs}` : path, { headers: headers() }));
}

export async function post(path, body, extra = {}) {
  const json = typeof body === 'string' ? body : JSON.stringify(body);
  return parse(await send(path, { method: 'POST', headers: headers({ 'Content-Type': 'application/json', ...extra }), body: json }));
}

// POST /v1/reports:batch: one line per report, answered line by line.
export async function postBatch(reports) {
  const body = reports.map((r) => JSON.stringify(r)).join('\n') + '\n';
  return parse(await send('/v1/reports:batch', {
    method: 'POST', headers: headers({ 'Content-Type': 'application/x-ndjson' }), body,
  }));
}

export function transition(caseId, body) {
  return post(`/v1/cases/${encodeURIComponent(caseId)}/transitions`, body);
}

// Every page of GET /v1/cases for `params`, up to `max` cases.
export async function allCases(params, max = 2000) {
  const out = [];
  let after = '';
  for (let page = 0; page < 50 && out.length < max; ++page) {
    const body = await get('/v1/cases', { ...params, limit: 500, after });
    out.push(...body.cases);
    if (!body.next) break;
    after = body.next;
  }
  return out;
}

// An object URL of the image at `path`, fetched with the token (an <img src> cannot send it).
export async function image(path) {
  const res = await send(path, { headers: headers() });
  if (!res.ok) throw new ApiError(res.status, null);
  return URL.createObjectURL(await res.blob());
}

// How much of photo `sha256` the server holds: {stored, offset}.
export async function uploadState(sha256) {
  const res = await send(`/v1/media/${sha256}`, { method: 'HEAD', headers: headers() });
  if (res.status === 404) return { stored: false, offset: 0 };
  if (!res.ok) throw new ApiError(res.status, null);
  const offset = Number(res.headers.get('Upload-Offset') ?? 0);
  const length = Number(res.headers.get('Upload-Length') ?? -1);
  return { stored: offset === length, offset };
}

// One part of a resumable upload (Content-Range), or the whole file.
export async function putPart(sha256, blob, first, total) {
  const whole = first === 0 && blob.size === total;
  const extra = whole ? {} : { 'Content-Range': `bytes ${first}-${first + blob.size - 1}/${total}` };
  return parse(await send(`/v1/media/${sha256}`, {
    method: 'PUT', headers: headers({ 'Content-Type': 'application/octet-stream', ...extra }), body: blob,
  }));
}

// The feed after `after`: long-poll, waiting up to `wait` seconds for a record.
export function feed(after, wait = 25) {
  return get('/v1/feed', { after, wait: `${wait}s`, limit: 200 });
}
