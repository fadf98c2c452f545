/**
 * A webhook trigger from the designer: its address appears once the node is saved, it takes
 * calls once the workflow is active, a call runs the workflow and returns the last step's output,
 * and the run shows up in the runs panel, started by "Webhook", with its nodes coloured; later
 * calls appear in the open list as they happen.
 */
import { expect, test } from '@playwright/test';

import { shot } from '../support/app';
import { newWorkflow } from '../support/designer';

test('a webhook node shows its address, and a call to it runs the active workflow', async ({ page }) => {
  await newWorkflow(page, 'Shop orders');
  const canvas = page.getByTestId('canvas');
  await page.locator('.palette-item[data-kind=webhook]').click();
  await page.locator('.palette-item[data-kind=document]').click();
  await expect(canvas.locator('g.edge')).toHaveCount(1);
  await page.locator('input[name=config-title]').fill('Order');
  await page.locator('textarea[name=config-template]').fill('Order {{ trigger.body.id }} for {{ trigger.body.customer }}');
  await page.locator('textarea[name=config-template]').press('Tab');

  // The webhook's panel: the address exists once the node is saved.
  await canvas.locator('.node[data-kind=webhook] .node-name').click();
  const hook = page.getByRole('region', { name: 'Webhook address' });
  await page.keyboard.press('Control+s');
  await expect(page.getByTestId('save-status')).toHaveText('All changes saved');
  const url = hook.getByTestId('webhook-url');
  await expect(url).toHaveValue(/\/hooks\/[0-9a-f-]{36}\/[A-Za-z0-9_-]{32}$/);
  await expect(hook.getByTestId('webhook-state')).toHaveText('Not taking calls: activate the workflow first.');
  const address = await url.inputValue();
  expect((await page.request.post(address, { data: { id: 1 } })).status()).toBe(404);

  // Signatures: the key appears, hidden until shown.
  await page.getByLabel('Require an HMAC-SHA256 signature').check();
  const secret = hook.getByTestId('webhook-secret');
  await expect(secret).toHaveAttribute('type', 'password');
  await hook.getByRole('button', { name: 'Show' }).click();
  await expect(secret).toHaveAttribute('type', 'text');
  await expect(secret).toHaveValue(/^[A-Za-z0-9_-]{43}$/);
  await page.getByLabel('Require an HMAC-SHA256 signature').uncheck();
  await expect(secret).toHaveCount(0);

  // Activated, it takes calls: a call waits for the run and gets the last step's output.
  await page.getByRole('button', { name: 'Activate' }).click();
  const dialog = page.getByTestId('activate');
  await dialog.getByRole('textbox').fill('Live');
  await dialog.getByRole('button', { name: 'Activate' }).click();
  await expect(dialog).toBeHidden();
  await canvas.locator('.node[data-kind=webhook] .node-name').click();
  await expect(hook.getByTestId('webhook-state')).toHaveText('Taking calls: each one starts a run of the active version.');
  await expect(url).toHaveValue(address);
  await shot(page, 'designer-webhook');
  const res = await page.request.post(`${address}?wait=true`, { data: { id: 77, customer: 'Ada' } });
  expect(res.status()).toBe(200);
  expect((await res.json()).output.markdown).toBe('Order 77 for Ada');
  const bad = await page.request.post(address, { headers: { 'Content-Type': 'application/json' }, data: Buffer.from('{"id": ') });
  expect(bad.status()).toBe(400);
  expect((await bad.json()).error).toContain('The body is not valid JSON');

  // The run is in the runs panel, started by the trigger, every node green.
  await page.getByRole('button', { name: 'Runs' }).click();
  const panel = page.getByRole('complementary', { name: 'Runs' });
  const runs = panel.getByTestId('runs').locator('li');
  await expect(runs).toHaveCount(1);
  await expect(runs.first()).toContainText('Webhook');
  await runs.first().getByRole('button').first().click();
  await expect(canvas.locator('.node.run-completed')).toHaveCount(2);
  await expect(panel.getByTestId('run').locator('.badge').first()).toHaveText('Completed');

  // The list is live (server-sent events): a call made now shows up without a click or reload.
  await panel.getByRole('button', { name: '← All runs' }).click();
  await expect(runs).toHaveCount(1);
  expect((await page.request.post(address, { data: { id: 78, customer: 'Bo' } })).status()).toBe(202);
  await expect(runs).toHaveCount(2);
  await expect(runs.first().locator('.badge').first()).toHaveText('Completed');
});
