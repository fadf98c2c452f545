/** Shared people, and the steps every spec takes: open a page and wait for hydration, screenshot. */
import fs from 'node:fs';
import path from 'node:path';

import AxeBuilder from '@axe-core/playwright';
import { expect, type Page } from '@playwright/test';

import { SCREENSHOT_DIR } from './paths';

export const OWNER = {
  name: 'Olivia Owner',
  email: 'olivia@example.com',
  password: 'correct horse battery',
};
export const WORKSPACE = 'Acme Operations';
export const INVITEE = {
  name: 'Ivan Invitee',
  email: 'ivan@example.com',
  password: 'invitee-secret-42',
};

/** A workspace page: /w/<uuid> (optionally a sub-page). */
export const WORKSPACE_URL = /\/w\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * The page is rendered on the server, then hydrated by the wasm bundle; event handlers exist only
 * after that. The frontend marks `<body data-hydrated>` when hydration is done.
 */
export async function hydrated(page: Page): Promise<void> {
  await page.locator('body[data-hydrated]').waitFor({ state: 'attached' });
}

/**
 * Runs `action` (e.g. a click that submits a form), then waits until the page has had no request
 * in flight for `quietMs`: the action's server call and every refresh it triggers have finished,
 * so what is on screen now is what the user is left looking at.
 */
export async function settle(page: Page, action: () => Promise<unknown>, quietMs = 750, timeoutMs = 20_000): Promise<void> {
  let inFlight = 0;
  let lastChange = Date.now();
  const up = () => {
    inFlight++;
    lastChange = Date.now();
  };
  const down = () => {
    inFlight = Math.max(0, inFlight - 1);
    lastChange = Date.now();
  };
  page.on('request', up);
  page.on('requestfinished', down);
  page.on('requestfailed', down);
  try {
    await action();
    lastChange = Date.now();
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (inFlight === 0 && Date.now() - lastChange >= quietMs) return;
      await page.waitForTimeout(50);
    }
    throw new Error(`the page kept talking to the server for ${timeoutMs} ms`);
  } finally {
    page.off('request', up);
    page.off('requestfinished', down);
    page.off('requestfailed', down);
  }
}

/** Opens `url` and waits for hydration; returns the main response. */
export async function open(page: Page, url: string) {
  const res = await page.goto(url);
  await hydrated(page);
  return res;
}

/** Saves a full-page screenshot as screenshots/<name>.png. */
export async function shot(page: Page, name: string): Promise<void> {
  fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });
  await accessible(page, name);
}

/** axe-core over the screen as it is: no WCAG 2.1 A/AA violation. */
export async function accessible(page: Page, name: string): Promise<void> {
  const { violations } = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  const found = violations.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  if (process.env.A11Y_REPORT) {
    fs.appendFileSync(process.env.A11Y_REPORT, found.map((f) => `${name}: ${f}\n`).join(''));
    return;
  }
  // Soft: every screen of a run is checked, and the run fails if any of them has a violation.
  expect.soft(found, `accessibility of ${name}`).toEqual([]);
}

/** Signs in on the sign-in page the browser is on (already hydrated). */
export async function signIn(page: Page, who: { email: string; password: string }): Promise<void> {
  await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
  await page.locator('input[name=email]').fill(who.email);
  await page.locator('input[name=password]').fill(who.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** Opens the owner's workspace (the home page redirects to it) and returns its URL. */
export async function openOwnerWorkspace(page: Page): Promise<string> {
  await page.goto('/');
  await page.waitForURL(WORKSPACE_URL);
  await hydrated(page);
  await expect(page.getByTestId('workspace-name')).toHaveText(WORKSPACE);
  return page.url();
}
