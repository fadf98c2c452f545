/** An address that is no page: the 404 page, with status 404, for a signed-in person. */
import { expect, test } from '@playwright/test';

import { open, shot } from '../support/app';

test('an unknown address shows the 404 page', async ({ page }) => {
  const res = await open(page, '/no-such-page');
  expect(res?.status()).toBe(404);
  await expect(page).toHaveURL(/\/no-such-page$/);
  await expect(page.getByRole('heading', { name: 'This page does not exist' })).toBeVisible();
  await expect(page.getByRole('link', { name: 'Back to Flowdeck' })).toBeVisible();
  await shot(page, '404');
});
