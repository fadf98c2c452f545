/** Profile settings: theme and time zone are saved and survive a reload. */
import { expect, test, type Page } from '@playwright/test';

import { OWNER, hydrated, open, settle, shot } from '../support/app';

/** Saves the profile form; it should confirm with "Saved." once the page has settled. */
async function saveProfile(page: Page) {
  await settle(page, () => page.getByRole('button', { name: 'Save profile' }).click());
  await expect(page.getByRole('alert')).toHaveCount(0);
  // Soft: a missing confirmation fails the test, but the checks after a reload still run.
  await expect
    .soft(page.getByText('Saved.', { exact: true }), 'the profile form confirms the save')
    .toBeVisible({ timeout: 2_000 });
}

test('the dark theme is saved', async ({ page }) => {
  await open(page, '/profile');
  await expect(page.getByRole('heading', { name: 'Profile', level: 1 })).toBeVisible();
  await expect(page.locator('input[name=name]')).toHaveValue(OWNER.name);
  await shot(page, 'profile');

  await page.getByRole('radio', { name: 'Dark' }).check();
  // Applied at once, before saving.
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark');
  await saveProfile(page);

  await page.reload();
  await hydrated(page);
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark');
  await expect(page.getByRole('radio', { name: 'Dark' })).toBeChecked();
  await shot(page, 'profile-dark');
});

test('the time zone is saved', async ({ page }) => {
  await open(page, '/profile');
  const zone = page.locator('input[name=timezone]');
  await expect(zone).toBeVisible();
  await expect(page.locator('datalist#timezones option[value="Europe/Berlin"]')).toHaveCount(1);
  await zone.fill('Europe/Berlin');
  await saveProfile(page);

  await page.reload();
  await hydrated(page);
  await expect(page.locator('input[name=timezone]')).toHaveValue('Europe/Berlin');
  await shot(page, 'profile-timezone');
});
