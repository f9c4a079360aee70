// Service worker of the demo: precaches every built file (list and version are filled in by
// demo/vite.config.ts at build time), so the page, its worker and the MNIST slice load offline.
const PRECACHE = self.__PRECACHE__;
const CACHE = `ffit-demo-${PRECACHE.version}`;

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(PRECACHE.files)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const key of await caches.keys()) if (key.startsWith('ffit-demo-') && key !== CACHE) await caches.delete(key);
    await self.clients.claim();
  })());
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET' || new URL(request.url).origin !== self.location.origin) return;
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    if (request.mode === 'navigate') {
      // the page: fresh when online, cached when not
      try {
        const response = await fetch(request);
        if (response.ok) await cache.put(request, response.clone());
        return response;
      } catch {
        return (await cache.match(request, { ignoreSearch: true, ignoreVary: true })) ?? (await cache.match('./', { ignoreVary: true })) ?? Response.error();
      }
    }
    // hashed assets and data never change under one version: cache first. ignoreVary: servers send
    // `Vary: Origin`, and module scripts are fetched with an Origin header that addAll's requests lack
    return (await cache.match(request, { ignoreVary: true })) ?? fetch(request);
  })());
});
