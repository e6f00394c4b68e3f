// Sends the queue when the network allows: each report's photos first, by resumable upload
// (what the server already holds is asked for and skipped), then the reports together by
// POST /v1/reports:batch. Every step may be cut off and repeated: photos are named by
// their hash and reports by their client_id, so a retry never makes a second copy.
// Item states: waiting → sending → delivered (with its case number) or refused (with the
// server's reason). A network failure or a busy server puts the item back to waiting.
import * as api from './api.js';
import { t } from './i18n.js';
import * as store from './store.js';

export const CHUNK = 1024 * 1024;  // bytes per upload part
const BATCH = 200;                // reports per :batch request

let running = null;
const listeners = new Set();

export function onChange(fn) { listeners.add(fn); }
function changed() { for (const fn of listeners) fn(); }

// Uploads `blob` as photo `sha256`, resuming where the server's copy ends.
export async function uploadBlob(sha256, blob) {
  const state = await api.uploadState(sha256);
  if (state.stored) return;
  if (blob.size <= CHUNK) {
    await api.putPart(sha256, blob, 0, blob.size);
    return;
  }
  for (let at = state.offset; at < blob.size; at += CHUNK) {
    await api.putPart(sha256, blob.slice(at, Math.min(at + CHUNK, blob.size)), at, blob.size);
  }
}

// Uploads one queued photo from this device's store.
async function upload(sha256) {
  const record = await store.photo(sha256);
  if (!record) {
    const state = await api.uploadState(sha256);
    if (state.stored) return;
    throw new api.ApiError(400, { error: { message: `photo ${sha256.slice(0, 12)}… is missing on this device` } });
  }
  await uploadBlob(sha256, record.blob);
}

// The words an item shows for `e`: the server's, or that the network is away.
function refusal(e) {
  if (e.status === 0) return t('no_network');
  return e.field ? `${e.message} (${e.field})` : e.message;
}

async function drainOnce(actor) {
  const queued = (await store.items(actor)).filter((i) => i.state === 'waiting' || i.state === 'sending');
  if (queued.length === 0) return false;
  const ready = [];
  for (const item of queued) {
    await store.update(item.client_id, { state: 'sending', error: '' });
    changed();
    try {
      for (const sha of item.report.media ?? []) await upload(sha);
      ready.push(item);
    } catch (e) {
      if (e instanceof api.ApiError && !e.transient && e.status !== 401) {
        await store.update(item.client_id, { state: 'refused', error: refusal(e) });
        changed();
        continue;
      }
      await store.update(item.client_id, { state: 'waiting', error: refusal(e) });
      changed();
      throw e;
    }
  }
  for (let i = 0; i < ready.length; i += BATCH) await sendBatch(ready.slice(i, i + BATCH));
  return true;
}

async function sendBatch(items) {
  let answer;
  try {
    answer = await api.postBatch(items.map((i) => i.report));
  } catch (e) {
    for (const item of items) await store.update(item.client_id, { state: 'waiting', error: refusal(e) });
    changed();
    throw e;
  }
  for (const result of answer.results) {
    const item = items[result.line - 1];
    if (result.status === 'created' || result.status === 'duplicate') {
      await store.update(item.client_id, {
        state: 'delivered', error: '', number: result.number, office: result.office,
        delivered_at: new Date().toISOString(),
      });
      await store.dropPhotos(item.report.media ?? []);
    } else {
      const e = new api.ApiError(result.error?.code === 'unavailable' ? 503 : 400, { error: result.error });
      await store.update(item.client_id, e.transient
        ? { state: 'waiting', error: refusal(e) }
        : { state: 'refused', error: refusal(e) });
    }
  }
  changed();
}

// Sends what is queued for `actor`; one run at a time (also across this app's tabs, where
// the browser has Web Locks). Resolves true when the queue is empty of unsent items.
export function drain(actor) {
  if (running) return running;
  const run = async () => {
    try {
      // Until nothing is waiting; a few rounds at most, in case the server keeps saying later.
      for (let round = 0; round < 5; ++round) if (!(await drainOnce(actor))) return true;
      return false;
    } catch {
      return false;
    }
  };
  const locked = navigator.locks ? () => navigator.locks.request('wangge-app-sync', run) : run;
  running = locked().finally(() => { running = null; });
  return running;
}
