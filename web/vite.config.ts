/// <reference types="vitest/config" />
import { svelte } from "@sveltejs/vite-plugin-svelte";
import { defineConfig } from "vite";

// `npm run dev` proxies the API to a running backend (embedded mode by default:
// `python -m pos_embedded --port 28080 ...`); POS_API_URL points it elsewhere.
const apiTarget = process.env.POS_API_URL ?? "http://127.0.0.1:28080";

export default defineConfig({
  base: "/",
  plugins: [svelte()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    // Never inline assets as data: URLs; everything is a file under /assets/ (CSP: 'self').
    assetsInlineLimit: 0,
    sourcemap: false,
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
});
