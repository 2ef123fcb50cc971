'use strict';
// The firebase storage emulator's GCS JSON API, in-process and offline: the Java rules runtime, which firebase-tools would download, is replaced
// by no-ops; the GCS endpoints never consult rules. Relies on firebase-tools internals: keep the
// version pinned in package.json. Env: GCS_EMU_HOST (127.0.0.1), GCS_EMU_PORT (9199); object
// bytes go under $TMPDIR.
const path = require('path');
const FT = path.dirname(require.resolve('firebase-tools/package.json'));
const { StorageEmulator } = require(path.join(FT, 'lib/emulator/storage/index.js'));
const { StorageRulesRuntime } = require(path.join(FT, 'lib/emulator/storage/rules/runtime.js'));
const { EmulatorRegistry } = require(path.join(FT, 'lib/emulator/registry.js'));

if (typeof StorageRulesRuntime.prototype.start !== 'function') {
  console.error('firebase-tools internals moved: StorageRulesRuntime.prototype.start is gone');
  process.exit(2);
}
StorageRulesRuntime.prototype.start = async function () {}; // no Java, no download
StorageRulesRuntime.prototype.stop = async function () {};

const host = process.env.GCS_EMU_HOST || '127.0.0.1';
const port = Number(process.env.GCS_EMU_PORT || 9199);
const emu = new StorageEmulator({ projectId: 'demo-test', host, port, rules: [], auto_download: false });
emu.rulesManager.start = async () => {}; // no rules to compile
emu.rulesManager.stop = async () => {};
EmulatorRegistry.start(emu).then(() => {
  console.log(`gcs emulator listening on http://${host}:${port}`);
}).catch((e) => { console.error('start failed:', e); process.exit(1); });
// Some handlers throw after replying (a media upload without ?name=): keep serving.
process.on('unhandledRejection', (e) => console.error('emulator handler error (ignored):', e && e.message));
const stop = () => emu.stop().finally(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
