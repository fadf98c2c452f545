/**
 * First run on a fresh instance: setup, sign out, sign in (wrong then right password), and the
 * sign-in redirect for a signed-out visit. Ends by saving the owner's session for the other specs.
 */
import fs from 'node:fs';
import path from 'node:path';

import { expect, test } from '@playwright/test';

import { OWNER, WORKSPACE, WORKSPACE_URL, hydrated, open, shot } from '../support/app';
import { OWNER_STATE } from '../support/paths';

test('setup, log out, sign in again', async ({ page }) => {
  let workspaceUrl = '';

  await test.step('a fresh instance sends every page to setup', async () => {
    await open(page, '/');
    await expect(page).toHaveURL(/\/setup$/);
    await expect(page.getByRole('heading', { name: 'Welcome to Flowdeck' })).toBeVisible();
    await shot(page, 'setup');
  });

  await test.step('setup creates the owner and the first workspace', async () => {
    await page.locator('input[name=name]').fill(OWNER.name);
    await page.locator('input[name=email]').fill(OWNER.email);
    await page.locator('input[name=password]').fill(OWNER.password);
    await page.locator('input[name=workspace_name]').fill(WORKSPACE);
    await page.getByRole('button', { name: 'Create account and workspace' }).click();
    await page.waitForURL(WORKSPACE_URL);
    await hydrated(page);
    await expect(page.getByTestId('workspace-name')).toHaveText(WORKSPACE);
    await expect(page.getByTestId('workspace-switcher')).toContainText(WORKSPACE);
    await expect(page.getByTestId('user-menu')).toContainText(OWNER.name);
    workspaceUrl = page.url();
    await shot(page, 'workspace-overview');
  });

  await test.step('log out from the user menu', async () => {
    await page.getByTestId('user-menu').click();
    const logOut = page.getByRole('menuitem', { name: 'Log out' });
    await expect(logOut).toBeVisible();
    await logOut.click();
    await page.waitForURL(/\/login$/);
    await hydrated(page);
    await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
    await expect(page.getByRole('button', { name: 'Sign in' })).toBeVisible();
    await shot(page, 'login');
  });

  await test.step('a wrong password is refused', async () => {
    await page.locator('input[name=email]').fill(OWNER.email);
    await page.locator('input[name=password]').fill('not the password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('alert')).toHaveText('Email or password is incorrect.');
    await expect(page).toHaveURL(/\/login$/);
    await shot(page, 'login-wrong-password');
  });

  await test.step('a signed-out visit to the workspace asks to sign in first', async () => {
    await open(page, workspaceUrl);
    const wsPath = new URL(workspaceUrl).pathname;
    await expect(page).toHaveURL((url) => url.pathname === '/login' && url.searchParams.get('next') === wsPath);
    await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
    await shot(page, 'login-with-next');
  });

  await test.step('signing in goes back to the workspace', async () => {
    await page.locator('input[name=email]').fill(OWNER.email);
    await page.locator('input[name=password]').fill(OWNER.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(workspaceUrl);
    await hydrated(page);
    await expect(page.getByTestId('workspace-name')).toHaveText(WORKSPACE);
    await expect(page.getByTestId('user-menu')).toContainText(OWNER.name);
  });

  // The other specs start signed in as the owner from here.
  fs.mkdirSync(path.dirname(OWNER_STATE), { recursive: true });
  await page.context().storageState({ path: OWNER_STATE });
});
