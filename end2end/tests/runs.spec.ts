/**
 * Runs from the designer: build a three-node workflow by clicking the palette, run it, watch the
 * nodes turn green, open a step's output; a run that fails names its step; bad input is refused.
 */
import { expect, test } from '@playwright/test';

import { shot } from '../support/app';
import { newWorkflow } from '../support/designer';

test('a workflow built on the canvas runs, and each step shows its status and output', async ({ page }) => {
  await newWorkflow(page, 'Meeting minutes');
  const canvas = page.getByTestId('canvas');

  // Manual trigger → document → save data, each added after the selected node.
  await page.locator('.palette-item[data-kind=manual]').click();
  await page.locator('.palette-item[data-kind=document]').click();
  await expect(canvas.locator('g.edge')).toHaveCount(1);
  await page.locator('input[name=node-name]').fill('Minutes');
  await page.locator('input[name=config-title]').fill('Minutes');
  await page.locator('textarea[name=config-template]').fill('# {{ trigger.title }}\nAttendees: {{ trigger.people }}');
  await page.locator('textarea[name=config-template]').press('Tab');
  await page.locator('.palette-item[data-kind=save_data]').click();
  await expect(canvas.locator('g.edge')).toHaveCount(2);
  await page.locator('input[name=config-key]').fill('last_meeting');
  await page.locator('textarea[name=config-value]').fill('{{ trigger.title }}');
  await page.locator('textarea[name=config-value]').press('Tab');

  // Run it (the canvas is saved first) with an input.
  await page.getByRole('button', { name: 'Runs' }).click();
  const panel = page.getByRole('complementary', { name: 'Runs' });
  await expect(panel.getByTestId('no-runs')).toBeVisible();
  const input = panel.locator('textarea[name=run-input]');
  await input.fill('{"title": "Kick-off", "people": 4}');
  await panel.getByRole('button', { name: 'Run', exact: true }).click();
  await expect(canvas.locator('.node.run-completed')).toHaveCount(3);
  const run = panel.getByTestId('run');
  await expect(run.locator('.badge').first()).toHaveText('Completed');
  await expect(page.getByTestId('save-status')).toHaveText('All changes saved');
  const minutes = run.locator('li.step', { hasText: 'Minutes' });
  await minutes.getByText('Output', { exact: true }).click();
  const output = minutes.locator('details', { hasText: 'Output' }).locator('pre');
  await expect(output).toBeVisible();
  await expect(output).toContainText('"markdown": "# Kick-off\\nAttendees: 4"');
  await shot(page, 'designer-run');

  // A run whose template reads a value the input lacks fails at that step, and says why.
  await input.fill('{"people": 2}');
  await panel.getByRole('button', { name: 'Run', exact: true }).click();
  await expect(panel.getByTestId('run-error')).toContainText('“Minutes” failed: In “template”');
  await expect(canvas.locator('.node.run-failed')).toHaveCount(1);
  await expect(canvas.locator('.node.run-failed')).toContainText('Minutes');
  await expect(canvas.locator('.node.run-completed')).toHaveCount(1);

  // Both runs are listed, newest first; input that is not JSON is refused before anything runs.
  await panel.getByRole('button', { name: '← All runs' }).click();
  await expect(canvas.locator('.node[class*=run-]')).toHaveCount(0);
  await expect(panel.getByTestId('runs').locator('li')).toHaveCount(2);
  await expect(panel.getByTestId('runs').locator('li').first()).toContainText('Failed');
  await input.fill('{"title": ');
  await panel.getByRole('button', { name: 'Run', exact: true }).click();
  await expect(panel.getByRole('alert')).toContainText('The input is not valid JSON');
  await expect(panel.getByTestId('runs').locator('li')).toHaveCount(2);

  // The workspace's Runs page lists them too, filters them, and leads back to the workflow.
  await page.getByRole('link', { name: '← Workflows' }).click();
  // The Runs link is clicked once the list is there, so the two navigations don't race.
  await page.waitForURL(/\/workflows$/);
  await expect(page.getByRole('button', { name: 'Create workflow' })).toBeVisible();
  await page.getByRole('navigation', { name: 'Workspace' }).getByRole('link', { name: 'Runs' }).click();
  await page.waitForURL(/\/runs$/);
  const rows = page.getByTestId('workspace-runs').locator('li');
  await expect(rows).toHaveCount(2);
  await expect(rows.first()).toContainText('Meeting minutes');
  await expect(rows.first()).toContainText('“Minutes” failed');
  await page.getByLabel('Filter by status').selectOption('COMPLETED');
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toContainText('Completed');
  await page.getByLabel('Filter by status').selectOption('CANCELLED');
  await expect(page.getByTestId('no-runs')).toBeVisible();
  await page.getByLabel('Filter by status').selectOption('');
  await expect(rows).toHaveCount(2);
  await shot(page, 'runs');
  // A row opens its run in the designer's Runs panel.
  await rows.first().getByRole('link', { name: 'Meeting minutes' }).click();
  await expect(page.getByTestId('designer')).toBeVisible();
  await expect(page).toHaveURL(/\/workflows\/[0-9a-f-]{36}\?run=[0-9a-f-]{36}$/);
  const again = page.getByRole('complementary', { name: 'Runs' });
  await expect(again.getByTestId('run-error')).toContainText('“Minutes” failed');
  await expect(canvas.locator('.node.run-failed')).toHaveCount(1);

  // The failed run continues from its failed step: a new run, marked as such, that keeps the
  // trigger's step and tries "Minutes" again (with the same input it fails the same way).
  await again.getByRole('button', { name: 'Retry from failed step' }).click();
  await expect(again.getByTestId('retry-of')).toBeVisible();
  await expect(again.getByTestId('run-error')).toContainText('“Minutes” failed');
  await again.getByRole('button', { name: '← All runs' }).click();
  await expect(again.getByTestId('runs').locator('li')).toHaveCount(3);

  // Steps that call other systems have retries and a timeout; bad numbers are named.
  await page.getByRole('button', { name: 'Runs' }).click();
  await page.locator('.palette-item[data-kind=http]').click();
  const tries = page.locator('input[name=policy-attempts]');
  await expect(tries).toHaveValue('1');
  await tries.fill('0');
  await expect(page.locator('fieldset.policy').getByRole('alert')).toHaveText('In retries: tries must be 1 to 10.');
  await tries.fill('4');
  await expect(page.locator('fieldset.policy').getByRole('alert')).toHaveCount(0);
  await shot(page, 'designer-retries');
});
