/**
 * An approval from the browser: a run waits at an approval step, the approver sees a
 * notification and the request on the Approvals page, approves with a comment, and the run
 * finishes with every node green.
 */
import { expect, test } from '@playwright/test';

import { hydrated, OWNER, shot } from '../support/app';
import { newWorkflow } from '../support/designer';

test('a run waits for approval, and the approver approves it from the Approvals page', async ({ page }) => {
  const designer = await newWorkflow(page, 'Invoice sign-off');
  const canvas = page.getByTestId('canvas');
  await page.locator('.palette-item[data-kind=manual]').click();
  await page.locator('.palette-item[data-kind=approval]').click();
  await page.locator('textarea[name=config-approvers]').fill(OWNER.email);
  await page.locator('input[name=config-required]').fill('1');
  await page.locator('textarea[name=config-message]').fill('Pay invoice {{ trigger.invoice }}?');
  await page.locator('textarea[name=config-message]').press('Tab');
  await page.locator('.palette-item[data-kind=document]').click();
  await page.locator('input[name=config-title]').fill('Paid');
  await page.locator('textarea[name=config-template]').fill('Paid after {{ steps.approval.output.approved_by | join(", ") }}');
  await page.locator('textarea[name=config-template]').press('Tab');

  await page.getByRole('button', { name: 'Runs' }).click();
  const panel = page.getByRole('complementary', { name: 'Runs' });
  await panel.locator('textarea[name=run-input]').fill('{"invoice": "INV-7"}');
  await panel.getByRole('button', { name: 'Run', exact: true }).click();
  await expect(panel.getByTestId('run').locator('li.step', { hasText: 'Approval' }).locator('.badge')).toHaveText('Waiting');

  // The bell shows it at once (the tab's live stream carries the notification); the
  // Approvals page lists it.
  await expect(page.getByTestId('unread')).toHaveText('1');
  await page.getByTestId('notifications').click();
  await page.getByRole('menuitem', { name: /Approval needed: Invoice sign-off — Approval/ }).click();
  await page.waitForURL(/\/approvals$/);
  const card = page.getByTestId('approvals').locator('li').first();
  await expect(card).toContainText('Pay invoice INV-7?');
  await expect(card).toContainText('0 of 1 approvals so far');
  await card.getByLabel('Comment (optional)').fill('Checked against the PO.');
  await shot(page, 'approvals');
  await card.getByRole('button', { name: 'Approve' }).click();
  await expect(page.getByTestId('no-approvals')).toBeVisible();
  await expect(page.getByTestId('unread')).toHaveCount(0);

  // Back in the designer the run has finished.
  await page.goto(designer);
  await hydrated(page);
  await page.getByRole('button', { name: 'Runs' }).click();
  await panel.getByTestId('runs').locator('li').first().getByRole('button').click();
  await expect(panel.getByTestId('run').locator('.badge').first()).toHaveText('Completed');
  await expect(canvas.locator('.node.run-completed')).toHaveCount(3);
  const paid = panel.getByTestId('run').locator('li.step', { hasText: 'Generate document' });
  await paid.getByText('Output', { exact: true }).click();
  await expect(paid.locator('details', { hasText: 'Output' }).locator('pre')).toContainText('Paid after Olivia Owner');
});
