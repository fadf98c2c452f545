/**
 * An error workflow: the Settings panel names another workflow to start when a run fails; a
 * failing run starts it with the failure, and it shows in that workflow's runs, started by the
 * failure. (Named to run after the specs that count the workspace's runs.)
 */
import { expect, test } from '@playwright/test';

import { shot } from '../support/app';
import { newWorkflow } from '../support/designer';

test('a failing run starts the error workflow chosen in the settings', async ({ page }) => {
  // The error workflow: Manual trigger → a document about the failure.
  const alertUrl = await newWorkflow(page, 'Alert on failure');
  const canvas = page.getByTestId('canvas');
  await page.locator('.palette-item[data-kind=manual]').click();
  await page.locator('.palette-item[data-kind=document]').click();
  await page.locator('input[name=config-title]').fill('Alert');
  await page.locator('textarea[name=config-template]').fill('{{ trigger.data.workflow_name }} broke: {{ trigger.data.error }}');
  await page.locator('textarea[name=config-template]').press('Tab');
  await page.keyboard.press('Control+s');
  await expect(page.getByTestId('save-status')).toHaveText('All changes saved');

  // The workflow that fails: its template reads a value the input lacks.
  const nightlyUrl = await newWorkflow(page, 'Nightly import');
  await page.locator('.palette-item[data-kind=manual]').click();
  await page.locator('.palette-item[data-kind=document]').click();
  await page.locator('input[name=config-title]').fill('Import');
  await page.locator('textarea[name=config-template]').fill('Rows: {{ trigger.rows }}');
  await page.locator('textarea[name=config-template]').press('Tab');

  await page.getByRole('button', { name: 'Settings' }).click();
  const settings = page.getByRole('complementary', { name: 'Workflow settings' });
  const select = settings.getByLabel('Error workflow');
  await expect(select).toHaveValue('');
  await select.selectOption({ label: 'Alert on failure' });
  await expect(settings.getByTestId('settings-saved')).toHaveText('Saved: it starts when a run fails.');
  await shot(page, 'designer-settings');

  await page.getByRole('button', { name: 'Runs' }).click();
  const panel = page.getByRole('complementary', { name: 'Runs' });
  await panel.getByRole('button', { name: 'Run', exact: true }).click();
  await expect(panel.getByTestId('run-error')).toContainText('“Generate document” failed');

  // The error workflow ran with the failure.
  await page.goto(alertUrl);
  await page.getByRole('button', { name: 'Runs' }).click();
  const runs = panel.getByTestId('runs').locator('li');
  await expect(runs).toHaveCount(1);
  await expect(runs.first()).toContainText("Another workflow's failure");
  await runs.first().getByRole('button').first().click();
  await expect(panel.getByTestId('run').locator('.badge').first()).toHaveText('Completed');
  const alert = panel.getByTestId('run').locator('li.step', { hasText: 'Alert' });
  await alert.getByText('Output').click();
  await expect(alert.locator('details', { hasText: 'Output' }).locator('pre')).toContainText('Nightly import broke: “Generate document” failed');
  await expect(canvas.locator('.node.run-completed')).toHaveCount(2);

  // The setting stays, and can be cleared.
  await page.goto(nightlyUrl);
  await page.getByRole('button', { name: 'Settings' }).click();
  await expect(select).toHaveValue(/[0-9a-f-]{36}/);
  await expect(select.locator('option:checked')).toHaveText('Alert on failure');
  await select.selectOption({ label: 'None' });
  await expect(settings.getByTestId('settings-saved')).toHaveText('Saved: no error workflow.');
});
