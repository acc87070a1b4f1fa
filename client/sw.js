// Plait's service worker: keeps the app shell (index.html, the wasm and its
// chunks, the js, the css, the fonts) so the app loads with no network.
//
// - Navigations are network-first: online, a new release's index.html is
//   fetched and cached; offline, the cached one is served.
// - Trunk names every other asset with a content hash, so those are
//   cache-first: a cached file can never be stale, only unused.
// - Sync traffic (/sync, /api) is never cached: the app's own IndexedDB
//   store is the offline copy of the data.
const SHELL = "plait-shell-v1";

async function cacheShell() {
  const cache = await caches.open(SHELL);
  const response = await fetch("/", { cache: "no-store" });
  if (!response.ok) return;
  const html = await response.clone().text();
  await cache.put("/", response);
  const assets = [...html.matchAll(/(?:href|src)="(\/[^"]+)"/g)].map((m) => m[1]);
  // The wasm chunks of the pages that load on first use
  // (client/build/split-wasm.mjs): cached now, so they open offline.
  const chunks = html.match(/<meta name="plait-chunks" content="([^"]*)"/);
  if (chunks) assets.push(...chunks[1].split(" ").filter((url) => url.startsWith("/")));
  // Hashed names never change content: what is cached stays.
  await Promise.all(
    assets.map(async (url) => {
      if (await cache.match(url)) return;
      const asset = await fetch(url);
      if (asset.ok) await cache.put(url, asset);
    }),
  );
  // A release's hashed files are dropped once a newer release no longer
  // names them (the NHS.UK fonts and images under /assets stay).
  const keep = new Set(["/", ...assets]);
  for (const request of await cache.keys()) {
    const pathname = new URL(request.url).pathname;
    if (!keep.has(pathname) && !pathname.startsWith("/assets/")) await cache.delete(request);
  }
}

self.addEventListener("install", (event) => {
  event.waitUntil(cacheShell().then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== SHELL).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/api/") || url.pathname.startsWith("/sync/")) return;

  if (request.mode === "navigate") {
    event.respondWith(
      fetch(request)
        .then(async (response) => {
          if (response.ok) {
            const cache = await caches.open(SHELL);
            await cache.put("/", response.clone());
            // A new release: fetch its hashed assets while online.
            cacheShell().catch(() => {});
          }
          return response;
        })
        .catch(async () => (await caches.match("/")) || Response.error()),
    );
    return;
  }

  event.respondWith(
    caches.match(request).then(
      (cached) =>
        cached ||
        fetch(request).then(async (response) => {
          if (response.ok) {
            const cache = await caches.open(SHELL);
            await cache.put(request, response.clone());
          }
          return response;
        }),
    ),
  );
});
