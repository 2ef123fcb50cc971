// Command-line conventions shared by the commands, through the real binary: --from/--to take a
// date or an ISO 8601 date-time at midnight UTC (anything else is exit 2 saying why), --to stays
// inclusive and says so, days after an exchange's datasets.exportedUntil get a warning (from the
// definitions `instruments` wrote, served by the project's Tardis-compatible test server), and
// --force is the one spelling of "redo what exists" (convert's old --overwrite still works but is
// not in --help).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { startServer } from '../support/tardis_server.mjs';
import { BIN, FIXTURE_DIR, ROOT } from './lib/harness.mjs';

let srv;
let dir;

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

before(async () => {
  srv = await startServer({ exchangeDetailsDir: path.join(ROOT, 'tests', 'fixtures', 'exchange_details') });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-cli-conv-'));
});
after(async () => {
  await srv?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const SEL = ['--exchanges', 'binance-futures', '--symbols', 'BTCUSDT', '--json'];

test('--from/--to: midnight UTC date-times name the same days as dates; --to stays inclusive', async () => {
  const plain = await run(['plan', '--from', '2024-01-01', '--to', '2024-01-03', ...SEL, '--output', dir]);
  assert.equal(plain.status, 0, plain.stderr);
  const days = JSON.parse(plain.stdout).items.map((i) => i.day);
  assert.deepEqual(days, ['2024-01-01', '2024-01-02', '2024-01-03']);
  for (const [from, to] of [['2024-01-01T00:00:00Z', '2024-01-03T00:00:00.000Z'], ['2024-01-01T00:00:00+00:00', '2024-01-03']]) {
    const r = await run(['plan', '--from', from, '--to', to, ...SEL, '--output', dir]);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout).items.map((i) => i.day), days);
    if (to.length > 10) {
      assert.match(r.stderr, /is inclusive: the whole UTC day 2024-01-03 is included \(tardis-dev's to_date is exclusive; its equivalent here is --to 2024-01-02\)/);
    }
  }
  const help = await run(['plan', '--help']);
  assert.match(help.stdout, /--to V +last UTC day, INCLUSIVE .*tardis-dev's to_date is exclusive/);
});

test('--from/--to: another time or offset is a usage error saying why, before any I/O', async () => {
  const noon = await run(['plan', '--from', '2024-01-01T12:00:00Z', ...SEL, '--output', dir]);
  assert.equal(noon.status, 2);
  assert.match(noon.stderr, /--from '2024-01-01T12:00:00Z' is not midnight UTC: --from and --to name whole UTC days/);
  const offset = await run(['download', '--from', '2024-01-01', '--to', '2024-01-02T00:00:00+01:00', ...SEL.slice(0, 4), '--output', dir]);
  assert.equal(offset.status, 2);
  assert.match(offset.stderr, /has the offset \+01:00: days are UTC days, so give the UTC date/);
  assert.deepEqual(fs.readdirSync(dir), []);
});

test('days after the exchange\'s exportedUntil are warned about (a warning, not a filter)', async () => {
  // The test listing of deribit says exportedUntil 2026-08-22T00:00:00.000Z: 2026-08-22 is not exported.
  const store = path.join(dir, 'store');
  const ins = await run(['instruments', '--from', '2026-08-21', '--to', '2026-08-22', '--exchanges', 'deribit', '--output', store]);
  assert.equal(ins.status, 0, ins.stderr);
  const r = await run(['plan', '--from', '2026-08-21', '--to', '2026-08-22', '--exchanges', 'deribit', '--data-types', 'trades',
    '--max-instruments', '1', '--output', store, '--json']);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout).items.map((i) => i.day), ['2026-08-21', '2026-08-22']);
  assert.match(r.stderr, /deribit: 2026-08-22 after its datasets.exportedUntil 2026-08-22T00:00:00Z \(when its instrument definitions were written\): Tardis may not have exported this day yet/);
  assert.doesNotMatch(r.stderr, /2026-08-21 after/);
  fs.rmSync(store, { recursive: true, force: true });
});

test('--force is the one spelling; convert\'s old --overwrite is hidden and still works', async () => {
  const help = await run(['convert', '--help']);
  assert.equal(help.status, 0);
  assert.doesNotMatch(help.stdout, /--overwrite/);
  assert.match(help.stdout, /--force +replace outputs that exist/);
  for (const cmd of ['download', 'instruments', 'gcs']) {
    const h = await run([cmd, '--help']);
    assert.match(h.stdout, /\n {2}--force /, cmd);
    assert.doesNotMatch(h.stdout, /--overwrite/, cmd);
  }
  const input = path.join(FIXTURE_DIR, 'bitmex_trades_2020-03-01_XBTUSD.csv.gz');
  const out = path.join(dir, 'conv');
  const first = await run(['convert', input, '--output', out]);
  assert.equal(first.status, 0, first.stderr);
  const parquet = fs.readdirSync(out, { recursive: true }).filter((f) => String(f).endsWith('.parquet'));
  assert.equal(parquet.length, 1);
  const file = path.join(out, String(parquet[0]));
  const ino = () => fs.statSync(file).ino;
  const i0 = ino();
  for (const keep of [['--no-force'], ['--overwrite', 'false']]) {
    const r = await run(['convert', input, '--output', out, ...keep]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(ino(), i0, `${keep}: the existing object is kept`);
    // The summary says the object was kept, not that nothing came of the file.
    assert.match(r.stderr, /converted 1 of 1 input files into 0 Parquet files \(1 already there, kept as they were\)/);
    assert.equal(r.stdout, '', 'a kept object is not listed as written');
  }
  for (const redo of [['--force'], ['--overwrite', 'true'], []]) {
    const before = ino();
    const r = await run(['convert', input, '--output', out, ...redo]);
    assert.equal(r.status, 0, r.stderr);
    assert.notEqual(ino(), before, `${redo}: the object is replaced`);
  }
});

test('schemas --exchange prints the units of one venue; docs/SCHEMAS.md carries every venue\'s', async () => {
  const okx = await run(['schemas', '--exchange', 'okex-options']);
  assert.equal(okx.status, 0, okx.stderr);
  assert.match(okx.stdout, /^# Units on okex-options\n/);
  assert.match(okx.stdout, /\| okex-options \| options \| implied volatility \| decimal \(0\.78 = 78 %\) \|/);
  assert.match(okx.stdout, /\| okex-options \| options \| amount \| contracts, each worth the contract_size/);
  assert.match(okx.stdout, /\| okex-swap, okex-futures, okex-options \| all \| open interest \| contracts/);
  assert.doesNotMatch(okx.stdout, /\| deribit \|/);
  const deribit = await run(['schemas', '--exchange', 'deribit']);
  assert.match(deribit.stdout, /\| deribit \| options \| implied volatility \| percent \(55\.91 = 55\.91 %\) \|/);
  assert.match(deribit.stdout, /\| deribit \| inverse futures and perpetuals \| open interest \| USD notional \|/);
  const typo = await run(['schemas', '--exchange', 'binance-futurs']);
  assert.equal(typo.status, 2);
  assert.match(typo.stderr, /unknown exchange 'binance-futurs' \(did you mean binance-futures\?\)/);
  const all = await run(['schemas']);
  assert.equal(all.stdout, fs.readFileSync(path.join(ROOT, 'docs', 'SCHEMAS.md'), 'utf8'));
});

test('--output given empty (`--output "$OUT"` with OUT unset) is a usage error in every command, before any I/O; an empty OUTPUT_URI is not set', async () => {
  const cwd = fs.mkdtempSync(path.join(dir, 'empty-output-'));
  const fixture = path.join(FIXTURE_DIR, 'bitmex_trades_2020-03-01_XBTUSD.csv.gz');
  const day = ['--from', '2020-03-01', '--exchanges', 'bitmex', '--data-types', 'trades', '--symbols', 'bitmex:XBTUSD'];
  const runIn = (args, env = {}) => new Promise((resolve, reject) => {
    const child = spawn(BIN, args, {
      cwd,
      env: { PATH: process.env.PATH, TARDIS_API_URL: srv.url, TARDIS_DATASETS_URL: srv.url, TARDIS_API_KEY: 'k', SOURCE_DATE_EPOCH: '1700000000', ...env },
    });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
  const before = srv.stats().total;
  for (const args of [['download', ...day], ['plan', ...day], ['validate', ...day], ['derive', ...day, '--derive', 'trade_bar_1m'],
    ['instruments', '--from', '2020-03-01', '--exchanges', 'bitmex'], ['convert', fixture], ['sql']]) {
    const r = await runIn([...args, '--output', '']);
    assert.equal(r.status, 2, `${args.join(' ')} --output '':\n${r.stderr}`);
    assert.match(r.stderr, /--output is empty/, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stdout, '', args.join(' '));
  }
  assert.equal(srv.stats().total, before, 'no request to the server');
  assert.deepEqual(fs.readdirSync(cwd), [], 'nothing written, ./data not created');
  // An empty OUTPUT_URI is as if it were not set: the default ./data.
  const r = await runIn(['convert', fixture], { OUTPUT_URI: '' });
  assert.equal(r.status, 0, r.stderr);
  assert.ok(fs.existsSync(path.join(cwd, 'data', 'raw_tick_data')), r.stdout);
});

test('a selection flag given empty (--symbols "$SYMBOLS" with SYMBOLS unset) is a usage error naming it, not its default (every instrument of the definitions)', async () => {
  const out = fs.mkdtempSync(path.join(dir, 'empty-list-'));
  // Definitions of the day in the store: without --symbols, download would plan every instrument they list.
  const defs = await run(['instruments', '--from', '2024-01-01', '--exchanges', 'binance-futures', '--output', out]);
  assert.equal(defs.status, 0, defs.stderr);
  const all = await run(['plan', '--from', '2024-01-01', '--exchanges', 'binance-futures', '--data-types', 'trades', '--json', '--output', out]);
  assert.equal(all.status, 0, all.stderr);
  assert.ok(JSON.parse(all.stdout).items.length > 1, 'the definitions list several instruments');
  const base = ['--from', '2024-01-01', '--exchanges', 'binance-futures', '--data-types', 'trades', '--symbols', 'binance-futures:BTCUSDT'];
  const without = (flag) => {
    const i = base.indexOf(flag);
    return i < 0 ? base : [...base.slice(0, i), ...base.slice(i + 2)];
  };
  for (const [command, flag, value] of [['plan', '--symbols', ''], ['plan', '--symbols', ','], ['download', '--symbols', ''],
    ['validate', '--symbols', ''], ['plan', '--exchanges', ''], ['plan', '--data-types', ' '], ['download', '--base', ''],
    ['plan', '--instrument-types', ''], ['plan', '--quote', ''], ['derive', '--exchanges', '']]) {
    const args = [command, ...without(flag), flag, value, '--output', out, ...(command === 'download' ? ['--dry-run'] : []),
      ...(command === 'derive' ? ['--derive', 'trade_bar_1m'] : [])];
    const r = await run(args);
    assert.equal(r.status, 2, `${args.join(' ')}:\n${r.stderr}\n${r.stdout.slice(0, 300)}`);
    assert.ok(r.stderr.includes(`${flag} is empty`), `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stdout, '', `${args.join(' ')}: nothing planned`);
  }
  const inst = await run(['instruments', '--from', '2024-01-01', '--exchanges', '', '--output', out]);
  assert.equal(inst.status, 2, inst.stderr);
  assert.match(inst.stderr, /--exchanges is empty/);
});

test('--summary-json naming a URL (gs://...) is a usage error before any request, in every command that writes a summary', async () => {
  const out = fs.mkdtempSync(path.join(dir, 'summary-url-'));
  const before = srv.stats().total;
  for (const args of [
    ['download', '--from', '2020-03-01', '--exchanges', 'bitmex', '--data-types', 'trades', '--symbols', 'bitmex:XBTUSD'],
    ['validate', '--from', '2020-03-01', '--exchanges', 'bitmex', '--data-types', 'trades', '--symbols', 'bitmex:XBTUSD'],
    ['derive', '--from', '2020-03-01', '--exchanges', 'bitmex', '--derive', 'trade_bar_1m'],
    ['instruments', '--from', '2020-03-01', '--exchanges', 'bitmex'],
  ]) {
    const r = await run([...args, '--output', out, '--summary-json', 'gs://bucket/summary.json']);
    assert.equal(r.status, 2, `${args[0]}: ${r.stderr}`);
    assert.match(r.stderr, /--summary-json gs:\/\/bucket\/summary\.json: the summary is written to a local file, not to a URL/, args[0]);
    assert.equal(r.stdout, '', args[0]);
  }
  assert.equal(srv.stats().total, before, 'no request to the server');
  assert.deepEqual(fs.readdirSync(out), [], 'nothing written');
});
