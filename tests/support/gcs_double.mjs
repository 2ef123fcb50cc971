#!/usr/bin/env node
// GCS JSON API test double: a scripted server for what the firebase storage emulator does not do:
// create-only preconditions (412), resumable uploads in
// chunks (308 + Range, status queries), 5xx and dropped connections, checksum rejection and
// mismatch, an OAuth token endpoint that checks RS256 service-account JWTs and refresh tokens
// (gcloud's user credentials), and a GCE metadata server, all issuing expiring tokens. Written from Google's documentation, not from an
// implementation; gcs_double.test.mjs states each documented rule it follows:
//   - uploads:      https://cloud.google.com/storage/docs/uploading-objects
//   - resumable:    https://cloud.google.com/storage/docs/performing-resumable-uploads
//                   (308 "Resume Incomplete" with `Range: bytes=0-N`, no Range when nothing is
//                   stored; status query `Content-Range: bytes */SIZE` or `bytes */*`; chunks other
//                   than the last are multiples of 256 KiB; DELETE on the session URI -> 499)
//   - preconditions: https://cloud.google.com/storage/docs/request-preconditions
//                   (ifGenerationMatch=0: only if no live object; failure -> 412)
//   - checksums:    https://cloud.google.com/storage/docs/data-validation (x-goog-hash
//                   crc32c/md5, base64 of big-endian bytes; a wrong one is rejected with 400)
//   - retries:      https://cloud.google.com/storage/docs/retry-strategy (408, 429, 5xx)
//   - JWT grant:    RFC 7523 and Google's "OAuth 2.0 for Server to Server Applications"
//   - refresh grant: RFC 6749 section 6 (client_id, client_secret, refresh_token); errors as in
//                   section 5.2 (invalid_grant for an expired or revoked refresh token)
//   - metadata:     `Metadata-Flavor: Google` required, else 403
// Node 20 built-ins only.
//
// In process:  const d = await startGcsDouble({ auth: 'token', publicKeyPem, tokenTtlSeconds: 2,
//                                              refreshTokens: [[token, { clientId, clientSecret }]] });
//              d.url, d.setFaults([...]), d.state, d.stats, await d.close()
// CLI:         node tests/support/gcs_double.mjs --port 0 [--port-file F] [--discard-bytes]
//
// Faults: setFaults([{ on, status, count, nth, keepBytes, retryAfter, afterStore, location }, ...]); each call
// replaces the set. `on` is a route: media, init, chunk, query, get, media-get, list, delete,
// token, metadata, or any. `status` is an HTTP status, 'drop' (the connection is destroyed
// before an answer) or 'cut' (the answer breaks off after its status line; on media-get after
// half of the object's bytes). `nth` (0-based) picks the nth request of that route (default: the next);
// `count` how many times it fires (default 1). For `chunk`, `keepBytes` bytes of the failed
// chunk are stored before the failure (what a status query will then report). For `media`,
// `afterStore: true` creates the object first and then fails in place of the answer (an upload
// that landed, its answer lost). `location: true` adds a Location header naming the request's own
// URL (with status 307 or 308: a redirect to where it was sent).
// Modes (opts or d.state.modes): corruptStored (objects report a crc32c that is not the one of
// the bytes sent, and the x-goog-hash check is skipped: a store that damaged the data), shortStore (a 308 stores only 256 KiB of a
// larger chunk, once), latencyMs (delay before each upload answer), stallReads (a whole-object
// read sends half the bytes, then nothing), corruptRanges (a count: that many ranged reads (206)
// answer with the middle byte of their range flipped, their headers and the object resource
// those of the object stored: a transfer damaged on the way), corruptStartRanges (the same for
// ranged reads that name their first byte, bytes=N-M: a reader's column chunks, not the tail
// read that finds a Parquet footer), discardBytes (keep only size and
// checksums: for multi-GB uploads).
// Holds (interleaving two clients deterministically): d.hold({ name, count, skip, on }) lets `skip`
// (default 0) uploads of an object whose name contains `name` through, then makes the next
// `count` (default 1) such uploads wait right before they
// would create the object (before the precondition is checked, so it is checked against the
// store as it is when released). It returns { arrived, held, release }: `arrived` resolves when
// the first such upload waits, `held()` counts those waiting, `release()` lets them all go on.
// With on: 'read' it holds media reads (whole or ranged) of the object instead, answered from
// the object as it is when released. reset() and close() release every hold.

import http from 'node:http';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';

const HOST = '127.0.0.1';
const QUANTUM = 256 * 1024;

// ------------------------------------------------------------------------------------------------
// CRC32C (Castagnoli, reflected 0x82F63B78), slice-by-8.

const CRC_TABLES = (() => {
  const t = Array.from({ length: 8 }, () => new Uint32Array(256));
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[0][i] = c >>> 0;
  }
  for (let i = 0; i < 256; i++) {
    for (let s = 1; s < 8; s++) t[s][i] = (t[s - 1][i] >>> 8) ^ t[0][t[s - 1][i] & 0xff];
  }
  return t;
})();

/** Extends a finished CRC32C with `buf` (crc32cExtend(0, b) is the CRC of b). */
export function crc32cExtend(crc, buf) {
  const [t0, t1, t2, t3, t4, t5, t6, t7] = CRC_TABLES;
  let c = ~crc >>> 0;
  let i = 0;
  const n = buf.length;
  for (; i + 8 <= n; i += 8) {
    c ^= buf[i] | (buf[i + 1] << 8) | (buf[i + 2] << 16) | (buf[i + 3] << 24);
    c = t7[c & 0xff] ^ t6[(c >>> 8) & 0xff] ^ t5[(c >>> 16) & 0xff] ^ t4[c >>> 24] ^
      t3[buf[i + 4]] ^ t2[buf[i + 5]] ^ t1[buf[i + 6]] ^ t0[buf[i + 7]];
  }
  for (; i < n; i++) c = t0[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

export function crc32cBase64(crc) {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(crc >>> 0);
  return b.toString('base64');
}

// ------------------------------------------------------------------------------------------------
// Object bytes: kept whole, or (discardBytes) only size and checksums.

class Blob {
  constructor(keep) {
    this.keep = keep;
    this.parts = [];
    this.size = 0;
    this.crc = 0;
    this.md5 = keep ? crypto.createHash('md5') : null; // skipped for multi-GB discard runs
  }
  append(buf) {
    if (this.keep) this.parts.push(buf);
    this.size += buf.length;
    this.crc = crc32cExtend(this.crc, buf);
    this.md5?.update(buf);
  }
  bytes() {
    if (!this.keep) throw new Error('bytes were discarded');
    if (this.parts.length !== 1) this.parts = [Buffer.concat(this.parts)];
    return this.parts[0] ?? Buffer.alloc(0);
  }
}

// ------------------------------------------------------------------------------------------------

function b64urlJson(s) {
  return JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));
}

export async function startGcsDouble(opts = {}) {
  const state = {
    buckets: new Map(), // bucket -> Map(name -> object)
    sessions: new Map(), // id -> session
    tokens: new Map(), // token -> expiresAtMs
    refreshTokens: new Map(opts.refreshTokens ?? []), // refresh token -> { clientId, clientSecret, revoked }
    faults: [],
    routeCounts: {},
    modes: {
      corruptStored: false,
      shortStore: false,
      latencyMs: 0,
      corruptRanges: 0,
      corruptStartRanges: 0,
      discardBytes: !!opts.discardBytes,
      ...(opts.modes ?? {}),
    },
    nextGeneration: 1_700_000_000_000_000,
    holds: [], // { name, count, waiting: [resolve], arrivedResolve, released }
  };
  const stats = {
    requests: [], // {method, route, url, contentRange, range, bodyBytes, status, authorized}
    tokensIssued: 0,
    issuedTokens: [], // every access token handed out (tests grep outputs for them)
    grants: [], // grant_type of each token request
    unauthorized: 0,
    maxBodyBytes: 0,
  };
  const auth = opts.auth ?? 'none'; // 'none' | 'token'
  const ttl = opts.tokenTtlSeconds ?? 3600;
  let baseUrl = '';

  const bucketMap = (b) => {
    if (!state.buckets.has(b)) state.buckets.set(b, new Map());
    return state.buckets.get(b);
  };

  function resource(bucket, o) {
    const crc = state.modes.corruptStored ? (o.blob.crc ^ 1) >>> 0 : o.blob.crc;
    return {
      kind: 'storage#object',
      id: `${bucket}/${o.name}/${o.generation}`,
      name: o.name,
      bucket,
      generation: String(o.generation),
      metageneration: '1',
      contentType: o.contentType,
      size: String(o.blob.size),
      crc32c: crc32cBase64(crc),
      md5Hash: o.md5,
      updated: o.updated,
    };
  }

  function issueToken() {
    const t = 'ya29.double-' + crypto.randomBytes(12).toString('hex');
    state.tokens.set(t, Date.now() + ttl * 1000);
    stats.tokensIssued++;
    stats.issuedTokens.push(t);
    return { access_token: t, expires_in: ttl, token_type: 'Bearer' };
  }

  function takeFault(route) {
    const n = state.routeCounts[route] ?? 0;
    state.routeCounts[route] = n + 1;
    for (const f of state.faults) {
      if (f.on !== route && f.on !== 'any') continue;
      if ((f.count ?? 1) <= 0) continue;
      if (f.nth !== undefined && f.nth !== n) continue;
      f.count = (f.count ?? 1) - 1;
      return f;
    }
    return null;
  }

  // Checks a preconditions against the live object; returns an error status or 0.
  function precondition(live, ifGenerationMatch) {
    if (ifGenerationMatch === null) return 0;
    const want = Number(ifGenerationMatch);
    if (want === 0) return live ? 412 : 0;
    return live && live.generation === want ? 0 : 412;
  }

  // An upload about to create `name` waits here while a hold matches it (see the header).
  // Returns whether it waited.
  async function holdPoint(name, on = 'upload') {
    const h = state.holds.find((x) => !x.released && x.count > 0 && x.on === on && name.includes(x.name));
    if (!h) return false;
    if (h.skip > 0) {
      h.skip--;
      return false;
    }
    h.count--;
    const p = new Promise((resolve) => h.waiting.push(resolve));
    h.arrivedResolve();
    await p;
    return true;
  }

  async function finalize(bucket, s, res, send) {
    await holdPoint(s.name);
    const objects = bucketMap(bucket);
    const live = objects.get(s.name);
    const pre = precondition(live, s.ifGenerationMatch);
    if (pre) return send(pre, { error: { code: 412, message: 'At least one of the pre-conditions you specified did not hold.', errors: [{ reason: 'conditionNotMet' }] } });
    if (s.hash && !state.modes.corruptStored) {
      const m = /crc32c=([^,\s]+)/.exec(s.hash);
      if (m && m[1] !== crc32cBase64(s.blob.crc)) {
        s.dead = true;
        return send(400, { error: { code: 400, message: `Provided CRC32C "${m[1]}" doesn't match calculated CRC32C "${crc32cBase64(s.blob.crc)}".` } });
      }
    }
    const o = {
      name: s.name,
      blob: s.blob,
      generation: state.nextGeneration++,
      contentType: s.contentType || 'application/octet-stream',
      md5: s.blob.md5 ? s.blob.md5.digest('base64') : undefined,
      updated: new Date().toISOString(),
    };
    objects.set(s.name, o);
    s.done = o;
    return send(200, resource(bucket, o));
  }

  async function readBody(req) {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
  }

  async function handle(req, res) {
    const url = new URL(req.url, 'http://x');
    const q = url.searchParams;
    const p = url.pathname;
    const contentRange = req.headers['content-range'] ?? '';
    const entry = { method: req.method, route: '?', url: req.url, contentRange, range: req.headers.range, bodyBytes: 0, status: 0, authorized: null };
    stats.requests.push(entry);
    if (stats.requests.length > 5000) stats.requests.shift();

    const send = (status, body, headers = {}) => {
      entry.status = status;
      const text = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
      const h = { ...headers };
      if (text) h['Content-Type'] = typeof body === 'string' ? 'text/plain' : 'application/json; charset=UTF-8';
      h['Content-Length'] = Buffer.byteLength(text);
      res.writeHead(status, h);
      res.end(text);
    };
    // A response cut after its status line: unlike a connection closed before any byte (which
    // libcurl silently retries on a fresh connection when the old one was reused), the client
    // sees it.
    const cut = () => {
      entry.status = 'cut';
      req.socket.end('HTTP/1.1 503 Service Unavailable\r\nX-Cut: ');
      setImmediate(() => req.socket.destroy());
    };
    const applyFault = (f) => {
      if (f.status === 'drop') {
        entry.status = 'drop';
        req.socket.destroy();
      } else if (f.status === 'cut') {
        cut();
      } else {
        const h = f.retryAfter !== undefined ? { 'Retry-After': String(f.retryAfter) } : {};
        if (f.location) h.Location = req.url;
        send(f.status, { error: { code: f.status, message: `injected ${f.status}` } }, h);
      }
    };
    const fault = (route) => {
      entry.route = route;
      const f = takeFault(route);
      if (f) applyFault(f);
      return f;
    };

    // --- token endpoint (JWT bearer grant, RFC 7523)
    if (req.method === 'POST' && p === '/token') {
      const body = (await readBody(req)).toString('utf8');
      if (fault('token')) return;
      const form = new URLSearchParams(body);
      const bad = (why) => send(400, { error: 'invalid_grant', error_description: why });
      stats.grants.push(form.get('grant_type'));
      // Refresh-token grant (RFC 6749 section 6; gcloud's authorized_user credentials): the
      // client must be the one the refresh token was issued to (else 401 invalid_client); a
      // token the double does not know, or one marked revoked, is invalid_grant, as Google
      // answers for an expired or revoked refresh token.
      if (form.get('grant_type') === 'refresh_token') {
        const user = state.refreshTokens.get(form.get('refresh_token') ?? '');
        if (user && (form.get('client_id') !== user.clientId || form.get('client_secret') !== user.clientSecret)) {
          return send(401, { error: 'invalid_client', error_description: 'The OAuth client was not found.' });
        }
        if (!user || user.revoked) return bad('Token has been expired or revoked.');
        return send(200, issueToken());
      }
      if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer') return bad('unsupported grant_type');
      const jwt = form.get('assertion') ?? '';
      const parts = jwt.split('.');
      if (parts.length !== 3) return bad('malformed assertion');
      let header, claims;
      try {
        header = b64urlJson(parts[0]);
        claims = b64urlJson(parts[1]);
      } catch {
        return bad('malformed assertion');
      }
      if (header.alg !== 'RS256') return bad('alg must be RS256');
      if (!opts.publicKeyPem) return bad('no key configured');
      const ok = crypto.verify('sha256', Buffer.from(parts[0] + '.' + parts[1]), opts.publicKeyPem, Buffer.from(parts[2], 'base64url'));
      if (!ok) return bad('Invalid JWT Signature.');
      const now = Date.now() / 1000;
      if (opts.clientEmail && claims.iss !== opts.clientEmail) return bad('unknown iss');
      if (claims.aud !== `${baseUrl}/token`) return bad(`aud must be ${baseUrl}/token`);
      if (!String(claims.scope ?? '').split(' ').some((s) => s.startsWith('https://www.googleapis.com/auth/devstorage'))) return bad('no storage scope');
      if (!(claims.exp > claims.iat && claims.exp - claims.iat <= 3600)) return bad('exp must be within an hour of iat');
      if (Math.abs(claims.iat - now) > 300) return bad('Invalid JWT: Token must be a short-lived token and in a reasonable timeframe.');
      return send(200, issueToken());
    }

    // --- GCE metadata server
    if (p === '/computeMetadata/v1/instance/service-accounts/default/token') {
      if (fault('metadata')) return;
      if (req.headers['metadata-flavor'] !== 'Google') return send(403, 'Missing required header: Metadata-Flavor');
      return send(200, issueToken());
    }

    // --- storage: auth first
    if (auth === 'token') {
      const m = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
      const exp = m ? state.tokens.get(m[1]) : undefined;
      entry.authorized = !!(exp && exp > Date.now());
      if (!entry.authorized) {
        stats.unauthorized++;
        await readBody(req);
        return send(401, { error: { code: 401, message: 'Invalid Credentials', errors: [{ reason: 'authError' }] } }, { 'WWW-Authenticate': 'Bearer realm="https://accounts.google.com/"' });
      }
    }

    let m;
    // --- uploads
    if ((m = /^\/upload\/storage\/v1\/b\/([^/]+)\/o$/.exec(p))) {
      const bucket = decodeURIComponent(m[1]);
      const type = q.get('uploadType');
      const uploadId = q.get('upload_id');
      if (uploadId !== null) return handleSession(req, res, bucket, uploadId, entry, send, fault, cut);
      if (req.method === 'POST' && type === 'media') {
        const body = await readBody(req);
        entry.bodyBytes = body.length;
        stats.maxBodyBytes = Math.max(stats.maxBodyBytes, body.length);
        entry.route = 'media';
        const f = takeFault('media');
        if (f && !f.afterStore) return applyFault(f);
        const name = q.get('name');
        if (!name) return send(400, { error: { code: 400, message: 'Required parameter: name' } });
        const blob = new Blob(!state.modes.discardBytes);
        blob.append(body);
        const s = { name, blob, ifGenerationMatch: q.get('ifGenerationMatch'), hash: req.headers['x-goog-hash'], contentType: req.headers['content-type'] };
        // afterStore: the upload is done (the object exists), then the fault replaces its answer.
        return finalize(bucket, s, res, f ? (status, b, h) => (status === 200 ? applyFault(f) : send(status, b, h)) : send);
      }
      if (req.method === 'POST' && type === 'resumable') {
        const body = (await readBody(req)).toString('utf8');
        if (fault('init')) return;
        let meta = {};
        try {
          meta = body ? JSON.parse(body) : {};
        } catch {
          return send(400, { error: { code: 400, message: 'bad metadata' } });
        }
        const name = q.get('name') ?? meta.name;
        if (!name) return send(400, { error: { code: 400, message: 'Required parameter: name' } });
        const ifGen = q.get('ifGenerationMatch');
        const pre = precondition(bucketMap(bucket).get(name), ifGen);
        if (pre) return send(pre, { error: { code: 412, message: 'At least one of the pre-conditions you specified did not hold.' } });
        const id = crypto.randomBytes(16).toString('hex');
        state.sessions.set(id, {
          name, bucket, ifGenerationMatch: ifGen, blob: new Blob(!state.modes.discardBytes), done: null, dead: false,
          contentType: req.headers['x-upload-content-type'] ?? meta.contentType,
        });
        const loc = `${baseUrl}/upload/storage/v1/b/${encodeURIComponent(bucket)}/o?uploadType=resumable&name=${encodeURIComponent(name)}&upload_id=${id}`;
        return send(200, undefined, { Location: loc });
      }
      return send(400, { error: { code: 400, message: `unsupported upload ${req.method} ${type}` } });
    }

    // --- objects: media, metadata, delete
    const media = /^\/download\/storage\/v1\/b\/([^/]+)\/o\/(.+)$/.exec(p);
    if (media || (m = /^\/storage\/v1\/b\/([^/]+)\/o\/(.+)$/.exec(p))) {
      const [, b, n] = media ?? m;
      const bucket = decodeURIComponent(b);
      const name = decodeURIComponent(n);
      let o = bucketMap(bucket).get(name);
      const notFound = () => send(404, { error: { code: 404, message: `No such object: ${bucket}/${name}`, errors: [{ reason: 'notFound' }] } });
      if (req.method === 'DELETE') {
        if (fault('delete')) return;
        if (!o) return notFound();
        const pre = precondition(o, q.get('ifGenerationMatch'));
        if (pre) return send(pre, { error: { code: 412, message: 'At least one of the pre-conditions you specified did not hold.' } });
        bucketMap(bucket).delete(name);
        return send(204);
      }
      if (req.method !== 'GET') return send(405, { error: { code: 405 } });
      if (media || q.get('alt') === 'media') {
        entry.route = 'media-get';
        const f = takeFault('media-get');
        if (f && f.status !== 'cut') return applyFault(f);
        if (await holdPoint(name, 'read')) o = bucketMap(bucket).get(name); // the object as it is now
        if (!o || (q.get('generation') && Number(q.get('generation')) !== o.generation)) return notFound();
        const data = o.blob.bytes();
        const stored = state.modes.corruptStored ? (o.blob.crc ^ 1) >>> 0 : o.blob.crc;
        const headers = {
          'x-goog-hash': [`crc32c=${crc32cBase64(stored)}`, `md5=${o.md5}`], // two headers, as GCS sends
          'x-goog-generation': String(o.generation),
          'x-goog-stored-content-length': String(data.length),
          'Accept-Ranges': 'bytes',
        };
        const range = req.headers.range;
        if (range) {
          const r = /^bytes=(\d*)-(\d*)$/.exec(range);
          let start, end;
          if (r && r[1] === '' && r[2] !== '') {
            start = Math.max(0, data.length - Number(r[2]));
            end = data.length - 1;
          } else if (r && r[1] !== '') {
            start = Number(r[1]);
            end = r[2] === '' ? data.length - 1 : Math.min(Number(r[2]), data.length - 1);
          }
          if (start === undefined || start >= data.length || end < start) {
            return send(416, 'Request range not satisfiable', { 'Content-Range': `bytes */${data.length}` });
          }
          entry.status = 206;
          let body = data.subarray(start, end + 1);
          const fromStart = r && r[1] !== '' && state.modes.corruptStartRanges > 0;
          if (state.modes.corruptRanges > 0 || fromStart) {
            if (fromStart) state.modes.corruptStartRanges--;
            else state.modes.corruptRanges--;
            body = Buffer.from(body);
            body[body.length >> 1] ^= 1;
            entry.corrupt = true;
          }
          res.writeHead(206, { ...headers, 'Content-Range': `bytes ${start}-${end}/${data.length}`, 'Content-Length': end - start + 1, 'Content-Type': o.contentType });
          return res.end(body);
        }
        entry.status = 200;
        res.writeHead(200, { ...headers, 'Content-Length': data.length, 'Content-Type': o.contentType });
        if (state.modes.stallReads) {
          // Half of the object, then nothing more until the client gives up (an interrupt test).
          entry.status = 'stall';
          return res.write(data.subarray(0, data.length >> 1));
        }
        if (f && f.status === 'cut') {
          // The transfer breaks after half of the object: the client resumes with a Range.
          entry.status = 'cut';
          res.write(data.subarray(0, data.length >> 1));
          return setTimeout(() => req.socket.destroy(), 20);
        }
        return res.end(data);
      }
      if (fault('get')) return;
      // generation=N: that generation's resource; only the live one is kept (no versioning).
      if (!o || (q.get('generation') && Number(q.get('generation')) !== o.generation)) return notFound();
      return send(200, resource(bucket, o));
    }

    // --- list
    if ((m = /^\/storage\/v1\/b\/([^/]+)\/o$/.exec(p)) && req.method === 'GET') {
      if (fault('list')) return;
      const bucket = decodeURIComponent(m[1]);
      const prefix = q.get('prefix') ?? '';
      const max = Math.min(Number(q.get('maxResults') ?? 1000) || 1000, 1000);
      const after = q.get('pageToken') ? Buffer.from(q.get('pageToken'), 'base64url').toString('utf8') : null;
      // With a delimiter, names with it after the prefix fold into one prefix entry each
      // ("prefixes"); objects and prefixes share the name order and the pages.
      const delimiter = q.get('delimiter') ?? '';
      const keys = new Set();
      for (const k of bucketMap(bucket).keys()) {
        if (!k.startsWith(prefix)) continue;
        const cut = delimiter ? k.indexOf(delimiter, prefix.length) : -1;
        keys.add(cut < 0 ? k : k.slice(0, cut + delimiter.length));
      }
      const names = [...keys].sort((a, b) => (Buffer.compare(Buffer.from(a), Buffer.from(b))));
      const start = after === null ? 0 : names.findIndex((k) => Buffer.compare(Buffer.from(k), Buffer.from(after)) > 0);
      const page = start < 0 ? [] : names.slice(start, start + max);
      const out = { kind: 'storage#objects' };
      const isPrefix = (k) => delimiter !== '' && k.indexOf(delimiter, prefix.length) >= 0;
      const items = page.filter((k) => !isPrefix(k));
      const prefixes = page.filter(isPrefix);
      if (items.length) out.items = items.map((k) => resource(bucket, bucketMap(bucket).get(k)));
      if (prefixes.length) out.prefixes = prefixes;
      if (start >= 0 && start + max < names.length) out.nextPageToken = Buffer.from(page[page.length - 1]).toString('base64url');
      return send(200, out);
    }
    return send(404, { error: { code: 404, message: `no route ${req.method} ${p}` } });
  }

  async function handleSession(req, res, bucket, id, entry, send, fault, cut) {
    const s = state.sessions.get(id);
    const body = await readBody(req);
    entry.bodyBytes = body.length;
    stats.maxBodyBytes = Math.max(stats.maxBodyBytes, body.length);
    const cr = req.headers['content-range'];
    const isQuery = body.length === 0 && cr && /^bytes \*\/(\*|\d+)$/.test(cr);
    if (state.modes.latencyMs) await sleep(state.modes.latencyMs);
    if (req.method === 'DELETE') {
      entry.route = 'cancel';
      if (!s) return send(404, { error: { code: 404, message: 'No such upload' } });
      state.sessions.delete(id);
      return send(499, { error: { code: 499, message: 'Client Closed Request' } });
    }
    if (req.method !== 'PUT') return send(400, { error: { code: 400, message: 'session requests are PUT' } });
    if (isQuery && fault('query')) return;
    if (!s) return send(404, { error: { code: 404, message: 'No such upload session (expired or cancelled)' } });
    if (s.dead) return send(410, { error: { code: 410, message: 'The upload session failed' } });
    const range308 = () => {
      const h = s.blob.size > 0 ? { Range: `bytes=0-${s.blob.size - 1}` } : {};
      return send(308, undefined, h);
    };
    if (s.done) return send(200, resource(bucket, s.done));
    s.hash = req.headers['x-goog-hash'] ?? s.hash;
    if (cr === undefined) {
      // The whole object in one request.
      if (fault('chunk')) return;
      s.blob.append(body);
      return finalize(bucket, s, res, send);
    }
    let r;
    if ((r = /^bytes \*\/(\*|\d+)$/.exec(cr))) {
      entry.route = 'query';
      if (body.length) return send(400, { error: { code: 400, message: 'Content-Range */N with a body' } });
      if (r[1] !== '*' && Number(r[1]) === s.blob.size) return finalize(bucket, s, res, send);
      return range308();
    }
    r = /^bytes (\d+)-(\d+)\/(\*|\d+)$/.exec(cr);
    if (!r) return send(400, { error: { code: 400, message: `bad Content-Range ${cr}` } });
    const first = Number(r[1]);
    const last = Number(r[2]);
    const total = r[3] === '*' ? null : Number(r[3]);
    if (last - first + 1 !== body.length) return send(400, { error: { code: 400, message: 'Content-Range does not match the body length' } });
    const final = total !== null && last + 1 === total;
    if (!final && body.length % QUANTUM !== 0) return send(400, { error: { code: 400, message: 'Invalid request. The number of bytes uploaded is required to be equal or greater than 262144, except for the final request (it\'s recommended to be the exact multiple of 262144).' } });
    if (first > s.blob.size) return send(400, { error: { code: 400, message: `chunk starts at ${first} but ${s.blob.size} bytes are stored` } });
    const data = body.subarray(s.blob.size - first); // bytes already stored are skipped
    entry.route = 'chunk';
    const f = takeFault('chunk');
    if (f) {
      const keep = Math.min(f.keepBytes ?? 0, data.length);
      if (keep) s.blob.append(data.subarray(0, keep));
      if (f.status === 'drop') {
        entry.status = 'drop';
        req.socket.destroy();
        return;
      }
      if (f.status === 'cut') return cut();
      return send(f.status, { error: { code: f.status, message: `injected ${f.status}` } }, f.location ? { Location: req.url } : {});
    }
    if (state.modes.shortStore && !final && data.length > QUANTUM) {
      state.modes.shortStore = false;
      s.blob.append(data.subarray(0, QUANTUM));
      return range308();
    }
    s.blob.append(data);
    if (final) return finalize(bucket, s, res, send);
    if (total !== null && s.blob.size > total) return send(400, { error: { code: 400, message: 'more bytes than the declared total' } });
    return range308();
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((e) => {
      if (!res.headersSent) {
        res.writeHead(500, { 'Content-Type': 'text/plain' });
        res.end(String(e && e.stack));
      } else {
        res.destroy();
      }
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise((resolve) => server.listen(opts.port ?? 0, HOST, resolve));
  const port = server.address().port;
  baseUrl = `http://${HOST}:${port}`;
  return {
    url: baseUrl,
    hostPort: `${HOST}:${port}`,
    port,
    state,
    stats,
    setFaults(list) {
      state.faults = list.map((f) => ({ ...f }));
      state.routeCounts = {};
    },
    object(bucket, name) {
      return bucketMap(bucket).get(name);
    },
    hold({ name, count = 1, skip = 0, on = 'upload' }) {
      if (on !== 'upload' && on !== 'read') throw new TypeError(`hold: on must be 'upload' or 'read', got ${on}`);
      let arrivedResolve;
      const arrived = new Promise((resolve) => { arrivedResolve = resolve; });
      const h = { name, count, skip, on, waiting: [], arrivedResolve, released: false };
      state.holds.push(h);
      return {
        arrived,
        held: () => h.waiting.length,
        release() {
          h.released = true;
          for (const r of h.waiting.splice(0)) r();
        },
      };
    },
    reset() {
      for (const h of state.holds.splice(0)) {
        h.released = true;
        for (const r of h.waiting.splice(0)) r();
      }
      state.buckets.clear();
      state.sessions.clear();
      state.faults = [];
      state.routeCounts = {};
      stats.requests.length = 0;
      stats.maxBodyBytes = 0;
      Object.assign(state.modes, { corruptStored: false, shortStore: false, latencyMs: 0, stallReads: false, corruptRanges: 0 });
    },
    close() {
      for (const h of state.holds.splice(0)) {
        h.released = true;
        for (const r of h.waiting.splice(0)) r();
      }
      server.closeAllConnections?.();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

// CLI: serve until SIGTERM/SIGINT.
if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '0' },
      'port-file': { type: 'string' },
      'discard-bytes': { type: 'boolean', default: false },
    },
  });
  const d = await startGcsDouble({ port: Number(values.port), discardBytes: values['discard-bytes'] });
  if (values['port-file']) fs.writeFileSync(values['port-file'], String(d.port));
  console.log(`gcs double listening on ${d.url}`);
  const stop = async () => {
    console.log(`gcs double: ${d.stats.requests.length} requests, largest body ${d.stats.maxBodyBytes} bytes`);
    await d.close();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
