// Shared by the GCS tests: running market-tick with a clean environment, starting the firebase
// storage emulator, CRC32C with the official client's implementation.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(HERE, '../..');
export const BIN = process.env.MARKET_TICK_BIN ? path.resolve(process.env.MARKET_TICK_BIN) : path.join(ROOT, 'build', 'market-tick');
export const FIXTURE_DIR = path.join(ROOT, 'fixtures', 'tardis', 'csv');

export function tmpDir(name) {
  return fs.mkdtempSync(path.join(os.tmpdir(), `mt-gcs-${name}-`));
}

/**
 * Runs market-tick asynchronously (the servers under test live in this process, so the event
 * loop must keep turning; a blocking spawn also lets the emulator close the official client's
 * idle keep-alive sockets, whose next use then fails with "socket hang up"). The environment is only PATH plus `env`: nothing leaks in from the
 * caller (credentials, emulator host). Resolves to { code, signal, stdout, stderr, ms }.
 */
export function runBin(args, { env = {}, cwd, stdin, timeoutMs = 120_000, onSpawn, maxOpenFiles } = {}) {
  if (!fs.existsSync(BIN)) throw new Error(`market-tick binary not found at ${BIN} (build it or set MARKET_TICK_BIN)`);
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    // maxOpenFiles: the binary runs under `ulimit -n N` (a shell sets it, then execs).
    const [file, argv] = maxOpenFiles
      ? ['/bin/sh', ['-c', `ulimit -n ${maxOpenFiles} && exec "$0" "$@"`, BIN, ...args]]
      : [BIN, args];
    const child = spawn(file, argv, {
      cwd: cwd ?? os.tmpdir(),
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', RETRY_BASE_SECONDS: '0.02', ...env },
      stdio: [stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    });
    const out = [];
    let stderr = '';
    child.stdout.on('data', (d) => out.push(d));
    child.stderr.setEncoding('utf8').on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    if (stdin) {
      child.stdin.on('error', () => {});
      child.stdin.end(stdin);
    }
    onSpawn?.(child);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const buf = Buffer.concat(out);
      resolve({ code, signal, stdout: buf.toString('utf8'), stdoutBytes: buf, stderr, ms: Date.now() - t0 });
    });
  });
}

export function describe(args, r) {
  const cut = (s) => (s.length > 3000 ? s.slice(0, 3000) + '…' : s);
  return `market-tick ${args.map((a) => JSON.stringify(a)).join(' ')}\n  exit=${r.code} signal=${r.signal}\n  stdout: ${cut(r.stdout)}\n  stderr: ${cut(r.stderr)}`;
}

async function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Starts serve-storage.cjs on a free port; resolves when GET /b answers 200. */
export async function startEmulator() {
  const dir = tmpDir('emu');
  const port = await freePort();
  const log = fs.openSync(path.join(dir, 'emulator.log'), 'w');
  const child = spawn(process.execPath, [path.join(HERE, 'serve-storage.cjs')], {
    env: { ...process.env, TMPDIR: dir, GCS_EMU_PORT: String(port), GCS_EMU_HOST: '127.0.0.1' },
    stdio: ['ignore', log, log],
  });
  const url = `http://127.0.0.1:${port}`;
  const t0 = Date.now();
  while (true) {
    if (child.exitCode !== null) throw new Error(`emulator exited: ${fs.readFileSync(path.join(dir, 'emulator.log'), 'utf8')}`);
    try {
      const r = await fetch(`${url}/b`);
      if (r.status === 200) break;
    } catch {}
    if (Date.now() - t0 > 20_000) {
      child.kill('SIGKILL');
      throw new Error(`emulator not ready after 20 s: ${fs.readFileSync(path.join(dir, 'emulator.log'), 'utf8')}`);
    }
    await sleep(50);
  }
  return {
    url,
    hostPort: `127.0.0.1:${port}`,
    startupMs: Date.now() - t0,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await Promise.race([new Promise((r) => child.once('exit', r)), sleep(3000)]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      fs.closeSync(log);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Deterministic pseudo-random bytes. */
export function bytes(n, seed = 1) {
  const b = Buffer.alloc(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

// Names that need percent-encoding in a URL path: space, ':', '+', '%', '&', '=', '#', '?',
// non-ASCII (2- and 4-byte UTF-8).
export const ODD_NAMES = [
  'odd/with space.bin',
  'odd/deribit:BTC-PERPETUAL.parquet',
  'odd/plus+sign.bin',
  'odd/per%cent%2F.bin',
  'odd/ü-€-😀.bin',
  'odd/a&b=c#d?e.bin',
];
