import { defineConfig } from '@playwright/test';

import { OUTPUT_DIR, OWNER_STATE } from './support/paths';

/**
 * One Flowdeck server per run (support/global-setup.ts) on a fresh database, one worker.
 * `first-run` goes through setup and saves the owner's session; the other specs depend on it.
 */
export default defineConfig({
  testDir: './tests',
  outputDir: OUTPUT_DIR,
  globalSetup: require.resolve('./support/global-setup'),
  globalTeardown: require.resolve('./support/global-teardown'),
  workers: 1,
  fullyParallel: false,
  retries: 0,
  reporter: 'list',
  forbidOnly: !!process.env.CI,
  // The debug wasm bundle is large; a page's first hydration can take a few seconds.
  timeout: 90_000,
  expect: { timeout: 15_000 },
  use: {
    // Set by global-setup; workers load this config after it ran.
    baseURL: process.env.BASE_URL,
    headless: true,
    launchOptions: {
      executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
    viewport: { width: 1280, height: 800 },
    actionTimeout: 15_000,
    navigationTimeout: 30_000,
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
  },
  projects: [
    { name: 'first-run', testMatch: /first-run\.spec\.ts$/ },
    {
      name: 'app',
      testIgnore: /(first-run|bundle|designer|runs|sign-off|stats|testing|webhook)\.spec\.ts$/,
      dependencies: ['first-run'],
      use: { storageState: OWNER_STATE },
    },
    // After `app`: the workflows list spec starts from an empty list, and these add workflows. They run in file
    // order; `runs` counts the workspace's runs, so specs that add runs come after it.
    {
      name: 'designer',
      testMatch: /(bundle|designer|runs|sign-off|stats|testing|webhook)\.spec\.ts$/,
      dependencies: ['app'],
      use: { storageState: OWNER_STATE },
    },
  ],
});
