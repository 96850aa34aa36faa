/// <reference types="vitest/config" />
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

const apiTarget = process.env.CONFIDE_API ?? "http://127.0.0.1:8123";

export default defineConfig({
  plugins: [react()],
  build: {
    outDir: "../src/confide/web/dist",
    emptyOutDir: true,
    // Vite would inline small assets as data: URLs; keep everything a same-origin file.
    assetsInlineLimit: 0,
  },
  server: {
    proxy: { "/api": { target: apiTarget, ws: true } },
  },
  test: {
    environment: "jsdom",
    setupFiles: ["./src/test/setup.ts"],
    css: false,
    include: ["src/**/*.test.{ts,tsx}", "tests/**/*.test.ts"],
  },
});
