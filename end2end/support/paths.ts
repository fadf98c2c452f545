import path from 'node:path';

/** The end2end folder; every default path is resolved from here, never from a fixed checkout location. */
export const E2E_ROOT = path.resolve(__dirname, '..');

/** The server binary (`flowdeck serve`). Override with FLOWDECK_BIN. */
export const FLOWDECK_BIN = process.env.FLOWDECK_BIN
  ? path.resolve(process.env.FLOWDECK_BIN)
  : path.resolve(E2E_ROOT, '../target/debug/flowdeck');

/** The built browser bundle (wasm + css under pkg/). Override with FLOWDECK_SITE_ROOT. */
export const FLOWDECK_SITE_ROOT = process.env.FLOWDECK_SITE_ROOT
  ? path.resolve(process.env.FLOWDECK_SITE_ROOT)
  : path.resolve(E2E_ROOT, '../target/site');

/** Where every screen visited is saved as a full-page PNG. */
export const SCREENSHOT_DIR = path.join(E2E_ROOT, 'screenshots');

/** The owner's signed-in browser state, written by first-run.spec.ts for the other specs. */
export const OWNER_STATE = path.join(E2E_ROOT, '.auth', 'owner.json');

/** Results folder (Playwright's outputDir); the server log is copied here after a run. */
export const OUTPUT_DIR = path.join(E2E_ROOT, 'test-results');
