import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// The browser UI is built into web/dist, which `jarvis serve` serves. `npm run dev:web` proxies the API to a
// `jarvis serve` running on the default port.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    assetsDir: 'assets',
  },
  server: {
    proxy: { '/v1': 'http://127.0.0.1:7860' },
  },
});
