/** The workflows list: empty state, create, search and filter, duplicate, rename, delete, persistence. */
import { expect, test } from '@playwright/test';

import { hydrated, openOwnerWorkspace, shot } from '../support/app';

test('workflows are created, found, duplicated, renamed and deleted', async ({ page }) => {
  await openOwnerWorkspace(page);
  await page.getByRole('navigation', { name: 'Workspace' }).getByRole('link', { name: 'Workflows' }).click();
  await page.waitForURL(/\/workflows$/);
  await hydrated(page);
  await expect(page.getByTestId('workflows-empty')).toContainText('A workflow automates');
  await shot(page, 'workflows-empty');

  const rows = page.getByTestId('workflow');
  const create = async (name: string, description: string) => {
    await page.locator('input[name=name]').fill(name);
    await page.locator('input[name=description]').fill(description);
    await page.getByRole('button', { name: 'Create workflow' }).click();
    await expect(rows.filter({ hasText: name })).toHaveCount(1);
  };
  await create('Invoice approval', 'Routes invoices over 1,000 EUR to finance');
  await create('Nightly sync', 'Copies tasks to the data warehouse');
  await expect(rows).toHaveCount(2);
  await expect(page.locator('input[name=name]')).toHaveValue('', { timeout: 5_000 });
  await expect(rows.first()).toContainText('Draft');
  await expect(rows.first()).toContainText('by Olivia Owner');

  const search = page.getByRole('searchbox', { name: 'Search workflows' });
  await search.fill('INVOICE');
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toContainText('Invoice approval');
  await search.fill('warehouse');
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toContainText('Nightly sync');
  await search.fill('');
  await page.getByRole('combobox', { name: 'Filter by status' }).selectOption('ACTIVE');
  await expect(rows).toHaveCount(0);
  await expect(page.getByText('No workflows match this search.')).toBeVisible();
  await page.getByRole('combobox', { name: 'Filter by status' }).selectOption('');
  await expect(rows).toHaveCount(2);

  const invoice = rows.filter({ hasText: 'Invoice approval' });
  await invoice.getByRole('button', { name: 'Duplicate' }).click();
  const copy = rows.filter({ hasText: 'Invoice approval (copy)' });
  await expect(copy).toHaveCount(1);

  await copy.getByRole('button', { name: 'Rename' }).click();
  const newName = page.getByRole('textbox', { name: 'New name' });
  await expect(newName).toBeFocused();
  await newName.fill('Expense approval');
  await newName.press('Enter');
  await expect(rows.filter({ hasText: 'Expense approval' })).toHaveCount(1);
  await shot(page, 'workflows');

  page.once('dialog', (dialog) => {
    expect(dialog.message()).toContain('Delete the workflow “Nightly sync”');
    void dialog.accept();
  });
  await rows.filter({ hasText: 'Nightly sync' }).getByRole('button', { name: 'Delete' }).click();
  await expect(rows).toHaveCount(2);

  await page.reload();
  await hydrated(page);
  await expect(rows).toHaveCount(2);
  await expect(rows.filter({ hasText: 'Expense approval' })).toHaveCount(1);
  await expect(rows.filter({ hasText: 'Nightly sync' })).toHaveCount(0);
});
