// The app's service worker: keeps the app shell on the phone, so the app starts from the
// home screen with no network. Shell files are answered from the cache at once and
// refreshed from the server behind the answer (the next start has the new version).
// Nothing under /v1/ is cached here: reports wait in IndexedDB (store.js), not in HTTP.
const CACHE = 'wangge-app-1';
const SHELL = ['./', 'index.html', 'app.css', 'icon.svg', 'manifest.webmanifest', 'main.js', 'api.js',
               'i18n.js', 'store.js', 'sync.js', 'sha256.js', 'worker.js', 'office.js', 'map.js', 'api_error.js'];

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    await cache.addAll(SHELL.map((path) => new Request(path, { cache: 'reload' })));
    await self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) if (name !== CACHE) await caches.delete(name);
    await self.clients.claim();
  })());
});

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.origin !== location.origin || !url.pathname.startsWith('/app/')) return;
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    const key = url.pathname === '/app/' ? './' : event.request;
    const cached = await cache.match(key, { ignoreSearch: true });
    const fresh = fetch(event.request).then((res) => {
      if (res.ok) cache.put(key, res.clone());
      return res;
    });
    if (cached) {
      event.waitUntil(fresh.catch(() => undefined));
      return cached;
    }
    return fresh;
  })());
});
