// Plait's service worker: keeps the app shell (index.html, the wasm and its
// chunks, the js, the css, the fonts) so the app loads with no network.
//
// - Navigations are cache-first, then refreshed: the cached index.html is
//   served at once, and a new release's (with its assets) fetched for the
//   next visit.
// - Trunk names every other asset with a content hash, so those are
//   cache-first: a cached file can never be stale, only unused.
// - Sync traffic (/sync, /api) is never cached: the app's own IndexedDB
//   store is the offline copy of the data.
const SHELL = "plait-shell-v1";

// Caches index.html (`page`, or fetched) and every asset it names.
async function cacheShell(page) {
  const cache = await caches.open(SHELL);
  const response = page ?? (await fetch("/", { cache: "no-store" }));
  if (!response.ok) return;
  const html = await response.clone().text();
  const assets = [...html.matchAll(/(?:href|src)="(\/[^"]+)"/g)].map((m) => m[1]);
  // The wasm chunks of the pages that load on first use
  // (client/build/split-wasm.mjs): cached now, so they open offline.
  const chunks = html.match(/<meta name="plait-chunks" content="([^"]*)"/);
  if (chunks) assets.push(...chunks[1].split(" ").filter((url) => url.startsWith("/")));
  // The images the stylesheets name (url(/assets/...)), for offline pages;
  // each stylesheet is read from the cache, fetched (and kept) only once.
  for (const sheet of assets.filter((url) => url.endsWith(".css"))) {
    let cached = await cache.match(sheet);
    if (!cached) {
      const fetched = await fetch(sheet).catch(() => null);
      if (fetched?.ok) await cache.put(sheet, fetched.clone());
      cached = fetched;
    }
    const css = cached?.ok ? await cached.text() : "";
    for (const m of css.matchAll(/url\(["']?(\/[^"')]+)["']?\)/g)) assets.push(m[1]);
  }
  // Hashed names never change content: what is cached stays. Two at a
  // time: on a slow link the page's own downloads (the chunks of the page
  // being opened, the documents) must not wait behind the whole release.
  // The page is cached last, once everything it names is, so an offline
  // start never meets a page whose files are missing.
  const queue = [...new Set(assets)];
  let complete = true;
  const worker = async () => {
    for (let url = queue.shift(); url; url = queue.shift()) {
      if (await cache.match(url)) continue;
      const asset = await fetch(url);
      if (asset.ok) await cache.put(url, asset);
      else complete = false;
    }
  };
  await Promise.all([worker(), worker()]);
  if (!complete) throw new Error("the release's files could not all be cached");
  await cache.put("/", response);
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
    // Cache first, then refreshed: a repeat visit opens at once on any
    // network (a ward's one bar of signal costs it nothing), and the page
    // and assets of a new release are fetched in the background for the
    // next visit. The first visit, with nothing cached, waits for the network.
    event.respondWith(
      caches.match("/").then((cached) => {
        const fresh = fetch(request).then(async (response) => {
          if (response.ok && response.headers.get("content-type")?.startsWith("text/html")) {
            await cacheShell(response.clone());
          }
          return response;
        });
        if (!cached) return fresh.catch(() => Response.error());
        event.waitUntil(fresh.catch(() => {}));
        return cached;
      }),
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
