// `market-tick gcs ls|du|cp|rm` and `validate --report gs://` against the firebase storage
// emulator, each compared with what the official @google-cloud/storage client sees in the same
// bucket; failures the emulator cannot produce (a corrupt download, a refused upload, an
// unwritable report) against the GCS test double (tests/support/gcs_double.mjs).
// Run: MARKET_TICK_BIN=build/market-tick node --test tests/gcs/tool.test.mjs

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { Storage, CRC32C } from '@google-cloud/storage';
import { startGcsDouble } from '../support/gcs_double.mjs';
import { runBin, describe, startEmulator, tmpDir, bytes, BIN } from './lib.mjs';

const BUCKET = 'tool';
let emu;
let storage;
let work;

const crcOf = (buf) => {
  const c = new CRC32C();
  c.update(buf);
  return c.toString();
};
// Uploads up to 64 MiB go in one request: the emulator finishes a resumable object at its first chunk.
const env = (extra = {}) => ({ STORAGE_EMULATOR_HOST: emu.url, GCS_CHUNK_SIZE: '64M', ...extra });
const run = (args, extra, opts = {}) => runBin(args, { env: env(extra), cwd: work, ...opts });
async function runOk(args, extra, opts) {
  const r = await run(args, extra, opts);
  assert.equal(r.code, 0, describe(args, r));
  return r;
}
const lines = (s) => s.split('\n').filter((l) => l !== '');
const url = (name) => `gs://${BUCKET}/${name}`;

function walk(dir, base = dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? walk(p, base) : [path.relative(base, p)];
  });
}

/** Every object under `prefix` as the official client lists it: name -> metadata. */
async function nodeObjects(prefix) {
  const [files] = await storage.bucket(BUCKET).getFiles({ prefix });
  return new Map(files.map((f) => [f.name, f.metadata]));
}

/** One level under `prefix` as the official client lists it (delimiter '/'): [names, prefixes]. */
async function nodeLevel(prefix) {
  const names = [];
  const prefixes = [];
  let query = { prefix, delimiter: '/', autoPaginate: false, maxResults: 2 };
  while (query) {
    const [files, next, resp] = await storage.bucket(BUCKET).getFiles(query);
    names.push(...files.map((f) => f.name));
    prefixes.push(...(resp.prefixes ?? []));
    query = next;
  }
  return [names, prefixes];
}

// A small lake written by the official client: days as folders, parquet and other files, a
// nested folder, names that need escaping.
const LAKE = {
  'lake/day-2024-01-01/trades/BTC.parquet': 1200,
  'lake/day-2024-01-01/trades/ETH.parquet': 800,
  'lake/day-2024-01-01/quotes/BTC.parquet': 3 * 1024 * 1024 + 5,
  'lake/day-2024-01-02/trades/BTC.parquet': 1500,
  'lake/day-2024-01-02/notes.txt': 10,
  'lake/day-2024-01-10/trades/BTC.parquet': 2000,
  'lake/README': 33,
  'lake/odd/with space+plus:colon.parquet': 77,
};

before(async () => {
  emu = await startEmulator();
  process.env.STORAGE_EMULATOR_HOST = emu.url;
  storage = new Storage({ projectId: 'demo-test' });
  work = tmpDir('tool');
  let seed = 1;
  for (const [name, size] of Object.entries(LAKE)) {
    await storage.bucket(BUCKET).file(name).save(bytes(size, seed++), { resumable: false, validation: 'crc32c' });
  }
});

after(async () => {
  await emu?.stop();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

test('ls: a folder one level down, -r every object, -l sizes, times and TOTAL: as the official client lists them', async () => {
  // Pages of two: objects and folders come in several pages.
  const small = { GCS_LIST_PAGE_SIZE: '2' };
  for (const prefix of ['lake/', 'lake/day-2024-01-01/']) {
    const [names, prefixes] = await nodeLevel(prefix);
    const ls = await runOk(['gcs', 'ls', url(prefix)], small);
    assert.deepEqual(lines(ls.stdout), [...names, ...prefixes].sort().map(url), prefix);
    // Without the trailing '/', a name that is a folder lists the same.
    const bare = await runOk(['gcs', 'ls', url(prefix.slice(0, -1))], small);
    assert.equal(bare.stdout, ls.stdout);
  }
  const all = await nodeObjects('lake/');
  const lr = await runOk(['gcs', 'ls', '-lr', url('lake')], small);
  const rows = lines(lr.stdout);
  const total = rows.pop();
  assert.equal(rows.length, all.size);
  for (const row of rows) {
    const m = /^ *(\d+)  (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)  gs:\/\/tool\/(.+)$/.exec(row);
    assert.ok(m, row);
    const meta = all.get(m[3]);
    assert.ok(meta, `${m[3]} is listed by the official client`);
    assert.equal(Number(m[1]), Number(meta.size), m[3]);
    assert.equal(m[2], new Date(meta.updated).toISOString().slice(0, 19) + 'Z', m[3]);
  }
  const bytesInAll = [...all.values()].reduce((a, m) => a + Number(m.size), 0);
  assert.match(total, new RegExp(`^TOTAL: ${all.size} objects, ${bytesInAll} bytes \\(3\\.\\d\\d MiB\\)$`));
  // An object named exactly; the whole bucket's top level.
  assert.equal((await runOk(['gcs', 'ls', url('lake/README')])).stdout, `${url('lake/README')}\n`);
  assert.equal((await runOk(['gcs', 'ls', `gs://${BUCKET}`])).stdout, `${url('lake/')}\n`);
  // Nothing there: exit 1, said so; the other URLs are still listed.
  const none = await run(['gcs', 'ls', url('lake/nope'), url('lake/README')]);
  assert.equal(none.code, 1, describe([], none));
  assert.equal(none.stdout, `${url('lake/README')}\n`);
  assert.match(none.stderr, /gs:\/\/tool\/lake\/nope matched no objects/);
});

test('ls wildcards: ? and * stay within a level, ** crosses levels; matched folders are listed as folders', async () => {
  const names = Object.keys(LAKE);
  const ls = async (pattern, flags = []) => lines((await runOk(['gcs', 'ls', ...flags, url(pattern)])).stdout);
  assert.deepEqual(await ls('lake/**.parquet'), names.filter((n) => n.endsWith('.parquet')).sort().map(url));
  assert.deepEqual(await ls('lake/day-2024-01-0?/trades/*.parquet'),
    ['lake/day-2024-01-01/trades/BTC.parquet', 'lake/day-2024-01-01/trades/ETH.parquet', 'lake/day-2024-01-02/trades/BTC.parquet'].map(url));
  assert.deepEqual(await ls('lake/*/trades/BTC.parquet'),
    ['lake/day-2024-01-01/trades/BTC.parquet', 'lake/day-2024-01-02/trades/BTC.parquet', 'lake/day-2024-01-10/trades/BTC.parquet'].map(url));
  // '*' does not cross '/': these are folders at that level, plus the object that matches.
  assert.deepEqual(await ls('lake/day-2024-01-0*'), ['lake/day-2024-01-01/', 'lake/day-2024-01-02/'].map(url));
  assert.deepEqual(await ls('lake/day-2024-01-02/*'), ['lake/day-2024-01-02/notes.txt', 'lake/day-2024-01-02/trades/'].map(url));
  // -r expands the matched folders.
  assert.deepEqual(await ls('lake/day-2024-01-0*', ['-r']), names.filter((n) => /day-2024-01-0\d\//.test(n)).sort().map(url));
  assert.deepEqual(await ls('lake/odd/*:colon.parquet'), [url('lake/odd/with space+plus:colon.parquet')]);
});

test('du: bytes per object, -s per URL, -c a grand total: the sums of the official client\'s sizes', async () => {
  const all = await nodeObjects('lake/');
  const size = (pred) => [...all].filter(([n]) => pred(n)).reduce((a, [, m]) => a + Number(m.size), 0);
  const du = await runOk(['gcs', 'du', url('lake/day-2024-01-01')]);
  const want = [...all].filter(([n]) => n.startsWith('lake/day-2024-01-01/')).map(([n, m]) => `${m.size}  ${url(n)}`).sort();
  assert.deepEqual(lines(du.stdout).sort(), want);
  const s = await runOk(['gcs', 'du', '-sc', url('lake/'), url('lake/*/trades/*.parquet')]);
  const trades = size((n) => /^lake\/[^/]+\/trades\/[^/]+\.parquet$/.test(n));
  assert.deepEqual(lines(s.stdout), [`${size(() => true)}  ${url('lake/')}`, `${trades}  ${url('lake/*/trades/*.parquet')}`, `${size(() => true) + trades}  total`]);
});

test('cp -r up: a directory tree to gs://, in parallel, every object read back by the official client by bytes and crc32c', async () => {
  const src = path.join(work, 'tree');
  const files = { 'a.bin': 5000, 'sub/b.parquet': 2 * 1024 * 1024 + 3, 'sub/deeper/c.txt': 0, 'with space.bin': 17, 'sub/d:e.bin': 999 };
  let seed = 50;
  for (const [rel, n] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(src, rel)), { recursive: true });
    fs.writeFileSync(path.join(src, rel), bytes(n, seed++));
  }
  // Into a folder URL ('/' at the end): the directory keeps its name below it.
  const r = await runOk(['gcs', 'cp', '-r', '--jobs', '3', src, url('up/')]);
  const printed = lines(r.stdout).map((l) => l.split('\t'));
  assert.equal(printed.length, Object.keys(files).length);
  const objects = await nodeObjects('up/');
  assert.deepEqual([...objects.keys()].sort(), Object.keys(files).map((rel) => `up/tree/${rel}`).sort());
  for (const [status, from, to, n, crc] of printed) {
    assert.equal(status, 'copied');
    const local = fs.readFileSync(from);
    const name = to.slice(`gs://${BUCKET}/`.length);
    const [data] = await storage.bucket(BUCKET).file(name).download({ validation: 'crc32c' });
    assert.ok(data.equals(local), name);
    assert.equal(Number(n), local.length);
    assert.equal(crc, crcOf(local), `the crc32c market-tick computed, ${name}`);
    assert.equal(objects.get(name).crc32c, crc, `the stored crc32c, ${name}`);
  }
  // One file to a new name; -n leaves an existing object alone.
  await runOk(['gcs', 'cp', path.join(src, 'a.bin'), url('single/renamed.bin')]);
  const [one] = await storage.bucket(BUCKET).file('single/renamed.bin').download();
  assert.ok(one.equals(fs.readFileSync(path.join(src, 'a.bin'))));
  const kept = await runOk(['gcs', 'cp', '-n', path.join(src, 'with space.bin'), url('single/renamed.bin')]);
  assert.match(kept.stdout, /^skipped\t/);
  const [still] = await storage.bucket(BUCKET).file('single/renamed.bin').download();
  assert.ok(still.equals(one));
  // A directory without -r, a source that does not exist: usage errors, nothing written.
  const before = (await nodeObjects('')).size;
  for (const args of [['gcs', 'cp', src, url('x/')], ['gcs', 'cp', path.join(work, 'missing'), url('x/')]]) {
    const bad = await run(args);
    assert.equal(bad.code, 2, describe(args, bad));
  }
  assert.equal((await nodeObjects('')).size, before);
});

test('cp -r up: a link to a file is copied as the file; a link to a directory (here a loop up the tree) is skipped with a note', async () => {
  const src = path.join(work, 'links');
  fs.mkdirSync(path.join(src, 'sub'), { recursive: true });
  fs.writeFileSync(path.join(src, 'sub', 'f.bin'), bytes(300, 7));
  fs.writeFileSync(path.join(work, 'outside.bin'), bytes(40, 8));
  fs.symlinkSync('..', path.join(src, 'sub', 'loop'));
  fs.symlinkSync(path.join(work, 'outside.bin'), path.join(src, 'file-link.bin'));
  const r = await runOk(['gcs', 'cp', '-r', src, url('links/')]);
  assert.match(r.stderr, /skipping .*links\/sub\/loop: a symbolic link to a directory/);
  const objects = [...(await nodeObjects('links/')).keys()].sort();
  assert.deepEqual(objects, ['links/links/file-link.bin', 'links/links/sub/f.bin']);
  const [linked] = await storage.bucket(BUCKET).file('links/links/file-link.bin').download();
  assert.ok(linked.equals(fs.readFileSync(path.join(work, 'outside.bin'))));
});

test('cp down: objects (one, a wildcard, -r a folder) to local files equal to what the official client downloads; nothing else left', async () => {
  const dest = path.join(work, 'down');
  // A folder, recursively, into a directory that does not exist yet: its contents land there.
  const r = await runOk(['gcs', 'cp', '-r', url('lake/day-2024-01-01'), dest]);
  const want = Object.keys(LAKE).filter((n) => n.startsWith('lake/day-2024-01-01/')).map((n) => n.slice('lake/day-2024-01-01/'.length));
  assert.deepEqual(walk(dest).sort(), want.sort(), 'no temporary file left');
  for (const rel of want) {
    const [data] = await storage.bucket(BUCKET).file(`lake/day-2024-01-01/${rel}`).download({ validation: 'crc32c' });
    assert.ok(fs.readFileSync(path.join(dest, rel)).equals(data), rel);
  }
  assert.equal(lines(r.stdout).length, want.length);
  // Into an existing directory the folder keeps its name; a wildcard copies matches by their last part.
  await runOk(['gcs', 'cp', '-r', url('lake/day-2024-01-02/'), dest]);
  assert.ok(fs.existsSync(path.join(dest, 'day-2024-01-02', 'trades', 'BTC.parquet')));
  const flat = path.join(work, 'flat');
  fs.mkdirSync(flat);
  await runOk(['gcs', 'cp', url('lake/odd/*'), url('lake/README'), flat]);
  assert.deepEqual(fs.readdirSync(flat).sort(), ['README', 'with space+plus:colon.parquet']);
  const [odd] = await storage.bucket(BUCKET).file('lake/odd/with space+plus:colon.parquet').download();
  assert.ok(fs.readFileSync(path.join(flat, 'with space+plus:colon.parquet')).equals(odd));
  // Two objects with one target name: refused before anything is copied.
  const clash = path.join(work, 'clash');
  const c = await run(['gcs', 'cp', url('lake/*/trades/BTC.parquet'), clash + '/']);
  assert.equal(c.code, 2, describe([], c));
  assert.match(c.stderr, /two sources would be copied to .*clash\/BTC\.parquet/);
  assert.equal(fs.existsSync(clash), false);
  // A folder without -r: a usage error naming it.
  const noR = await run(['gcs', 'cp', url('lake/day-2024-01-10'), path.join(work, 'nor')]);
  assert.equal(noR.code, 2);
  assert.match(noR.stderr, /names a folder: use cp -r/);
});

test('cp refuses object names that would leave the destination directory', async () => {
  await storage.bucket(BUCKET).file('evil/../../escape.bin').save(Buffer.from('x'), { resumable: false });
  const dest = path.join(work, 'evil-dest');
  const r = await run(['gcs', 'cp', '-r', url('evil/'), dest]);
  assert.equal(r.code, 2, describe([], r));
  assert.match(r.stderr, /cannot be copied below a local directory/);
  assert.equal(fs.existsSync(path.join(work, 'escape.bin')), false);
  assert.equal(fs.existsSync(dest), false);
  await storage.bucket(BUCKET).file('evil/../../escape.bin').delete();
});

test('cp -r refuses a matched folder whose own name is ".." (a wildcard or gs://b/..): nothing written outside the destination', async () => {
  // A bucket of its own, so that the wildcard matches only the "../" folder.
  const esc = storage.bucket('esc');
  await esc.file('../escape.bin').save(Buffer.from('x'), { resumable: false });
  const outside = path.join(work, 'escape.bin');
  for (const src of ['gs://esc/*', 'gs://esc/..', 'gs://esc/../']) {
    const dest = path.join(work, 'esc-dest');
    fs.mkdirSync(dest);
    const r = await run(['gcs', 'cp', '-r', src, dest + '/']);
    assert.equal(r.code, 2, describe([src], r));
    assert.match(r.stderr, /gs:\/\/esc\/\.\.\/escape\.bin cannot be copied below a local directory/);
    assert.equal(fs.existsSync(outside), false, src);
    assert.deepEqual(fs.readdirSync(dest), [], src);
    fs.rmSync(dest, { recursive: true });
  }
  await esc.file('../escape.bin').delete();
});

function runOnTerminal(args, input) {
  // script(1) gives market-tick a terminal as stdin; the answer is typed into it.
  return new Promise((resolve) => {
    const cmd = [BIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    const c = spawn('script', ['-qec', cmd, '/dev/null'], { env: { PATH: process.env.PATH, ...env() }, cwd: work });
    let out = '';
    let typed = false;
    // The answer is typed once: output after the question (its echo, the
    // result) would type it again, into a terminal that may be gone (EPIPE).
    c.stdin.on('error', () => {});
    c.stdout.on('data', (d) => {
      out += d;
      if (!typed && out.includes('[y/N]')) {
        typed = true;
        c.stdin.write(input);
      }
    });
    c.on('close', (code) => resolve({ code, out }));
  });
}

test('rm: a pattern or -r asks first; without a terminal only --yes deletes; the official client sees exactly the rest', async () => {
  const names = ['rmt/a/1', 'rmt/a/2', 'rmt/a/deep/3', 'rmt/b/1', 'rmt/x.tmp', 'rmt/y.tmp', 'rmt/keep.txt'];
  for (const n of names) await storage.bucket(BUCKET).file(n).save(Buffer.from(n), { resumable: false });
  const left = async () => [...(await nodeObjects('rmt/')).keys()].sort();
  // Not on a terminal, no --yes: refused (exit 2), nothing deleted.
  for (const args of [['gcs', 'rm', '-r', url('rmt/a')], ['gcs', 'rm', url('rmt/*.tmp')]]) {
    const r = await run(args);
    assert.equal(r.code, 2, describe(args, r));
    assert.match(r.stderr, /refusing to delete \d objects .* without confirmation.*--yes/);
  }
  assert.deepEqual(await left(), names.sort());
  // A folder without -r is a usage error.
  for (const folder of ['rmt/b/', 'rmt/b']) {
    const noR = await run(['gcs', 'rm', url(folder)]);
    assert.equal(noR.code, 2, describe([], noR));
    assert.match(noR.stderr, /names a folder: use rm -r/);
  }
  await runOk(['gcs', 'rm', '--yes', url('rmt/*.tmp')]);
  assert.deepEqual(await left(), ['rmt/a/1', 'rmt/a/2', 'rmt/a/deep/3', 'rmt/b/1', 'rmt/keep.txt']);
  // On a terminal: "n" keeps everything, "y" deletes the folder's objects, at any depth.
  const no = await runOnTerminal(['gcs', 'rm', '-r', url('rmt/a')], 'n\n');
  assert.equal(no.code, 1, no.out);
  assert.match(no.out, /delete 3 objects \(.*\)\? \[y\/N\]/);
  assert.equal((await left()).length, 5);
  const yes = await runOnTerminal(['gcs', 'rm', '-r', url('rmt/a')], 'y\n');
  assert.equal(yes.code, 0, yes.out);
  assert.deepEqual(await left(), ['rmt/b/1', 'rmt/keep.txt']);
  // URLs that overlap (a pattern and a name it matches): each object deleted and counted once.
  for (const n of ['rmt/ab', 'rmt/ac']) await storage.bucket(BUCKET).file(n).save(Buffer.from(n), { resumable: false });
  const overlap = await runOk(['gcs', 'rm', '--yes', url('rmt/a*'), url('rmt/ab')]);
  assert.match(overlap.stderr, /removed 2 of 2 objects \(12 B\)/);
  assert.deepEqual(await left(), ['rmt/b/1', 'rmt/keep.txt']);
  // One object named exactly: no question.
  await runOk(['gcs', 'rm', url('rmt/keep.txt')]);
  assert.deepEqual(await left(), ['rmt/b/1']);
});

test('validate --report gs://: the HTML report is written to the bucket (read by the official client)', async () => {
  const store = path.join(work, 'store');
  const args = ['validate', '--from', '2020-02-22', '--symbols', 'binance-futures:BTCUSDT', '--output', store, '--read-only', '--report', url('reports/coverage.html')];
  const r = await run(args);
  assert.equal(r.code, 1, describe(args, r)); // the item is missing: incomplete
  const [html] = await storage.bucket(BUCKET).file('reports/coverage.html').download({ validation: 'crc32c' });
  assert.match(html.toString(), /^<!DOCTYPE html>/);
  assert.match(html.toString(), /BINANCE-FUTURES:PERPETUAL:BTC-USDT/);
  const bad = await run([...args.slice(0, -1), url('reports/')]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--report gs:\/\/tool\/reports\/ names no object/);
});

// --- failures, on the GCS test double -----------------------------------------------------------

test('double: a download whose bytes fail the crc32c check and an upload that is refused leave nothing; the other copies are kept', async () => {
  const d = await startGcsDouble();
  try {
    const e = { STORAGE_EMULATOR_HOST: d.hostPort, RETRY_MAX_ATTEMPTS: '2' };
    const src = path.join(work, 'dsrc');
    fs.mkdirSync(src);
    for (const [i, n] of ['1.bin', '2.bin', '3.bin'].entries()) fs.writeFileSync(path.join(src, n), bytes(1000 + i, 70 + i));
    // The second upload is refused (403: not retried): the others are stored, it is not.
    d.setFaults([{ on: 'init', status: 403, nth: 1 }, { on: 'media', status: 403, nth: 1 }]);
    const up = await runBin(['gcs', 'cp', '-r', '--jobs', '1', src, 'gs://bkt/d/'], { env: e, cwd: work });
    assert.equal(up.code, 1, describe([], up));
    assert.deepEqual(lines(up.stdout).map((l) => l.split('\t')[0]), ['copied', 'failed', 'copied']);
    assert.match(up.stderr, /1 of 3 copies failed/);
    assert.ok(d.object('bkt', 'd/dsrc/1.bin') && d.object('bkt', 'd/dsrc/3.bin'));
    assert.equal(d.object('bkt', 'd/dsrc/2.bin'), undefined);
    // Downloads of objects whose stored bytes no longer match their crc32c: no file, no temporary file.
    d.setFaults([]);
    d.state.modes.corruptStored = true;
    const dest = path.join(work, 'ddest');
    const down = await runBin(['gcs', 'cp', '-r', 'gs://bkt/d/dsrc', dest], { env: e, cwd: work });
    assert.notEqual(down.code, 0, describe([], down));
    assert.match(down.stderr, /CRC32C/);
    assert.deepEqual(fs.existsSync(dest) ? walk(dest) : [], [], 'nothing partial left');
    // An existing file is left as it was when its replacement fails.
    fs.mkdirSync(dest, { recursive: true });
    fs.writeFileSync(path.join(dest, 'old.bin'), 'old');
    const over = await runBin(['gcs', 'cp', 'gs://bkt/d/dsrc/1.bin', path.join(dest, 'old.bin')], { env: e, cwd: work });
    assert.notEqual(over.code, 0);
    assert.deepEqual(fs.readdirSync(dest), ['old.bin']);
    assert.equal(fs.readFileSync(path.join(dest, 'old.bin'), 'utf8'), 'old');
  } finally {
    await d.close();
  }
});

test('double: cp interrupted (SIGINT) in the middle of downloads and of a chunked upload: exit 130, no partial file or object', async () => {
  const d = await startGcsDouble();
  try {
    const e = { STORAGE_EMULATOR_HOST: d.hostPort, GCS_CHUNK_SIZE: '256K' };
    const src = path.join(work, 'isrc');
    fs.mkdirSync(src);
    fs.writeFileSync(path.join(src, 'big.bin'), bytes(4 * 1024 * 1024, 90));
    fs.writeFileSync(path.join(src, 'small.bin'), bytes(300_000, 91));
    // Upload: stop after a few chunks of the big file; it never becomes visible.
    d.state.modes.latencyMs = 150;
    let child;
    const sessionPuts = () => d.stats.requests.filter((r) => r.method === 'PUT' && r.url.includes('upload_id=') && r.status === 308).length;
    const up = runBin(['gcs', 'cp', path.join(src, 'big.bin'), 'gs://bkt/i/big.bin'], { env: e, cwd: work, onSpawn: (c) => { child = c; } });
    while (sessionPuts() < 3) await sleep(20);
    child.kill('SIGINT');
    const u = await up;
    assert.equal(u.code, 130, describe([], u));
    assert.equal(d.object('bkt', 'i/big.bin'), undefined);
    d.state.modes.latencyMs = 0;
    await runBin(['gcs', 'cp', '-r', src, 'gs://bkt/i/'], { env: e, cwd: work });
    assert.ok(d.object('bkt', 'i/isrc/big.bin') && d.object('bkt', 'i/isrc/small.bin'));
    // Downloads: both stall half way; SIGINT stops them and removes their temporary files.
    d.state.modes.stallReads = true;
    const dest = path.join(work, 'idest');
    const down = runBin(['gcs', 'cp', '-r', '--jobs', '2', 'gs://bkt/i/isrc', dest], { env: e, cwd: work, onSpawn: (c) => { child = c; } });
    while (d.stats.requests.filter((r) => r.status === 'stall').length < 2) await sleep(20);
    await sleep(100);
    assert.equal(walk(dest).length, 2, 'two temporary files while the reads stall');
    child.kill('SIGINT');
    const r = await down;
    assert.equal(r.code, 130, describe([], r));
    assert.deepEqual(walk(dest), [], 'nothing partial left');
    // What a killed copy leaves goes on the next copy into that directory; a temporary file
    // whose writer lives stays. The writer's proof is the flock it holds on the file, not
    // the PID in its name: across PID namespaces (containers sharing a volume) a live
    // writer's PID can be free here, and a dead writer's PID taken by another process.
    d.state.modes.stallReads = false;
    const dead = spawnSync('true').pid;
    const isrc = path.join(dest, 'isrc');
    fs.mkdirSync(isrc, { recursive: true });
    fs.writeFileSync(path.join(isrc, `big.bin.tmp-mtcp-${dead}-0badf00d`), 'partial');
    fs.writeFileSync(path.join(isrc, `other.tmp-mtcp-${process.pid}-0badf00d`), 'dead writer, PID in use here');
    const live = `live.tmp-mtcp-${dead}-0badf00d`;
    fs.writeFileSync(path.join(isrc, live), 'another container is writing this');
    const holder = spawn('flock', ['--exclusive', '--no-fork', path.join(isrc, live), 'sleep', '30'], { stdio: 'ignore' });
    try {
      // flock(1) becomes its command (--no-fork) once it holds the lock.
      const comm = () => { try { return fs.readFileSync(`/proc/${holder.pid}/comm`, 'utf8').trim(); } catch { return ''; } };
      while (comm() !== 'sleep') await sleep(20);
      const again = await runBin(['gcs', 'cp', '-r', 'gs://bkt/i/isrc', dest + '/'], { env: e, cwd: work });
      assert.equal(again.code, 0, describe([], again));
      assert.deepEqual(walk(dest).sort(), ['isrc/big.bin', `isrc/${live}`, 'isrc/small.bin']);
      assert.equal(fs.readFileSync(path.join(isrc, live), 'utf8'), 'another container is writing this');
    } finally {
      holder.kill('SIGKILL');
    }
  } finally {
    await d.close();
  }
});

test('double: validate --report gs:// that cannot be written fails with the reason; the local checks still ran', async () => {
  const d = await startGcsDouble();
  try {
    d.setFaults([{ on: 'init', status: 403, count: 100 }, { on: 'media', status: 403, count: 100 }]);
    const args = ['validate', '--from', '2020-02-22', '--symbols', 'binance-futures:BTCUSDT', '--output', path.join(work, 'store2'), '--read-only', '--report', 'gs://bkt/r/coverage.html'];
    const r = await runBin(args, { env: { STORAGE_EMULATOR_HOST: d.hostPort }, cwd: work });
    assert.equal(r.code, 1, describe(args, r));
    assert.match(r.stdout, /result: INCOMPLETE/);
    assert.match(r.stderr, /--report gs:\/\/bkt\/r\/coverage\.html: .*HTTP 403/);
    assert.equal(d.object('bkt', 'r/coverage.html'), undefined);
  } finally {
    await d.close();
  }
});
