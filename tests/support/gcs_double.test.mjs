// Tests of the GCS test double against the behaviour Google documents for the JSON API (the
// pages are cited in gcs_double.mjs). Raw HTTP on 127.0.0.1, so that what is checked is the wire
// format a client sees. Run: node --test tests/support/

import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import crypto from 'node:crypto';
import { startGcsDouble, crc32cExtend, crc32cBase64 } from './gcs_double.mjs';

const Q = 256 * 1024;
let d;
let keys;

function req(url, { method = 'GET', headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const r = http.request(url, { method, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const buf = Buffer.concat(chunks);
        let json = null;
        try {
          json = JSON.parse(buf.toString('utf8'));
        } catch {}
        resolve({ status: res.statusCode, headers: res.headers, raw: res.rawHeaders, body: buf, json });
      });
    });
    r.on('error', reject);
    if (body !== undefined) r.end(body);
    else r.end();
  });
}

const bytes = (n, seed = 1) => {
  const b = Buffer.alloc(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
};
const crcOf = (b) => crc32cBase64(crc32cExtend(0, b));
const media = (name, body, extra = '') =>
  req(`${d.url}/upload/storage/v1/b/bkt/o?uploadType=media&name=${encodeURIComponent(name)}${extra}`, { method: 'POST', body, headers: { 'Content-Type': 'application/octet-stream' } });
async function startSession(name, extra = '') {
  const r = await req(`${d.url}/upload/storage/v1/b/bkt/o?uploadType=resumable&name=${encodeURIComponent(name)}${extra}`, {
    method: 'POST', body: JSON.stringify({ name }), headers: { 'Content-Type': 'application/json' },
  });
  return r;
}

before(async () => {
  keys = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  d = await startGcsDouble({ publicKeyPem: keys.publicKey.export({ type: 'spki', format: 'pem' }), clientEmail: 'sa@demo.iam.gserviceaccount.com' });
});
after(() => d.close());
beforeEach(() => d.reset());

test('CRC32C vectors (RFC 3720 B.4, the check value, Google client docs)', () => {
  assert.equal(crc32cExtend(0, Buffer.from('123456789')), 0xe3069283);
  assert.equal(crc32cExtend(0, Buffer.alloc(32)), 0x8a9136aa);
  assert.equal(crcOf(Buffer.from('data')), 'rth90Q==');
  assert.equal(crcOf(Buffer.from('some text\n')), 'DkjKuA==');
  const b = bytes(100_003);
  assert.equal(crc32cExtend(crc32cExtend(0, b.subarray(0, 77)), b.subarray(77)), crc32cExtend(0, b));
});

test('media upload returns the object resource; ifGenerationMatch=0 on a live object is 412', async () => {
  const body = bytes(1000);
  const r = await media('dir/a b:c+%ü.bin', body, '&ifGenerationMatch=0');
  assert.equal(r.status, 200);
  assert.equal(r.json.name, 'dir/a b:c+%ü.bin');
  assert.equal(r.json.size, '1000'); // int64 as a string, as the JSON API sends it
  assert.equal(r.json.crc32c, crcOf(body));
  assert.equal(r.json.md5Hash, crypto.createHash('md5').update(body).digest('base64'));
  const again = await media('dir/a b:c+%ü.bin', bytes(5), '&ifGenerationMatch=0');
  assert.equal(again.status, 412);
  assert.equal(again.json.error.code, 412);
  const replaced = await media('dir/a b:c+%ü.bin', bytes(5));
  assert.equal(replaced.status, 200);
  assert.ok(Number(replaced.json.generation) > Number(r.json.generation));
  assert.equal((await media('x', bytes(1), `&ifGenerationMatch=${replaced.json.generation}`)).status, 412);
});

test('a wrong x-goog-hash crc32c is rejected with 400, a right one accepted', async () => {
  const body = bytes(300);
  const bad = await req(`${d.url}/upload/storage/v1/b/bkt/o?uploadType=media&name=h`, { method: 'POST', body, headers: { 'X-Goog-Hash': 'crc32c=AAAAAA==' } });
  assert.equal(bad.status, 400);
  assert.match(bad.json.error.message, /CRC32C/);
  assert.equal((await req(`${d.url}/storage/v1/b/bkt/o/h`)).status, 404);
  const good = await req(`${d.url}/upload/storage/v1/b/bkt/o?uploadType=media&name=h`, { method: 'POST', body, headers: { 'X-Goog-Hash': `crc32c=${crcOf(body)}` } });
  assert.equal(good.status, 200);
});

test('resumable: Location, 308 with Range, status queries, 256 KiB rule, final 200', async () => {
  const data = bytes(2 * Q + 1234, 3);
  const init = await startSession('big/x.parquet');
  assert.equal(init.status, 200);
  const loc = init.headers.location;
  assert.match(loc, /upload_id=/);
  // Nothing stored yet: 308 without a Range header.
  let r = await req(loc, { method: 'PUT', headers: { 'Content-Range': 'bytes */*' }, body: '' });
  assert.equal(r.status, 308);
  assert.equal(r.headers.range, undefined);
  // A non-final chunk that is not a 256 KiB multiple is refused.
  r = await req(loc, { method: 'PUT', headers: { 'Content-Range': `bytes 0-${Q - 2}/*` }, body: data.subarray(0, Q - 1) });
  assert.equal(r.status, 400);
  r = await req(loc, { method: 'PUT', headers: { 'Content-Range': `bytes 0-${Q - 1}/*` }, body: data.subarray(0, Q) });
  assert.equal(r.status, 308);
  assert.equal(r.headers.range, `bytes=0-${Q - 1}`);
  assert.equal(r.headers.location, undefined); // a 308 here is not a redirect
  r = await req(loc, { method: 'PUT', headers: { 'Content-Range': `bytes */${data.length}` }, body: '' });
  assert.equal(r.status, 308);
  assert.equal(r.headers.range, `bytes=0-${Q - 1}`);
  r = await req(loc, { method: 'PUT', headers: { 'Content-Range': `bytes ${Q}-${data.length - 1}/${data.length}`, 'X-Goog-Hash': `crc32c=${crcOf(data)}` }, body: data.subarray(Q) });
  assert.equal(r.status, 200);
  assert.equal(r.json.size, String(data.length));
  assert.equal(r.json.crc32c, crcOf(data));
  // A finished session answers a status query with the object.
  r = await req(loc, { method: 'PUT', headers: { 'Content-Range': `bytes */${data.length}` }, body: '' });
  assert.equal(r.status, 200);
  const got = await req(`${d.url}/storage/v1/b/bkt/o/${encodeURIComponent('big/x.parquet')}?alt=media`);
  assert.ok(got.body.equals(data));
});

test('resumable create-only: 412 at the start, and at the end when the object appeared meanwhile', async () => {
  await media('taken', bytes(10));
  assert.equal((await startSession('taken', '&ifGenerationMatch=0')).status, 412);
  const init = await startSession('race', '&ifGenerationMatch=0');
  assert.equal(init.status, 200);
  await media('race', bytes(3));
  const r = await req(init.headers.location, { method: 'PUT', body: bytes(10) });
  assert.equal(r.status, 412);
});

test('a failed chunk keeps what was stored; the status query reports it; cancel is 499 then 404', async () => {
  const data = bytes(3 * Q, 4);
  const loc = (await startSession('f')).headers.location;
  d.setFaults([{ on: 'chunk', status: 503, keepBytes: Q }]);
  let r = await req(loc, { method: 'PUT', headers: { 'Content-Range': `bytes 0-${2 * Q - 1}/*` }, body: data.subarray(0, 2 * Q) });
  assert.equal(r.status, 503);
  r = await req(loc, { method: 'PUT', headers: { 'Content-Range': 'bytes */*' }, body: '' });
  assert.equal(r.status, 308);
  assert.equal(r.headers.range, `bytes=0-${Q - 1}`);
  // Resending from an earlier offset is fine: stored bytes are skipped.
  r = await req(loc, { method: 'PUT', headers: { 'Content-Range': `bytes 0-${2 * Q - 1}/*` }, body: data.subarray(0, 2 * Q) });
  assert.equal(r.headers.range, `bytes=0-${2 * Q - 1}`);
  assert.equal((await req(loc, { method: 'DELETE' })).status, 499);
  assert.equal((await req(loc, { method: 'PUT', headers: { 'Content-Range': 'bytes */*' }, body: '' })).status, 404);
});

test('media reads: Range forms, 416, two x-goog-hash headers, generation', async () => {
  const data = bytes(1000, 5);
  const up = await media('r', data);
  const url = `${d.url}/storage/v1/b/bkt/o/r?alt=media`;
  let r = await req(url);
  assert.ok(r.body.equals(data));
  const hashes = [];
  for (let i = 0; i < r.raw.length; i += 2) if (r.raw[i].toLowerCase() === 'x-goog-hash') hashes.push(r.raw[i + 1]);
  assert.deepEqual(hashes, [`crc32c=${crcOf(data)}`, `md5=${up.json.md5Hash}`]);
  assert.equal(r.headers['x-goog-generation'], up.json.generation);
  r = await req(url, { headers: { Range: 'bytes=10-19' } });
  assert.equal(r.status, 206);
  assert.equal(r.headers['content-range'], 'bytes 10-19/1000');
  assert.ok(r.body.equals(data.subarray(10, 20)));
  r = await req(url, { headers: { Range: 'bytes=-8' } });
  assert.equal(r.headers['content-range'], 'bytes 992-999/1000');
  r = await req(url, { headers: { Range: 'bytes=1000-' } });
  assert.equal(r.status, 416);
  assert.equal((await req(`${url}&generation=1`)).status, 404);
  // The object resource of a generation: the live one's, else 404 (no versioning).
  const meta = `${d.url}/storage/v1/b/bkt/o/r`;
  r = await req(`${meta}?generation=${up.json.generation}&fields=size%2Ccrc32c`);
  assert.equal(r.status, 200);
  assert.equal(r.json.crc32c, crcOf(data));
  assert.equal(r.json.size, '1000');
  assert.equal((await req(`${meta}?generation=1`)).status, 404);
});

test('corruptRanges: that many ranged reads come with their middle byte flipped, headers and resource unchanged', async () => {
  const data = bytes(1000, 6);
  await media('c', data);
  const url = `${d.url}/storage/v1/b/bkt/o/c?alt=media`;
  d.state.modes.corruptRanges = 1;
  let r = await req(url, { headers: { Range: 'bytes=100-199' } });
  assert.equal(r.status, 206);
  const want = Buffer.from(data.subarray(100, 200));
  want[50] ^= 1;
  assert.ok(r.body.equals(want));
  assert.match(r.headers['x-goog-hash'], new RegExp(`^crc32c=${crcOf(data).replace(/[+/]/g, '\\$&')},`), 'the stored object\'s');
  r = await req(url, { headers: { Range: 'bytes=100-199' } });
  assert.ok(r.body.equals(data.subarray(100, 200)), 'the next range is whole');
  assert.ok((await req(url)).body.equals(data), 'whole reads are not damaged');
  assert.equal(d.stats.requests.filter((q) => q.corrupt).length, 1);
});

test('list: prefix, maxResults pages with nextPageToken, no items key when empty', async () => {
  for (const n of ['p/1', 'p/2', 'p/3', 'p/4', 'p/5', 'q/1']) await media(n, bytes(3));
  const names = [];
  let token = '';
  let pages = 0;
  do {
    const r = await req(`${d.url}/storage/v1/b/bkt/o?prefix=p%2F&maxResults=2${token ? `&pageToken=${token}` : ''}`);
    assert.equal(r.status, 200);
    names.push(...r.json.items.map((i) => i.name));
    token = r.json.nextPageToken ?? '';
    pages++;
  } while (token);
  assert.equal(pages, 3);
  assert.deepEqual(names, ['p/1', 'p/2', 'p/3', 'p/4', 'p/5']);
  const empty = await req(`${d.url}/storage/v1/b/bkt/o?prefix=zzz`);
  assert.equal(empty.json.items, undefined);
});

test('delete: ifGenerationMatch, 204, then 404', async () => {
  const up = await media('del', bytes(3));
  assert.equal((await req(`${d.url}/storage/v1/b/bkt/o/del?ifGenerationMatch=1`, { method: 'DELETE' })).status, 412);
  assert.equal((await req(`${d.url}/storage/v1/b/bkt/o/del?ifGenerationMatch=${up.json.generation}`, { method: 'DELETE' })).status, 204);
  assert.equal((await req(`${d.url}/storage/v1/b/bkt/o/del`, { method: 'DELETE' })).status, 404);
});

test('faults: 503 then success, drop, Retry-After', async () => {
  d.setFaults([{ on: 'get', status: 503, count: 2, retryAfter: 1 }]);
  await media('g', bytes(1));
  const a = await req(`${d.url}/storage/v1/b/bkt/o/g`);
  assert.equal(a.status, 503);
  assert.equal(a.headers['retry-after'], '1');
  assert.equal((await req(`${d.url}/storage/v1/b/bkt/o/g`)).status, 503);
  assert.equal((await req(`${d.url}/storage/v1/b/bkt/o/g`)).status, 200);
  d.setFaults([{ on: 'get', status: 'drop' }]);
  await assert.rejects(req(`${d.url}/storage/v1/b/bkt/o/g`));
  // afterStore: the media upload creates its object, then the connection drops instead of the answer.
  d.setFaults([{ on: 'media', status: 'drop', afterStore: true }]);
  await assert.rejects(req(`${d.url}/upload/storage/v1/b/bkt/o?uploadType=media&name=landed&ifGenerationMatch=0`, { method: 'POST', body: bytes(10, 3) }));
  assert.ok(d.object('bkt', 'landed').blob.bytes().equals(bytes(10, 3)));
});

function jwt(claims, key = keys.privateKey) {
  const h = Buffer.from(JSON.stringify({ alg: 'RS256', typ: 'JWT' })).toString('base64url');
  const c = Buffer.from(JSON.stringify(claims)).toString('base64url');
  const sig = crypto.sign('sha256', Buffer.from(`${h}.${c}`), key).toString('base64url');
  return `${h}.${c}.${sig}`;
}

test('token endpoint checks the RS256 JWT; tokens expire; storage needs one in token mode', async () => {
  const t = await startGcsDouble({ auth: 'token', tokenTtlSeconds: 1, publicKeyPem: keys.publicKey.export({ type: 'spki', format: 'pem' }), clientEmail: 'sa@demo.iam.gserviceaccount.com' });
  try {
    const now = Math.floor(Date.now() / 1000);
    const claims = { iss: 'sa@demo.iam.gserviceaccount.com', scope: 'https://www.googleapis.com/auth/devstorage.read_write', aud: `${t.url}/token`, iat: now, exp: now + 3600 };
    const grant = (assertion) => req(`${t.url}/token`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion }).toString() });
    const other = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const badSig = await grant(jwt(claims, other));
    assert.equal(badSig.status, 400);
    assert.equal(badSig.json.error, 'invalid_grant');
    assert.equal((await grant(jwt({ ...claims, aud: 'http://elsewhere/token' }))).status, 400);
    assert.equal((await grant(jwt({ ...claims, exp: now + 7200 }))).status, 400);
    const ok = await grant(jwt(claims));
    assert.equal(ok.status, 200);
    assert.equal(ok.json.token_type, 'Bearer');
    assert.equal(ok.json.expires_in, 1);
    const url = `${t.url}/storage/v1/b/bkt/o?prefix=`;
    assert.equal((await req(url)).status, 401);
    assert.equal((await req(url, { headers: { Authorization: `Bearer ${ok.json.access_token}` } })).status, 200);
    await new Promise((r) => setTimeout(r, 1100));
    assert.equal((await req(url, { headers: { Authorization: `Bearer ${ok.json.access_token}` } })).status, 401);
    // Metadata server: the header is required.
    const md = `${t.url}/computeMetadata/v1/instance/service-accounts/default/token`;
    assert.equal((await req(md)).status, 403);
    const mt = await req(md, { headers: { 'Metadata-Flavor': 'Google' } });
    assert.equal(mt.status, 200);
    assert.ok(mt.json.access_token);
  } finally {
    await t.close();
  }
});

test('list with a delimiter: deeper names fold into prefixes, paged with the objects in name order', async () => {
  for (const n of ['d/a', 'd/b/1', 'd/b/2', 'd/c', 'd/e/x/y', 'top']) await req(`${d.url}/upload/storage/v1/b/bkt/o?uploadType=media&name=${encodeURIComponent(n)}`, { method: 'POST', body: 'x' });
  const one = await req(`${d.url}/storage/v1/b/bkt/o?prefix=d%2F&delimiter=%2F`);
  assert.deepEqual(one.json.items.map((o) => o.name), ['d/a', 'd/c']);
  assert.deepEqual(one.json.prefixes, ['d/b/', 'd/e/']);
  const pages = [];
  let token = '';
  do {
    const r = await req(`${d.url}/storage/v1/b/bkt/o?prefix=d%2F&delimiter=%2F&maxResults=1${token ? `&pageToken=${token}` : ''}`);
    pages.push([...(r.json.items ?? []).map((o) => o.name), ...(r.json.prefixes ?? [])]);
    token = r.json.nextPageToken ?? '';
  } while (token);
  assert.deepEqual(pages, [['d/a'], ['d/b/'], ['d/c'], ['d/e/']]);
  const all = await req(`${d.url}/storage/v1/b/bkt/o?prefix=d%2F`);
  assert.equal(all.json.items.length, 5);
  assert.equal(all.json.prefixes, undefined);
});

test('token endpoint: refresh-token grant (RFC 6749 s6): the issuing client only; unknown or revoked -> invalid_grant', async () => {
  const t = await startGcsDouble({ auth: 'token', refreshTokens: [['1//rt-good', { clientId: 'cid', clientSecret: 'cs' }]] });
  try {
    const grant = (fields) => req(`${t.url}/token`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: 'refresh_token', ...fields }).toString() });
    const ok = await grant({ client_id: 'cid', client_secret: 'cs', refresh_token: '1//rt-good' });
    assert.equal(ok.status, 200);
    assert.match(ok.json.access_token, /^ya29\./);
    assert.equal((await req(`${t.url}/storage/v1/b/bkt/o?prefix=`, { headers: { Authorization: `Bearer ${ok.json.access_token}` } })).status, 200);
    const wrongClient = await grant({ client_id: 'cid', client_secret: 'nope', refresh_token: '1//rt-good' });
    assert.equal(wrongClient.status, 401);
    assert.equal(wrongClient.json.error, 'invalid_client');
    const unknown = await grant({ client_id: 'cid', client_secret: 'cs', refresh_token: '1//other' });
    assert.equal(unknown.status, 400);
    assert.equal(unknown.json.error, 'invalid_grant');
    t.state.refreshTokens.get('1//rt-good').revoked = true;
    const revoked = await grant({ client_id: 'cid', client_secret: 'cs', refresh_token: '1//rt-good' });
    assert.equal(revoked.status, 400);
    assert.equal(revoked.json.error, 'invalid_grant');
    assert.deepEqual(t.stats.grants, ['refresh_token', 'refresh_token', 'refresh_token', 'refresh_token']);
  } finally {
    await t.close();
  }
});

test('hold: uploads of a matching name wait before they create the object (after `skip` others), and the precondition is checked when released', async () => {
  const h = d.hold({ name: 'held/', skip: 1 });
  assert.equal((await media('held/first', bytes(10, 1), '&ifGenerationMatch=0')).status, 200, 'skipped: not held');
  let answered = null;
  const pending = media('held/x', bytes(10, 2), '&ifGenerationMatch=0').then((r) => { answered = r; return r; });
  await h.arrived;
  assert.equal(h.held(), 1);
  assert.equal(d.object('bkt', 'held/x'), undefined, 'nothing created while held');
  // Another writer creates the object meanwhile (count 1: it is not held).
  assert.equal((await media('held/x', bytes(10, 3), '&ifGenerationMatch=0')).status, 200);
  assert.equal(answered, null);
  h.release();
  const r = await pending;
  assert.equal(r.status, 412, 'the held create-only upload finds the object');
  assert.ok(d.object('bkt', 'held/x').blob.bytes().equals(bytes(10, 3)));
  // Sessions too: held at their last request.
  const h2 = d.hold({ name: 'held/s' });
  const s = await startSession('held/s');
  const put = req(s.headers.location, { method: 'PUT', body: bytes(5, 4), headers: { 'Content-Range': 'bytes 0-4/5' } });
  await h2.arrived;
  assert.equal(d.object('bkt', 'held/s'), undefined);
  h2.release();
  assert.equal((await put).status, 200);
  assert.ok(d.object('bkt', 'held/s').blob.bytes().equals(bytes(5, 4)));
});

test('hold on reads: a media read of a matching name waits, then answers from the object as it is when released', async () => {
  assert.equal((await media('r/x', bytes(10, 5))).status, 200);
  const h = d.hold({ name: 'r/x', on: 'read' });
  const pending = req(`${d.url}/download/storage/v1/b/bkt/o/${encodeURIComponent('r/x')}?alt=media`, { headers: { Range: 'bytes=0-3' } });
  await h.arrived;
  assert.equal((await media('r/x', bytes(10, 6))).status, 200, 'uploads are not held by a read hold');
  h.release();
  const r = await pending;
  assert.equal(r.status, 206);
  assert.ok(r.body.equals(bytes(10, 6).subarray(0, 4)), 'the bytes of the object that replaced it');
  assert.throws(() => d.hold({ name: 'x', on: 'list' }), /on must be 'upload' or 'read'/);
});
