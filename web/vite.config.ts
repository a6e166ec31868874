import { defineConfig } from "vite";

// The bundle goes into the Python package, which serves it at "/".
export default defineConfig({
  base: "./",
  build: {
    outDir: "../src/vislrp/server/static",
    emptyOutDir: true,
    chunkSizeWarningLimit: 1200,
  },
  server: { proxy: { "/api": "http://127.0.0.1:8000" } },
});
