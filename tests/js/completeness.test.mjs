// Completeness that knows the source, end to end over real sockets (the project's
// Tardis-compatible test server, in this process, with the exchange listings of
// tests/fixtures and the real Deribit options_chain sample of 2020-06-08):
//  - options_chain items are expected one per underlying, from the day's definitions;
//  - a grouped item (deribit OPTIONS) gets a completion record: a rerun makes no request,
//    validate knows the item complete;
//  - a 404 is recorded, validate reports it as not_available (not missing), and
//    download --from-report does not ask for it again;
//  - bare symbols go only to exchanges that know them; unknown exchanges are usage errors
//    with a suggestion in every command;
//  - validate shows a month without definitions as one line, not thirty;
//  - an absent item on a day a Tardis incident report of its exchange covers is
//    no_data_incident (counted apart, not missing), in stdout, --summary-json, the HTML
//    report and the missing-data report; --from-report asks for it once more.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { startGcsDouble } from '../support/gcs_double.mjs';
import { startServer } from '../support/tardis_server.mjs';
import { BIN, ROOT, listFiles } from './lib/harness.mjs';
import { closeDuckdb, duckdb, sqlStr } from './lib/readers.mjs';

const DETAILS = path.join(ROOT, 'tests', 'fixtures', 'exchange_details');
const DAY = '2020-06-08';
const CHAIN_RECORD = `raw_tick_data/by_date/day-${DAY}/data_type-options_chain/_items/deribit/OPTIONS.json`;
let srv;
let work;

// Asynchronous: the server runs in this process and must keep answering.
function run(args, env = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(BIN, args, {
      env: {
        PATH: process.env.PATH, TARDIS_API_URL: srv.url, TARDIS_DATASETS_URL: srv.url, TARDIS_API_KEY: 'k',
        SOURCE_DATE_EPOCH: '1700000000', ...env,
      },
    });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr, args }));
  });
}
const show = (r) => `market-tick ${r.args.join(' ')}\nexit ${r.status}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
const datasetRequests = () => srv.stats().requests.filter((q) => q.path.startsWith('/v1/') && q.path.endsWith('.csv.gz'));
const problemLines = (stdout) => stdout.split('\n').filter((l) => /^(missing|corrupt|not_available|no_data_incident)\t/.test(l));

before(async () => {
  srv = await startServer({ exchangeDetailsDir: DETAILS });
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-completeness-'));
});
after(async () => {
  await closeDuckdb();
  await srv?.close();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

test('options_chain: expected per underlying, downloaded once, complete by its record, rerun makes no request', async () => {
  const out = path.join(work, 'chain');
  const inst = await run(['instruments', '--from', DAY, '--exchanges', 'deribit', '--output', out]);
  assert.equal(inst.status, 0, show(inst));
  const sel = ['--from', DAY, '--exchanges', 'deribit', '--data-types', 'options_chain', '--output', out];

  // Before any download: the chain of the day's one option underlying is expected and missing
  // (it used to expect nothing and say "complete").
  const v1 = await run(['validate', ...sel, '--read-only']);
  assert.equal(v1.status, 1, show(v1));
  assert.deepEqual(problemLines(v1.stdout), [`missing\t${DAY}\toptions_chain\tDERIBIT:OPTIONS:BTC-USD`], show(v1));
  assert.match(v1.stdout, /^result: INCOMPLETE: 1 missing/m);

  // The plan asks for the one grouped file.
  const plan = await run(['plan', ...sel, '--json']);
  assert.equal(plan.status, 0, show(plan));
  assert.deepEqual(JSON.parse(plan.stdout).items.map((i) => `${i.data_type}/${i.exchange}/${i.symbol}`),
    ['options_chain/deribit/OPTIONS']);

  srv.reset();
  const summary1 = path.join(work, 'chain-1.json');
  const d1 = await run(['download', ...sel, '--summary-json', summary1]);
  assert.equal(d1.status, 0, show(d1));
  assert.deepEqual(datasetRequests().map((q) => q.path), [`/v1/deribit/options_chain/2020/06/08/OPTIONS.csv.gz`]);
  const s1 = JSON.parse(fs.readFileSync(summary1, 'utf8'));
  assert.equal(s1.results[0].outcome, 'done');
  assert.equal(s1.results[0].rows, 7); // every row of the sample
  // The record lists every object the file became, with row counts adding up to the file's.
  const rec = JSON.parse(fs.readFileSync(path.join(out, CHAIN_RECORD), 'utf8'));
  assert.equal(rec.outcome, 'done');
  assert.equal(rec.rows, 7);
  assert.deepEqual(rec.objects.map((o) => o.name).sort(), [...s1.results[0].objects].map((o) => path.relative(out, o)).sort());
  assert.equal(rec.objects.reduce((n, o) => n + o.rows, 0), 7);
  // First and last local_timestamp of the file (the sample's first and last rows).
  assert.equal(rec.first_timestamp, '2020-06-08T00:00:00.196008Z');
  assert.equal(rec.last_timestamp, '2020-06-08T00:01:00.473112Z');
  for (const o of rec.objects) assert.ok(o.first_timestamp <= o.last_timestamp && o.first_timestamp >= rec.first_timestamp, JSON.stringify(o));
  for (const o of rec.objects) assert.ok(fs.existsSync(path.join(out, o.name)), o.name);

  // A rerun skips the item on its record: no request reaches the server.
  srv.reset();
  const summary2 = path.join(work, 'chain-2.json');
  const d2 = await run(['download', ...sel, '--summary-json', summary2]);
  assert.equal(d2.status, 0, show(d2));
  assert.deepEqual(datasetRequests(), [], 'no request on rerun');
  const s2 = JSON.parse(fs.readFileSync(summary2, 'utf8'));
  assert.equal(s2.results[0].outcome, 'skipped');
  assert.equal(s2.rows, 0, 'nothing converted on a skip');
  assert.deepEqual(s2.results[0].objects.sort(), rec.objects.map((o) => path.join(out, o.name)).sort());
  // --force asks again.
  const d3 = await run(['download', ...sel, '--force']);
  assert.equal(d3.status, 0, show(d3));
  assert.equal(datasetRequests().length, 1);

  // Validate agrees with the record: complete; the chain of BTC-USD is done when the file
  // became that object, else the file had no rows for it.
  const v2 = await run(['validate', ...sel, '--read-only']);
  assert.equal(v2.status, 0, show(v2));
  assert.match(v2.stdout, /^result: complete: 0 missing, 0 corrupt, 0 not available at source/m);
  const listed = rec.objects.some((o) => o.instrument_key === 'DERIBIT:OPTIONS:BTC-USD');
  const row = v2.stdout.split('\n').find((l) => l.startsWith('options_chain '));
  const [, expected, done, noData] = row.trim().split(/\s+/).map(Number);
  assert.deepEqual([expected, done, noData], listed ? [1, 1, 0] : [1, 0, 1], show(v2));

  // Objects without their record (a run that stopped before it): not complete.
  fs.rmSync(path.join(out, CHAIN_RECORD));
  const v3 = await run(['validate', ...sel, '--read-only']);
  assert.equal(v3.status, 1, show(v3));
  assert.equal(problemLines(v3.stdout).length, 1, show(v3));
});

test('validate --symbols deribit:OPTIONS (download\'s selection) checks the grouped item by its record', async () => {
  // No instrument definitions in this store: the --symbols plan is the expectation.
  const out = path.join(work, 'grouped-symbols');
  const sel = ['--from', DAY, '--exchanges', 'deribit', '--data-types', 'options_chain', '--symbols', 'deribit:OPTIONS',
    '--output', out];
  // Before any download: the whole file is missing (it expected nothing: "complete", exit 0).
  const v1 = await run(['validate', ...sel, '--read-only']);
  assert.equal(v1.status, 1, show(v1));
  assert.deepEqual(problemLines(v1.stdout), [`missing\t${DAY}\toptions_chain\tDERIBIT:OPTIONS`], show(v1));
  assert.match(v1.stdout, /^result: INCOMPLETE: 1 missing/m);
  // download --from-report asks for the grouped file the report names.
  const rep = await run(['validate', ...sel]);
  assert.equal(rep.status, 1, show(rep));
  srv.reset();
  const d = await run(['download', '--from-report', '--from', DAY, '--output', out]);
  assert.equal(d.status, 0, show(d));
  assert.deepEqual(datasetRequests().map((q) => q.path), ['/v1/deribit/options_chain/2020/06/08/OPTIONS.csv.gz']);
  // After it: every object the record lists is expected and there.
  const rec = JSON.parse(fs.readFileSync(path.join(out, CHAIN_RECORD), 'utf8'));
  const v2 = await run(['validate', ...sel, '--read-only', '--deep']);
  assert.equal(v2.status, 0, show(v2));
  const row = v2.stdout.split('\n').find((l) => l.startsWith('options_chain '));
  const [, expected, done] = row.trim().split(/\s+/).map(Number);
  assert.deepEqual([expected, done], [rec.objects.length, rec.objects.length], show(v2));
  assert.ok(rec.objects.length >= 1);
  assert.doesNotMatch(v2.stdout, /unexpected objects/, show(v2));
  // An object of the record deleted: that one is missing.
  fs.rmSync(path.join(out, rec.objects[0].name));
  const v3 = await run(['validate', ...sel, '--read-only']);
  assert.equal(v3.status, 1, show(v3));
  assert.deepEqual(problemLines(v3.stdout).map((l) => l.split('\t').slice(0, 4).join('\t')),
    [`missing\t${DAY}\toptions_chain\t${rec.objects[0].instrument_key}`], show(v3));
});

test('convert of a grouped file (the real options_chain sample) completes its item: validate agrees, download skips it', async () => {
  const out = path.join(work, 'convert-chain');
  const inst = await run(['instruments', '--from', DAY, '--exchanges', 'deribit', '--output', out]);
  assert.equal(inst.status, 0, show(inst));
  const sel = ['--from', DAY, '--exchanges', 'deribit', '--data-types', 'options_chain', '--output', out];
  // --no-force keeps what exists, so it writes no record: the item is missing (its object counted once).
  const file = path.join(ROOT, 'fixtures', 'tardis', 'csv', `deribit_options_chain_${DAY}_OPTIONS.csv.gz`);
  const c0 = await run(['convert', file, '--output', out, '--no-force']);
  assert.equal(c0.status, 0, show(c0));
  assert.ok(!fs.existsSync(path.join(out, CHAIN_RECORD)));
  const v0 = await run(['validate', ...sel, '--read-only']);
  assert.equal(v0.status, 1, show(v0));
  assert.deepEqual(problemLines(v0.stdout), [`missing\t${DAY}\toptions_chain\tDERIBIT:OPTIONS:BTC-USD`], show(v0));
  // convert (replacing, its default): the objects and then the record, as download writes it.
  const c = await run(['convert', file, '--output', out]);
  assert.equal(c.status, 0, show(c));
  const rec = JSON.parse(fs.readFileSync(path.join(out, CHAIN_RECORD), 'utf8'));
  assert.equal(rec.item, `${DAY}/options_chain/deribit/OPTIONS`);
  assert.equal(rec.outcome, 'done');
  assert.equal(rec.rows, 7);
  assert.equal(rec.source, file);
  assert.deepEqual(rec.objects.map((o) => o.name).sort(),
    c.stdout.trim().split('\n').map((l) => path.relative(out, l.split('\t')[0])).sort());
  // It used to be missing ("no completion record", a download stopped before it finished) forever.
  const v = await run(['validate', ...sel, '--read-only', '--deep']);
  assert.equal(v.status, 0, show(v));
  assert.match(v.stdout, /^result: complete: 0 missing, 0 corrupt/m);
  // download skips the item on the record: no request (it fetched the whole file again).
  srv.reset();
  const d = await run(['download', ...sel]);
  assert.equal(d.status, 0, show(d));
  assert.deepEqual(datasetRequests(), [], 'no request');
  assert.match(d.stderr, /1 items: 0 done, 1 skipped/, show(d));
});

test('a 404 is recorded: validate says not_available, --from-report does not ask again', async () => {
  const out = path.join(work, 'na');
  // 2020-02-23 has no file on the server; 2020-02-22 has.
  const sel = ['--from', '2020-02-22', '--to', '2020-02-23', '--exchanges', 'binance-futures', '--data-types', 'trades',
    '--symbols', 'BTCUSDT', '--output', out];
  srv.reset();
  const d = await run(['download', ...sel]);
  assert.equal(d.status, 0, show(d));
  assert.deepEqual(d.stdout.split('\n').filter((l) => l.startsWith('not_available')),
    ['not_available\t2020-02-23/trades/binance-futures/BTCUSDT\t-'], show(d));
  assert.match(d.stderr, /not_available 2020-02-23\/trades\/binance-futures\/BTCUSDT: HTTP 404/);

  const v = await run(['validate', ...sel, '--report', path.join(work, 'na.html')]);
  assert.equal(v.status, 0, show(v)); // nothing a rerun could fix
  assert.deepEqual(problemLines(v.stdout),
    ['not_available\t2020-02-23\ttrades\tBINANCE-FUTURES:PERPETUAL:BTC-USDT\tHTTP 404 at the source (recorded by download)'], show(v));
  assert.match(v.stdout, /^result: complete: 0 missing, 0 corrupt, 1 not available at source/m);
  assert.match(fs.readFileSync(path.join(work, 'na.html'), 'utf8'), /1 not available at source/);

  srv.reset();
  const fr = await run(['download', '--from', '2020-02-22', '--to', '2020-02-23', '--output', out, '--from-report']);
  assert.equal(fr.status, 0, show(fr));
  assert.deepEqual(datasetRequests(), [], 'the 404 item is not asked for again');
  assert.match(fr.stderr, /0 missing and 0 corrupt items \(1 not available at the source are not asked for again\)/);
});

// A report older than the store: what was written since it (by another run, or an earlier
// round) is skipped without a request. Every item of a report used to be redone as with --force,
// the whole file asked again and every object written over, on every round. A grouped item whose
// record is complete while one of its objects is gone is still downloaded again.
test('download --from-report skips what exists now, and downloads a grouped item whose recorded object is gone', async () => {
  const out = path.join(work, 'stale-report');
  const inst = await run(['instruments', '--from', DAY, '--exchanges', 'deribit', '--output', out]);
  assert.equal(inst.status, 0, show(inst));
  const chain = ['--from', DAY, '--exchanges', 'deribit', '--data-types', 'options_chain', '--output', out];
  const trades = ['--from', '2020-02-22', '--exchanges', 'binance-futures', '--data-types', 'trades',
    '--symbols', 'BTCUSDT', '--output', out];
  // Reported missing on an empty store, then downloaded by a plain run.
  for (const sel of [chain, trades]) {
    const v = await run(['validate', ...sel]);
    assert.equal(v.status, 1, show(v));
    assert.equal(problemLines(v.stdout).length, 1, show(v));
    const d = await run(['download', ...sel]);
    assert.equal(d.status, 0, show(d));
  }
  const rec = JSON.parse(fs.readFileSync(path.join(out, CHAIN_RECORD), 'utf8'));
  const tradesObject = 'raw_tick_data/by_date/day-2020-02-22/data_type-trades/BINANCE-FUTURES:PERPETUAL:BTC-USDT.parquet';
  const names = [...rec.objects.map((o) => o.name), CHAIN_RECORD, tradesObject];
  const stamp = () => names.map((n) => { const st = fs.statSync(path.join(out, n)); return `${n} ${st.ino} ${st.mtimeMs}`; });
  const before = stamp();
  const fromReport = async (label) => {
    const summary = path.join(work, `stale-${label}.json`);
    srv.reset();
    const r = await run(['download', '--from', '2020-02-22', '--to', DAY, '--output', out, '--from-report',
      '--summary-json', summary]);
    assert.equal(r.status, 0, show(r));
    const s = JSON.parse(fs.readFileSync(summary, 'utf8'));
    return Object.fromEntries(s.results.map((x) => [x.id, x.outcome]));
  };
  assert.deepEqual(await fromReport('1'), {
    '2020-02-22/trades/binance-futures/BTCUSDT': 'skipped', [`${DAY}/options_chain/deribit/OPTIONS`]: 'skipped',
  });
  assert.deepEqual(datasetRequests(), [], 'nothing asked again');
  assert.deepEqual(stamp(), before, 'nothing written over');

  // One recorded object of the chain removed: its record still says complete, and the report still
  // lists the item (from the first validate); the item is downloaded again, the other is not.
  const gone = path.join(out, rec.objects[0].name);
  fs.rmSync(gone);
  assert.deepEqual(await fromReport('2'), {
    '2020-02-22/trades/binance-futures/BTCUSDT': 'skipped', [`${DAY}/options_chain/deribit/OPTIONS`]: 'done',
  });
  assert.deepEqual(datasetRequests().map((q) => q.path), [`/v1/deribit/options_chain/2020/06/08/OPTIONS.csv.gz`]);
  assert.ok(fs.existsSync(gone));
  const v = await run(['validate', ...chain, '--read-only', '--deep']);
  assert.equal(v.status, 0, show(v));
});

test('bare symbols go only to the exchanges that know them', async () => {
  // By the venues' symbol rules: deribit has no BTCUSDT. Stopped at planning, nothing asked.
  srv.reset();
  const out = path.join(work, 'pair');
  const bad = await run(['download', '--from', '2020-02-22', '--exchanges', 'binance-futures,deribit', '--symbols', 'BTCUSDT',
    '--output', out]);
  assert.equal(bad.status, 2, show(bad));
  assert.match(bad.stderr, /--symbols BTCUSDT: deribit knows none of these symbols/);
  assert.deepEqual(datasetRequests(), []);
  const plan = await run(['plan', '--from', '2020-02-22', '--exchanges', 'binance-futures,deribit',
    '--symbols', 'BTCUSDT,BTC-PERPETUAL', '--output', out, '--json']);
  assert.equal(plan.status, 0, show(plan));
  assert.deepEqual(JSON.parse(plan.stdout).items.map((i) => `${i.exchange}/${i.symbol}`),
    ['binance-futures/BTCUSDT', 'deribit/BTC-PERPETUAL']);
  // With definitions in the store, they decide: deribit's listing of that day has BTC-PERPETUAL
  // and ETH-PERPETUAL, not BTC-25SEP20.
  const inst = await run(['instruments', '--from', '2025-02-14', '--exchanges', 'deribit', '--output', out]);
  assert.equal(inst.status, 0, show(inst));
  const withDefs = await run(['plan', '--from', '2025-02-14', '--exchanges', 'deribit',
    '--symbols', 'BTC-PERPETUAL,ETH-PERPETUAL,BTC-25SEP20', '--output', out, '--json']);
  assert.equal(withDefs.status, 0, show(withDefs));
  assert.deepEqual(JSON.parse(withDefs.stdout).items.map((i) => i.symbol), ['BTC-PERPETUAL', 'ETH-PERPETUAL']);
  // validate builds the same plan.
  const v = await run(['validate', '--from', '2025-02-14', '--exchanges', 'deribit', '--symbols', 'BTC-PERPETUAL,BTC-25SEP20',
    '--output', out, '--read-only']);
  assert.equal(v.status, 1, show(v));
  assert.deepEqual(problemLines(v.stdout), ['missing\t2025-02-14\ttrades\tDERIBIT:PERPETUAL:BTC-USD'], show(v));
});

test('an unknown exchange is a usage error with a suggestion in every command', async () => {
  const out = path.join(work, 'typo');
  srv.reset();
  for (const args of [
    ['plan', '--from', '2020-02-22', '--exchanges', 'binance-futurs', '--symbols', 'BTCUSDT', '--output', out],
    ['plan', '--from', '2020-02-22', '--exchanges', 'binance-futurs', '--output', out],
    ['download', '--from', '2020-02-22', '--exchanges', 'binance-futurs', '--symbols', 'BTCUSDT', '--output', out],
    ['download', '--from', '2020-02-22', '--exchanges', 'binance-futurs', '--from-report', '--output', out],
    ['validate', '--from', '2020-02-22', '--exchanges', 'binance-futurs', '--output', out],
    ['validate', '--from', '2020-02-22', '--exchanges', 'binance-futurs', '--symbols', 'BTCUSDT', '--output', out],
    ['instruments', '--from', '2020-02-22', '--exchanges', 'binance-futurs', '--output', out],
    // A symbol pinned to the typo beside --exchanges of another venue: it was dropped silently and the
    // rest downloaded (exit 0).
    ['plan', '--from', '2020-02-22', '--exchanges', 'deribit', '--symbols', 'binance-futurs:BTCUSDT,deribit:BTC-PERPETUAL', '--output', out],
    ['download', '--from', '2020-02-22', '--exchanges', 'deribit', '--symbols', 'binance-futurs:BTCUSDT,deribit:BTC-PERPETUAL', '--output', out],
    ['validate', '--from', '2020-02-22', '--exchanges', 'deribit', '--symbols', 'binance-futurs:BTCUSDT,deribit:BTC-PERPETUAL', '--output', out],
    ['derive', '--from', '2020-02-22', '--exchanges', 'deribit', '--derive', 'trade_bar_1m', '--symbols', 'binance-futurs:BTCUSDT,deribit:BTC-PERPETUAL', '--output', out],
  ]) {
    const r = await run(args);
    assert.equal(r.status, 2, show(r));
    assert.match(r.stderr, /unknown exchange 'binance-futurs' \(did you mean binance-futures\?\)/, show(r));
    assert.doesNotMatch(r.stdout, /0 items/, show(r));
  }
  // An id in capitals (as instrument keys spell the venue) is named with the id to use; a symbol
  // pinned to a real exchange that --exchanges leaves out was dropped without a word (exit 0).
  for (const command of ['plan', 'download', 'validate']) {
    const caps = await run([command, '--from', '2020-02-22', '--exchanges', 'BINANCE-FUTURES', '--symbols', 'BTCUSDT', '--output', out]);
    assert.equal(caps.status, 2, show(caps));
    assert.match(caps.stderr, /'BINANCE-FUTURES'.*\(did you mean binance-futures\?\)/, show(caps));
    const pin = await run([command, '--from', '2020-02-22', '--exchanges', 'deribit', '--symbols', 'kraken:XBT-USD,deribit:BTC-PERPETUAL', '--output', out]);
    assert.equal(pin.status, 2, show(pin));
    assert.match(pin.stderr, /--symbols kraken:XBT-USD pins a symbol to kraken, which the run's exchanges \(deribit\) do not include: add kraken to --exchanges/, show(pin));
  }
  assert.deepEqual(datasetRequests(), []);
  assert.deepEqual(listFiles(out).filter((f) => f.startsWith('raw_tick_data')), []);
  // convert takes the exchange from an officially named file: a typo there is the same error.
  const typo = path.join(work, 'binance-futurs_trades_2020-02-22_BTCUSDT.csv.gz');
  fs.copyFileSync(path.join(ROOT, 'fixtures', 'tardis', 'csv', 'binance-futures_trades_2020-02-22_BTCUSDT.csv.gz'), typo);
  const c = await run(['convert', typo, '--output', out]);
  assert.equal(c.status, 2, show(c));
  assert.match(c.stderr, /binance-futurs_trades_2020-02-22_BTCUSDT\.csv\.gz: unknown exchange 'binance-futurs' \(did you mean binance-futures\?\)/);
  assert.deepEqual(listFiles(out).filter((f) => f.startsWith('raw_tick_data')), []);
});

test('validate: a month without definitions is one line on stdout, on stderr and in the report', async () => {
  const out = path.join(work, 'nodefs');
  fs.mkdirSync(out, { recursive: true });
  const report = path.join(work, 'nodefs.html');
  const v = await run(['validate', '--from', '2025-03-01', '--to', '2025-03-31', '--output', out, '--report', report]);
  assert.equal(v.status, 1, show(v));
  const lines = v.stdout.split('\n').filter((l) => l.startsWith('no_definitions'));
  assert.equal(lines.length, 1, show(v));
  assert.match(lines[0], /^no_definitions\t2025-03-01 \.\. 2025-03-31 \(31 days\)\tno instrument definitions/);
  assert.equal(v.stderr.split('\n').filter((l) => l.includes('no instrument definitions')).length, 1, show(v));
  assert.match(v.stdout, /31 days without definitions/);
  const html = fs.readFileSync(report, 'utf8');
  assert.equal(html.match(/<li data-day=/g).length, 1);
  assert.match(html, /data-days="31"/);
});

test('an absent item inside a Tardis incident of its exchange is no_data_incident, not missing', async (t) => {
  // The exchange listings with one incident report added to binance-futures (generated here, for this
  // test: the fixtures list none): 2020-02-23 03:00 .. 05:30 UTC. Deribit has none.
  const details = fs.mkdtempSync(path.join(work, 'details-'));
  for (const f of fs.readdirSync(DETAILS)) fs.copyFileSync(path.join(DETAILS, f), path.join(details, f));
  const listing = JSON.parse(fs.readFileSync(path.join(details, 'binance-futures.json'), 'utf8'));
  listing.incidentReports = [{ from: '2020-02-23T03:00:00.000Z', to: '2020-02-23T05:30:00.000Z', status: 'resolved',
    details: 'generated test incident: exchange feed down' }];
  fs.writeFileSync(path.join(details, 'binance-futures.json'), JSON.stringify(listing));
  const own = await startServer({ exchangeDetailsDir: details });
  t.after(() => own.close());
  const env = { TARDIS_API_URL: own.url, TARDIS_DATASETS_URL: own.url };
  const out = path.join(work, 'incident');
  const range = ['--from', '2020-02-22', '--to', '2020-02-23'];
  const inst = await run(['instruments', ...range, '--exchanges', 'binance-futures,deribit', '--output', out], env);
  assert.equal(inst.status, 0, show(inst));
  // 2020-02-22 BTCUSDT is served; 2020-02-23 BTCUSDT is a 404 (recorded: not_available wins over the incident).
  const d = await run(['download', ...range, '--exchanges', 'binance-futures', '--data-types', 'trades', '--symbols',
    'BTCUSDT', '--output', out], env);
  assert.equal(d.status, 0, show(d));

  const summary = path.join(work, 'incident-summary.json');
  const html = path.join(work, 'incident.html');
  const sel = [...range, '--exchanges', 'binance-futures,deribit', '--data-types', 'trades', '--output', out];
  const v = await run(['validate', ...sel, '--summary-json', summary, '--report', html], env);
  assert.equal(v.status, 1, show(v)); // deribit's items and 2020-02-22 ETHUSDT are missing
  const lines = problemLines(v.stdout);
  const bf = lines.filter((l) => l.includes('BINANCE-FUTURES'));
  assert.deepEqual(bf, [
    'missing\t2020-02-22\ttrades\tBINANCE-FUTURES:PERPETUAL:ETH-USDT',
    'not_available\t2020-02-23\ttrades\tBINANCE-FUTURES:PERPETUAL:BTC-USDT\tHTTP 404 at the source (recorded by download)',
    'no_data_incident\t2020-02-23\ttrades\tBINANCE-FUTURES:PERPETUAL:ETH-USDT\tno object; Tardis incident report of ' +
      'binance-futures: 2020-02-23T03:00:00Z .. 2020-02-23T05:30:00Z (resolved): generated test incident: exchange feed down',
  ], show(v));
  const deribitMissing = lines.filter((l) => l.startsWith('missing\t') && l.includes('\tDERIBIT:')).length;
  assert.ok(deribitMissing >= 4, show(v)); // BTC-PERPETUAL and ETH-PERPETUAL on both days at least: no incident there
  assert.equal(lines.filter((l) => l.includes('\tDERIBIT:') && !l.startsWith('missing\t')).length, 0, show(v));
  assert.match(v.stdout, new RegExp(`^result: INCOMPLETE: ${deribitMissing + 1} missing, 0 corrupt, 1 not available at source, 1 no data \\(incident\\)`, 'm'));
  assert.match(v.stdout, /^data_type\s+expected\s+done\s+no_data\s+not_available\s+no_data_incident\s+missing\s+corrupt\s+rows$/m);
  assert.match(v.stdout, new RegExp(`^trades\\s+${deribitMissing + 4}\\s+1\\s+0\\s+1\\s+1\\s+${deribitMissing + 1}\\s+0\\s+-$`, 'm'));

  const s = JSON.parse(fs.readFileSync(summary, 'utf8'));
  assert.equal(s.complete, false);
  assert.deepEqual(s.counts, { expected: deribitMissing + 4, done: 1, no_data: 0, not_available: 1, no_data_incident: 1,
    missing: deribitMissing + 1, corrupt: 0 });
  assert.deepEqual(s.by_data_type.trades, s.counts);

  const page = fs.readFileSync(html, 'utf8');
  assert.match(page, /1 no data \(Tardis incident\)/);
  assert.equal(page.match(/<rect class="cell"[^>]*data-status="no_data_incident"/g)?.length, 1);
  assert.match(page, /<td data-total="no_data_incident">1<\/td>/);
  assert.match(page, /<table class="problems" id="incidents">[\s\S]*BINANCE-FUTURES:PERPETUAL:ETH-USDT[\s\S]*generated test incident/);

  // The missing-data report of 2020-02-23 (read by DuckDB) lists it with its status.
  const db = await duckdb();
  const report = path.join(out, 'missing_data_reports', 'by_date', 'day-2020-02-23', 'missing_data.parquet');
  const rows = await db.objects(`SELECT instrument_key, status FROM read_parquet(${sqlStr(report)}) WHERE tardis_exchange = 'binance-futures' ORDER BY instrument_key`);
  assert.deepEqual(rows.map((r) => `${r.instrument_key} ${r.status}`),
    ['BINANCE-FUTURES:PERPETUAL:BTC-USDT not_available', 'BINANCE-FUTURES:PERPETUAL:ETH-USDT no_data_incident']);

  // The incident day alone, binance-futures only: complete (exit 0), nothing counted missing.
  const v2 = await run(['validate', '--from', '2020-02-23', '--exchanges', 'binance-futures', '--data-types', 'trades',
    '--output', out], env);
  assert.equal(v2.status, 0, show(v2));
  assert.match(v2.stdout, /^result: complete: 0 missing, 0 corrupt, 1 not available at source, 1 no data \(incident\)/m);

  // --from-report asks for the incident item once more (an incident may cover part of the day); the
  // server has no file, so the 404 is recorded and the next validate says not_available.
  own.reset();
  const fr = await run(['download', '--from', '2020-02-23', '--output', out, '--from-report', '--exchanges', 'binance-futures'], env);
  assert.equal(fr.status, 0, show(fr));
  assert.match(fr.stderr, /1 no_data_incident items asked for once more/);
  assert.deepEqual(own.stats().requests.filter((q) => q.path.endsWith('.csv.gz')).map((q) => q.path),
    ['/v1/binance-futures/trades/2020/02/23/ETHUSDT.csv.gz'], show(fr));
  const v3 = await run(['validate', '--from', '2020-02-23', '--exchanges', 'binance-futures', '--data-types', 'trades',
    '--output', out, '--read-only'], env);
  assert.equal(v3.status, 0, show(v3));
  assert.match(v3.stdout, /^result: complete: 0 missing, 0 corrupt, 2 not available at source, 0 no data \(incident\)/m);
});

test('a grouped item replaced (download --force, convert) keeps no object its new file does not have', async (t) => {
  // Generated Deribit OPTIONS trades days: version 1 of three options, then the same day re-exported with two.
  // --force (and convert, which replaces) wrote the two again and left the third beside them: the store held
  // rows of both versions, and validate called the item complete.
  const dir = path.join(work, 'replaced');
  const data = path.join(dir, 'srv');
  fs.mkdirSync(data, { recursive: true });
  const day = '2023-11-01', t0 = Date.parse(`${day}T00:00:00Z`) * 1000;
  const file = path.join(data, `deribit_trades_${day}_OPTIONS.csv.gz`);
  const write = (symbols) => {
    const lines = ['exchange,symbol,timestamp,local_timestamp,id,side,price,amount'];
    symbols.forEach((s, i) => lines.push(`deribit,${s},${t0 + 1000 + i},${t0 + 2000 + i},t${i},buy,0.05,1`));
    fs.writeFileSync(file, zlib.gzipSync(lines.join('\n') + '\n'));
  };
  const gsrv = await startServer({ dataDirs: [data] });
  t.after(() => gsrv.close());
  const env = { TARDIS_DATASETS_URL: gsrv.url, TARDIS_API_URL: gsrv.url };
  const out = path.join(dir, 'store');
  const objects = () => listFiles(out).filter((f) => f.startsWith('raw_tick_data') && f.endsWith('.parquet'))
    .map((f) => path.basename(f)).sort();
  const record = () => JSON.parse(fs.readFileSync(path.join(out,
    `raw_tick_data/by_date/day-${day}/data_type-trades/_items/deribit/OPTIONS.json`), 'utf8'));
  const sel = ['--from', day, '--exchanges', 'deribit', '--data-types', 'trades', '--symbols', 'deribit:OPTIONS', '--output', out];
  write(['BTC-3NOV23-30000-C', 'BTC-3NOV23-31000-C', 'ETH-3NOV23-1800-P']);
  const d1 = await run(['download', ...sel], env);
  assert.equal(d1.status, 0, show(d1));
  assert.equal(objects().length, 3, show(d1));
  write(['BTC-3NOV23-30000-C', 'ETH-3NOV23-1800-P']);
  const d2 = await run(['download', ...sel, '--force'], env);
  assert.equal(d2.status, 0, show(d2));
  const two = ['DERIBIT:OPTION:BTC-USD-231103-30000-CALL.parquet', 'DERIBIT:OPTION:ETH-USD-231103-1800-PUT.parquet'];
  assert.deepEqual(objects(), two, show(d2));
  assert.match(d2.stderr, /removed 1 objects of its earlier download that the new file does not have/, show(d2));
  assert.deepEqual(record().objects.map((o) => path.basename(o.name)).sort(), two);
  const v = await run(['validate', ...sel, '--deep', '--read-only'], env);
  assert.equal(v.status, 0, show(v));
  assert.doesNotMatch(v.stdout, /unexpected objects/, show(v));
  // convert replaces the same way: the first version's file, then one of a single option.
  write(['BTC-3NOV23-30000-C', 'BTC-3NOV23-31000-C', 'ETH-3NOV23-1800-P']);
  const c1 = await run(['convert', file, '--output', out]);
  assert.equal(c1.status, 0, show(c1));
  assert.equal(objects().length, 3, show(c1));
  write(['BTC-3NOV23-31000-C']);
  const c2 = await run(['convert', file, '--output', out]);
  assert.equal(c2.status, 0, show(c2));
  assert.deepEqual(objects(), ['DERIBIT:OPTION:BTC-USD-231103-31000-CALL.parquet'], show(c2));
  assert.equal(record().rows, 1);
  // A file of no rows commits nothing: the old objects went all the same (they stayed, under a no_data record).
  write([]);
  const d3 = await run(['download', ...sel, '--force'], env);
  assert.equal(d3.status, 0, show(d3));
  assert.deepEqual(objects(), [], show(d3));
  assert.equal(record().outcome, 'no_data');
  assert.deepEqual(record().objects, []);
  // A recorded object that --derive cannot read back: the file is downloaded again, and the new version's
  // objects replace the record's as under --force (the option the new file no longer has goes).
  write(['BTC-3NOV23-30000-C', 'BTC-3NOV23-31000-C', 'ETH-3NOV23-1800-P']);
  const d4 = await run(['download', ...sel, '--force'], env);
  assert.equal(d4.status, 0, show(d4));
  assert.equal(objects().length, 3, show(d4));
  const damaged = path.join(out, `raw_tick_data/by_date/day-${day}/data_type-trades/${two[0]}`);
  const bytes = fs.readFileSync(damaged);
  bytes.write('XXXX', bytes.length - 4);  // no trailing PAR1
  fs.writeFileSync(damaged, bytes);
  write(['BTC-3NOV23-30000-C', 'ETH-3NOV23-1800-P']);
  const d5 = await run(['download', ...sel, '--derive', 'trade_bar_1m'], env);
  assert.equal(d5.status, 0, show(d5));
  assert.match(d5.stderr, /downloading the file again to compute its derived objects/, show(d5));
  assert.deepEqual(objects(), two, show(d5));
  assert.deepEqual(record().objects.map((o) => path.basename(o.name)).sort(), two);
  const bars = listFiles(out).filter((f) => f.startsWith('derived_data') && f.endsWith('.parquet'))
    .map((f) => path.basename(f)).sort();
  assert.deepEqual(bars, two, show(d5));
  const v5 = await run(['validate', ...sel, '--deep', '--read-only'], env);
  assert.equal(v5.status, 0, show(v5));
  assert.doesNotMatch(v5.stdout, /unexpected objects/, show(v5));
});

test('download --force of a grouped item into gs:// reads its completion record once (GCS test double)', async (t) => {
  // The record was read to decide the item is not skipped, then again for the objects it replaces.
  const dir = path.join(work, 'record-once');
  const data = path.join(dir, 'srv');
  fs.mkdirSync(data, { recursive: true });
  const day = '2023-11-01', t0 = Date.parse(`${day}T00:00:00Z`) * 1000;
  const write = (symbols) => {
    const lines = ['exchange,symbol,timestamp,local_timestamp,id,side,price,amount'];
    symbols.forEach((s, i) => lines.push(`deribit,${s},${t0 + 1000 + i},${t0 + 2000 + i},t${i},buy,0.05,1`));
    fs.writeFileSync(path.join(data, `deribit_trades_${day}_OPTIONS.csv.gz`), zlib.gzipSync(lines.join('\n') + '\n'));
  };
  const gsrv = await startServer({ dataDirs: [data] });
  t.after(() => gsrv.close());
  const d = await startGcsDouble();
  t.after(() => d.close());
  const env = { TARDIS_DATASETS_URL: gsrv.url, TARDIS_API_URL: gsrv.url, STORAGE_EMULATOR_HOST: d.hostPort };
  const sel = ['--from', day, '--exchanges', 'deribit', '--data-types', 'trades', '--symbols', 'deribit:OPTIONS',
    '--output', 'gs://bkt/s'];
  write(['BTC-3NOV23-30000-C', 'BTC-3NOV23-31000-C', 'ETH-3NOV23-1800-P']);
  const d1 = await run(['download', ...sel], env);
  assert.equal(d1.status, 0, show(d1));
  write(['BTC-3NOV23-30000-C', 'ETH-3NOV23-1800-P']);
  d.stats.requests.length = 0;
  const d2 = await run(['download', ...sel, '--force'], env);
  assert.equal(d2.status, 0, show(d2));
  assert.match(d2.stderr, /removed 1 objects of its earlier download that the new file does not have/, show(d2));
  const recordName = encodeURIComponent(`s/raw_tick_data/by_date/day-${day}/data_type-trades/_items/deribit/OPTIONS.json`);
  const reads = d.stats.requests.filter((q) => q.method === 'GET' && q.url.includes(recordName) && /alt=media/.test(q.url));
  assert.equal(reads.length, 1, reads.map((q) => q.url).join('\n'));
  const names = [...d.state.buckets.get('bkt').keys()].filter((n) => n.endsWith('.parquet')).map((n) => path.basename(n)).sort();
  assert.deepEqual(names, ['DERIBIT:OPTION:BTC-USD-231103-30000-CALL.parquet', 'DERIBIT:OPTION:ETH-USD-231103-1800-PUT.parquet']);
});

test('validate --deep: a grouped item\'s object written again after its record, with other rows, is corrupt', async (t) => {
  // The object of one option replaced by a conversion of that option's own file (other rows): each
  // object whole, so only the record's row count tells the store no longer holds what the file gave.
  const dir = path.join(work, 'rows-differ');
  const data = path.join(dir, 'srv');
  fs.mkdirSync(data, { recursive: true });
  const day = '2023-11-01', t0 = Date.parse(`${day}T00:00:00Z`) * 1000;
  const csv = (symbols) => ['exchange,symbol,timestamp,local_timestamp,id,side,price,amount',
    ...symbols.map((s, i) => `deribit,${s},${t0 + 1000 + i},${t0 + 2000 + i},t${i},buy,0.05,1`)].join('\n') + '\n';
  fs.writeFileSync(path.join(data, `deribit_trades_${day}_OPTIONS.csv.gz`),
    zlib.gzipSync(csv(['BTC-3NOV23-30000-C', 'BTC-3NOV23-31000-C', 'BTC-3NOV23-30000-C'])));
  const gsrv = await startServer({ dataDirs: [data] });
  t.after(() => gsrv.close());
  const env = { TARDIS_DATASETS_URL: gsrv.url, TARDIS_API_URL: gsrv.url };
  const out = path.join(dir, 'store');
  const sel = ['--from', day, '--exchanges', 'deribit', '--data-types', 'trades', '--symbols', 'deribit:OPTIONS', '--output', out];
  const d1 = await run(['download', ...sel], env);
  assert.equal(d1.status, 0, show(d1));
  const deep = async () => run(['validate', ...sel, '--deep', '--read-only'], env);
  const v1 = await deep();
  assert.equal(v1.status, 0, show(v1));
  const own = path.join(dir, `deribit_trades_${day}_BTC-3NOV23-30000-C.csv.gz`);
  fs.writeFileSync(own, zlib.gzipSync(csv(Array(5).fill('BTC-3NOV23-30000-C'))));
  const c = await run(['convert', own, '--output', out]);
  assert.equal(c.status, 0, show(c));
  const v2 = await deep();
  assert.notEqual(v2.status, 0, show(v2));
  assert.match(v2.stdout, /DERIBIT:OPTION:BTC-USD-231103-30000-CALL[\s\S]*the object has 5 rows, the completion record of deribit OPTIONS lists 2: it was written again after the record/, show(v2));
  assert.match(v2.stdout, /1 corrupt/, show(v2));
  // Without --deep the footers are not read: complete, as before.
  const v3 = await run(['validate', ...sel, '--read-only'], env);
  assert.equal(v3.status, 0, show(v3));
  // Written again from a file without rows: not no_data (the record lists rows for it), corrupt the same way.
  fs.writeFileSync(own, zlib.gzipSync(csv([])));
  const c0 = await run(['convert', own, '--output', out]);
  assert.equal(c0.status, 0, show(c0));
  const v0 = await deep();
  assert.notEqual(v0.status, 0, show(v0));
  assert.match(v0.stdout, /the object has 0 rows, the completion record of deribit OPTIONS lists 2/, show(v0));
  // download --force writes the item again: both agree.
  const d2 = await run(['download', ...sel, '--force'], env);
  assert.equal(d2.status, 0, show(d2));
  const v4 = await deep();
  assert.equal(v4.status, 0, show(v4));
});
