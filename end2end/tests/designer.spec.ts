/**
 * The designer with real pointer events: drag from the palette, connect, move, box-select, delete,
 * undo/redo, zoom, configure, save, reload; and two editors of one workflow getting the conflict dialog.
 */
import { expect, test } from '@playwright/test';

import { hydrated, openOwnerWorkspace, settle, shot } from '../support/app';
import { center, drag, newWorkflow } from '../support/designer';

test('a workflow is built on the canvas, saved, and the same after a reload', async ({ page }) => {
  const url = await newWorkflow(page, 'Support triage');
  const canvas = page.getByTestId('canvas');
  const nodes = canvas.locator('.node');
  const edges = canvas.locator('g.edge');
  await expect(canvas).toContainText('Drag a trigger from the palette to start.');
  await expect(page.getByTestId('diagnostics')).toContainText('Add a trigger');
  await shot(page, 'designer-empty');

  // Drag a webhook trigger from the palette; click "HTTP request" to add it after the selected node.
  await page.locator('.palette-item[data-kind=webhook]').dragTo(canvas, { targetPosition: { x: 120, y: 150 } });
  await expect(nodes).toHaveCount(1);
  const webhook = canvas.locator('.node[data-kind=webhook]');
  await expect(webhook).toHaveClass(/selected/);
  await page.locator('.palette-item[data-kind=http]').click();
  await expect(nodes).toHaveCount(2);
  await expect(edges).toHaveCount(1);

  // Search the palette, drop an email below, and connect the HTTP request to it by its handles.
  await page.getByRole('searchbox', { name: 'Search nodes' }).fill('mail');
  await expect(page.locator('.palette-item:visible')).toHaveCount(1);
  await page.locator('.palette-item[data-kind=email]').dragTo(canvas, { targetPosition: { x: 300, y: 380 } });
  await page.getByRole('searchbox', { name: 'Search nodes' }).fill('');
  const http = canvas.locator('.node[data-kind=http]');
  const email = canvas.locator('.node[data-kind=email]');
  await drag(page, await center(http.locator('.handle-out')), await center(email.locator('.handle-in')));
  await expect(edges).toHaveCount(2);

  // Move the email node.
  const before = await email.boundingBox();
  await drag(page, await center(email.locator('.node-name')), { x: (before?.x ?? 0) + 220, y: (before?.y ?? 0) + 90 });
  const after = await email.boundingBox();
  expect(Math.round((after?.x ?? 0) - (before?.x ?? 0))).toBeGreaterThan(60);

  // Configure the HTTP request in the side panel.
  await http.locator('.node-name').click();
  await page.locator('input[name=node-name]').fill('Create ticket');
  await page.locator('input[name=node-name]').press('Tab');
  await page.locator('input[name=config-url]').fill('https://helpdesk.example.com/api/tickets');
  await page.locator('input[name=config-url]').press('Tab');
  await expect(http).toContainText('Create ticket');

  // Box-select the HTTP request and the email with Shift+drag on empty canvas, then delete them.
  const box = await canvas.boundingBox();
  if (!box) throw new Error('canvas');
  const h = await http.boundingBox();
  const e = await email.boundingBox();
  if (!h || !e) throw new Error('nodes');
  await drag(page, { x: h.x - 20, y: Math.min(h.y, e.y) - 20 }, { x: e.x + e.width + 20, y: e.y + e.height + 20 }, true);
  await expect(canvas.locator('.node.selected')).toHaveCount(2);
  await expect(page.getByRole('heading', { name: '2 nodes selected' })).toBeVisible();
  await page.keyboard.press('Delete');
  await expect(nodes).toHaveCount(1);
  await expect(edges).toHaveCount(0);
  await page.keyboard.press('Control+z');
  await expect(nodes).toHaveCount(3);
  await expect(edges).toHaveCount(2);
  await page.keyboard.press('Control+Shift+z');
  await expect(nodes).toHaveCount(1);
  await page.getByRole('button', { name: 'Undo' }).click();
  await expect(nodes).toHaveCount(3);

  // Copy and paste, arrow-key nudge, and undo of both.
  await webhook.locator('.node-name').click();
  await page.keyboard.press('Control+c');
  await page.keyboard.press('Control+v');
  await expect(nodes).toHaveCount(4);
  await expect(canvas.locator('.node.selected')).toContainText('Webhook 2');
  await page.keyboard.press('Control+z');
  await expect(nodes).toHaveCount(3);
  await email.locator('.node-name').click();
  const x0 = (await email.boundingBox())?.x ?? 0;
  await page.keyboard.press('ArrowRight');
  await expect.poll(async () => Math.round(((await email.boundingBox())?.x ?? 0) - x0)).toBeGreaterThan(10);
  await page.keyboard.press('Control+z');
  await expect.poll(async () => Math.round(((await email.boundingBox())?.x ?? 0) - x0)).toBe(0);
  await expect(page.getByTestId('minimap').locator('rect.minimap-node')).toHaveCount(3);

  // Zoom with the buttons and the wheel.
  await page.getByRole('button', { name: 'Zoom in' }).click();
  await expect(page.getByTestId('zoom')).toHaveText('120 %');
  await page.mouse.move(box.x + 40, box.y + 40);
  await page.mouse.wheel(0, 400);
  await expect(page.getByTestId('zoom')).not.toHaveText('120 %');
  await page.getByRole('button', { name: 'Fit' }).click();

  // Save with Ctrl+S; after a reload the same graph is there.
  await settle(page, () => page.keyboard.press('Control+s'));
  await expect(page.getByTestId('save-status')).toHaveText('All changes saved');
  await shot(page, 'designer');
  await page.goto(url);
  await hydrated(page);
  await expect(nodes).toHaveCount(3);
  await expect(edges).toHaveCount(2);
  await expect(http).toContainText('Create ticket');
  await http.locator('.node-name').click();
  await expect(page.locator('input[name=config-url]')).toHaveValue('https://helpdesk.example.com/api/tickets');
  await expect(email).toHaveClass(/invalid/);
});

test('two editors saving in turn get the conflict dialog, not a silent overwrite', async ({ page, browser }) => {
  const url = await newWorkflow(page, 'Onboarding');
  // Its own context (axe-core checks pages of a context it can open frames in).
  const otherContext = await browser.newContext({ storageState: await page.context().storageState() });
  const other = await otherContext.newPage();
  await other.goto(url);
  await hydrated(other);

  // The first editor adds a trigger and saves.
  await page.locator('.palette-item[data-kind=manual]').click();
  await settle(page, () => page.keyboard.press('Control+s'));
  await expect(page.getByTestId('save-status')).toHaveText('All changes saved');

  // The second, still on the old version, adds a node and saves: conflict.
  await other.locator('.palette-item[data-kind=schedule]').click();
  await settle(other, () => other.keyboard.press('Control+s'));
  const dialog = other.getByTestId('conflict');
  await expect(dialog).toBeVisible();
  await expect(dialog).toContainText('Olivia Owner saved a newer version');
  await dialog.getByRole('button', { name: 'Show differences' }).click();
  await expect(other.getByTestId('diff')).toContainText('Only in yours: Schedule');
  await expect(other.getByTestId('diff')).toContainText('Only in theirs: Manual');
  await shot(other, 'designer-conflict');
  await dialog.getByRole('button', { name: 'Discard mine and load theirs' }).click();
  await expect(dialog).toBeHidden();
  await expect(other.locator('.node[data-kind=manual]')).toHaveCount(1);
  await expect(other.locator('.node[data-kind=schedule]')).toHaveCount(0);

  // Without unsaved changes, a newer save shows up as a notice (heartbeat every 10 s) and loads on request.
  await page.locator('.palette-item[data-kind=http]').click();
  await settle(page, () => page.keyboard.press('Control+s'));
  const newer = other.getByTestId('newer-version');
  await expect(newer).toContainText('Olivia Owner saved a newer version (version 3).', { timeout: 25_000 });
  await newer.getByRole('button', { name: 'Load it' }).click();
  await expect(newer).toBeHidden();
  await expect(other.locator('.node[data-kind=http]')).toHaveCount(1);
  await otherContext.close();
});

test('activation checks the graph, keeps versions; history compares and restores; archive makes it read-only', async ({ page }) => {
  await newWorkflow(page, 'Lead intake');
  const canvas = page.getByTestId('canvas');
  await page.locator('.palette-item[data-kind=manual]').click();
  await page.locator('.palette-item[data-kind=http]').click();
  await expect(canvas.locator('g.edge')).toHaveCount(1);

  // Not valid yet: the HTTP request has no URL.
  await page.getByRole('button', { name: 'Activate' }).click();
  const dialog = page.getByTestId('activate');
  await dialog.getByRole('textbox').fill('First release');
  await dialog.getByRole('button', { name: 'Activate' }).click();
  await expect(dialog.getByRole('alert')).toContainText('Fix 1 problem before activating. First: Missing: URL.');
  await dialog.getByRole('button', { name: 'Cancel' }).click();

  await page.locator('input[name=config-url]').fill('https://crm.example.com/leads');
  await page.locator('input[name=config-url]').press('Tab');
  await page.getByRole('button', { name: 'Activate' }).click();
  await dialog.getByRole('textbox').fill('First release');
  await dialog.getByRole('button', { name: 'Activate' }).click();
  await expect(dialog).toBeHidden();
  await expect(page.getByTestId('status')).toHaveText('Active');

  // A draft change after activation, then the history compares it with version 1 and restores that.
  const http = canvas.locator('.node[data-kind=http]');
  await http.locator('.node-name').click();
  await page.locator('input[name=node-name]').fill('Call CRM');
  await page.locator('input[name=node-name]').press('Tab');
  await settle(page, () => page.keyboard.press('Control+s'));
  await page.getByRole('button', { name: 'History' }).click();
  const versions = page.getByTestId('version');
  await expect(versions).toHaveCount(1);
  await expect(versions.first()).toContainText('Version 1');
  await expect(versions.first()).toContainText('First release');
  await versions.first().getByRole('button', { name: 'Compare with draft' }).click();
  await expect(page.getByTestId('version-banner')).toContainText('Version 1 compared with the draft');
  await expect(page.locator('.node.diff-changed')).toHaveCount(1);
  await expect(page.locator('.node.diff-changed')).toContainText('Call CRM');
  await shot(page, 'designer-compare');
  await page.getByRole('button', { name: 'Restore this version' }).click();
  await expect(page.getByTestId('version-banner')).toBeHidden();
  await expect(http).toContainText('HTTP request');
  await expect(page.getByTestId('save-status')).toHaveText('All changes saved');

  // Deactivate, then archive: the workflow becomes read-only.
  await page.getByRole('button', { name: 'Deactivate' }).click();
  await expect(page.getByTestId('status')).toHaveText('Inactive');
  page.once('dialog', (d) => void d.accept());
  await page.getByRole('button', { name: 'Archive' }).click();
  await expect(page.getByTestId('status')).toHaveText('Archived');
  await expect(page.getByTestId('save-status')).toHaveText('Read only');
  await expect(page.getByRole('button', { name: 'Save' })).toHaveCount(0);
  await expect(page.getByRole('button', { name: 'Restore from archive' })).toBeVisible();
});

test('an n8n workflow is imported with a report, and a Flowdeck export imports back', async ({ page }) => {
  await openOwnerWorkspace(page);
  await page.getByRole('navigation', { name: 'Workspace' }).getByRole('link', { name: 'Workflows' }).click();
  await page.waitForURL(/\/workflows$/);
  await hydrated(page);
  const n8n = {
    name: 'Nightly export',
    nodes: [
      { name: 'Every night', type: 'n8n-nodes-base.scheduleTrigger', position: [0, 0],
        parameters: { rule: { interval: [{ field: 'cronExpression', expression: '0 2 * * *' }] } } },
      { name: 'Download', type: 'n8n-nodes-base.httpRequest', position: [220, 0], parameters: { url: 'https://data.example.com/export' } },
      { name: 'Transform', type: 'n8n-nodes-base.code', position: [440, 0], parameters: {} },
    ],
    connections: {
      'Every night': { main: [[{ node: 'Download', type: 'main', index: 0 }]] },
      Download: { main: [[{ node: 'Transform', type: 'main', index: 0 }]] },
    },
  };
  const file = page.getByLabel('Workflow file');
  await file.setInputFiles({ name: 'n8n.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(n8n)) });
  await page.getByRole('button', { name: 'Import file' }).click();
  const report = page.getByTestId('import-report');
  await expect(report).toContainText('Imported “Nightly export”: 2 nodes, 1 connections.');
  await expect(report).toContainText('“Transform” (n8n-nodes-base.code) has no Flowdeck equivalent');
  await expect(page.getByTestId('workflow').filter({ hasText: 'Nightly export' })).toHaveCount(1);
  await shot(page, 'workflows-import');

  // A broken file is refused with the reason.
  await file.setInputFiles({ name: 'bad.json', mimeType: 'application/json', buffer: Buffer.from('{"nodes": ') });
  await page.getByRole('button', { name: 'Import file' }).click();
  await expect(page.getByTestId('import-error')).toContainText('not valid JSON');

  // Open the import, export it, and import the export.
  await page.getByRole('link', { name: 'Nightly export' }).click();
  await page.waitForURL(/\/workflows\/[0-9a-f-]{36}$/);
  await hydrated(page);
  await expect(page.getByTestId('canvas').locator('.node')).toHaveCount(2);
  const download = page.waitForEvent('download');
  await page.getByRole('link', { name: 'Export' }).click();
  const saved = await (await download).path();
  const fs = await import('node:fs');
  const exported = JSON.parse(fs.readFileSync(saved, 'utf8'));
  expect(exported.format).toBe('flowdeck.workflow');
  expect(exported.graph.nodes.map((n: { kind: string }) => n.kind)).toEqual(['schedule', 'http']);
  await page.getByRole('link', { name: '← Workflows' }).click();
  await page.waitForURL(/\/workflows$/);
  await hydrated(page);
  await page.getByLabel('Workflow file').setInputFiles({ name: 'x.flowdeck.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(exported)) });
  await page.getByRole('button', { name: 'Import file' }).click();
  await expect(page.getByTestId('import-report')).toContainText('Imported “Nightly export”: 2 nodes, 1 connections.');
  await expect(page.getByTestId('workflow').filter({ hasText: 'Nightly export' })).toHaveCount(2);
});

test('a big workflow draws only what the viewport shows; panning brings the rest', async ({ page }) => {
  const url = await newWorkflow(page, 'Long chain');
  const [, ws, wf] = url.match(/\/w\/([0-9a-f-]{36})\/workflows\/([0-9a-f-]{36})$/) ?? [];
  const id = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
  const nodes = Array.from({ length: 300 }, (_, i) =>
    i === 0
      ? { id: id(1), name: 'Start', x: 0, y: 0, kind: 'manual', config: { input_hint: '' } }
      : { id: id(i + 1), name: `Step ${i}`, x: i * 280, y: (i % 3) * 100, kind: 'delay', config: { seconds: 5 } },
  );
  const edges = nodes.slice(1).map((n, i) => ({ id: id(1000 + i), source: nodes[i].id, target: n.id, condition: null, is_default: false }));
  const res = await page.request.post('/api/workflows/save', { data: { workspace_id: ws, workflow_id: wf, version: 1, graph: { nodes, edges } } });
  expect(res.ok()).toBeTruthy();
  await page.reload();
  await hydrated(page);
  const canvas = page.getByTestId('canvas');
  // Zoomed to fit (25 % is as far out as it goes): the minimap has every node, the canvas a few.
  await expect(page.getByTestId('zoom')).toHaveText('25 %');
  await expect(page.getByTestId('minimap').locator('rect.minimap-node')).toHaveCount(300);
  const drawn = await canvas.locator('.node').count();
  expect(drawn).toBeGreaterThan(5);
  expect(drawn).toBeLessThan(150);
  const lines = await canvas.locator('g.edge').count();
  expect(lines).toBeGreaterThan(5);
  expect(lines).toBeLessThan(150);
  const last = canvas.locator(`.node[data-node="${id(300)}"]`);
  await expect(last).toHaveCount(0);
  // Clicking the minimap's right end moves the view there; the last node is drawn and selectable.
  const map = await page.getByTestId('minimap').boundingBox();
  if (!map) throw new Error('no minimap');
  await page.mouse.click(map.x + map.width - 2, map.y + map.height / 2);
  await expect(last).toHaveCount(1);
  await expect(canvas.locator(`.node[data-node="${id(1)}"]`)).toHaveCount(0);
  await last.locator('.node-name').click();
  await expect(page.locator('input[name=node-name]')).toHaveValue('Step 299');
  // Select all still reaches the nodes that are not drawn.
  await canvas.focus();
  await page.keyboard.press('Control+a');
  await expect(page.getByRole('complementary', { name: 'Details' })).toContainText('300 nodes selected');
  await shot(page, 'designer-large');
});
