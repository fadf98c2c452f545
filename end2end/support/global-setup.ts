/**
 * Starts one Flowdeck server for the whole run, on a fresh SQLite database in a new temp dir,
 * and publishes its address as process.env.BASE_URL (the workers read it through the config).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { FLOWDECK_BIN, FLOWDECK_SITE_ROOT } from './paths';

/** Handed to global-teardown.ts, which runs in this same runner process. */
export type RunningServer = { child: ChildProcess; tmpDir: string; logFile: string };
const HANDLE = '__flowdeckE2eServer';

const LISTENING = /Flowdeck is listening on (http:\/\/[^\s]+:(\d+))/;
// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;

const seconds = (name: string, fallback: number) => {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? v : fallback;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The binary may be briefly absent (or half-written) while it is being rebuilt: wait until it
 * exists and its size has stopped changing, up to FLOWDECK_BIN_WAIT_SECONDS.
 */
async function waitForBinary(bin: string, waitSeconds: number): Promise<void> {
  const deadline = Date.now() + waitSeconds * 1000;
  let lastSize = -1;
  let announced = false;
  for (;;) {
    let size = -1;
    try {
      const st = fs.statSync(bin);
      if (st.isFile()) size = st.size;
    } catch {
      /* not there yet */
    }
    if (size > 0 && size === lastSize) return;
    if (Date.now() > deadline) {
      throw new Error(
        size < 0
          ? `Flowdeck binary not found at ${bin} (waited ${waitSeconds}s). Build it, or set FLOWDECK_BIN.`
          : `Flowdeck binary at ${bin} kept changing for ${waitSeconds}s (still being built?).`,
      );
    }
    if (size < 0 && !announced) {
      console.log(`[e2e] waiting up to ${waitSeconds}s for ${bin} to appear…`);
      announced = true;
    }
    lastSize = size;
    await sleep(size < 0 ? 2000 : 1000);
  }
}

/** Spawns `flowdeck serve` and resolves with its base URL once it logs the listening line. */
function startServer(bin: string, tmpDir: string, logFile: string, timeoutSeconds: number) {
  const env = {
    ...process.env,
    DATABASE_URL: `sqlite://${path.join(tmpDir, 'e2e.db')}?mode=rwc`,
    FLOWDECK_SECRET_KEY_FILE: path.join(tmpDir, 'secret.key'),
    FLOWDECK_ADDR: '127.0.0.1:0',
    FLOWDECK_SITE_ROOT,
    FLOWDECK_LOG: process.env.FLOWDECK_LOG || 'warn,server=info,flowdeck=info',
    NO_COLOR: '1',
  };
  const log = fs.createWriteStream(logFile, { flags: 'a' });
  const child = spawn(bin, ['serve'], { env, cwd: tmpDir, stdio: ['ignore', 'pipe', 'pipe'] });
  const verbose = !!process.env.FLOWDECK_E2E_VERBOSE;
  let recent = '';

  const url = new Promise<string>((resolve, reject) => {
    let stdoutBuf = '';
    const timer = setTimeout(() => {
      reject(new Error(`Flowdeck did not report its address within ${timeoutSeconds}s. Output:\n${recent}`));
    }, timeoutSeconds * 1000);
    const remember = (text: string) => {
      log.write(text);
      recent = (recent + text).slice(-4000);
      if (verbose) process.stdout.write(`[flowdeck] ${text}`);
    };
    child.stdout!.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      remember(text);
      stdoutBuf += text.replace(ANSI, '');
      const m = LISTENING.exec(stdoutBuf);
      if (m) {
        clearTimeout(timer);
        stdoutBuf = '';
        resolve(m[1]);
      } else {
        stdoutBuf = stdoutBuf.slice(-1000);
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => remember(chunk.toString()));
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      log.end();
      reject(new Error(`Flowdeck exited early (code ${code}, signal ${signal}). Output:\n${recent}`));
    });
  });
  return { child, url };
}

async function waitForHealthy(baseUrl: string, timeoutSeconds: number): Promise<void> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${baseUrl}/healthz`);
      if (res.status === 200) return;
      last = `HTTP ${res.status}`;
    } catch (e) {
      last = String(e);
    }
    await sleep(250);
  }
  throw new Error(`${baseUrl}/healthz did not answer 200 within ${timeoutSeconds}s (last: ${last})`);
}

export default async function globalSetup(): Promise<void> {
  if (!fs.existsSync(path.join(FLOWDECK_SITE_ROOT, 'pkg'))) {
    throw new Error(`No built site at ${FLOWDECK_SITE_ROOT}/pkg. Build it, or set FLOWDECK_SITE_ROOT.`);
  }
  const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowdeck-e2e-'));
  const logFile = path.join(tmpDir, 'server.log');
  const deadline = Date.now() + seconds('FLOWDECK_BIN_WAIT_SECONDS', 120) * 1000;

  // Retry while the binary is being replaced under us (ENOENT, ETXTBSY, a truncated file).
  for (let attempt = 1; ; attempt++) {
    const left = Math.max(5, Math.round((deadline - Date.now()) / 1000));
    await waitForBinary(FLOWDECK_BIN, left);
    const { child, url } = startServer(FLOWDECK_BIN, tmpDir, logFile, seconds('FLOWDECK_START_SECONDS', 60));
    try {
      const baseUrl = await url;
      await waitForHealthy(baseUrl, 30);
      (globalThis as Record<string, unknown>)[HANDLE] = { child, tmpDir, logFile } satisfies RunningServer;
      process.env.BASE_URL = baseUrl;
      process.env.FLOWDECK_E2E_PID = String(child.pid);
      process.env.FLOWDECK_E2E_TMP = tmpDir;
      console.log(`[e2e] Flowdeck is up at ${baseUrl} (database in ${tmpDir})`);
      return;
    } catch (err) {
      if (child.exitCode === null) child.kill('SIGKILL');
      const code = (err as NodeJS.ErrnoException).code;
      const retryable = code === 'ENOENT' || code === 'ETXTBSY' || code === 'EACCES' || code === 'ENOEXEC';
      if (!retryable || Date.now() > deadline) throw err;
      console.log(`[e2e] could not start ${FLOWDECK_BIN} (${code}); retrying (attempt ${attempt})…`);
      await sleep(3000);
    }
  }
}

export function runningServer(): RunningServer | undefined {
  return (globalThis as Record<string, unknown>)[HANDLE] as RunningServer | undefined;
}
