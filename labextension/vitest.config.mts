import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/__tests__/**/*.spec.ts'],
    environment: 'node',
    // Let style.spec.ts read the stylesheets (`?raw`); vitest blanks CSS otherwise.
    css: { include: [/\/style\/.*\.css/] },
    // @jupyterlab/* and @lumino/* ship ES modules without "type": "module";
    // let vite transform them when a test imports them.
    server: { deps: { inline: [/@jupyterlab\//, /@lumino\//] } }
  }
});
