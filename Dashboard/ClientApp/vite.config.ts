import { defineConfig } from 'vite';

// React's JSX is compiled by esbuild directly (no plugin needed); the build lands in the host's wwwroot/app.
export default defineConfig({
  esbuild: { jsx: 'automatic' },
  build: {
    outDir: '../wwwroot/app',
    emptyOutDir: true,
    chunkSizeWarningLimit: 1500,
    rollupOptions: {
      onwarn(warning, warn) {
        // Dependencies ship "use client" directives and /*#__PURE__*/ comments that do not apply to this bundle.
        if (warning.code === 'MODULE_LEVEL_DIRECTIVE' || warning.code === 'INVALID_ANNOTATION') return;
        warn(warning);
      },
    },
  },
  server: {
    proxy: {
      '/v1': 'http://localhost:5000',
      '/hubs': { target: 'http://localhost:5000', ws: true },
    },
  },
});
