import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";

export default defineConfig({
  plugins: [react()],
  // Absolute asset URLs: deep links such as /workflows/<id> are served index.html by the
  // SPA fallback, and relative "./assets/..." would then resolve under /workflows/.
  base: "/",
  build: {
    outDir: "dist",
    assetsDir: "assets",
    // No source maps in the bucket: the site serves only what the app needs.
    sourcemap: false,
  },
  server: { host: "127.0.0.1", port: 5173, strictPort: true },
  preview: { host: "127.0.0.1", port: 4173, strictPort: true },
  test: {
    environment: "jsdom",
    setupFiles: ["./src/test/setup.ts"],
    include: ["src/**/*.test.{ts,tsx}"],
    restoreMocks: true,
  },
});
