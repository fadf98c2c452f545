/** Helpers for the designer's specs: real pointer gestures and a new workflow opened in the designer. */
import { expect, type Locator, type Page } from '@playwright/test';

import { hydrated, openOwnerWorkspace } from './app';

export async function center(l: Locator): Promise<{ x: number; y: number }> {
  const box = await l.boundingBox();
  if (!box) throw new Error('not visible');
  return { x: box.x + box.width / 2, y: box.y + box.height / 2 };
}

/** Presses at `from`, moves in steps to `to`, releases: what a person's drag does. */
export async function drag(page: Page, from: { x: number; y: number }, to: { x: number; y: number }, shift = false) {
  if (shift) await page.keyboard.down('Shift');
  await page.mouse.move(from.x, from.y);
  await page.mouse.down();
  await page.mouse.move(to.x, to.y, { steps: 8 });
  await page.mouse.up();
  if (shift) await page.keyboard.up('Shift');
}

/** Creates a workflow from the list and opens it in the designer; returns the designer's URL. */
export async function newWorkflow(page: Page, name: string): Promise<string> {
  await openOwnerWorkspace(page);
  await page.getByRole('navigation', { name: 'Workspace' }).getByRole('link', { name: 'Workflows' }).click();
  await page.waitForURL(/\/workflows$/);
  await hydrated(page);
  await page.locator('input[name=name]').fill(name);
  await page.getByRole('button', { name: 'Create workflow' }).click();
  await page.getByRole('link', { name }).click();
  await page.waitForURL(/\/workflows\/[0-9a-f-]{36}$/);
  await expect(page.getByTestId('designer')).toBeVisible();
  return page.url();
}
