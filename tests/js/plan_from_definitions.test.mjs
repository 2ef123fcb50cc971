// download/plan without --symbols: work items come from the day's instrument
// definitions (written by `market-tick instruments`), with the download filters,
// plus grouped files for data types no single instrument has (deribit
// options_chain lives only in OPTIONS). Real sockets: the project's
// Tardis-compatible test server with the exchange listings of tests/fixtures.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer } from '../support/tardis_server.mjs';
import { BIN, ROOT } from './lib/harness.mjs';

const DETAILS = path.join(ROOT, 'tests', 'fixtures', 'exchange_details');
let srv;
let dir;

// Asynchronous: the test server runs in this process and must keep answering.
function run(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(BIN, args, {
      env: { PATH: process.env.PATH, TARDIS_API_URL: srv.url, TARDIS_API_KEY: 'k', SOURCE_DATE_EPOCH: '1700000000' },
    });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}
async function plan(extra) {
  const r = await run(['plan', '--from', '2025-02-14', '--output', dir, '--json', ...extra]);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout).items.map((i) => `${i.data_type}/${i.exchange}/${i.symbol}`);
}

before(async () => {
  srv = await startServer({ exchangeDetailsDir: DETAILS });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-plan-defs-'));
  const r = await run(['instruments', '--from', '2025-02-14', '--exchanges', 'deribit', '--output', dir]);
  assert.equal(r.status, 0, r.stderr);
});
after(async () => {
  await srv?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test('plan from definitions: instruments x their data types, plus OPTIONS for options_chain only', async () => {
  const items = await plan([]);
  assert.equal(new Set(items).size, items.length, 'no duplicates');
  assert.ok(items.includes('trades/deribit/BTC-PERPETUAL'));
  assert.ok(items.includes('options_chain/deribit/OPTIONS'), items.join('\n'));
  // Per-instrument data types are not fetched again through the grouped files.
  assert.ok(!items.includes('trades/deribit/OPTIONS'));
  assert.ok(!items.some((i) => i.endsWith('/PERPETUALS') || i.endsWith('/FUTURES')));
});

// Object names are instrument keys, and users copy them into --symbols: the key names the
// instrument the stored definitions give it; a pair written as keys spell it gets the symbol.
test('--symbols takes an instrument key (as objects are named); a key-spelt pair gets a did-you-mean, exit 2', async () => {
  const items = await plan(['--exchanges', 'deribit', '--data-types', 'trades', '--symbols', 'DERIBIT:PERPETUAL:BTC-USD']);
  assert.deepEqual(items, ['trades/deribit/BTC-PERPETUAL']);
  // Without --exchanges, as a pin does, the key brings its exchange.
  assert.deepEqual(await plan(['--data-types', 'trades', '--symbols', 'DERIBIT:PERPETUAL:BTC-USD']), ['trades/deribit/BTC-PERPETUAL']);
  const pair = await run(['plan', '--from', '2025-02-14', '--output', dir, '--exchanges', 'deribit', '--data-types', 'trades',
    '--symbols', 'BTC-USD']);
  assert.equal(pair.status, 2, pair.stderr);
  assert.match(pair.stderr, /BTC-USD is how instrument keys spell a pair, not a Tardis symbol; did you mean deribit:\S+ \(DERIBIT:\w+:BTC-USD\)/);
  const unknown = await run(['plan', '--from', '2025-02-14', '--output', dir, '--exchanges', 'deribit', '--data-types', 'trades',
    '--symbols', 'DERIBIT:PERPETUAL:XRP-USD']);
  assert.equal(unknown.status, 2, unknown.stderr);
  assert.match(unknown.stderr, /--symbols DERIBIT:PERPETUAL:XRP-USD is an instrument key: .*which do not list it/);
});

test('filters: instrument types, expiry window, max instruments, data types', async () => {
  const perps = await plan(['--instrument-types', 'perpetual']);
  assert.ok(perps.length > 0);
  assert.ok(perps.every((i) => /PERPETUAL$/.test(i)), perps.join('\n'));
  const options = await plan(['--instrument-types', 'option', '--data-types', 'trades']);
  assert.deepEqual(options, ['trades/deribit/BTC-25APR25-200000-P']);
  assert.deepEqual(await plan(['--instrument-types', 'option', '--data-types', 'trades', '--max-days-to-expiry', '7']), []);
  const two = await plan(['--max-instruments', '2', '--data-types', 'trades']);
  assert.equal(two.length, 2, two.join('\n'));
  assert.ok((await plan(['--data-types', 'options_chain'])).every((i) => i.startsWith('options_chain/')));
});

// A step not taken (or another --output), which no rerun alone fixes: a usage error, exit 2 (it was 1,
// the code of bad data, in plan and download alike).
test('no definitions for the day: a clear error naming the instruments command, exit 2', async () => {
  for (const cmd of ['plan', 'download']) {
    const r = await run([cmd, '--from', '2025-03-01', '--output', dir]);
    assert.equal(r.status, 2, `${cmd}: ${r.stderr}`);
    assert.match(r.stderr, /no instrument definitions for 2025-03-01.*market-tick instruments/);
  }
});

test('validate expects what plan plans: the same instrument filters narrow its expected items', async () => {
  const planned = await plan(['--instrument-types', 'option', '--data-types', 'trades']);
  assert.deepEqual(planned, ['trades/deribit/BTC-25APR25-200000-P']);
  const r = await run(['validate', '--from', '2025-02-14', '--output', dir, '--read-only',
    '--instrument-types', 'option', '--data-types', 'trades']);
  assert.equal(r.status, 1, r.stderr);  // nothing downloaded: the one expected item is missing
  // expected, done, no_data, not_available, no_data_incident, missing, corrupt, rows
  assert.match(r.stdout, /^trades +1 +0 +0 +0 +0 +1 +0 +-$/m, r.stdout);
  assert.match(r.stdout, /^missing\t2025-02-14\ttrades\tDERIBIT:OPTION:BTC-USD-250425-200000-PUT$/m, r.stdout);
});

test('a definitions file that is there but unreadable: the hint is the run that replaces it (instruments --force), which then works', async () => {
  const own = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-plan-defs-bad-'));
  try {
    const r0 = await run(['instruments', '--from', '2025-02-14', '--exchanges', 'deribit', '--output', own]);
    assert.equal(r0.status, 0, r0.stderr);
    const file = path.join(own, 'instrument_availability', 'by_date', 'day-2025-02-14', 'instruments.parquet');
    fs.truncateSync(file, 1000);  // a cut copy
    const r = await run(['plan', '--from', '2025-02-14', '--output', own]);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /no instrument definitions for 2025-02-14 \(.*no PAR1 magic.*\): run `market-tick instruments --from 2025-02-14 --to 2025-02-14 --force` to replace it, or name --symbols/, r.stderr);
    // The run it names: without --force instruments refuses the file; with it, plan works again.
    const refused = await run(['instruments', '--from', '2025-02-14', '--exchanges', 'deribit', '--output', own]);
    assert.equal(refused.status, 1, refused.stderr);
    assert.match(refused.stderr, /rerun with --force to replace it/);
    const forced = await run(['instruments', '--from', '2025-02-14', '--to', '2025-02-14', '--exchanges', 'deribit', '--force', '--output', own]);
    assert.equal(forced.status, 0, forced.stderr);
    const again = await run(['plan', '--from', '2025-02-14', '--output', own, '--json']);
    assert.equal(again.status, 0, again.stderr);
    assert.ok(JSON.parse(again.stdout).items.length > 0);
  } finally {
    fs.rmSync(own, { recursive: true, force: true });
  }
});

// An exchange the definitions were written for, yet hold no instrument of: its symbols were rejected (dydx BTC-USD
// has no key without instrument metadata, which needs TARDIS_API_KEY), or it lists grouped files only. The note
// said "do not list this exchange; run market-tick instruments --exchanges dydx", the run just done, which
// changes nothing; for a venue whose grouped file was planned it said the same beside the planned item.
test('an exchange no instruments run wrote stops the plan; one written with no instrument is a note', async (t) => {
  const own = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-plan-defs-none-'));
  const data = path.join(own, 'data');
  fs.mkdirSync(data);
  const header = 'exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n';
  const zlib = await import('node:zlib');
  // Generated: one dydx perpetual and one grouped file of binance-european-options (its listing names OPTIONS only).
  fs.writeFileSync(path.join(data, 'dydx_trades_2024-03-01_BTC-USD.csv.gz'),
    zlib.gzipSync(header + 'dydx,BTC-USD,1709251200000000,1709251200000100,1,buy,60000,1\n'));
  fs.writeFileSync(path.join(data, 'binance-european-options_trades_2024-03-01_OPTIONS.csv.gz'),
    zlib.gzipSync(header + 'binance-european-options,BTC-240329-70000-C,1709251200000000,1709251200000100,1,buy,100,1\n'));
  const own_srv = await startServer({ dataDirs: [data] });
  t.after(async () => {
    await own_srv.close();
    fs.rmSync(own, { recursive: true, force: true });
  });
  const runAt = (args, key) => new Promise((resolve, reject) => {
    const env = { PATH: process.env.PATH, TARDIS_API_URL: own_srv.url, SOURCE_DATE_EPOCH: '1700000000', ...(key ? { TARDIS_API_KEY: key } : {}) };
    const child = spawn(BIN, args, { env });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
  const store = path.join(own, 'store');
  const exchanges = 'dydx,binance-european-options';
  let r = await runAt(['instruments', '--from', '2024-03-01', '--exchanges', exchanges, '--output', store]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /rejected dydx BTC-USD/, r.stderr);
  const planArgs = (ex) => ['plan', '--from', '2024-03-01', '--exchanges', ex, '--data-types', 'trades', '--output', store, '--json'];
  // An exchange named that no instruments run wrote would plan nothing of its own and end "done" on every fleet
  // task: the plan stops there, exit 2, saying what to run.
  r = await runAt(planArgs(`${exchanges},kraken`));
  assert.equal(r.status, 2, r.stderr);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /kraken: the instrument definitions of these days do not list this exchange; run market-tick instruments --exchanges kraken for them \(no item of this exchange is planned, so nothing of it would be downloaded; or leave it out of --exchanges\)/, r.stderr);
  assert.doesNotMatch(r.stderr, /dydx: /, r.stderr);
  // One that run wrote with no instrument (its symbols rejected) is a note: the others are planned.
  r = await runAt(planArgs(exchanges));
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout).items.map((i) => `${i.exchange}/${i.symbol}`), ['binance-european-options/OPTIONS']);
  assert.doesNotMatch(r.stderr, /binance-european-options: the instrument definitions/, r.stderr);
  assert.match(r.stderr, /dydx: the instrument definitions of these days list no instrument of this exchange: market-tick instruments rejected its symbols, whose keys need instrument metadata; set TARDIS_API_KEY, then run market-tick instruments --exchanges dydx --force for them/, r.stderr);
  assert.doesNotMatch(r.stderr, /dydx: [^;]*do not list this exchange/, r.stderr);
  // Written with metadata (a key) and still rejected: the reasons are that run's.
  r = await runAt(['instruments', '--from', '2024-03-01', '--exchanges', 'dydx', '--force', '--output', store], 'k');
  assert.equal(r.status, 0, r.stderr);
  r = await runAt(planArgs(exchanges), 'k');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /dydx: the instrument definitions of these days list no instrument of this exchange: market-tick instruments rejected its symbols, saying why as it wrote them/, r.stderr);
  // The same for download, before any request for data.
  r = await runAt(['download', '--from', '2024-03-01', '--exchanges', 'kraken,binance-european-options', '--data-types', 'trades', '--output', store], 'k');
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /kraken: the instrument definitions of these days do not list this exchange/, r.stderr);
  assert.equal(fs.existsSync(path.join(store, 'raw_tick_data')), false);
});

// validate from definitions with --exchanges: an exchange that no instruments run wrote into a day's definitions has
// nothing expected there, which read as "complete" (exit 0) when it was never asked for: nothing is known of it.
test('validate: an exchange the definitions of a day do not list makes the run incomplete, not complete with nothing expected', async (t) => {
  const own = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-validate-unlisted-'));
  const data = path.join(own, 'data');
  fs.mkdirSync(data);
  const header = 'exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n';
  const zlib = await import('node:zlib');
  // Generated: one trade a day of kraken XBT/USD and bitstamp btcusd on 2024-03-01 and 02.
  for (const [day, us] of [['2024-03-01', 1709251200000000], ['2024-03-02', 1709337600000000]]) {
    fs.writeFileSync(path.join(data, `kraken_trades_${day}_XBT-USD.csv.gz`),
      zlib.gzipSync(header + `kraken,XBT/USD,${us},${us + 100},1,buy,60000,1\n`));
    fs.writeFileSync(path.join(data, `bitstamp_trades_${day}_BTCUSD.csv.gz`),
      zlib.gzipSync(header + `bitstamp,btcusd,${us},${us + 100},1,buy,60000,1\n`));
  }
  const own_srv = await startServer({ dataDirs: [data] });
  t.after(async () => {
    await own_srv.close();
    fs.rmSync(own, { recursive: true, force: true });
  });
  const runAt = (args) => new Promise((resolve, reject) => {
    const env = { PATH: process.env.PATH, TARDIS_API_URL: own_srv.url, TARDIS_DATASETS_URL: own_srv.url, TARDIS_API_KEY: 'k',
      SOURCE_DATE_EPOCH: '1700000000' };
    const child = spawn(BIN, args, { env });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
  const store = path.join(own, 'store');
  const range = ['--from', '2024-03-01', '--to', '2024-03-02'];
  let r = await runAt(['instruments', ...range, '--exchanges', 'kraken', '--output', store]);
  assert.equal(r.status, 0, r.stderr);
  r = await runAt(['instruments', '--from', '2024-03-01', '--exchanges', 'bitstamp', '--output', store]);
  assert.equal(r.status, 0, r.stderr);
  r = await runAt(['download', ...range, '--exchanges', 'kraken,bitstamp', '--data-types', 'trades', '--output', store]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.split('\n').filter((l) => l.startsWith('done\t')).length, 3, r.stdout);

  const summary = path.join(own, 'summary.json');
  r = await runAt(['validate', ...range, '--exchanges', 'kraken,bitstamp', '--output', store, '--summary-json', summary]);
  assert.equal(r.status, 1, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /^no_definitions\t2024-03-02\tbitstamp: the instrument definitions of these days do not list this exchange; run market-tick instruments --exchanges bitstamp for them$/m, r.stdout);
  // The verdict counts what it fails for.
  assert.match(r.stdout, /^result: INCOMPLETE: 0 missing, 0 corrupt, .*, 0 days without definitions, 1 exchange without definitions on some day \(/m, r.stdout);
  const doc = JSON.parse(fs.readFileSync(summary, 'utf8'));
  assert.equal(doc.complete, false);
  assert.equal(doc.counts.done, 3);
  assert.deepEqual(doc.exchanges_without_definitions, ['bitstamp']);
  // Never asked for on any day: the same, for both days.
  r = await runAt(['validate', ...range, '--exchanges', 'coinbase', '--output', store]);
  assert.equal(r.status, 1, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /^no_definitions\t2024-03-01 \.\. 2024-03-02 \(2 days\)\tcoinbase: /m, r.stdout);
  // The exchanges the definitions list: complete.
  r = await runAt(['validate', ...range, '--exchanges', 'kraken', '--output', store, '--summary-json', summary]);
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  assert.deepEqual(JSON.parse(fs.readFileSync(summary, 'utf8')).exchanges_without_definitions, []);
  r = await runAt(['validate', '--from', '2024-03-01', '--exchanges', 'kraken,bitstamp', '--output', store]);
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
});
