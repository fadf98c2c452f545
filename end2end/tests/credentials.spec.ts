/** Credentials in workspace settings: add one, see its name but never its value, replace it, delete it. */
import { expect, test } from '@playwright/test';

import { hydrated, openOwnerWorkspace, shot } from '../support/app';

test('credentials are added, listed without their value, replaced and deleted', async ({ page }) => {
  const workspace = await openOwnerWorkspace(page);
  await page.goto(`${workspace}/settings`);
  await hydrated(page);
  const section = page.getByRole('region', { name: 'Credentials' });
  await expect(section.getByTestId('no-credentials')).toBeVisible();

  await section.getByLabel('Name').fill('openai');
  await section.getByLabel('Secret value').fill('sk-e2e-secret-value');
  await section.getByLabel('Hosts it may be sent to').fill('api.openai.com');
  await section.getByRole('button', { name: 'Add credential' }).click();
  const list = section.getByTestId('credentials');
  await expect(list.locator('li')).toHaveCount(1);
  await expect(list.locator('li').first()).toContainText('openai');
  await expect(list.locator('li').first()).toContainText('Sent only to api.openai.com');
  await expect(section.getByLabel('Secret value')).toHaveValue('');
  expect(await page.content()).not.toContain('sk-e2e-secret-value');

  // The same name again is refused, with the field marked.
  await section.getByLabel('Name').fill('openai');
  await section.getByLabel('Secret value').fill('another');
  await section.getByLabel('Hosts it may be sent to').fill('api.openai.com');
  await section.getByRole('button', { name: 'Add credential' }).click();
  await expect(section.getByRole('alert')).toContainText('A credential named “openai” exists already.');
  await expect(section.getByLabel('Name')).toHaveAttribute('aria-invalid', 'true');
  await shot(page, 'credentials');

  // Bind it to another host too; a bad name is refused.
  await list.getByRole('button', { name: 'Change hosts' }).click();
  await list.getByLabel('Hosts').fill('not a host!');
  await list.getByRole('button', { name: 'Save hosts' }).click();
  await expect(list.getByRole('alert')).toContainText('is not a host name');
  await list.getByLabel('Hosts').fill('api.openai.com, *.example.com');
  await list.getByRole('button', { name: 'Save hosts' }).click();
  await expect(list.locator('li').first()).toContainText('Sent only to api.openai.com, *.example.com');
  await page.setViewportSize({ width: 375, height: 812 });
  await shot(page, 'credentials-phone');
  await page.setViewportSize({ width: 1280, height: 720 });

  // Replace the value, then delete after confirming.
  await list.getByRole('button', { name: 'Replace value' }).click();
  await list.getByLabel('New value').fill('sk-rotated');
  await list.getByRole('button', { name: 'Save' }).click();
  await expect(list.getByLabel('New value')).toHaveCount(0);
  page.once('dialog', (d) => d.accept());
  await list.getByRole('button', { name: 'Delete' }).click();
  await expect(section.getByTestId('no-credentials')).toBeVisible();
});
