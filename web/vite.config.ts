import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

// The bundle goes into the Python package, which serves it at "/".
export default defineConfig({
  base: "./",
  build: {
    outDir: fileURLToPath(new URL("../src/vislrp/server/static", import.meta.url)),
    emptyOutDir: true,
    chunkSizeWarningLimit: 1200,
  },
  server: { proxy: { "/api": "http://127.0.0.1:8000" } },
});
