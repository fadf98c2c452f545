/**
 * The Reports page over the runs the earlier designer specs made (runs: 1 completed, 2 failed;
 * sign-off: 1 completed): totals, charts and table, for the workspace and for one workflow.
 */
import { expect, test } from '@playwright/test';

import { hydrated, openOwnerWorkspace, shot } from '../support/app';

test('reports count finished runs per period, for the workspace and one workflow', async ({ page }) => {
  await openOwnerWorkspace(page);
  await page.getByRole('navigation', { name: 'Workspace' }).getByRole('link', { name: 'Reports' }).click();
  await page.waitForURL(/\/reports$/);
  await hydrated(page);
  const totals = page.getByTestId('report-totals');
  await expect(totals.locator('div', { hasText: 'Runs' }).locator('dd')).toHaveText('4');
  await expect(totals.locator('div', { hasText: 'Completed' }).locator('dd')).toHaveText('2');
  await expect(totals.locator('div', { hasText: 'Success rate' }).locator('dd')).toHaveText('50 %');
  await expect(page.getByTestId('count-chart').locator('rect.bar.completed')).toHaveCount(1);
  await expect(page.getByTestId('count-chart').locator('rect.bar.failed')).toHaveCount(1);
  await expect(page.getByTestId('duration-chart').locator('circle.dot.p95')).toHaveCount(1);
  await expect(page.getByTestId('report-table').locator('tbody tr')).toHaveCount(1);
  await shot(page, 'reports');

  await page.getByLabel('Workflow').selectOption({ label: 'Meeting minutes' });
  await expect(totals.locator('div', { hasText: 'Runs' }).locator('dd')).toHaveText('3');
  await expect(totals.locator('div', { hasText: 'Failed' }).locator('dd')).toHaveText('2');
  await page.getByLabel('Group by').selectOption('month');
  await expect(page.getByTestId('report-table').locator('tbody tr td').first()).toHaveText(/^[A-Z][a-z]{2} \d{4}$/);
  await page.getByLabel('Workflow').selectOption({ label: 'Lead intake' });
  await expect(page.getByTestId('no-report')).toBeVisible();
});
