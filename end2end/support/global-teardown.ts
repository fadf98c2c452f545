/** Stops the server started by global-setup.ts and removes its temp dir (the log is kept). */
import fs from 'node:fs';
import path from 'node:path';

import { runningServer } from './global-setup';
import { OUTPUT_DIR } from './paths';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export default async function globalTeardown(): Promise<void> {
  const server = runningServer();
  const pid = server?.child.pid ?? Number(process.env.FLOWDECK_E2E_PID || 0);
  const tmpDir = server?.tmpDir ?? process.env.FLOWDECK_E2E_TMP;
  if (pid && alive(pid)) {
    process.kill(pid, 'SIGTERM');
    for (let i = 0; i < 50 && alive(pid); i++) await sleep(100);
    if (alive(pid)) process.kill(pid, 'SIGKILL');
  }
  if (tmpDir && fs.existsSync(tmpDir)) {
    const log = path.join(tmpDir, 'server.log');
    if (fs.existsSync(log)) {
      fs.mkdirSync(OUTPUT_DIR, { recursive: true });
      fs.copyFileSync(log, path.join(OUTPUT_DIR, 'server.log'));
    }
    if (!process.env.FLOWDECK_E2E_KEEP_TMP) fs.rmSync(tmpDir, { recursive: true, force: true });
  }
}
