// market-tick against the GCS test double (tests/support/gcs_double.mjs) for what the firebase
// emulator does not implement: 412 on create-only writes, multi-chunk resumable uploads with 308
// handshakes and status queries, 5xx/408/429 and dropped connections with retries, checksum
// mismatch, the token endpoint (service-account keys and gcloud's user credentials, in Google's
// order of credential sources) and the metadata server with expiring tokens,
// kill -9 in the middle of an upload, and the memory bound of a 1 GB upload.
// The double follows Google's documentation (see its header); it is not GCS.

import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { startGcsDouble, crc32cExtend, crc32cBase64 } from '../support/gcs_double.mjs';
import { startServer } from '../support/tardis_server.mjs';
import { runBin, describe, tmpDir, bytes, ODD_NAMES, BIN, FIXTURE_DIR, ROOT } from './lib.mjs';

const Q = 256 * 1024;
let d;
let work;
const crcOf = (b) => crc32cBase64(crc32cExtend(0, b));
const env = (extra = {}) => ({ STORAGE_EMULATOR_HOST: d.hostPort, ...extra });
const run = (args, extra, opts = {}) => runBin(args, { env: env(extra), cwd: work, ...opts });
async function runOk(args, extra, opts) {
  const r = await run(args, extra, opts);
  assert.equal(r.code, 0, describe(args, r));
  return r;
}
function file(name, data) {
  const p = path.join(work, name);
  fs.writeFileSync(p, data);
  return p;
}
const stored = (name) => d.object('bkt', name)?.blob.bytes();
const sessionPuts = () => d.stats.requests.filter((r) => r.method === 'PUT' && r.url.includes('upload_id='));

before(async () => {
  d = await startGcsDouble();
  work = tmpDir('double');
});
after(async () => {
  await d.close();
  fs.rmSync(work, { recursive: true, force: true });
});
beforeEach(() => d.reset());

test('put of a folder: a usage error (exit 2) before any request, nothing stored', async () => {
  const dir = path.join(work, 'a-folder');
  fs.mkdirSync(dir, { recursive: true });
  const r = await run(['gcs', 'put', dir, 'gs://bkt/a/folder']);
  assert.equal(r.code, 2, describe(['gcs', 'put', dir], r));
  assert.match(r.stderr, /a-folder is a directory: put copies one file \(gcs cp -r copies what a folder holds\)/);
  assert.equal(d.stats.requests.length, 0);
  assert.equal(stored('a/folder'), undefined);
});

test('small objects: one create-only media upload; a second create gets 412 -> "already exists"', async () => {
  const data = bytes(5000, 1);
  const src = file('small.bin', data);
  const r = await runOk(['gcs', 'put', src, 'gs://bkt/a/small.bin']);
  assert.equal(r.stdout.trim().split('\t')[2], crcOf(data));
  assert.equal(d.stats.requests.length, 1);
  assert.match(d.stats.requests[0].url, /uploadType=media&name=a%2Fsmall\.bin&ifGenerationMatch=0/);
  const again = await run(['gcs', 'put', file('other.bin', bytes(10, 2)), 'gs://bkt/a/small.bin']);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /already exists/);
  assert.equal(d.stats.requests.at(-1).status, 412);
  assert.ok(stored('a/small.bin').equals(data), 'the first object is kept');
  // --overwrite goes through a resumable session (safe to repeat) without a precondition.
  await runOk(['gcs', 'put', file('new.bin', bytes(10, 3)), 'gs://bkt/a/small.bin', '--overwrite']);
  assert.ok(stored('a/small.bin').equals(bytes(10, 3)));
});

test('large objects: resumable session in 256 KiB multiples, 308 handshakes, bounded request size', async () => {
  const data = bytes(5 * 1024 * 1024 + 123, 4);
  await runOk(['gcs', 'put', file('large.bin', data), 'gs://bkt/large.bin'], { GCS_CHUNK_SIZE: '1M' });
  assert.ok(stored('large.bin').equals(data));
  const puts = sessionPuts();
  assert.equal(puts.length, 6);
  assert.deepEqual(puts.slice(0, 5).map((p) => p.status), [308, 308, 308, 308, 308]);
  assert.equal(puts[0].contentRange, `bytes 0-${4 * Q - 1}/*`);
  assert.equal(puts[5].contentRange, `bytes ${20 * Q}-${data.length - 1}/${data.length}`);
  assert.equal(puts[5].status, 200);
  assert.ok(d.stats.maxBodyBytes <= 1024 * 1024, `largest request body ${d.stats.maxBodyBytes}`);
  // Create-only applies to sessions too: 412 when the session starts.
  const again = await run(['gcs', 'put', file('large.bin', data), 'gs://bkt/large.bin'], { GCS_CHUNK_SIZE: '1M' });
  assert.equal(again.code, 1);
  assert.match(again.stderr, /already exists/);
});

test('failed chunks (503 after part was stored, a cut connection, 503 on the status query) resume where the server says', async () => {
  const data = bytes(6 * 1024 * 1024 + 7, 5);
  d.setFaults([
    { on: 'chunk', nth: 1, status: 503, keepBytes: 2 * Q },
    { on: 'chunk', nth: 4, status: 'cut', keepBytes: Q },
    { on: 'query', nth: 0, status: 503 },
  ]);
  const r = await runOk(['gcs', 'put', file('f.bin', data), 'gs://bkt/faulty.bin'], { GCS_CHUNK_SIZE: '1M' });
  assert.ok(stored('faulty.bin').equals(data), 'bytes survive the faults');
  assert.equal(r.stdout.trim().split('\t')[2], crcOf(data));
  const puts = sessionPuts();
  const queries = puts.filter((p) => /^bytes \*\//.test(p.contentRange));
  assert.equal(queries.length, 3, 'two status queries, one of them answered 503 and repeated: ' + JSON.stringify(puts.map((p) => [p.contentRange, p.status])));
  // After the first failure the server holds 1 MiB + 512 KiB: the client resends from there.
  assert.ok(puts.some((p) => p.contentRange.startsWith(`bytes ${6 * Q}-`)), puts.map((p) => p.contentRange).join(' '));
  assert.match(r.stderr, /resuming at byte 1572864/);
});

test('a 308 that stores less than was sent: the rest is sent again', async () => {
  d.state.modes.shortStore = true;
  const data = bytes(3 * 1024 * 1024, 6);
  await runOk(['gcs', 'put', file('s.bin', data), 'gs://bkt/short.bin'], { GCS_CHUNK_SIZE: '1M' });
  assert.ok(stored('short.bin').equals(data));
});

test('a create-only upload whose answer is lost on a reused connection is ours: copied, not skipped', async () => {
  const a = file('lost-a.bin', bytes(1000, 31));
  const b = file('lost-b.bin', bytes(2000, 32));
  // The second upload creates its object, then the connection drops before the answer. The
  // connection was reused (cp -n asked whether the object exists first): libcurl would send the
  // upload again on a new one without telling the client, whose 412 then looked like another
  // writer's. Sent again by the client's own retry, the 412 is followed by a look at the object:
  // its size and CRC32C are ours.
  d.setFaults([{ on: 'media', nth: 1, status: 'drop', afterStore: true }]);
  const r = await runOk(['gcs', 'cp', '-n', '--jobs', '1', a, b, 'gs://bkt/lost/']);
  const after = d.stats.requests.slice(d.stats.requests.findIndex((q) => q.status === 'drop'));
  assert.deepEqual(after.map((q) => [q.route, q.status]), [['media', 'drop'], ['media', 412], ['get', 200]]);
  assert.match(r.stdout, /^copied\t.*lost-b\.bin\tgs:\/\/bkt\/lost\/lost-b\.bin\t2000\t/m, describe([], r));
  assert.match(r.stderr, /2 copied \(2.93 KiB\), 0 skipped/);
  assert.ok(stored('lost/lost-b.bin').equals(fs.readFileSync(b)));
});

// Issue: with the body behind a read callback that cannot rewind, a redirect that keeps the method
// (307/308) failed the transfer (libcurl could not send the body again), so an endpoint that
// redirects uploads failed every attempt. The body is rewound once per answer now; a rewind before
// any answer (a reused connection that died) still fails the transfer (the test above).
test('uploads redirected with 307/308 are sent again to the new location, in the same attempt', async () => {
  const small = bytes(3000, 41);
  const large = bytes(3 * Q + 17, 42);
  const one = { RETRY_MAX_ATTEMPTS: '1' };
  d.setFaults([{ on: 'media', status: 307, location: true }]);
  await runOk(['gcs', 'put', file('redir-small.bin', small), 'gs://bkt/redir/small.bin'], one);
  assert.deepEqual(d.stats.requests.map((q) => [q.route, q.status, q.bodyBytes]),
    [['media', 307, 3000], ['media', 200, 3000]]);
  assert.ok(stored('redir/small.bin').equals(small));

  d.reset();
  d.setFaults([{ on: 'init', status: 308, location: true }, { on: 'chunk', nth: 1, status: 307, location: true }]);
  await runOk(['gcs', 'put', file('redir-large.bin', large), 'gs://bkt/redir/large.bin'], { ...one, GCS_CHUNK_SIZE: '256K' });
  assert.deepEqual(d.stats.requests.map((q) => [q.route, q.status]),
    [['init', 308], ['init', 200], ['chunk', 308], ['chunk', 307], ['chunk', 308], ['chunk', 308], ['chunk', 200]]);
  assert.ok(stored('redir/large.bin').equals(large));

  // Redirected, then the connection (reused after the 307) dies before the answer of an upload that
  // landed: the rewind after the 307 does not let libcurl send the body a third time unseen; the
  // client's retry does, and its 412 is checked against the object.
  d.reset();
  d.setFaults([{ on: 'media', status: 307, location: true }, { on: 'media', nth: 1, status: 'drop', afterStore: true }]);
  const r = await runOk(['gcs', 'put', file('redir-lost.bin', small), 'gs://bkt/redir/lost.bin']);
  assert.deepEqual(d.stats.requests.map((q) => [q.route, q.status]), [['media', 307], ['media', 'drop'], ['media', 412], ['get', 200]]);
  assert.match(r.stdout, /redir\/lost\.bin/);
  assert.ok(stored('redir/lost.bin').equals(small));
});

test('5xx, 408 and 429 (Retry-After) are retried with backoff on safe requests; then success', async () => {
  const data = bytes(2000, 7);
  d.setFaults([{ on: 'media', status: 503, count: 2 }, { on: 'media', status: 429, retryAfter: 0 }]);
  await runOk(['gcs', 'put', file('r.bin', data), 'gs://bkt/retried.bin']);
  assert.ok(stored('retried.bin').equals(data));
  assert.deepEqual(d.stats.requests.map((r) => r.status), [503, 503, 429, 200]);
  d.setFaults([{ on: 'list', status: 500 }, { on: 'get', status: 408 }, { on: 'media-get', status: 'cut' }, { on: 'media-get', status: 503 }]);
  const ls = await runOk(['gcs', 'ls', 'gs://bkt/']);
  assert.match(ls.stdout, /retried\.bin/);
  await runOk(['gcs', 'stat', 'gs://bkt/retried.bin']);
  const cat = await runOk(['gcs', 'cat', 'gs://bkt/retried.bin']);
  assert.ok(cat.stdoutBytes.equals(data));
  // The read was cut after 1000 bytes, resumed with a Range (503 once, then the rest), all
  // from the same generation.
  const reads = d.stats.requests.filter((r) => r.route === 'media-get');
  assert.deepEqual(reads.map((r) => [r.status, r.range]), [['cut', undefined], [503, 'bytes=1000-'], [206, 'bytes=1000-']]);
  assert.match(reads[2].url, /generation=\d+/);
});

test('retries stop: after RETRY_MAX_ATTEMPTS, and never for a delete without a precondition', async () => {
  d.setFaults([{ on: 'get', status: 503, count: 100 }]);
  const r = await run(['gcs', 'stat', 'gs://bkt/x'], { RETRY_MAX_ATTEMPTS: '3' });
  assert.equal(r.code, 3, describe([], r)); // retryable failure
  assert.match(r.stderr, /gave up after 3 attempts.*HTTP 503/);
  assert.equal(d.stats.requests.length, 3);
  await runOk(['gcs', 'put', file('del.bin', bytes(3)), 'gs://bkt/del.bin']);
  d.stats.requests.length = 0;
  d.setFaults([{ on: 'delete', status: 503 }]);
  const rm = await run(['gcs', 'rm', 'gs://bkt/del.bin']);
  assert.equal(rm.code, 3);
  assert.equal(d.stats.requests.length, 1, 'not repeated');
});

test('checksum mismatch: the object is deleted and the write fails (small and chunked)', async () => {
  d.state.modes.corruptStored = true;
  for (const [name, size] of [['bad-small', 1000], ['bad-large', 3 * 1024 * 1024 + 1]]) {
    const r = await run(['gcs', 'put', file(`${name}.bin`, bytes(size, 8)), `gs://bkt/${name}`], { GCS_CHUNK_SIZE: '1M' });
    assert.equal(r.code, 3, describe([], r));
    assert.match(r.stderr, /does not match what was sent \(crc32c .* instead of .*\); deleted it/);
    assert.equal(d.object('bkt', name), undefined, 'no corrupt object left');
    const del = d.stats.requests.filter((q) => q.method === 'DELETE' && q.url.includes(encodeURIComponent(name)));
    assert.equal(del.length, 1);
    assert.match(del[0].url, /ifGenerationMatch=\d+/);
  }
});

test('a corrupt download is detected by its crc32c', async () => {
  await runOk(['gcs', 'put', file('c.bin', bytes(100, 9)), 'gs://bkt/c.bin']);
  d.state.modes.corruptStored = true; // x-goog-hash no longer matches the bytes
  const r = await run(['gcs', 'cat', 'gs://bkt/c.bin']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /CRC32C mismatch/);
});

test('odd names are percent-encoded on the wire and round-trip', async () => {
  for (const [i, name] of ODD_NAMES.entries()) {
    const data = bytes(100 + i, 20 + i);
    await runOk(['gcs', 'put', file(`o${i}`, data), `gs://bkt/${name}`]);
    assert.ok(stored(name).equals(data), name);
    const cat = await runOk(['gcs', 'cat', `gs://bkt/${name}`]);
    assert.ok(cat.stdoutBytes.equals(data), name);
  }
  for (const r of d.stats.requests) assert.doesNotMatch(r.url.split('?')[0], /[ :+ü#]/, r.url);
  const ls = await runOk(['gcs', 'ls', 'gs://bkt/odd/'], { GCS_LIST_PAGE_SIZE: '2' });
  assert.deepEqual(ls.stdout.trim().split('\n').sort(), ODD_NAMES.map((n) => `gs://bkt/${n}`).sort());
  const lists = d.stats.requests.filter((r) => r.url.startsWith('/storage/v1/b/bkt/o?'));
  assert.equal(lists.length, 3, 'six objects in pages of two');
});

test('kill -9 in the middle of a chunked upload leaves no object; the rerun writes it once', async () => {
  const data = bytes(4 * 1024 * 1024, 10);
  const src = file('k.bin', data);
  d.state.modes.latencyMs = 150;
  let child;
  const running = run(['gcs', 'put', src, 'gs://bkt/killed.bin'], { GCS_CHUNK_SIZE: '256K' }, { onSpawn: (c) => { child = c; } });
  while (sessionPuts().filter((p) => p.status === 308).length < 3) await sleep(20);
  child.kill('SIGKILL');
  const r = await running;
  assert.equal(r.signal, 'SIGKILL');
  assert.equal(d.object('bkt', 'killed.bin'), undefined, 'nothing visible');
  d.state.modes.latencyMs = 0;
  await runOk(['gcs', 'put', src, 'gs://bkt/killed.bin'], { GCS_CHUNK_SIZE: '256K' });
  assert.ok(stored('killed.bin').equals(data));
  const again = await run(['gcs', 'put', src, 'gs://bkt/killed.bin'], { GCS_CHUNK_SIZE: '256K' });
  assert.match(again.stderr, /already exists/);
});

// --- credentials -------------------------------------------------------------------------------

function serviceAccount(tokenUrl) {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const key = {
    type: 'service_account',
    project_id: 'demo',
    private_key_id: 'k1',
    private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }),
    client_email: 'loader@demo.iam.gserviceaccount.com',
    client_id: '1',
    token_uri: tokenUrl,
  };
  return { key, publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }) };
}

test('service-account key: JWT exchanged for tokens that are refreshed before they expire', async () => {
  const sa = serviceAccount('placeholder');
  const t = await startGcsDouble({ auth: 'token', tokenTtlSeconds: 2, publicKeyPem: sa.publicKeyPem, clientEmail: sa.key.client_email });
  try {
    sa.key.token_uri = `${t.url}/token`;
    const keyFile = file('sa.json', JSON.stringify(sa.key));
    t.state.modes.latencyMs = 250;
    const data = bytes(3 * 1024 * 1024, 11);
    const e = { GOOGLE_APPLICATION_CREDENTIALS: keyFile, GCS_ENDPOINT: t.url, GCS_CHUNK_SIZE: '256K' };
    const r = await runBin(['gcs', 'put', file('t.bin', data), 'gs://bkt/token.bin'], { env: e, cwd: work });
    assert.equal(r.code, 0, describe([], r));
    assert.ok(t.object('bkt', 'token.bin').blob.bytes().equals(data));
    assert.ok(t.stats.tokensIssued >= 2, `tokens issued: ${t.stats.tokensIssued} (upload took ${r.ms} ms)`);
    assert.equal(t.stats.unauthorized, 0, 'no request went out with an expired token');
    assert.equal(t.stats.requests.filter((q) => q.route === 'chunk' || q.url.includes('upload_id')).every((q) => q.authorized), true);
    assert.doesNotMatch(r.stdout + r.stderr, /ya29\.|PRIVATE KEY|eyJ/);
  } finally {
    await t.close();
  }
});

test('a refused key, a missing key file and no credentials at all say what to set, and leak nothing', async () => {
  const sa = serviceAccount('placeholder');
  const other = serviceAccount('x');
  const t = await startGcsDouble({ auth: 'token', publicKeyPem: other.publicKeyPem });
  try {
    sa.key.token_uri = `${t.url}/token`;
    const keyFile = file('refused.json', JSON.stringify(sa.key));
    const r = await runBin(['gcs', 'ls', 'gs://bkt/'], { env: { GOOGLE_APPLICATION_CREDENTIALS: keyFile, GCS_ENDPOINT: t.url }, cwd: work });
    // A key the token endpoint refuses (deleted, or another one): a rerun cannot fix it, exit 2.
    assert.equal(r.code, 2, describe([], r));
    assert.match(r.stderr, /loader@demo\.iam\.gserviceaccount\.com from GOOGLE_APPLICATION_CREDENTIALS=.*refused\.json \(is the key deleted or disabled/);
    assert.match(r.stderr, /invalid_grant/);
    assert.doesNotMatch(r.stderr, /PRIVATE KEY|eyJ/);
    const missing = await runBin(['gcs', 'ls', 'gs://bkt/'], { env: { GOOGLE_APPLICATION_CREDENTIALS: '/nonexistent/key.json' }, cwd: work });
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /GOOGLE_APPLICATION_CREDENTIALS=\/nonexistent\/key\.json: cannot read the file/);
    // Nothing answers at the metadata server's address: transient for a task on a VM (exit 3,
    // run again), and the message says what to set off Google Cloud.
    const none = await runBin(['convert', 'x.csv.gz', '--output', 'gs://bkt/p'], { env: { GCE_METADATA_HOST: '127.0.0.1:1' }, cwd: work });
    assert.equal(none.code, 3, describe([], none));
    assert.match(none.stderr, /no Google Cloud credentials.*Set GOOGLE_APPLICATION_CREDENTIALS.*STORAGE_EMULATOR_HOST/);
  } finally {
    await t.close();
  }
});

test('a metadata server that fails or does not answer: retried, then exit 3 in every command, never 2', async () => {
  const t = await startGcsDouble({ auth: 'token' });
  try {
    const e = { GCE_METADATA_HOST: t.hostPort, GCS_ENDPOINT: t.url };
    // Two failures, then an answer: the token fetch retries and the command succeeds.
    t.setFaults([{ on: 'metadata', status: 503, count: 2 }]);
    const ok = await runBin(['gcs', 'ls', 'gs://bkt/'], { env: e, cwd: work });
    assert.equal(ok.code, 0, describe([], ok));
    assert.equal(t.stats.requests.filter((q) => q.route === 'metadata').length, 3);
    for (const status of [503, 'drop']) {
      t.setFaults([{ on: 'metadata', status, count: 1000 }]);
      for (const args of [['gcs', 'ls', 'gs://bkt/'],
        ['download', '--from', '2020-02-22', '--exchanges', 'binance-futures', '--symbols', 'BTCUSDT', '--output', 'gs://bkt/p'],
        ['validate', '--from', '2020-02-22', '--output', 'gs://bkt/p'],
        ['convert', 'x.csv.gz', '--output', 'gs://bkt/p']]) {
        const r = await runBin(args, { env: e, cwd: work });
        assert.equal(r.code, 3, `metadata ${status}: ${describe(args, r)}`);
        assert.match(r.stderr, /the metadata server at .* did not answer/, describe(args, r));
      }
    }
  } finally {
    await t.close();
  }
});

test('convert: a store that fails after it opened exits 3 (run again); a bad CSV exits 1', async () => {
  const src = path.join(FIXTURE_DIR, 'binance-futures_trades_2020-02-22_BTCUSDT.csv.gz');
  const fast = { RETRY_MAX_ATTEMPTS: '2', RETRY_BASE_SECONDS: '0.01', RETRY_MAX_DELAY_SECONDS: '0.01' };
  // Every upload answers 503 (an outage after the store was opened): retryable, so exit 3, not 1.
  d.setFaults([{ on: 'init', status: 503, count: 1000 }, { on: 'media', status: 503, count: 1000 }]);
  const down = await run(['convert', src, '--output', 'gs://bkt/p'], fast);
  assert.equal(down.code, 3, describe([], down));
  assert.match(down.stderr, /503/);
  assert.equal(d.object('bkt', 'p/raw_tick_data/by_date/day-2020-02-22/data_type-trades/BINANCE-FUTURES:PERPETUAL:BTC-USDT.parquet'), undefined);
  // A file that is not CSV is a permanent data error: exit 1, whatever the store does.
  d.setFaults([]);
  const bad = await run(['convert', file('binance-futures_trades_2020-02-22_ETHUSDT.csv', 'not,a,tardis,header\n1,2,3,4\n'), '--output', 'gs://bkt/p'], fast);
  assert.equal(bad.code, 1, describe([], bad));
  // Both in one run: the permanent failure decides (a rerun cannot fix it).
  d.setFaults([{ on: 'init', status: 503, count: 1000 }, { on: 'media', status: 503, count: 1000 }]);
  const both = await run(['convert', path.join(work, 'binance-futures_trades_2020-02-22_ETHUSDT.csv'), src, '--output', 'gs://bkt/p'], fast);
  assert.equal(both.code, 1, describe([], both));
});

test('metadata server: tokens with Metadata-Flavor, refreshed; a 401 gets a new token once', async () => {
  const t = await startGcsDouble({ auth: 'token', tokenTtlSeconds: 2 });
  try {
    t.state.modes.latencyMs = 250;
    const data = bytes(2 * 1024 * 1024, 12);
    const e = { GCE_METADATA_HOST: t.hostPort, GCS_ENDPOINT: t.url, GCS_CHUNK_SIZE: '256K' };
    const r = await runBin(['gcs', 'put', file('m.bin', data), 'gs://bkt/md.bin'], { env: e, cwd: work });
    assert.equal(r.code, 0, describe([], r));
    assert.ok(t.object('bkt', 'md.bin').blob.bytes().equals(data));
    assert.ok(t.stats.tokensIssued >= 2);
    assert.equal(t.stats.unauthorized, 0);
    // A token revoked behind the client's back: the first 401 makes it fetch a new token and
    // repeat the request, once.
    t.setFaults([{ on: 'get', status: 401 }]);
    const issued = t.stats.tokensIssued;
    const stat = await runBin(['gcs', 'stat', 'gs://bkt/md.bin'], { env: e, cwd: work });
    assert.equal(stat.code, 0, describe([], stat));
    assert.equal(t.stats.tokensIssued, issued + 2, 'one at start, one after the 401');
    assert.deepEqual(t.stats.requests.filter((q) => q.route === 'get').slice(-2).map((q) => q.status), [401, 200]);
    t.setFaults([{ on: 'get', status: 401, count: 5 }]);
    const denied = await runBin(['gcs', 'stat', 'gs://bkt/md.bin'], { env: e, cwd: work });
    assert.equal(denied.code, 1);
    assert.match(denied.stderr, /HTTP 401.*the metadata server at 127\.0\.0\.1:\d+.*roles\/storage\.objectUser/);
  } finally {
    await t.close();
  }
});

// --- Application Default Credentials (gcloud's user credentials and the order of sources) ------

// What `gcloud auth application-default login` writes: no token_uri, so GCS_TOKEN_URI points the
// refresh-token grant at the double. The values are made up, shaped like real ones.
const USER = {
  client_id: '764086051850-made-up.apps.googleusercontent.com',
  client_secret: 'd-FL95Q19q7-made-up-secret',
  refresh_token: '1//0gMadeUpRefreshToken-abcdefghijklmnop',
};
function userFile(dir, extra = {}) {
  fs.mkdirSync(dir, { recursive: true });
  const p = path.join(dir, 'application_default_credentials.json');
  fs.writeFileSync(p, JSON.stringify({ ...USER, type: 'authorized_user', quota_project_id: 'demo', ...extra }));
  return p;
}
// Every output of the credential tests, grepped for secrets at the end.
const adcOutputs = [];
async function adcRun(t, args, env) {
  const r = await runBin(args, { env: { GCS_ENDPOINT: t.url, GCS_TOKEN_URI: `${t.url}/token`, ...env }, cwd: work });
  adcOutputs.push({ args, env, r, issued: [...t.stats.issuedTokens] });
  return r;
}
const startUserDouble = (extra = {}) =>
  startGcsDouble({ auth: 'token', refreshTokens: [[USER.refresh_token, { clientId: USER.client_id, clientSecret: USER.client_secret }]], ...extra });

test('ADC: gcloud user credentials (authorized_user) from GOOGLE_APPLICATION_CREDENTIALS, $CLOUDSDK_CONFIG or $HOME/.config/gcloud; refreshed before expiry', async () => {
  const t = await startUserDouble({ tokenTtlSeconds: 2 });
  try {
    const home = path.join(work, 'home-user');
    const adcPath = userFile(path.join(home, '.config', 'gcloud'));
    // A chunked upload slower than the token's lifetime: every request carries a valid token.
    t.state.modes.latencyMs = 250;
    const data = bytes(2 * 1024 * 1024, 13);
    const r = await adcRun(t, ['gcs', 'put', file('user.bin', data), 'gs://bkt/user.bin'], { HOME: home, GCS_CHUNK_SIZE: '256K' });
    assert.equal(r.code, 0, describe([], r));
    assert.ok(t.object('bkt', 'user.bin').blob.bytes().equals(data));
    assert.ok(t.stats.tokensIssued >= 2, `tokens issued: ${t.stats.tokensIssued} (upload took ${r.ms} ms)`);
    assert.equal(t.stats.unauthorized, 0, 'no request went out with an expired token');
    assert.ok(t.stats.grants.length >= 2 && t.stats.grants.every((g) => g === 'refresh_token'), t.stats.grants.join());
    t.state.modes.latencyMs = 0;
    // The same file through CLOUDSDK_CONFIG (gcloud's configuration directory) and through
    // GOOGLE_APPLICATION_CREDENTIALS.
    const cfgDir = path.join(work, 'cloudsdk');
    userFile(cfgDir);
    for (const env of [{ CLOUDSDK_CONFIG: cfgDir }, { GOOGLE_APPLICATION_CREDENTIALS: adcPath }]) {
      const before = t.stats.grants.length;
      const ls = await adcRun(t, ['gcs', 'ls', 'gs://bkt/'], { ...env, LOG_LEVEL: 'debug' });
      assert.equal(ls.code, 0, describe([], ls));
      assert.match(ls.stdout, /gs:\/\/bkt\/user\.bin/);
      assert.deepEqual(t.stats.grants.slice(before), ['refresh_token']);
      assert.match(ls.stderr, /credentials: user credentials \((GOOGLE_APPLICATION_CREDENTIALS=|gcloud's application-default credentials )/);
    }
  } finally {
    await t.close();
  }
});
test("ADC order: GOOGLE_APPLICATION_CREDENTIALS, then gcloud's file ($CLOUDSDK_CONFIG replaces ~/.config/gcloud), then the metadata server", async () => {
  const sa = serviceAccount('placeholder');
  const t = await startUserDouble({ publicKeyPem: sa.publicKeyPem, clientEmail: sa.key.client_email });
  try {
    const home = path.join(work, 'home-order');
    userFile(path.join(home, '.config', 'gcloud'));
    const keyFile = file('order-sa.json', JSON.stringify({ ...sa.key, token_uri: `${t.url}/token` }));
    const md = { GCE_METADATA_HOST: t.hostPort };
    const sources = async (env) => {
      const grants = t.stats.grants.length;
      const meta = t.stats.requests.filter((q) => q.route === 'metadata').length;
      const r = await adcRun(t, ['gcs', 'ls', 'gs://bkt/'], env);
      assert.equal(r.code, 0, describe([], r));
      const used = t.stats.grants.slice(grants);
      if (t.stats.requests.filter((q) => q.route === 'metadata').length > meta) used.push('metadata');
      return used;
    };
    // 1. The variable wins over gcloud's file and the metadata server: the JWT grant of the key
    //    (GCS_TOKEN_URI, set by adcRun, names the same endpoint as the key's token_uri).
    assert.deepEqual(await sources({ GOOGLE_APPLICATION_CREDENTIALS: keyFile, HOME: home, ...md }), ['urn:ietf:params:oauth:grant-type:jwt-bearer']);
    // 2. Without it, gcloud's file wins over the metadata server.
    assert.deepEqual(await sources({ HOME: home, ...md }), ['refresh_token']);
    // 3. CLOUDSDK_CONFIG moves gcloud's directory: a directory without the file means no gcloud
    //    credentials at all (~/.config/gcloud is not looked at), so the metadata server.
    const emptyCfg = path.join(work, 'empty-cloudsdk');
    fs.mkdirSync(emptyCfg, { recursive: true });
    assert.deepEqual(await sources({ CLOUDSDK_CONFIG: emptyCfg, HOME: home, ...md }), ['metadata']);
    // 4. Neither: the metadata server.
    assert.deepEqual(await sources({ HOME: path.join(work, 'no-such-home'), ...md }), ['metadata']);
    // A variable naming a missing file is an error, not a reason to fall through (exit 2).
    const missing = await adcRun(t, ['gcs', 'ls', 'gs://bkt/'], { GOOGLE_APPLICATION_CREDENTIALS: path.join(work, 'gone.json'), HOME: home, ...md });
    assert.equal(missing.code, 2, describe([], missing));
    assert.match(missing.stderr, /GOOGLE_APPLICATION_CREDENTIALS=.*gone\.json: cannot read the file/);
    // gcloud's file that exists but is not a credential: exit 2, naming the file and what to do.
    const brokenCfg = path.join(work, 'broken-cloudsdk');
    fs.mkdirSync(brokenCfg, { recursive: true });
    fs.writeFileSync(path.join(brokenCfg, 'application_default_credentials.json'), JSON.stringify({ type: 'external_account' }));
    const broken = await adcRun(t, ['gcs', 'ls', 'gs://bkt/'], { CLOUDSDK_CONFIG: brokenCfg, ...md });
    assert.equal(broken.code, 2, describe([], broken));
    assert.match(broken.stderr, /gcloud's application-default credentials .*broken-cloudsdk\/application_default_credentials\.json has type 'external_account'/);
  } finally {
    await t.close();
  }
});

test('ADC: an expired or revoked refresh token says to log in again (exit 2); a token endpoint that is down is exit 3', async () => {
  const t = await startUserDouble();
  try {
    const cfg = path.join(work, 'revoked-cloudsdk');
    const adc = userFile(cfg);
    t.state.refreshTokens.get(USER.refresh_token).revoked = true;
    for (const args of [['gcs', 'ls', 'gs://bkt/'], ['convert', path.join(FIXTURE_DIR, 'binance-futures_trades_2020-02-22_BTCUSDT.csv.gz'), '--output', 'gs://bkt/p']]) {
      const r = await adcRun(t, args, { CLOUDSDK_CONFIG: cfg });
      assert.equal(r.code, 2, describe(args, r));
      assert.ok(r.stderr.includes(`user credentials from gcloud's application-default credentials ${adc}: the refresh token is expired or revoked`), describe(args, r));
      assert.match(r.stderr, /invalid_grant.*run 'gcloud auth application-default login' to sign in again/);
    }
    assert.equal(t.object('bkt', 'p/raw_tick_data/by_date/day-2020-02-22/data_type-trades/BINANCE-FUTURES:PERPETUAL:BTC-USDT.parquet'), undefined);
    // The same through GOOGLE_APPLICATION_CREDENTIALS: the message names that variable's file.
    const viaVar = await adcRun(t, ['gcs', 'ls', 'gs://bkt/'], { GOOGLE_APPLICATION_CREDENTIALS: adc });
    assert.equal(viaVar.code, 2);
    assert.ok(viaVar.stderr.includes(`GOOGLE_APPLICATION_CREDENTIALS=${adc}: the refresh token is expired or revoked`), viaVar.stderr);
    // A client the token endpoint does not know: refused (exit 2: a configuration a rerun cannot fix), with what to do.
    t.state.refreshTokens.get(USER.refresh_token).revoked = false;
    const wrongClient = userFile(path.join(work, 'wrong-client'), { client_secret: 'another-made-up-secret' });
    const refused = await adcRun(t, ['gcs', 'ls', 'gs://bkt/'], { GOOGLE_APPLICATION_CREDENTIALS: wrongClient });
    assert.equal(refused.code, 2, describe([], refused));
    assert.match(refused.stderr, /wrong-client\/application_default_credentials\.json \(run 'gcloud auth application-default login' again.*HTTP 401: invalid_client/);
    // The token endpoint fails (503 every time) or nothing listens: retried, then exit 3 (run again).
    t.setFaults([{ on: 'token', status: 503, count: 1000 }]);
    const tokenRequests = () => t.stats.requests.filter((q) => q.route === 'token').length;
    const asked = tokenRequests();
    const down = await adcRun(t, ['gcs', 'ls', 'gs://bkt/'], { CLOUDSDK_CONFIG: cfg });
    assert.equal(down.code, 3, describe([], down));
    assert.match(down.stderr, /the token endpoint http:\/\/127\.0\.0\.1:\d+\/token did not answer: HTTP 503/);
    assert.equal(tokenRequests() - asked, 4, 'four attempts');
    const closed = await adcRun(t, ['gcs', 'ls', 'gs://bkt/'], { CLOUDSDK_CONFIG: cfg, GCS_TOKEN_URI: 'http://127.0.0.1:1/token' });
    assert.equal(closed.code, 3, describe([], closed));
    assert.match(closed.stderr, /user credentials from gcloud's application-default credentials .*: the token endpoint http:\/\/127\.0\.0\.1:1\/token did not answer/);
  } finally {
    await t.close();
  }
});

test('ADC: no refresh token, client secret, private key or access token in any output of the credential tests', async () => {
  // One more run at debug level with a service account, so that the signing path is covered too.
  const sa = serviceAccount('placeholder');
  const t = await startGcsDouble({ auth: 'token', publicKeyPem: sa.publicKeyPem, clientEmail: sa.key.client_email });
  try {
    const keyFile = file('grep-sa.json', JSON.stringify({ ...sa.key, token_uri: `${t.url}/token` }));
    const r = await adcRun(t, ['gcs', 'ls', 'gs://bkt/', '--log-level', 'debug'], { GOOGLE_APPLICATION_CREDENTIALS: keyFile });
    assert.equal(r.code, 0, describe([], r));
    assert.ok(adcOutputs.length >= 15, `${adcOutputs.length} runs collected`);
    const pemLines = sa.key.private_key.split('\n').filter((l) => l.length > 20 && !l.startsWith('-----'));
    for (const { args, r: out, issued } of adcOutputs) {
      const text = out.stdout + out.stderr;
      for (const secret of [USER.refresh_token, USER.client_secret, 'another-made-up-secret', ...issued, ...pemLines]) {
        assert.ok(!text.includes(secret), `a secret in the output of ${args.join(' ')}: ${text}`);
      }
      assert.doesNotMatch(text, /PRIVATE KEY|ya29\.|eyJ|1\/\/0g/, args.join(' '));
    }
  } finally {
    await t.close();
  }
});

// --- memory -------------------------------------------------------------------------------------

test('1 GB upload: peak RSS stays near the 8 MiB chunk size', { skip: !fs.existsSync('/usr/bin/time') && 'needs /usr/bin/time' }, async () => {
  const big = await startGcsDouble({ discardBytes: true });
  try {
    const size = 1024 * 1024 * 1024;
    const cmd = `head -c ${size} /dev/zero | /usr/bin/time -f 'maxrss_kb=%M' '${BIN}' gcs put - gs://bkt/one-gigabyte.bin`;
    const r = await new Promise((resolve) => {
      const c = spawn('/bin/sh', ['-c', cmd], { env: { PATH: process.env.PATH, STORAGE_EMULATOR_HOST: big.hostPort }, cwd: work });
      let out = '', err = '';
      c.stdout.on('data', (x) => { out += x; });
      c.stderr.on('data', (x) => { err += x; });
      c.on('close', (code) => resolve({ code, out, err }));
    });
    assert.equal(r.code, 0, r.err);
    const o = big.object('bkt', 'one-gigabyte.bin');
    assert.equal(o.blob.size, size);
    assert.equal(r.out.trim().split('\t')[2], crc32cBase64(o.blob.crc));
    const rssKb = Number(/maxrss_kb=(\d+)/.exec(r.err)[1]);
    console.log(`# 1 GiB upload (8 MiB chunks): peak RSS ${(rssKb / 1024).toFixed(1)} MiB, largest request body ${big.stats.maxBodyBytes} bytes`);
    assert.ok(rssKb < 64 * 1024, `peak RSS ${rssKb} KiB`);
    assert.ok(big.stats.maxBodyBytes <= 8 * 1024 * 1024);
  } finally {
    await big.close();
  }
});

test('two downloads of the same items into one bucket at once: the loser of a create-only race is skipped, both exit 0', async () => {
  const srv = await startServer();
  try {
    const sel = ['download', '--from', '2020-02-22', '--exchanges', 'binance-futures', '--data-types', 'trades,quotes',
      '--symbols', 'BTCUSDT', '--output', 'gs://bkt/race'];
    const extra = { TARDIS_DATASETS_URL: srv.url, TARDIS_API_KEY: 'k', SOURCE_DATE_EPOCH: '1700000000' };
    // Each file's request is held until the other run asks for it too (pairRequests), so both
    // runs find no object, both download and upload every file, and the second create-only
    // upload of each object gets 412, however the two processes are scheduled.
    srv.setFaults({ pairRequests: { waitMs: 20000 } });
    const [a, b] = await Promise.all([run(sel, extra), run(sel, extra)]);
    for (const r of [a, b]) {
      assert.equal(r.code, 0, describe(sel, r));
      assert.match(r.stderr, /2 items: \d done, \d skipped, 0 no data, 0 not available, 0 failed, 0 failed \(retryable\)/, describe(sel, r));
    }
    // The store's layout record (market-tick-store.json) is created once too: both runs may race on it
    // as well, and its loser reads the record back; only the data objects count here.
    const refused = d.stats.requests.filter((q) => q.status === 412 && !decodeURIComponent(q.url).includes('market-tick-store.json'));
    assert.equal(refused.length, 2, `the runs raced on both objects (a create-only upload was refused): ${JSON.stringify(d.stats.requests.map((q) => [q.method, q.status, decodeURIComponent(q.url).replace(/^.*name=/, '')]))}`);
    const stdoutDone = (a.stdout + b.stdout).split('\n').filter((l) => l.startsWith('done\t'));
    assert.equal(stdoutDone.length, 2, 'each object is reported written by exactly one run');
    // The run whose upload was refused says skipped, not done: two of each in all.
    const count = (r, what) => Number(new RegExp(`(\\d+) ${what}`).exec(r.stderr)[1]);
    assert.deepEqual([count(a, 'done') + count(b, 'done'), count(a, 'skipped') + count(b, 'skipped')], [2, 2], `${a.stderr}\n${b.stderr}`);
    assert.equal(srv.stats().byFault.pairRequests, 4, 'both runs requested both files');
    srv.setFaults({});
    // The objects are those of a run alone, byte for byte.
    await runOk(['download', ...sel.slice(1, -1), 'gs://bkt/alone'], extra);
    for (const dt of ['trades', 'quotes']) {
      const rel = `raw_tick_data/by_date/day-2020-02-22/data_type-${dt}/BINANCE-FUTURES:PERPETUAL:BTC-USDT.parquet`;
      assert.ok(stored(`race/${rel}`).equals(stored(`alone/${rel}`)), `${dt}: the raced object equals a lone run's`);
    }
  } finally {
    await srv.close();
  }
});

// A 403 from the store (the credentials may not write the bucket) refuses every later upload the same way: the run
// stops at the first one, as at Tardis's 401, instead of downloading each remaining file only to have it refused.
test('download: the store refusing an upload with 403 stops the run; later items are not downloaded', async () => {
  const srv = await startServer();
  try {
    const extra = { TARDIS_DATASETS_URL: srv.url, TARDIS_API_KEY: 'k', SOURCE_DATE_EPOCH: '1700000000' };
    // The store's layout record first, by a run that may write.
    await runOk(['download', '--from', '2020-03-01', '--exchanges', 'bitmex', '--data-types', 'trades', '--symbols', 'XBTUSD',
      '--output', 'gs://bkt/denied'], extra);
    d.setFaults([{ on: 'media', status: 403, count: 100 }, { on: 'init', status: 403, count: 100 }]);
    const before = srv.stats().total;
    const sel = ['download', '--from', '2020-02-22', '--exchanges', 'binance-futures', '--data-types', 'trades,quotes',
      '--symbols', 'BTCUSDT', '--concurrency', '1', '--output', 'gs://bkt/denied'];
    const r = await run(sel, extra);
    assert.equal(r.code, 1, describe(sel, r));
    assert.match(r.stderr, /2 items: 0 done, 0 skipped, 0 no data, 0 not available, 1 failed, 0 failed \(retryable\), 1 cancelled/, describe(sel, r));
    assert.match(r.stderr, /HTTP 403.*\(the run stops: check the credentials' access to the output\)/, describe(sel, r));
    assert.equal(srv.stats().total - before, 1, 'one file downloaded, the other not asked for');
  } finally {
    d.setFaults([]);
    await srv.close();
  }
});

test('download --derive into a bucket: derived objects beside the raw one; a missing one is computed from the stored raw object with ranged reads, no Tardis request', async () => {
  const srv = await startServer();
  try {
    const sel = ['download', '--from', '2020-04-01', '--symbols', 'deribit:BTC-PERPETUAL', '--data-types', 'incremental_book_L2',
      '--derive', 'book_snapshot_5_1s,book_snapshot_3_0ms', '--output', 'gs://bkt/der'];
    const extra = { TARDIS_DATASETS_URL: srv.url, TARDIS_API_KEY: 'k', SOURCE_DATE_EPOCH: '1700000000' };
    const derived = (n) => `der/derived_data/by_date/day-2020-04-01/data_type-${n}/DERIBIT:PERPETUAL:BTC-USD.parquet`;
    const raw = 'der/raw_tick_data/by_date/day-2020-04-01/data_type-incremental_book_L2/DERIBIT:PERPETUAL:BTC-USD.parquet';
    const first = await runOk(sel, extra);
    assert.equal(first.stdout.trim().split('\n').length, 3, describe(sel, first));
    const saved = stored(derived('book_snapshot_3_0ms'));
    const rawBytes = stored(raw);
    assert.ok(saved && rawBytes);
    await runOk(['gcs', 'rm', `gs://bkt/${derived('book_snapshot_3_0ms')}`]);
    const tardisBefore = srv.stats().requests.length;
    const again = await runOk(sel, extra);
    assert.equal(srv.stats().requests.length, tardisBefore, 'no Tardis request');
    assert.deepEqual(again.stdout.trim().split('\n').map((l) => l.split('\t')[2]), [`gs://bkt/${derived('book_snapshot_3_0ms')}`]);
    const now = stored(derived('book_snapshot_3_0ms'));
    // Same column chunks (the footers differ in `source`: the raw object, not the URL).
    const body = (b) => b.subarray(0, b.length - 8 - b.readUInt32LE(b.length - 8));
    assert.ok(body(now).equals(body(saved)));
    assert.ok(now.includes(Buffer.from(`gs://bkt/${raw}`)), 'source names the raw object');
    assert.ok(stored(raw).equals(rawBytes), 'the raw object is untouched');
    const skip = await runOk(sel, extra);
    assert.match(skip.stderr, /1 items: 0 done, 1 skipped/);
  } finally {
    await srv.close();
  }
});

// --- two runs of one grouped item at once ------------------------------------------------------
// A grouped item (deribit OPTIONS: one Tardis file, one object per option, then its completion
// record) downloaded by two runs into one bucket, each interleaving made deterministic: the
// double holds one run's upload of a chosen object (hold), the Tardis server holds one run's
// request for the file (holdRequests) or pairs both runs' requests (pairRequests).
// Generated: a Deribit OPTIONS trades day of four options, 200 rows each (made-up values, real
// row shape), and each option's rows as its own file (the per-instrument items).
const G_DAY = '2024-01-01';
const G_HEADER = 'exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n';
const G_SYMS = [['BTC-1JAN24-40000-C', 'DERIBIT:OPTION:BTC-USD-240101-40000-CALL'], ['BTC-1JAN24-40000-P', 'DERIBIT:OPTION:BTC-USD-240101-40000-PUT'],
  ['ETH-1JAN24-2000-C', 'DERIBIT:OPTION:ETH-USD-240101-2000-CALL'], ['ETH-1JAN24-2000-P', 'DERIBIT:OPTION:ETH-USD-240101-2000-PUT']];
const G_DIR = `raw_tick_data/by_date/day-${G_DAY}/data_type-trades`;
const G_RECORD = `${G_DIR}/_items/deribit/OPTIONS.json`;

function groupedData(name, rows) {
  const dir = path.join(work, name);
  fs.mkdirSync(dir, { recursive: true });
  let all = G_HEADER;
  const own = G_SYMS.map(() => G_HEADER);
  for (let i = 0; i < rows; i++) {
    const ts = 1704067200000000 + i * 7_000_000;
    const row = `deribit,${G_SYMS[i % 4][0]},${ts},${ts + 7},${i},${i % 2 ? 'sell' : 'buy'},0.${(i % 97) + 1},${(i % 50) + 1}\n`;
    all += row;
    own[i % 4] += row;
  }
  fs.writeFileSync(path.join(dir, `deribit_trades_${G_DAY}_OPTIONS.csv.gz`), zlib.gzipSync(all));
  G_SYMS.forEach(([sym], i) => fs.writeFileSync(path.join(dir, `deribit_trades_${G_DAY}_${sym}.csv.gz`), zlib.gzipSync(own[i])));
  return dir;
}

// One download of `symbols` into gs://bkt/PREFIX; resolves to the run with its --summary-json
// results by item id.
let gRuns = 0;
async function groupedRun(srv, prefix, { symbols = 'deribit:OPTIONS', env: extra = {}, args = [] } = {}) {
  const summary = path.join(work, `grouped-${++gRuns}.json`);
  const argv = ['download', '--from', G_DAY, '--symbols', symbols, '--data-types', 'trades', '--output', `gs://bkt/${prefix}`,
    '--summary-json', summary, ...args];
  const r = await run(argv, { TARDIS_DATASETS_URL: srv.url, TARDIS_API_KEY: 'k', ...extra });
  const s = fs.existsSync(summary) ? JSON.parse(fs.readFileSync(summary, 'utf8')) : { results: [] };
  r.items = Object.fromEntries(s.results.map((x) => [x.id.split('/').pop(), x]));
  r.describe = describe(argv, r);
  return r;
}

// The objects of the item below gs://bkt/PREFIX: parquet objects by key, and the record.
function groupedState(prefix) {
  const objects = {};
  for (const [name, o] of d.state.buckets.get('bkt') ?? new Map()) {
    if (name.startsWith(`${prefix}/${G_DIR}/`) && name.endsWith('.parquet')) objects[name.slice(prefix.length + G_DIR.length + 2, -8)] = o;
  }
  const rec = d.object('bkt', `${prefix}/${G_RECORD}`);
  return { objects, record: rec && JSON.parse(rec.blob.bytes().toString('utf8')), recordGeneration: rec?.generation };
}
const generations = (st) => Object.fromEntries(Object.entries(st.objects).map(([k, o]) => [k, o.generation]));
// A Parquet file's column chunks (everything before the footer, which holds created_at).
const chunks = (b) => b.subarray(0, b.length - 8 - b.readUInt32LE(b.length - 8));

// What must hold after any interleaving: each option's object exists once, whole (its column
// chunks are those of a lone run's object, byte for byte); the record lists exactly those
// objects with the rows the file holds for each; validate --deep reads every footer and calls
// the item complete; a rerun is skipped without a request.
// `lone` null: the runs wrote with other settings, so no lone run's bytes to compare with.
async function assertGroupedComplete(srv, prefix, lone) {
  const st = groupedState(prefix);
  assert.deepEqual(Object.keys(st.objects).sort(), G_SYMS.map(([, k]) => k).sort());
  for (const [key, o] of Object.entries(st.objects)) {
    const b = o.blob.bytes();
    assert.equal(b.subarray(0, 4).toString(), 'PAR1');
    assert.equal(b.subarray(-4).toString(), 'PAR1');
    if (lone) assert.ok(chunks(b).equals(chunks(lone.objects[key].blob.bytes())), `${key}: column chunks differ from a lone run's`);
  }
  assert.equal(st.record.outcome, 'done');
  assert.equal(st.record.rows, 800);
  assert.deepEqual(st.record.objects.map((o) => [o.name, o.instrument_key, o.rows]).sort(),
    G_SYMS.map(([, k]) => [`${G_DIR}/${k}.parquet`, k, 200]).sort());
  for (const o of st.record.objects) assert.equal(o.bytes, st.objects[o.instrument_key].blob.size, `${o.name}: size in the record`);
  const v = await run(['validate', '--from', G_DAY, '--symbols', 'deribit:OPTIONS', '--data-types', 'trades',
    '--output', `gs://bkt/${prefix}`, '--deep', '--read-only']);
  assert.equal(v.code, 0, describe(['validate'], v));
  assert.match(v.stdout, /^trades\s+4\s+4\s+0\s+0\s+0\s+0\s+0\s+800$/m, v.stdout);
  const before = srv.stats().requests.length;
  const again = await groupedRun(srv, prefix);
  assert.equal(again.code, 0, again.describe);
  assert.equal(again.items.OPTIONS.outcome, 'skipped');
  assert.equal(srv.stats().requests.length, before, 'the rerun makes no request');
  return st;
}

let gSrv;
let gLone;
async function groupedSetup() {
  if (!gSrv) gSrv = await startServer({ dataDirs: [groupedData('grouped-data', 800)] });
  gSrv.reset();
  await groupedRun(gSrv, 'lone');
  gLone = groupedState('lone');
  assert.equal(Object.keys(gLone.objects).length, 4);
  return gSrv;
}
after(async () => {
  await gSrv?.close();
});

test('grouped item, B after A\'s record: skipped without a request; B reading the file while A waits before its record: skipped, writes nothing', async () => {
  const srv = await groupedSetup();
  // A complete, then B.
  const a = await groupedRun(srv, 'seq');
  assert.equal(a.code, 0, a.describe);
  assert.equal(a.items.OPTIONS.outcome, 'done');
  assert.equal(a.items.OPTIONS.rows, 800);
  const tardis = srv.stats().requests.length;
  const b = await groupedRun(srv, 'seq');
  assert.equal(b.code, 0, b.describe);
  assert.equal(b.items.OPTIONS.outcome, 'skipped');
  assert.equal(b.items.OPTIONS.requests, 0);
  assert.equal(srv.stats().requests.length, tardis);
  await assertGroupedComplete(srv, 'seq', gLone);

  // A has committed every object and waits before its record; B asks for the file (no record
  // yet) and is held there until A's record is written; B then reads the file, finds the record
  // and writes none of the objects.
  const held = d.hold({ name: `held/${G_RECORD}` });
  const pa = groupedRun(srv, 'held');
  await held.arrived;
  const objectsOfA = generations(groupedState('held'));
  assert.equal(Object.keys(objectsOfA).length, 4, 'A committed its objects before its record');
  srv.setFaults({ holdRequests: { path: 'OPTIONS' } });
  const pb = groupedRun(srv, 'held');
  await srv.waitHeld(1);
  held.release();
  const a2 = await pa;
  srv.release();
  srv.setFaults({});
  const b2 = await pb;
  assert.equal(a2.code, 0, a2.describe);
  assert.equal(b2.code, 0, b2.describe);
  assert.equal(a2.items.OPTIONS.outcome, 'done');
  assert.equal(b2.items.OPTIONS.outcome, 'skipped');
  assert.equal(b2.items.OPTIONS.requests, 1);
  assert.match(b2.items.OPTIONS.reason, /completed meanwhile by another run \(its completion record appeared\)/);
  assert.equal(b2.stdout, '', 'B reports no object written');
  assert.deepEqual(generations(groupedState('held')), objectsOfA, 'B wrote none of the objects');
  await assertGroupedComplete(srv, 'held', gLone);
});

test('grouped item, B with --derive reading the file while A (without) completes it: B computes the series from A\'s objects', async () => {
  const srv = await groupedSetup();
  const series = G_SYMS.map(([, k]) => `sd/derived_data/by_date/day-${G_DAY}/data_type-trade_bar_1m/${k}.parquet`);
  const held = d.hold({ name: `sd/${G_RECORD}` });
  const pa = groupedRun(srv, 'sd');
  await held.arrived;
  const objectsOfA = generations(groupedState('sd'));
  srv.setFaults({ holdRequests: { path: 'OPTIONS' } });
  const pb = groupedRun(srv, 'sd', { args: ['--derive', 'trade_bar_1m'] });
  await srv.waitHeld(1);
  held.release();
  const a = await pa;
  srv.release();
  srv.setFaults({});
  const b = await pb;
  assert.equal(a.code, 0, a.describe);
  assert.equal(b.code, 0, b.describe);
  assert.equal(a.items.OPTIONS.outcome, 'done');
  // B read the file once, wrote none of its objects, and computed the series A did not.
  assert.equal(b.items.OPTIONS.outcome, 'done', b.describe);
  assert.equal(b.items.OPTIONS.requests, 1);
  assert.deepEqual(generations(groupedState('sd')), objectsOfA, 'B wrote none of the objects');
  assert.deepEqual(b.items.OPTIONS.objects.sort(), series.map((n) => `gs://bkt/${n}`).sort());
  for (const n of series) assert.ok(d.object('bkt', n), `${n}: computed`);
  const v = await run(['validate', '--from', G_DAY, '--symbols', 'deribit:OPTIONS', '--data-types', 'trades', '--derive', 'trade_bar_1m',
    '--output', 'gs://bkt/sd', '--read-only']);
  assert.equal(v.code, 0, describe(['validate'], v));
});

// Both runs read the file before either record exists, so both write every object. Checks what
// holds whatever the order: both exit 0, one is done and the other (whose create-only record
// came second) skipped, with the other run's objects. `paired`: the two runs only read the file
// at the same time, so the slower one may also find the record once it has read it (and write
// nothing). `series`: the derived objects the skipped run computed (it ran with --derive, the
// other did not), listed after the record's objects.
function assertOneDoneOneSkipped(x, y, { paired = false, series = [] } = {}) {
  for (const r of [x, y]) assert.equal(r.code, 0, r.describe);
  const outcomes = [x, y].map((r) => r.items.OPTIONS.outcome).sort();
  assert.deepEqual(outcomes, ['done', 'skipped'], `${x.describe}\n${y.describe}`);
  const [done, skipped] = x.items.OPTIONS.outcome === 'done' ? [x, y] : [y, x];
  assert.equal(done.items.OPTIONS.rows, 800);
  const raced = /^completed at the same time by another run \(its completion record was written first; it lists the objects this run wrote, with the same rows\)$/;
  const found = /^completed meanwhile by another run \(its completion record appeared\)$/;
  assert.match(skipped.items.OPTIONS.reason, paired ? new RegExp(`${raced.source}|${found.source}`) : raced);
  // Listed as the done run lists what it wrote (gs://bucket/prefix/name), not as bare record names.
  const listed = skipped.items.OPTIONS.objects;
  assert.deepEqual(listed.slice(listed.length - series.length), series);
  const raw = listed.slice(0, listed.length - series.length);
  assert.deepEqual(raw.sort(), done.items.OPTIONS.objects.sort());
  for (const o of raw) assert.match(o, new RegExp(`^gs://[^/]+/.+/${G_DIR}/[^/]+\\.parquet$`));
  assert.equal(raw.length, G_SYMS.length);
  const lines = (r) => r.stdout.split('\n').filter((l) => l.includes(`\t${G_DAY}/trades/deribit/OPTIONS\t`));
  assert.deepEqual(lines(skipped), [], 'the skipped run prints no object line for the item');
  assert.equal(lines(done).length, 4, done.describe);
  return { done, skipped };
}

test('grouped item, both write: B whole while A waits before its record, or at its third object; both at once', async () => {
  const srv = await groupedSetup();
  // 1. A waits before its record with every object committed; B runs whole: B's objects
  //    replace A's, B's record comes first, A is skipped.
  let held = d.hold({ name: `rec/${G_RECORD}` });
  let pa = groupedRun(srv, 'rec');
  await held.arrived;
  const objectsOfA = generations(groupedState('rec'));
  let b = await groupedRun(srv, 'rec');
  const objectsOfB = generations(groupedState('rec'));
  for (const k of Object.keys(objectsOfA)) assert.ok(objectsOfB[k] > objectsOfA[k], `${k} replaced by B`);
  held.release();
  let a = await pa;
  let r = assertOneDoneOneSkipped(a, b);
  assert.equal(r.done, b);
  assert.deepEqual(generations(groupedState('rec')), objectsOfB, 'A wrote nothing after its record lost');
  await assertGroupedComplete(srv, 'rec', gLone);

  // 2. A's third and fourth objects wait (its first ones are committed); B runs whole; then A
  //    writes its last objects over B's. The bucket then holds objects of both runs, and B's
  //    record lists them all with their rows.
  held = d.hold({ name: `mid/${G_DIR}/DERIBIT:`, skip: 2, count: 2 });
  pa = groupedRun(srv, 'mid', { env: { THREADS: '1' } });
  await held.arrived;
  const early = Object.keys(groupedState('mid').objects).length;
  assert.ok(early >= 1 && early <= 2, `A committed ${early} objects before it waits`);
  b = await groupedRun(srv, 'mid');
  const afterB = generations(groupedState('mid'));
  held.release();
  a = await pa;
  r = assertOneDoneOneSkipped(a, b);
  assert.equal(r.done, b);
  const end = generations(groupedState('mid'));
  // A's first object was replaced by B and never written again: objects of both runs.
  const ofA = Object.keys(end).filter((k) => end[k] !== afterB[k]);
  assert.ok(ofA.length >= 1 && ofA.length <= 3, `objects A wrote after B: ${ofA}`);
  await assertGroupedComplete(srv, 'mid', gLone);

  // 3. Both at once: each run's request for the file is held until the other asks too.
  srv.setFaults({ pairRequests: { waitMs: 20000 } });
  [a, b] = await Promise.all([groupedRun(srv, 'both'), groupedRun(srv, 'both')]);
  srv.setFaults({});
  assert.equal(srv.stats().byFault.pairRequests, 2, 'both runs read the file');
  assertOneDoneOneSkipped(a, b, { paired: true });
  await assertGroupedComplete(srv, 'both', gLone);
});

test('grouped and per-instrument items of the same options in two runs at once: no failure, each item done once at most', async () => {
  const srv = await groupedSetup();
  const symbols = 'deribit:OPTIONS,deribit:BTC-1JAN24-40000-C,deribit:ETH-1JAN24-2000-P';
  srv.setFaults({ pairRequests: { waitMs: 20000 } });
  const [a, b] = await Promise.all([groupedRun(srv, 'mix', { symbols }), groupedRun(srv, 'mix', { symbols })]);
  srv.setFaults({});
  assert.equal(srv.stats().byFault.pairRequests, 6, 'both runs read all three files');
  assertOneDoneOneSkipped(a, b, { paired: true });
  // A per-instrument item's object is one of the grouped file's: whichever run created it first
  // is done (or the grouped item was, which writes it over), the other is skipped, none failed.
  for (const id of ['BTC-1JAN24-40000-C', 'ETH-1JAN24-2000-P']) {
    const outcomes = [a, b].map((r) => r.items[id].outcome);
    assert.ok(outcomes.every((o) => o === 'done' || o === 'skipped'), `${id}: ${outcomes}`);
    assert.ok(outcomes.filter((o) => o === 'done').length <= 1, `${id}: ${outcomes}`);
    for (const r of [a, b]) {
      if (r.items[id].outcome === 'skipped') assert.equal(r.items[id].reason, 'created meanwhile by another run (create-only)');
    }
  }
  await assertGroupedComplete(srv, 'mix', gLone);
  const before = srv.stats().requests.length;
  const again = await groupedRun(srv, 'mix', { symbols });
  assert.equal(again.code, 0, again.describe);
  assert.deepEqual(Object.values(again.items).map((x) => x.outcome), ['skipped', 'skipped', 'skipped']);
  assert.equal(srv.stats().requests.length, before);
});

test('grouped item: a not_available record another run wrote while this one had the file is replaced by this run\'s', async () => {
  const srv = await groupedSetup();
  const empty = path.join(work, 'grouped-none');
  fs.mkdirSync(empty, { recursive: true });
  const none = await startServer({ dataDirs: [empty] });
  try {
    const answers404 = { env: { TARDIS_DATASETS_URL: none.url } };
    // 1. B asks for the file (no record yet) and is held; A's source answers 404 and A records
    //    not_available; B reads the file and finds that record.
    srv.setFaults({ holdRequests: { path: 'OPTIONS' } });
    const pb = groupedRun(srv, 'nf1');
    await srv.waitHeld(1);
    const a = await groupedRun(srv, 'nf1', answers404);
    assert.equal(a.code, 0, a.describe);
    assert.equal(a.items.OPTIONS.outcome, 'not_available');
    assert.equal(groupedState('nf1').record.outcome, 'not_available');
    srv.release();
    srv.setFaults({});
    const b = await pb;
    assert.equal(b.code, 0, b.describe);
    assert.equal(b.items.OPTIONS.outcome, 'done');
    await assertGroupedComplete(srv, 'nf1', gLone);

    // 2. The same with A's record after B's check: B waits at its first object, then finds the
    //    not_available record in place of its own create-only one.
    const held = d.hold({ name: `nf2/${G_DIR}/DERIBIT:` });
    const pb2 = groupedRun(srv, 'nf2');
    await held.arrived;
    const a2 = await groupedRun(srv, 'nf2', answers404);
    assert.equal(a2.items.OPTIONS.outcome, 'not_available');
    held.release();
    const b2 = await pb2;
    assert.equal(b2.code, 0, b2.describe);
    assert.equal(b2.items.OPTIONS.outcome, 'done');
    await assertGroupedComplete(srv, 'nf2', gLone);
  } finally {
    await none.close();
  }
});

test('grouped item: two runs at once over different files (the source changed): the second record\'s run fails (exit 1) and says --force; --force rewrites it', async () => {
  const srv = await groupedSetup();
  const changed = await startServer({ dataDirs: [groupedData('grouped-changed', 400)] });
  try {
    const held = d.hold({ name: `chg/${G_RECORD}` });
    const pa = groupedRun(srv, 'chg');
    await held.arrived;
    const b = await groupedRun(srv, 'chg', { env: { TARDIS_DATASETS_URL: changed.url } });
    assert.equal(b.code, 0, b.describe);
    assert.equal(b.items.OPTIONS.rows, 400);
    held.release();
    const a = await pa;
    assert.equal(a.code, 1, a.describe);
    assert.equal(a.items.OPTIONS.outcome, 'failed');
    assert.equal(a.items.OPTIONS.reason, 'another run completed this item at the same time with other contents (the other run\'s ' +
      'record lists 4 objects of 400 rows, this run wrote 4 objects of 800 rows; a changed source file or other instrument ' +
      'definitions); its objects may be from either run: download the item again with --force');
    assert.equal(groupedState('chg').record.rows, 400, 'the record that came first is kept');
    const forced = await groupedRun(srv, 'chg', { args: ['--force'] });
    assert.equal(forced.code, 0, forced.describe);
    assert.equal(forced.items.OPTIONS.outcome, 'done');
    await assertGroupedComplete(srv, 'chg', gLone);
  } finally {
    await changed.close();
  }
});

test('grouped item, both write with other settings (sizes differ): the record is given the sizes of the objects in the bucket', async () => {
  const srv = await groupedSetup();
  // A (zstd) waits at its third and fourth objects; B (no compression) runs whole; then A
  // writes its last objects over B's. B's record lists B's sizes; A, skipped, makes it
  // list the sizes the bucket holds.
  const held = d.hold({ name: `sizes/${G_DIR}/DERIBIT:`, skip: 2, count: 2 });
  const pa = groupedRun(srv, 'sizes', { env: { THREADS: '1' } });
  await held.arrived;
  const b = await groupedRun(srv, 'sizes', { args: ['--compression', 'none'] });
  const ofB = groupedState('sizes');
  const recordOfB = ofB.recordGeneration;
  held.release();
  const a = await pa;
  const { done } = assertOneDoneOneSkipped(a, b);
  assert.equal(done, b);
  const end = groupedState('sizes');
  const ofA = Object.keys(end.objects).filter((k) => end.objects[k].generation !== ofB.objects[k].generation);
  assert.ok(ofA.length >= 1, 'A wrote some objects after B');
  for (const k of ofA) assert.notEqual(end.objects[k].blob.size, ofB.objects[k].blob.size, `${k}: compressed differently`);
  assert.ok(end.recordGeneration > recordOfB, 'the record was rewritten');
  await assertGroupedComplete(srv, 'sizes', null);
});

test('one instrument, an object over the chunk size: a create-only session refused at its last request (the other run created it meanwhile) is skipped', async () => {
  // Generated: one Deribit option's trades day of 120,000 rows (made-up values, real row shape),
  // about 2 MB of Parquet: a resumable session of 256 KiB chunks.
  const dir = path.join(work, 'big-option');
  fs.mkdirSync(dir, { recursive: true });
  const rows = [G_HEADER];
  let x = 1;
  for (let i = 0; i < 120000; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const ts = 1704067200000000 + i * 700_000 + (x % 1000);
    rows.push(`deribit,BTC-1JAN24-40000-C,${ts},${ts + (x % 97)},${x},${x % 2 ? 'sell' : 'buy'},0.${x % 99991},${(x >>> 8) % 5000}\n`);
  }
  fs.writeFileSync(path.join(dir, `deribit_trades_${G_DAY}_BTC-1JAN24-40000-C.csv.gz`), zlib.gzipSync(rows.join('')));
  const srv = await startServer({ dataDirs: [dir] });
  try {
    const opts = { symbols: 'deribit:BTC-1JAN24-40000-C', env: { GCS_CHUNK_SIZE: '256K' } };
    const name = `big/${G_DIR}/DERIBIT:OPTION:BTC-USD-240101-40000-CALL.parquet`;
    // A's session has sent its first chunk and waits at its last request; B runs whole.
    const held = d.hold({ name });
    const pa = groupedRun(srv, 'big', opts);
    await held.arrived;
    const b = await groupedRun(srv, 'big', opts);
    const ofB = d.object('bkt', name);
    held.release();
    const a = await pa;
    for (const r of [a, b]) assert.equal(r.code, 0, r.describe);
    assert.equal(b.items['BTC-1JAN24-40000-C'].outcome, 'done');
    assert.equal(a.items['BTC-1JAN24-40000-C'].outcome, 'skipped');
    assert.equal(a.items['BTC-1JAN24-40000-C'].reason, 'created meanwhile by another run (create-only)');
    assert.equal(a.stdout, '');
    const refused = d.stats.requests.filter((q) => q.status === 412 && q.url.includes('upload_id='));
    assert.equal(refused.length, 1, JSON.stringify(d.stats.requests.map((q) => [q.method, q.status, q.contentRange])));
    const size = ofB.blob.size;
    assert.ok(size > 2 * 256 * 1024, `${size} bytes: more than one chunk`);
    const [, first] = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(refused[0].contentRange) ?? [];
    assert.equal(refused[0].contentRange, `bytes ${first}-${size - 1}/${size}`, 'the last request of A\'s session');
    assert.ok(Number(first) > 0 && Number(first) % (256 * 1024) === 0, 'after its other chunks');
    assert.equal(d.object('bkt', name), ofB, 'B\'s object is kept');
    const v = await run(['validate', '--from', G_DAY, '--symbols', opts.symbols, '--data-types', 'trades', '--output', 'gs://bkt/big', '--deep', '--read-only']);
    assert.equal(v.code, 0, describe(['validate'], v));
    assert.match(v.stdout, /^trades\s+1\s+1\s+0\s+0\s+0\s+0\s+0\s+120000$/m, v.stdout);
  } finally {
    await srv.close();
  }
});

test('grouped item with --derive: an object the other run replaces while this run reads it back is read again, no failure', async () => {
  const srv = await groupedSetup();
  const derive = ['--derive', 'trade_bar_1m'];
  const derived = (prefix, key) => d.object('bkt', `${prefix}/derived_data/by_date/day-${G_DAY}/data_type-trade_bar_1m/${key}.parquet`);
  await groupedRun(srv, 'lone-derive', { args: derive });
  // A has written every object and reads them back for its series: the read after the footer
  // of one object waits. B (no compression: other sizes and offsets) writes every object and
  // the record meanwhile, so A's next read of that object comes from B's version.
  const key = G_SYMS[0][1];
  const held = d.hold({ name: `dr/${G_DIR}/${key}.parquet`, on: 'read', skip: 1 });
  const pa = groupedRun(srv, 'dr', { args: derive });
  await held.arrived;
  const b = await groupedRun(srv, 'dr', { args: ['--compression', 'none'] });
  held.release();
  const a = await pa;
  // A lists its series beside B's objects: A computed them (B ran without --derive).
  const series = G_SYMS.map(([, k]) => `gs://bkt/dr/derived_data/by_date/day-${G_DAY}/data_type-trade_bar_1m/${k}.parquet`);
  const { done } = assertOneDoneOneSkipped(a, b, { series: series.sort() });
  assert.equal(done, b);
  const reads = d.stats.requests.filter((q) => q.route === 'media-get' && q.url.includes(encodeURIComponent(`dr/${G_DIR}/${key}`)));
  assert.ok(reads.length >= 4, `the object was read again: ${JSON.stringify(reads.map((q) => [q.range, q.status]))}`);
  for (const [, k] of G_SYMS) {
    const o = derived('dr', k);
    assert.ok(o, `${k}: derived object`);
    assert.ok(chunks(o.blob.bytes()).equals(chunks(derived('lone-derive', k).blob.bytes())), `${k}: derived column chunks differ from a lone run's`);
  }
  await assertGroupedComplete(srv, 'dr', null);
  const v = await run(['validate', '--from', G_DAY, '--symbols', 'deribit:OPTIONS', '--data-types', 'trades', '--derive', 'trade_bar_1m',
    '--output', 'gs://bkt/dr', '--deep', '--read-only']);
  assert.equal(v.code, 0, describe(['validate'], v));
});

// --- a big completion record read in pieces -----------------------------------------------------
// A grouped item's record is read in 4 MiB ranges of one generation (ReadItemRecord). Generated:
// the record of a day of `n` made-up options (one entry each, real entry shape), a few MB of text,
// so that it takes two pieces; `createdAt` tells two versions apart.
function bigRecord(n, createdAt) {
  const objects = [];
  for (let i = 0; i < n; i++) {
    const key = `DERIBIT:OPTION:BTC-USD-240101-${10000 + i}-${i % 2 ? 'PUT' : 'CALL'}`;
    objects.push({ name: `${G_DIR}/${key}.parquet`, instrument_key: key, rows: 200, bytes: 5000 + i,
      first_timestamp: '2024-01-01T00:00:00.000007Z', last_timestamp: '2024-01-01T23:59:53.000007Z' });
  }
  const rec = { item: `${G_DAY}/trades/deribit/OPTIONS`, outcome: 'done', rows: 200 * n, first_timestamp: '2024-01-01T00:00:00.000007Z',
    last_timestamp: '2024-01-01T23:59:53.000007Z', source: 'http://127.0.0.1:1/v1/data-feeds/deribit', reason: '', objects,
    tool_version: 'test', created_at: createdAt };
  const text = Buffer.from(JSON.stringify(rec, null, 1) + '\n');
  assert.ok(text.length > (4 << 20) + 4096 && text.length < 8 << 20, `${text.length} bytes: two pieces`);
  return { text, names: objects.map((o) => o.name) };
}
const recordReads = (name) => d.stats.requests.filter((q) => q.route === 'media-get' && q.url.includes(encodeURIComponent(name)));

test('grouped item: a record another run replaces between two of its pieces is read again, not the item downloaded again', async () => {
  const srv = await groupedSetup();
  const name = `rr/${G_RECORD}`;
  const a = bigRecord(16000, '2024-01-02T00:00:00Z');
  const b = bigRecord(16001, '2024-01-02T00:00:01Z');
  await runOk(['gcs', 'put', file('rec-a.json', a.text), `gs://bkt/${name}`]);
  // The record's second piece waits; another run replaces the record meanwhile, so that piece
  // (of the first generation) is gone.
  const held = d.hold({ name, on: 'read', skip: 1 });
  const tardis = srv.stats().requests.length;
  const pending = groupedRun(srv, 'rr', { env: { LOG_LEVEL: 'debug' } });
  await held.arrived;
  await runOk(['gcs', 'put', file('rec-b.json', b.text), `gs://bkt/${name}`, '--overwrite']);
  held.release();
  const r = await pending;
  assert.equal(r.code, 0, r.describe);
  assert.equal(r.items.OPTIONS.outcome, 'skipped', r.describe);
  assert.equal(r.items.OPTIONS.requests, 0);
  assert.equal(srv.stats().requests.length, tardis, 'the file was not downloaded again');
  assert.deepEqual(r.items.OPTIONS.objects, b.names.map((n) => `gs://bkt/rr/${n}`), 'the objects of the record that replaced it, once each');
  assert.deepEqual(recordReads(name).map((q) => q.status), [206, 404, 206, 206], 'two pieces of A (the second gone), then B whole');
  assert.match(r.stderr, /was replaced while it was read; read it again \(reading the completion record again, read 2 of 3\)/);
  assert.doesNotMatch(r.stderr, /downloading the item again/);
  assert.ok(stored(name).equals(b.text), 'the record is the other run\'s');
});

test('grouped item: a record whose pieces arrive damaged fails its CRC32C: read again; damaged every time, validate exits 3 naming it', async () => {
  const srv = await groupedSetup();
  const name = `crc/${G_RECORD}`;
  const a = bigRecord(16000, '2024-01-02T00:00:00Z');
  await runOk(['gcs', 'put', file('rec-c.json', a.text), `gs://bkt/${name}`]);
  // The first piece arrives with a byte flipped: the record's CRC32C, compared once its last piece
  // is read, does not match; the second read is whole.
  d.state.modes.corruptRanges = 1;
  const tardis = srv.stats().requests.length;
  const r = await groupedRun(srv, 'crc', { env: { LOG_LEVEL: 'debug' } });
  assert.equal(r.code, 0, r.describe);
  assert.equal(r.items.OPTIONS.outcome, 'skipped', r.describe);
  assert.equal(srv.stats().requests.length, tardis, 'the file was not downloaded again');
  assert.deepEqual(r.items.OPTIONS.objects, a.names.map((n) => `gs://bkt/crc/${n}`));
  assert.deepEqual(recordReads(name).map((q) => [q.status, !!q.corrupt]), [[206, true], [206, false], [206, false], [206, false]]);
  const checks = d.stats.requests.filter((q) => q.route !== 'media-get' && q.url.includes(`/o/${encodeURIComponent(name)}?generation=`));
  assert.equal(checks.length, 2, 'one check of the object resource per read');
  assert.match(r.stderr, new RegExp(`read gs://bkt/${name.replace(/[/.]/g, '\\$&')} in ranges: CRC32C mismatch: got \\S+ over ${a.text.length} bytes, the object has ${crcOf(a.text).replace(/[+/]/g, '\\$&')} over ${a.text.length}`));
  // Every piece damaged: nothing says which objects the item has, so validate stops, retryable.
  d.state.modes.corruptRanges = 1000;
  const v = await run(['validate', '--from', G_DAY, '--symbols', 'deribit:OPTIONS', '--data-types', 'trades', '--output', 'gs://bkt/crc', '--read-only']);
  assert.equal(v.code, 3, describe(['validate'], v));
  assert.match(v.stderr, new RegExp(`gs://bkt/${name.replace(/[/.]/g, '\\$&')} in ranges: CRC32C mismatch`));
});

// validate reads a grouped item's record twice: for the items it expects (the objects it lists,
// ExpectedFromPlan) and to check them (Validate). Either read, torn by another run's commit or
// failing the CRC32C, is made again as download's is (ReadItemRecordAgainIfTorn), not a stop with
// exit 3.
test('validate: a grouped item\'s record whose piece arrives damaged is read again: the item is complete, exit 0', async () => {
  await groupedSetup();
  const name = `lone/${G_RECORD}`;
  const before = recordReads(name).length;
  // The first ranged read (the expected items' read of the record) has a byte flipped.
  d.state.modes.corruptRanges = 1;
  const v = await run(['validate', '--from', G_DAY, '--symbols', 'deribit:OPTIONS', '--data-types', 'trades',
    '--output', 'gs://bkt/lone', '--deep', '--read-only'], { LOG_LEVEL: 'debug' });
  d.state.modes.corruptRanges = 0;
  assert.equal(v.code, 0, describe(['validate'], v));
  assert.match(v.stdout, /^trades\s+4\s+4\s+0\s+0\s+0\s+0\s+0\s+800$/m, v.stdout);
  assert.match(v.stdout, /^result: complete: 0 missing, 0 corrupt/m, v.stdout);
  assert.deepEqual(recordReads(name).slice(before).map((q) => [q.status, !!q.corrupt]),
    [[206, true], [206, false], [206, false]], 'damaged, read again whole, then read whole to check the items');
  assert.match(v.stderr, /CRC32C mismatch: .*read it again \(reading the completion record again, read 2 of 3\)/);
});

// derive --symbols deribit:OPTIONS takes the objects to compute from from the record: the same re-read.
test('derive: a grouped item\'s record whose piece arrives damaged is read again: every series computed, exit 0', async () => {
  const srv = await groupedSetup();
  const r0 = await groupedRun(srv, 'dcrc');
  assert.equal(r0.code, 0, r0.describe);
  const name = `dcrc/${G_RECORD}`;
  const before = recordReads(name).length;
  d.state.modes.corruptRanges = 1;
  const r = await run(['derive', '--from', G_DAY, '--symbols', 'deribit:OPTIONS', '--derive', 'trade_bar_1m',
    '--output', 'gs://bkt/dcrc'], { LOG_LEVEL: 'debug' });
  d.state.modes.corruptRanges = 0;
  assert.equal(r.code, 0, describe(['derive'], r));
  assert.deepEqual(recordReads(name).slice(before).map((q) => [q.status, !!q.corrupt]), [[206, true], [206, false]],
    'damaged, then read again whole');
  assert.match(r.stderr, /CRC32C mismatch: .*read it again \(reading the completion record again, read 2 of 3\)/);
  for (const [, key] of G_SYMS) {
    assert.ok(d.object('bkt', `dcrc/derived_data/by_date/day-${G_DAY}/data_type-trade_bar_1m/${key}.parquet`), `${key}: series`);
  }
});

// A validate report in a bucket opens in a browser as a page, not as a download: objects are
// uploaded with the content type of their name's extension.
test('uploads carry the content type of their extension: a validate report is text/html', async () => {
  await runOk(['convert', path.join(FIXTURE_DIR, 'bitmex_trades_2020-03-01_XBTUSD.csv.gz'), '--output', 'gs://bkt/ctype']);
  const v = await run(['validate', '--from', '2020-03-01', '--exchanges', 'bitmex', '--symbols', 'XBTUSD', '--data-types', 'trades',
    '--output', 'gs://bkt/ctype', '--report', 'gs://bkt/ctype/report.html']);
  assert.equal(v.code, 0, describe(['validate'], v));
  assert.equal(d.object('bkt', 'ctype/report.html').contentType, 'text/html; charset=utf-8');
  assert.equal(d.object('bkt', 'ctype/raw_tick_data/by_date/day-2020-03-01/data_type-trades/BITMEX:PERPETUAL:BTC-USD.parquet').contentType,
    'application/vnd.apache.parquet');
  for (const [name, type] of [['a.json', 'application/json'], ['a.csv', 'text/csv; charset=utf-8'], ['a.bin', 'application/octet-stream']]) {
    await runOk(['gcs', 'put', file(name, 'x'), `gs://bkt/ctype/${name}`]);
    assert.equal(d.object('bkt', `ctype/${name}`).contentType, type, name);
  }
});

// derive reads a raw object's column chunks in ranges, which carry no checksum of their own: each
// page's CRC-32 (in its header) finds a chunk damaged on its way, and the chunk is read again.
test('derive from gs://: a column chunk damaged on its way fails its page CRC-32 and is read again: the same series; damaged every time, exit 1 naming it, nothing written', async () => {
  const raw = 'pcrc/raw_tick_data/by_date/day-2020-03-01/data_type-trades/BITMEX:PERPETUAL:BTC-USD.parquet';
  const bar = 'pcrc/derived_data/by_date/day-2020-03-01/data_type-trade_bar_1m/BITMEX:PERPETUAL:BTC-USD.parquet';
  await runOk(['convert', path.join(FIXTURE_DIR, 'bitmex_trades_2020-03-01_XBTUSD.csv.gz'), '--output', 'gs://bkt/pcrc']);
  const sel = ['derive', '--from', '2020-03-01', '--exchanges', 'bitmex', '--derive', 'trade_bar_1m', '--output', 'gs://bkt/pcrc'];
  await runOk(sel, { SOURCE_DATE_EPOCH: '1700000000' });
  const whole = stored(bar);
  assert.ok(whole && stored(raw));
  await runOk(['gcs', 'rm', `gs://bkt/${bar}`]);
  // The first column chunk read arrives with a byte flipped.
  d.state.modes.corruptStartRanges = 1;
  const once = await run(sel, { SOURCE_DATE_EPOCH: '1700000000' });
  assert.equal(d.state.modes.corruptStartRanges, 0, 'a chunk read was damaged');
  assert.equal(once.code, 0, describe(sel, once));
  assert.match(once.stderr, /BITMEX:PERPETUAL:BTC-USD\.parquet: row group 0 column '\w+': the page at chunk byte \d+ fails its CRC-32 \(the header has 0x[0-9a-f]{8}, its bytes give 0x[0-9a-f]{8}\); reading the column chunk again \(read 2 of 3\)/);
  assert.ok(stored(bar).equals(whole), 'the series of the undamaged object');
  await runOk(['gcs', 'rm', `gs://bkt/${bar}`]);
  d.state.modes.corruptStartRanges = 1000;
  const always = await run(sel, { SOURCE_DATE_EPOCH: '1700000000' });
  d.state.modes.corruptStartRanges = 0;
  assert.equal(always.code, 1, describe(sel, always));
  assert.match(always.stderr, new RegExp(`gs://bkt/${raw.replace(/[/.]/g, '\\$&')}: row group 0 column '\\w+': the page at chunk byte \\d+ fails its CRC-32 \\(.*\\) in each of 3 reads: the file is damaged where it is stored; write it again`));
  assert.equal(stored(bar), undefined, 'no series from damaged values');
});

test('validate: a grouped item\'s record another run replaces between two pieces of the check\'s read is read again: the right verdict, not exit 3', async () => {
  await groupedSetup();
  const name = `vr/${G_RECORD}`;
  const a = bigRecord(16000, '2024-01-02T00:00:00Z');
  const b = bigRecord(16000, '2024-01-02T00:00:01Z');  // the same objects, another version
  await runOk(['gcs', 'put', file('rec-va.json', a.text), `gs://bkt/${name}`]);
  // The expected items' read (two pieces) passes; the check's read waits before its second piece,
  // and another run's record replaces the first meanwhile, so that piece is gone.
  const held = d.hold({ name, on: 'read', skip: 3 });
  const pending = run(['validate', '--from', G_DAY, '--symbols', 'deribit:OPTIONS', '--data-types', 'trades',
    '--output', 'gs://bkt/vr', '--read-only'], { LOG_LEVEL: 'debug' });
  await held.arrived;
  await runOk(['gcs', 'put', file('rec-vb.json', b.text), `gs://bkt/${name}`, '--overwrite']);
  held.release();
  const v = await pending;
  // No object of the record exists: each of its 16,000 objects is missing, as the record says.
  assert.equal(v.code, 1, describe(['validate'], v));
  assert.match(v.stdout, /^trades\s+16000\s+0\s+0\s+0\s+0\s+16000\s+0\s+-$/m, v.stdout);
  assert.deepEqual(recordReads(name).map((q) => q.status), [206, 206, 206, 404, 206, 206],
    'A whole, one piece of A then the second gone, then B whole');
  assert.match(v.stderr, /was replaced while it was read; read it again \(reading the completion record again, read 2 of 3\)/);
});

test('gcs cp under ulimit -n 32 with --jobs 16: fewer transfers at once, said once, every file copied both ways', async () => {
  // Each transfer holds its connection, the HTTP library's wake-up pair and the local file: 16 of them
  // passed 32 descriptors, and copies failed with "Too many open files" (exit 2).
  const src = path.join(work, 'nofile-src');
  fs.mkdirSync(src);
  const want = new Map();
  for (let i = 0; i < 40; i++) {
    const data = bytes(100_000 + i, 100 + i);
    fs.writeFileSync(path.join(src, `f${i}.bin`), data);
    want.set(`f${i}.bin`, data);
  }
  const said = /--jobs 16: the open-file limit \(ulimit -n\) of 32 leaves room for \d+ transfers at once; running that many/;
  const up = await run(['gcs', 'cp', '-r', '--jobs', '16', src, 'gs://bkt/nofile/'], {}, { maxOpenFiles: 32 });
  assert.equal(up.code, 0, describe(['gcs', 'cp', 'up'], up));
  assert.match(up.stderr, said);
  assert.equal(up.stderr.match(/open-file limit/g).length, 1, 'said once');
  assert.match(up.stderr, /40 copied \([^)]*\), 0 skipped \(exist\), 0 failed/);
  for (const [name, data] of want) assert.ok(stored(`nofile/nofile-src/${name}`)?.equals(data), name);

  const dst = path.join(work, 'nofile-dst');
  fs.mkdirSync(dst);
  const down = await run(['gcs', 'cp', '-r', '--jobs', '16', 'gs://bkt/nofile/nofile-src', dst], {}, { maxOpenFiles: 32 });
  assert.equal(down.code, 0, describe(['gcs', 'cp', 'down'], down));
  assert.match(down.stderr, said);
  assert.equal(down.stderr.match(/open-file limit/g).length, 1, 'said once');
  assert.deepEqual(fs.readdirSync(path.join(dst, 'nofile-src')).sort(), [...want.keys()].sort(), 'every file, no temporary one left');
  for (const [name, data] of want) assert.ok(fs.readFileSync(path.join(dst, 'nofile-src', name)).equals(data), name);
});

test('download to gs:// under ulimit -n 256 with --concurrency 64, 600 options and one grouped file: fewer in flight, the limit never reached, every item done', async () => {
  // A file in flight on GCS holds its download's connection and wake-up pair and an upload client
  // (another connection and pair), and the grouped file's writers hold their uploads and footer spills
  // beside them: counted at four descriptors a file, the files in flight reached the limit, and
  // uploads or the grouped file's spill failed with "Too many open files".
  const dir = path.join(work, 'nofile-dl');
  fs.mkdirSync(dir);
  const months = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT'];
  const option = (i) => `${i % 2 ? 'ETH' : 'BTC'}-${1 + ((i >> 1) % 10)}${months[(i >> 1) % 10]}24-${1000 + 500 * (i >> 5)}-${(i >> 4) % 2 ? 'P' : 'C'}`;
  const n = 600;
  for (let i = 0; i < n; i++) {
    let csv = G_HEADER;
    for (let k = 0; k < 50; k++) csv += `deribit,${option(i)},${1704067200000000 + k * 1000},${1704067200000007 + k * 1000},${k},buy,0.${k + 1},${k + 1}\n`;
    fs.writeFileSync(path.join(dir, `deribit_trades_${G_DAY}_${option(i)}.csv.gz`), zlib.gzipSync(csv));
  }
  const grouped = 3000;
  const rows = [G_HEADER];
  for (let i = 0; i < grouped; i++) {
    const ts = 1704067200000000 + i * 100;
    rows.push(`deribit,${i % 2 ? 'ETH' : 'BTC'}-29MAR24-${1000 + i}-${(i >> 1) % 2 ? 'P' : 'C'},${ts},${ts + 7},${i},buy,0.5,1\n`);
  }
  fs.writeFileSync(path.join(dir, `deribit_trades_${G_DAY}_OPTIONS.csv.gz`), zlib.gzipSync(rows.join('')));
  const srv = await startServer({ dataDirs: [dir] });
  try {
    const summary = path.join(work, 'nofile-dl.json');
    const symbols = ['deribit:OPTIONS', ...Array.from({ length: n }, (_, i) => `deribit:${option(i)}`)].join(',');
    const args = ['download', '--from', G_DAY, '--exchanges', 'deribit', '--data-types', 'trades', '--symbols', symbols,
      '--output', 'gs://bkt/nofile-dl', '--concurrency', '64', '--threads', '2', '--summary-json', summary];
    // The descriptors the process holds, sampled while it runs.
    let peak = 0;
    let poll;
    const r = await run(args, { TARDIS_DATASETS_URL: srv.url, TARDIS_API_URL: srv.url, SOURCE_DATE_EPOCH: '1700000000' }, {
      maxOpenFiles: 256,
      onSpawn: (child) => {
        poll = setInterval(() => {
          try {
            peak = Math.max(peak, fs.readdirSync(`/proc/${child.pid}/fd`).length);
          } catch {}
        }, 2);
      },
    });
    clearInterval(poll);
    const said = describe(args.map((a) => (a.length > 200 ? `${a.slice(0, 200)}…` : a)), r);
    assert.equal(r.code, 0, said);
    assert.match(r.stderr, /--concurrency 64: the open-file limit \(ulimit -n\) of 256 leaves room for \d+ files in flight; running that many/);
    assert.match(r.stderr, new RegExp(`summary: ${n + 1} items: ${n + 1} done, 0 skipped, 0 no data, 0 not available, 0 failed, 0 failed \\(retryable\\), 0 cancelled`), said);
    assert.doesNotMatch(r.stderr, /Too many open files/, said);
    assert.ok(peak > 64 && peak < 256, `peak open descriptors ${peak}: below the limit of 256`);
    const results = JSON.parse(fs.readFileSync(summary, 'utf8')).results;
    assert.equal(results.length, n + 1);
    assert.deepEqual(results.filter((x) => x.outcome !== 'done').map((x) => x.id), []);
    const objects = [...d.state.buckets.get('bkt').keys()].filter((k) => k.startsWith('nofile-dl/') && k.endsWith('.parquet'));
    assert.equal(objects.length, n + grouped, 'one object per option, of the grouped file and of each one-instrument file');
    console.log(`# download to gs:// under ulimit -n 256: peak ${peak} open descriptors`);
  } finally {
    await srv.close();
  }
});

// Validate runs over different exchanges at the same time (one per exchange, a fleet's way) each merge the day's
// missing-data report with the rows of the items they did not check. The report was replaced as read: a run whose
// write came second dropped the other's rows, and a --from-report round then missed those items. Run A is held
// right before it writes the report; run B writes its own meanwhile; A's write must not replace B's.
test('validate: two runs over different exchanges at once keep both runs\' rows in the day\'s missing-data report', async () => {
  const day = '2020-03-01';
  const store = 'gs://bkt/mr';
  const validate = (exchange, symbol) => run(['validate', '--from', day, '--exchanges', exchange, '--symbols', `${exchange}:${symbol}`,
    '--data-types', 'trades', '--output', store]);
  const held = d.hold({ name: 'mr/missing_data_reports/by_date/day-2020-03-01/missing_data.parquet' });
  const pa = validate('binance-futures', 'BTCUSDT');
  await held.arrived;
  const b = await validate('bitmex', 'XBTUSD');
  assert.equal(b.code, 1, describe(['validate', 'bitmex'], b));
  assert.match(b.stdout, /^missing\t2020-03-01\ttrades\tBITMEX:PERPETUAL:BTC-USD$/m, b.stdout);
  held.release();
  const a = await pa;
  assert.equal(a.code, 1, describe(['validate', 'binance-futures'], a));
  assert.match(a.stdout, /^missing\t2020-03-01\ttrades\tBINANCE-FUTURES:PERPETUAL:BTC-USDT$/m, a.stdout);
  assert.doesNotMatch(a.stderr, /^E /m, a.stderr);
  // The report plans both items again.
  const plan = await runOk(['download', '--from', day, '--from-report', '--dry-run', '--output', store],
    { TARDIS_DATASETS_URL: 'http://127.0.0.1:9' });
  const urls = plan.stdout.split('\n').filter((l) => l.startsWith('http')).sort();
  assert.deepEqual(urls, ['http://127.0.0.1:9/v1/binance-futures/trades/2020/03/01/BTCUSDT.csv.gz',
    'http://127.0.0.1:9/v1/bitmex/trades/2020/03/01/XBTUSD.csv.gz'], plan.stdout);
});

// A Parquet object is read in ranges: its footer, then its pages at the footer's offsets. Another run may replace
// it in between (instruments runs, one per exchange, merge into the same day file). The download that read the
// footer of one version and pages of the next failed for good ("replace it with --force", exit 2), or worse read
// garbage. Run A's first page read of the day file is held while run B merges another exchange into the file.
test('download: a day\'s definitions another instruments run replaces between the footer and the pages are read again', async (t) => {
  const data = tmpDir('replaced-defs');
  const header = 'exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n';
  fs.writeFileSync(path.join(data, 'kraken_trades_2024-03-01_XBT-USD.csv.gz'),
    zlib.gzipSync(header + 'kraken,XBT/USD,1709251200000000,1709251200000100,1,buy,60000,1\n'));
  fs.writeFileSync(path.join(data, 'bitstamp_trades_2024-03-01_BTCUSD.csv.gz'),
    zlib.gzipSync(header + 'bitstamp,btcusd,1709251200000000,1709251200000100,1,buy,60000,1\n'));
  const srv = await startServer({ dataDirs: [data] });
  t.after(async () => {
    await srv.close();
    fs.rmSync(data, { recursive: true, force: true });
  });
  const tardis = { TARDIS_API_URL: srv.url, TARDIS_DATASETS_URL: srv.url, TARDIS_API_KEY: 'k', SOURCE_DATE_EPOCH: '1700000000' };
  const store = 'gs://bkt/rr';
  await runOk(['instruments', '--from', '2024-03-01', '--exchanges', 'kraken', '--output', store], tardis);
  const held = d.hold({ name: 'rr/instrument_availability/by_date/day-2024-03-01/instruments.parquet', on: 'read', skip: 1 });
  const pa = run(['download', '--from', '2024-03-01', '--exchanges', 'kraken', '--data-types', 'trades', '--output', store], tardis);
  await held.arrived;
  await runOk(['instruments', '--from', '2024-03-01', '--exchanges', 'bitstamp', '--output', store], tardis);
  held.release();
  const a = await pa;
  assert.equal(a.code, 0, describe(['download', 'kraken'], a));
  assert.match(a.stdout, /^done\t2024-03-01\/trades\/kraken\/XBT-USD\tgs:\/\/bkt\/rr\/raw_tick_data\/by_date\/day-2024-03-01\/data_type-trades\/KRAKEN:SPOT_PAIR:BTC-USD\.parquet$/m, a.stdout);
  const v = await run(['validate', '--from', '2024-03-01', '--exchanges', 'kraken', '--output', store, '--read-only'], tardis);
  assert.equal(v.code, 0, describe(['validate'], v));
});

// instruments for nine exchanges into a bucket under `ulimit -n 24`: the connections left idle by the check of the
// month's day files held every descriptor, so the metadata fetches failed as "Couldn't connect to server", exit 3,
// in most runs. Idle connections now take a quarter of the limit at most, and the fetches what it leaves room for.
test('instruments into a bucket under ulimit -n 24: every run completes', async () => {
  const srv = await startServer({ exchangeDetailsDir: path.join(ROOT, 'tests', 'fixtures', 'exchange_details') });
  try {
    const exchanges = 'binance-futures,binance,bybit-spot,bybit,deribit,okex-futures,okex-swap,okex,upbit';
    for (let i = 0; i < 3; i++) {
      const args = ['instruments', '--from', '2023-11-01', '--to', '2023-11-30', '--exchanges', exchanges,
        '--output', `gs://bkt/lowfd${i}`];
      const r = await run(args, { TARDIS_API_URL: srv.url, RETRY_MAX_ATTEMPTS: '2', SOURCE_DATE_EPOCH: '1700000000' },
        { maxOpenFiles: 24 });
      assert.equal(r.code, 0, describe(args, r));
      assert.ok(stored(`lowfd${i}/instrument_availability/by_date/day-2023-11-30/instruments.parquet`), 'the last day written');
    }
  } finally {
    await srv.close();
  }
});

