/**
 * Testing and failing workflows: pinned test data stands in for a step in runs started here; an
 * error workflow (Settings panel) starts when a run fails. (Named to run after the specs that
 * count the workspace's runs.)
 */
import { expect, test } from '@playwright/test';

import { hydrated, shot } from '../support/app';
import { newWorkflow } from '../support/designer';

test('pinned test data stands in for a step in runs started from the designer', async ({ page }) => {
  await newWorkflow(page, 'Order lookup');
  const canvas = page.getByTestId('canvas');
  await page.locator('.palette-item[data-kind=manual]').click();
  await page.locator('.palette-item[data-kind=http]').click();
  // A loopback address: the step itself is refused, so only pinned data gets past it.
  await page.locator('input[name=config-url]').fill('http://127.0.0.1:9/orders/7');
  await page.locator('input[name=config-url]').press('Tab');
  const testData = page.locator('fieldset.pinned-data');
  await testData.locator('textarea[name=pinned-data]').fill('{"status": 200, "body": {"total": ');
  await testData.getByRole('button', { name: 'Pin output' }).click();
  await expect(testData.getByRole('alert')).toContainText('This is not valid JSON');
  await testData.locator('textarea[name=pinned-data]').fill('{"status": 200, "body": {"total": 42}}');
  await testData.getByRole('button', { name: 'Pin output' }).click();
  await expect(testData.getByTestId('pinned')).toContainText('"total": 42');
  await expect(canvas.locator('.node[data-kind=http]')).toHaveClass(/pinned/);
  await page.locator('.palette-item[data-kind=document]').click();
  await page.locator('input[name=config-title]').fill('Receipt');
  await page.locator('textarea[name=config-template]').fill('Total {{ steps.http_request.output.body.total }}');
  await page.locator('textarea[name=config-template]').press('Tab');
  await canvas.locator('.node[data-kind=http] .node-name').click();
  await shot(page, 'designer-pinned');

  // Run: the HTTP step is not run, its pinned output feeds the receipt.
  await page.getByRole('button', { name: 'Runs', exact: true }).click();
  const panel = page.getByRole('complementary', { name: 'Runs' });
  await panel.getByRole('button', { name: 'Run', exact: true }).click();
  await expect(canvas.locator('.node.run-completed')).toHaveCount(3);
  const receipt = panel.getByTestId('run').locator('li.step', { hasText: 'Generate document' });
  await receipt.getByText('Output', { exact: true }).click();
  await expect(receipt.locator('details', { hasText: 'Output' }).locator('pre')).toContainText('Total 42');

  // A run's output can be pinned from the run: the receipt's, here.
  await receipt.getByRole('button', { name: 'Pin this output' }).click();
  await expect(receipt.getByRole('button', { name: 'Pinned as test data' })).toBeDisabled();
  await expect(canvas.locator('.node[data-kind=document]')).toHaveClass(/pinned/);

  // Unpinned, the HTTP step runs for real and is refused.
  await page.getByRole('button', { name: 'Runs', exact: true }).click();
  await canvas.locator('.node[data-kind=http] .node-name').click();
  await testData.getByRole('button', { name: 'Unpin' }).click();
  await expect(canvas.locator('.node[data-kind=http]')).not.toHaveClass(/pinned/);
  await page.getByRole('button', { name: 'Runs', exact: true }).click();
  await panel.getByRole('button', { name: 'Run', exact: true }).click();
  await expect(panel.getByTestId('run-error')).toContainText('“HTTP request” failed');
});

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

  await page.getByRole('button', { name: 'Runs', exact: true }).click();
  const panel = page.getByRole('complementary', { name: 'Runs' });
  await panel.getByRole('button', { name: 'Run', exact: true }).click();
  await expect(panel.getByTestId('run-error')).toContainText('“Generate document” failed');

  // The error workflow ran with the failure.
  await page.goto(alertUrl);
  await hydrated(page);
  await page.getByRole('button', { name: 'Runs', exact: true }).click();
  const runs = panel.getByTestId('runs').locator('li');
  await expect(runs).toHaveCount(1);
  await expect(runs.first()).toContainText("Another workflow's failure");
  await runs.first().getByRole('button').first().click();
  await expect(panel.getByTestId('run').locator('.badge').first()).toHaveText('Completed');
  const alert = panel.getByTestId('run').locator('li.step', { hasText: 'Alert' });
  await alert.getByText('Output', { exact: true }).click();
  await expect(alert.locator('details', { hasText: 'Output' }).locator('pre')).toContainText('Nightly import broke: “Generate document” failed');
  await expect(canvas.locator('.node.run-completed')).toHaveCount(2);

  // The setting stays, and can be cleared.
  await page.goto(nightlyUrl);
  await hydrated(page);
  await page.getByRole('button', { name: 'Settings' }).click();
  await expect(select).toHaveValue(/[0-9a-f-]{36}/);
  await expect(select.locator('option:checked')).toHaveText('Alert on failure');
  await select.selectOption({ label: 'None' });
  await expect(settings.getByTestId('settings-saved')).toHaveText('Saved: no error workflow.');
});
