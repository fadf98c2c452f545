/**
 * The browser bundle split by page: the shell is the main module; each page's code (the overview's
 * too) arrives as chunks when it is first shown, after client navigation and on a direct load, and
 * works; the designer's chunk is not fetched before the designer is shown.
 */
import { expect, test, type Page, type Response } from '@playwright/test';

import { hydrated, openOwnerWorkspace, settle, shot } from '../support/app';
import { newWorkflow } from '../support/designer';

/** Every wasm response of the page from now on, and every console error or uncaught exception. */
function watch(page: Page) {
  const wasm: Response[] = [];
  const errors: string[] = [];
  page.on('response', (res) => {
    if (new URL(res.url()).pathname.endsWith('.wasm')) wasm.push(res);
  });
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(msg.text());
  });
  page.on('pageerror', (err) => errors.push(err.message));
  const names = () => wasm.map((res) => new URL(res.url()).pathname.split('/').pop());
  return { wasm, errors, names };
}

/** Whether a wasm file is the designer page's own chunk. */
const designerChunk = (name: string | undefined) => !!name?.startsWith('split___designer_route_view_');

test('the overview loads the main module and its own chunks, and the designer its chunks when it is shown', async ({
  page,
}) => {
  const seen = watch(page);
  await openOwnerWorkspace(page);
  // The page's chunks are preloaded beside the main module, so either may answer first.
  expect(seen.names()).toContain('flowdeck.wasm');
  expect(seen.names()).toContainEqual(expect.stringMatching(/^split___overview_route_view_/));
  expect(seen.names().filter(designerChunk)).toEqual([]);
  const main = seen.wasm.find((res) => new URL(res.url()).pathname.endsWith('/flowdeck.wasm'));
  if (!main) throw new Error('the main module was not fetched');
  const headers = await main.allHeaders();
  expect(headers['cache-control']).toBe('public, max-age=31536000, immutable');
  expect(headers['content-encoding']).toMatch(/^(br|gzip)$/);
  expect(new URL(main.url()).pathname).toMatch(/^\/pkg\/[0-9a-f]{16}\/flowdeck\.wasm$/);

  // Client navigation to the designer fetches its chunks, and the designer works.
  await newWorkflow(page, 'Chunked');
  await expect.poll(() => seen.names().filter(designerChunk).length).toBe(1);
  const canvas = page.getByTestId('canvas');
  await page.locator('.palette-item[data-kind=manual]').click();
  await expect(canvas.locator('.node[data-kind=manual]')).toHaveCount(1);
  await settle(page, () => page.keyboard.press('Control+s'));
  await expect(page.getByTestId('save-status')).toHaveText('All changes saved');

  // A direct load of the designer renders on the server and hydrates with its chunks.
  seen.wasm.length = 0;
  await page.reload();
  await hydrated(page);
  await expect(page.getByTestId('designer')).toBeVisible();
  expect(seen.names()).toContain('flowdeck.wasm');
  expect(seen.names().length).toBeGreaterThan(1);
  await expect(canvas.locator('.node[data-kind=manual]')).toHaveCount(1);
  await page.locator('.palette-item[data-kind=http]').click();
  await expect(canvas.locator('.node')).toHaveCount(2);
  expect(seen.errors).toEqual([]);
});

/** The other lazy pages: each reached from the shell (its chunks arrive then) and opened directly. */
const LAZY_PAGES: { name: string; heading: string; open: (page: Page) => Promise<void> }[] = [
  ...['Workflows', 'Members', 'Runs', 'Reports', 'Approvals', 'Settings'].map((name) => ({
    name,
    heading: name,
    open: (page: Page) => page.getByRole('navigation', { name: 'Workspace' }).getByRole('link', { name }).click(),
  })),
  ...[
    ['Profile and password', 'Profile'],
    ['Instance settings', 'Instance settings'],
  ].map(([name, heading]) => ({
    name,
    heading,
    open: async (page: Page) => {
      await page.getByTestId('user-menu').click();
      await page.getByRole('menuitem', { name }).click();
    },
  })),
  {
    name: 'New workspace…',
    heading: 'New workspace',
    open: async (page: Page) => {
      await page.locator('summary[aria-label^="Switch workspace"]').click();
      await page.getByRole('menuitem', { name: 'New workspace…' }).click();
    },
  },
];

test('every lazy page opens from the shell and directly', async ({ page }) => {
  const seen = watch(page);
  for (const lazy of LAZY_PAGES) {
    await openOwnerWorkspace(page);
    const before = seen.names().length;
    await lazy.open(page);
    await expect(page.getByRole('heading', { level: 1, name: lazy.heading })).toBeVisible();
    await expect.poll(() => seen.names().length, { message: `${lazy.name} fetches its chunk` }).toBeGreaterThan(before);

    const url = page.url();
    await page.goto(url);
    await hydrated(page);
    await expect(page.getByRole('heading', { level: 1, name: lazy.heading })).toBeVisible();
  }
  // None of them (the workflows list included) fetched the designer's code.
  expect(seen.names().filter(designerChunk)).toEqual([]);
  expect(seen.errors).toEqual([]);
});

test('the overview, itself a lazy page, opens by navigation from another page', async ({ page }) => {
  const seen = watch(page);
  const overview = (name: string | undefined) => !!name?.startsWith('split___overview_route_view_');
  const url = await openOwnerWorkspace(page);
  seen.wasm.length = 0;
  await page.goto(`${url}/members`);
  await hydrated(page);
  expect(seen.names().filter(overview), 'the members page does not load the overview').toEqual([]);
  await page.getByRole('navigation', { name: 'Workspace' }).getByRole('link', { name: 'Overview' }).click();
  await expect(page.getByTestId('workspace-name')).toBeVisible();
  await expect.poll(() => seen.names().filter(overview).length).toBe(1);
  expect(seen.errors).toEqual([]);
});

test('a page whose chunk fails to load says so, and a reload brings the app back', async ({ page }) => {
  await openOwnerWorkspace(page);
  await page.route(/\/pkg\/[0-9a-f]+\/(?!flowdeck\.wasm)[^/]+\.wasm$/, (route) => route.abort());
  const reports = page.getByRole('navigation', { name: 'Workspace' }).getByRole('link', { name: 'Reports' });
  await reports.click();
  const alert = page.getByRole('alert').filter({ hasText: 'This page stopped working' });
  await expect(alert).toBeVisible();
  await shot(page, 'chunk-failed');

  await page.unrouteAll();
  await Promise.all([page.waitForEvent('load'), alert.getByRole('link', { name: 'Reload the page' }).click()]);
  await hydrated(page);
  await expect(alert).toHaveCount(0);
  await reports.click();
  await expect(page.getByRole('heading', { level: 1, name: 'Reports' })).toBeVisible();
});
