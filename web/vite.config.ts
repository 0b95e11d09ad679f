/// <reference types="vitest/config" />
import { svelte } from "@sveltejs/vite-plugin-svelte";
import { defineConfig } from "vite";
import { VitePWA } from "vite-plugin-pwa";

// `npm run dev` proxies the API to a running backend (embedded mode by default:
// `python -m pos_embedded --port 28080 ...`); POS_API_URL points it elsewhere.
const apiTarget = process.env.POS_API_URL ?? "http://127.0.0.1:28080";

// The till's service worker (issue 15, docs/web.md "Offline: the app shell"): Workbox's
// generateSW precaches the app shell (index.html, the hashed JS and CSS, icons, the
// manifest) so a till that was opened once opens with no network. The one runtime cache
// is product thumbnails (issue 17, ADR 0068): their URL names their content, so a kept
// copy is never stale (cache first, the newest 2,000 kept); a tile shown once shows its
// picture offline too. Every other /api/... request never reaches a cache. Navigations fall back to the cached index.html, except
// /api/ and /healthz. A new version installs in the background and takes over at once
// (skipWaiting + clientsClaim) WITHOUT reloading: an open till keeps running the code it
// loaded (one bundle, no lazy chunks), and the next load or reload gets the new one.
// GET /api/catalog/products/{id}/image/{key}/{size}.webp (pos_catalog/routes_images.py).
const PRODUCT_IMAGE = /\/api\/catalog\/products\/[^/?]+\/image\/[0-9a-f]+\/\d+\.webp$/;

const pwa = VitePWA({
  strategies: "generateSW",
  filename: "sw.js",
  injectRegister: false, // registered in src/main.ts (no inline script: CSP)
  manifest: false, // public/manifest.webmanifest stays the manifest
  includeManifestIcons: false,
  workbox: {
    globPatterns: ["**/*.{html,js,css,svg,png,ico,webmanifest}"],
    navigateFallback: "/index.html",
    navigateFallbackDenylist: [/^\/api\//, /^\/healthz$/, /^\/readyz$/],
    runtimeCaching: [
      {
        // A RegExp (serialized into sw.js as it is): same-origin GETs only (Workbox).
        urlPattern: PRODUCT_IMAGE,
        handler: "CacheFirst",
        options: {
          cacheName: "product-images",
          expiration: { maxEntries: 2000, purgeOnQuotaError: true },
          cacheableResponse: { statuses: [200] },
        },
      },
    ],
    skipWaiting: true,
    clientsClaim: true,
    cleanupOutdatedCaches: true,
    sourcemap: false,
    // Workbox's own runtime is inlined into sw.js: one file, no workbox-<hash>.js to fetch.
    inlineWorkboxRuntime: true,
  },
});

export default defineConfig(({ mode }) => {
  // `vite build --mode bench`: scripts/bench_till_replica.py's page (bench/replica.html,
  // the replica module on window) into dist-bench/. Never part of the production build.
  const bench = mode === "bench";
  return {
    base: "/",
    plugins: bench ? [svelte()] : [svelte(), pwa],
    build: {
      outDir: bench ? "dist-bench" : "dist",
      emptyOutDir: true,
      target: "es2022",
      // Never inline assets as data: URLs; everything is a file under /assets/ (CSP: 'self').
      assetsInlineLimit: 0,
      sourcemap: false,
      ...(bench ? { rollupOptions: { input: { bench: "bench/replica.html" } } } : {}),
    },
    server: {
      port: 5173,
      strictPort: true,
      proxy: { "/api": { target: apiTarget } },
    },
    test: {
      include: ["src/**/*.test.ts"],
      environment: "node",
    },
  };
});
