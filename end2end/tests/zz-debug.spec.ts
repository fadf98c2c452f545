import { expect, test } from '@playwright/test';
import { open, openOwnerWorkspace } from '../support/app';

test('debug invite link', async ({ page }) => {
  const ws = await openOwnerWorkspace(page);
  await open(page, ws + '/members');
  const log: string[] = [];
  page.on('request', (r) => { if (r.url().includes('/api/')) log.push(`${Date.now() % 100000} REQ ${r.method()} ${r.url()}`); });
  page.on('console', (m) => log.push(`console ${m.type()}: ${m.text()}`));
  await page.evaluate(() => {
    (window as any).__seen = [];
    new MutationObserver(() => {
      const el = document.querySelector('[data-testid=invite-link]') as HTMLInputElement | null;
      (window as any).__seen.push(`${Date.now() % 100000} ${el ? 'link ' + el.value : 'none'}`);
    }).observe(document.body, { subtree: true, childList: true });
  });
  await page.getByRole('button', { name: 'Create invitation link' }).click();
  await page.waitForTimeout(4000);
  const seen: string[] = await page.evaluate(() => (window as any).__seen);
  const dedup = seen.filter((s, i) => i === 0 || s.split(' ').slice(1).join(' ') !== seen[i - 1].split(' ').slice(1).join(' '));
  console.log(dedup.join('\n'));
  console.log(log.join('\n'));
});

test('debug profile saved', async ({ page }) => {
  await open(page, '/profile');
  const log: string[] = [];
  page.on('request', (r) => { if (r.url().includes('/api/')) log.push(`${Date.now() % 100000} REQ ${r.method()} ${r.url()}`); });
  page.on('response', async (r) => { if (r.url().includes('/api/')) log.push(`${Date.now() % 100000} RES ${r.status()} ${r.url()} ${(await r.text().catch(() => '')).slice(0, 200)}`); });
  await page.evaluate(() => {
    (window as any).__seen = [];
    new MutationObserver(() => {
      const el = document.querySelector('.form-actions .success');
      const alert = document.querySelector('[role=alert]');
      (window as any).__seen.push(`${Date.now() % 100000} ${el ? 'saved' : 'none'} ${alert ? alert.textContent : ''} theme=${document.documentElement.dataset.theme}`);
    }).observe(document.body, { subtree: true, childList: true });
  });
  await page.getByRole('radio', { name: 'Light' }).check();
  await page.getByRole('button', { name: 'Save profile' }).click();
  await page.waitForTimeout(4000);
  const seen: string[] = await page.evaluate(() => (window as any).__seen);
  console.log(seen.filter((s, i) => i === 0 || s.split(' ').slice(1).join(' ') !== seen[i - 1].split(' ').slice(1).join(' ')).join('\n'));
  console.log(log.join('\n'));
  await page.reload(); await page.waitForLoadState('networkidle');
  console.log('after reload theme', await page.locator('html').getAttribute('data-theme'), await page.locator('input[name=theme]:checked').getAttribute('value'));
});
