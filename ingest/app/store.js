// The phone's own store (IndexedDB): the queue of reports made on this device, with their
// photos, kept until the server has them. Each report's client_id is fixed when it is
// made, so sending it again is always safe. Nothing here is lost when the app is closed
// or the phone restarts; a delivered report stays listed with its case number.
const DB = 'wangge-app';
const VERSION = 1;

let opened = null;

function request(r) {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

export function open() {
  opened ??= new Promise((resolve, reject) => {
    const r = indexedDB.open(DB, VERSION);
    r.onupgradeneeded = () => {
      const db = r.result;
      const reports = db.createObjectStore('reports', { keyPath: 'client_id' });
      reports.createIndex('actor', 'actor');
      db.createObjectStore('photos', { keyPath: 'sha256' });
    };
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
  return opened;
}

async function tx(stores, mode, work) {
  const db = await open();
  const t = db.transaction(stores, mode);
  const done = new Promise((resolve, reject) => {
    t.oncomplete = resolve;
    t.onerror = () => reject(t.error);
    t.onabort = () => reject(t.error ?? new Error('transaction aborted'));
  });
  const result = await work(...stores.map((s) => t.objectStore(s)));
  await done;
  return result;
}

// Queues a report with its photos ({sha256, blob}) in one transaction: all or nothing.
export function enqueue(item, photos) {
  return tx(['reports', 'photos'], 'readwrite', (reports, blobs) => {
    for (const p of photos) blobs.put({ sha256: p.sha256, blob: p.blob, type: p.blob.type });
    reports.put(item);
  });
}

// This actor's queue, oldest first.
export async function items(actor) {
  const all = await tx(['reports'], 'readonly', (reports) => request(reports.index('actor').getAll(actor)));
  return all.sort((a, b) => a.created_at.localeCompare(b.created_at));
}

export function update(clientId, changes) {
  return tx(['reports'], 'readwrite', async (reports) => {
    const item = await request(reports.get(clientId));
    if (item) reports.put({ ...item, ...changes });
  });
}

export function photo(sha256) {
  return tx(['photos'], 'readonly', (blobs) => request(blobs.get(sha256)));
}

// Drops the photo bytes a delivered report no longer needs (the server holds them).
export function dropPhotos(hashes) {
  return tx(['photos'], 'readwrite', (blobs) => { for (const h of hashes) blobs.delete(h); });
}

export function remove(clientId) {
  return tx(['reports'], 'readwrite', (reports) => { reports.delete(clientId); });
}
