/**
 * Inviting a colleague: the owner creates a link, a second browser signs up through it and lands
 * in the workspace, the owner sees two members, and the used link cannot be used again.
 */
import { expect, test } from '@playwright/test';

import { INVITEE, OWNER, WORKSPACE, WORKSPACE_URL, hydrated, open, openOwnerWorkspace, settle, shot } from '../support/app';

/** Contexts made with browser.newContext() get the project's options: start these signed out. */
const SIGNED_OUT = { storageState: { cookies: [], origins: [] } };

test('invite a member by link', async ({ page, browser, baseURL }) => {
  let link = '';
  let workspaceUrl = '';
  let membersUrl = '';

  await test.step('the owner creates a Member invitation link', async () => {
    workspaceUrl = await openOwnerWorkspace(page);
    const nav = page.getByRole('navigation', { name: 'Workspace' });
    await settle(page, () => nav.getByRole('link', { name: 'Members' }).click());
    await expect(page).toHaveURL(/\/members$/);
    membersUrl = page.url();
    await expect(page.getByRole('heading', { name: 'Members', level: 1 })).toBeVisible();
    await expect(page.getByTestId('member')).toHaveCount(1);
    await expect(page.getByTestId('member-list')).toContainText(OWNER.name);

    await page.locator('select[name=role]').selectOption({ label: 'Member' });
    // Wait until the page is done with the request and the refreshes it triggers: the link must
    // still be there for the owner to copy it.
    await settle(page, () => page.getByRole('button', { name: 'Create invitation link' }).click());
    await shot(page, 'members-invite-link');
    const input = page.getByTestId('invite-link');
    await expect(input, 'the new invitation link stays on screen, ready to copy').toBeVisible();
    link = await input.inputValue();
    expect(link).toMatch(new RegExp(`^${baseURL}/invite/[^/\\s]+$`));
    await expect(page.getByText('Anyone with the link', { exact: true })).toBeVisible();
  });

  const invitee = await browser.newContext(SIGNED_OUT);
  try {
    const p2 = await invitee.newPage();

    await test.step('the invitation page shows who invites to which workspace', async () => {
      await open(p2, link);
      await expect(p2.getByRole('heading', { name: 'You are invited' })).toBeVisible();
      await expect(p2.getByRole('main')).toContainText(`${OWNER.name} invites you to join ${WORKSPACE}`);
      await expect(p2.getByTestId('invite-workspace')).toHaveText(WORKSPACE);
      await shot(p2, 'invite');
    });

    await test.step('the invitee signs up and lands in the workspace', async () => {
      await p2.locator('input[name=name]').fill(INVITEE.name);
      await p2.locator('input[name=email]').fill(INVITEE.email);
      await p2.locator('input[name=password]').fill(INVITEE.password);
      await p2.getByRole('button', { name: 'Create account and join' }).click();
      await p2.waitForURL(WORKSPACE_URL);
      await hydrated(p2);
      expect(p2.url()).toBe(workspaceUrl);
      await expect(p2.getByTestId('workspace-name')).toHaveText(WORKSPACE);
      await expect(p2.getByTestId('user-menu')).toContainText(INVITEE.name);
      await expect(p2.locator('.stat', { hasText: 'Your role' })).toContainText('Member');
      await shot(p2, 'invitee-workspace');
    });
  } finally {
    await invitee.close();
  }

  await test.step('the owner sees the new member', async () => {
    await page.reload();
    await hydrated(page);
    expect(page.url()).toBe(membersUrl);
    const rows = page.getByTestId('member-list').getByTestId('member');
    await expect(rows).toHaveCount(2);
    await expect(rows.filter({ hasText: INVITEE.name })).toHaveCount(1);
    await expect(rows.filter({ hasText: INVITEE.name })).toContainText(INVITEE.email);
    await expect(page.getByText('No pending invitations.')).toBeVisible();
    await shot(page, 'members');
  });

  await test.step('the used link cannot be used again', async () => {
    const third = await browser.newContext(SIGNED_OUT);
    try {
      const p3 = await third.newPage();
      await open(p3, link);
      await expect(p3.getByRole('alert')).toContainText('already been used');
      await expect(p3.getByRole('button', { name: 'Create account and join' })).toHaveCount(0);
      await shot(p3, 'invite-used');
    } finally {
      await third.close();
    }
  });
});
