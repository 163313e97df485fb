import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/__tests__/**/*.spec.ts'],
    environment: 'node',
    // @jupyterlab/* and @lumino/* ship ES modules without "type": "module";
    // let vite transform them when a test imports them.
    server: { deps: { inline: [/@jupyterlab\//, /@lumino\//] } }
  }
});
