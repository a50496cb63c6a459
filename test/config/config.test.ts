import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Config, InvalidPropertyError, MissingPropertyError, envName } from '../../libs/config/config.js';
import { SETTINGS_CATALOG, defaultOf, findSetting, serviceCatalog, settingsHelp, settingsSnapshot } from '../../libs/config/catalog.js';

const INI = `
; comment
# another comment
[FileServer]
root = /srv/files
port = 50053
http_port = 8080

[AIController]
Port = 6000
drain_deadline_s = 2.5
workers = w1:50052, w2:50052
max_attempts = abc

[Security]
plaintext = yes
reflection = off
tls_ca = maybe

[Models]
extra = "quoted; value"
ratio = 1e-3
empty =
`;

const load = (env: NodeJS.ProcessEnv = {}, text = INI) => Config.load({ text, env });

test('str: the default type, read as written', () => {
  const c = load();
  assert.equal(c.getProperty('FileServer', 'root'), '/srv/files');
  assert.equal(c.getProperty('FileServer', 'root', 'str'), '/srv/files');
  assert.equal(c.getProperty('AIController', 'workers', 'str'), 'w1:50052, w2:50052');
  assert.equal(c.getProperty('Models', 'extra'), 'quoted; value');
  assert.equal(c.getProperty('Models', 'empty'), '', 'an empty str is a value, not missing');
  assert.equal(c.getProperty('Models', 'empty', 'str', 'fb'), '');
});

test('int and float', () => {
  const c = load();
  assert.equal(c.getProperty('FileServer', 'port', 'int'), 50053);
  assert.equal(c.getProperty('AIController', 'drain_deadline_s', 'float'), 2.5);
  assert.equal(c.getProperty('FileServer', 'port', 'float'), 50053);
  assert.equal(c.getProperty('Models', 'ratio', 'float'), 0.001);
});

test('bool accepts true/false/yes/no/on/off/1/0 in any case', () => {
  const words: [string, boolean][] = [
    ['true', true], ['false', false], ['yes', true], ['no', false], ['on', true], ['off', false],
    ['1', true], ['0', false], ['TRUE', true], ['No', false], [' On ', true],
  ];
  for (const [word, expected] of words) {
    const c = load({ AIDE_X_FLAG: word }, '');
    assert.equal(c.getProperty('X', 'flag', 'bool'), expected, word);
  }
  const c = load();
  assert.equal(c.getProperty('Security', 'plaintext', 'bool'), true);
  assert.equal(c.getProperty('Security', 'reflection', 'bool', true), false);
});

test('fallback forms: returned as given when the key is missing, ignored when set', () => {
  const c = load();
  assert.equal(c.getProperty('Nope', 'x', 'str', 'fb'), 'fb');
  assert.equal(c.getProperty('Nope', 'x', 'str', null), null);
  assert.equal(c.getProperty('Nope', 'x', 'str', undefined), undefined, 'an explicit undefined is a fallback');
  assert.equal(c.getProperty('Nope', 'x', 'int', 7), 7);
  assert.equal(c.getProperty('Nope', 'x', 'float', 1.5), 1.5);
  assert.equal(c.getProperty('Nope', 'x', 'bool', false), false);
  assert.equal(c.getProperty('Nope', 'x', 'int', null), null);
  assert.equal(c.getProperty('FileServer', 'port', 'int', 1), 50053);
  assert.equal(c.getProperty('Security', 'plaintext', 'bool', false), true);
  // An empty value is missing for typed reads (e.g. AIDE_X_Y= in a compose file).
  assert.equal(c.getProperty('Models', 'empty', 'int', 3), 3);
  assert.equal(c.getProperty('Models', 'empty', 'bool', true), true);
  assert.throws(() => c.getProperty('Models', 'empty', 'int'), MissingPropertyError);
});

test('missing key without a fallback throws MissingPropertyError naming section and key', () => {
  const c = load();
  for (const type of ['str', 'int', 'float', 'bool'] as const) {
    assert.throws(() => c.getProperty('Ranker', 'port', type), (err: unknown) => {
      assert.ok(err instanceof MissingPropertyError);
      assert.match(err.message, /\[Ranker\] port/);
      assert.match(err.message, /AIDE_RANKER_PORT/);
      assert.equal(err.section, 'Ranker');
      assert.equal(err.key, 'port');
      return true;
    });
  }
  assert.throws(() => c.getProperty('Ranker', 'port'), MissingPropertyError);
  assert.throws(() => load({}, '').getProperty('FileServer', 'root'), /\[FileServer\] root/);
});

test('values that do not parse as the type throw, naming section, key and value', () => {
  const c = load({ AIDE_X_BIG: '99999999999999999999', AIDE_X_FRAC: '1.5', AIDE_X_NAN: 'NaN', AIDE_X_INF: 'Infinity', AIDE_X_HEX: '0x10' });
  const bad: [string, string, 'int' | 'float' | 'bool', string][] = [
    ['AIController', 'max_attempts', 'int', 'abc'],
    ['AIController', 'max_attempts', 'float', 'abc'],
    ['Security', 'tls_ca', 'bool', 'maybe'],
    ['FileServer', 'root', 'int', '/srv/files'],
    ['X', 'big', 'int', '99999999999999999999'],
    ['X', 'frac', 'int', '1.5'],
    ['X', 'nan', 'float', 'NaN'],
    ['X', 'inf', 'float', 'Infinity'],
    ['X', 'hex', 'int', '0x10'],
  ];
  for (const [section, key, type, value] of bad) {
    assert.throws(() => c.getProperty(section, key, type), (err: unknown) => {
      assert.ok(err instanceof InvalidPropertyError, `${section}.${key} as ${type}`);
      assert.ok(err.message.includes(`[${section}] ${key}`), err.message);
      assert.ok(err.message.includes(JSON.stringify(value)), err.message);
      assert.ok(err.message.includes(type), err.message);
      return true;
    });
    // A fallback does not hide a bad value: only a missing one.
    assert.throws(() => c.getProperty(section, key, type, 0), InvalidPropertyError);
  }
});

test('sections and keys match case-insensitively', () => {
  const c = load();
  assert.equal(c.getProperty('fileserver', 'ROOT'), '/srv/files');
  assert.equal(c.getProperty('AICONTROLLER', 'port', 'int'), 6000, 'key written as "Port" in the file');
  assert.equal(c.has('aicontroller', 'PORT'), true);
  assert.equal(c.has('aicontroller', 'nope'), false);
});

test('env AIDE_<SECTION>_<KEY> overrides the file', () => {
  const c = load({ AIDE_FILESERVER_ROOT: '/env/root', AIDE_AICONTROLLER_PORT: '7000', AIDE_SECURITY_PLAINTEXT: 'false', AIDE_RANKER_PORT: '50099' });
  assert.equal(envName('FileServer', 'root'), 'AIDE_FILESERVER_ROOT');
  assert.equal(c.getProperty('FileServer', 'root'), '/env/root');
  assert.equal(c.getProperty('AIController', 'port', 'int'), 7000);
  assert.equal(c.getProperty('Security', 'plaintext', 'bool'), false);
  assert.equal(c.getProperty('Ranker', 'port', 'int'), 50099, 'env alone sets a key the file lacks');
  assert.equal(c.lookup('FileServer', 'root')?.origin, 'env AIDE_FILESERVER_ROOT');
  // Lower-case env names are matched too.
  assert.equal(load({ aide_fileserver_root: '/lower' }).getProperty('FileServer', 'root'), '/lower');
  // A bad env value is reported with its origin.
  assert.throws(() => load({ AIDE_FILESERVER_PORT: 'eighty' }).getProperty('FileServer', 'port', 'int'),
    /\[FileServer\] port = "eighty" \(from env AIDE_FILESERVER_PORT\)/);
});

test('DATABASE_URL stands in for [Database] url when that is unset or empty', () => {
  assert.equal(load({ DATABASE_URL: 'postgres://a/b' }, '').getProperty('Database', 'url'), 'postgres://a/b');
  assert.equal(load({ DATABASE_URL: 'postgres://a/b' }, '[Database]\nurl =\n').getProperty('Database', 'url'), 'postgres://a/b');
  assert.equal(load({ DATABASE_URL: 'postgres://a/b' }, '[Database]\nurl = postgres://file/db\n').getProperty('Database', 'url'), 'postgres://file/db');
  assert.equal(load({ DATABASE_URL: 'postgres://a/b', AIDE_DATABASE_URL: 'postgres://aide/db' }, '').getProperty('Database', 'url'), 'postgres://aide/db');
  assert.equal(load({}, '').getProperty('Database', 'url', 'str', ''), '');
});

test('load reads AIDE_SETTINGS, an explicit file, or nothing', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'aide-config-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'settings.ini');
  writeFileSync(file, '[FileServer]\nroot = /from/file\n[Log]\nlevel = debug\n');

  const viaEnv = Config.load({ env: { AIDE_SETTINGS: file } });
  assert.equal(viaEnv.file, file);
  assert.equal(viaEnv.getProperty('FileServer', 'root'), '/from/file');
  assert.deepEqual(viaEnv.sections().sort(), ['FileServer', 'Log']);

  const explicit = Config.load({ file, env: { AIDE_LOG_LEVEL: 'warn' } });
  assert.equal(explicit.getProperty('Log', 'level'), 'warn');

  const none = Config.load({ env: {} });
  assert.equal(none.file, undefined);
  assert.equal(none.getProperty('Log', 'level', 'str', 'info'), 'info');

  assert.throws(() => Config.load({ file: join(dir, 'missing.ini'), env: {} }), /cannot read settings file .*missing\.ini/);
});

test('ini quirks: keys before any section, dotted sections, arrays, bare keys', () => {
  const c = load({}, 'top = 1\n[a.b]\nx = 2\n[list]\nv[] = p\nv[] = q\nflag\nn = null\n');
  assert.equal(c.getProperty('', 'top', 'int'), 1);
  assert.equal(c.getProperty('a.b', 'x', 'int'), 2);
  assert.equal(c.getProperty('list', 'v'), 'p,q');
  assert.equal(c.getProperty('list', 'flag', 'bool'), true);
  assert.equal(c.getProperty('list', 'n'), 'null');
});

test('catalog: settingsHelp lists every setting by env name with default and description', () => {
  const help = settingsHelp();
  for (const spec of SETTINGS_CATALOG) {
    const name = envName(spec.section, spec.key);
    const line = help.split('\n').find((l) => l.trimStart().startsWith(`${name} `));
    assert.ok(line, `${name} listed`);
    assert.ok(line.includes(spec.description), `${name} described`);
    if (spec.default !== undefined) assert.ok(line.includes(`default: ${String(spec.default)}`), `${name} default in: ${line}`);
  }
  for (const name of ['AIDE_FILESERVER_ROOT', 'AIDE_AICONTROLLER_PORT', 'AIDE_DATABASE_URL', 'AIDE_NATS_STREAM', 'AIDE_MODELS_EXTRA', 'AIDE_LOG_LEVEL']) {
    assert.match(help, new RegExp(`^  ${name} `, 'm'));
  }
  assert.match(help, /DATABASE_URL/);
  assert.match(help, /AIDE_DATABASE_POOL_SIZE\s+pool_size \(int, default: 10\)/);
});

test('catalog: every key and its default', () => {
  const expected: [string, string, string | number | boolean | undefined][] = [
    ['Database', 'url', undefined], ['Database', 'schema', undefined], ['Database', 'pool_size', 10], ['Database', 'embedded_dir', undefined],
    ['NATS', 'url', undefined], ['NATS', 'stream', 'AIDE_PROGRESS'], ['NATS', 'subject_prefix', 'aide'],
    ['AIController', 'host', '0.0.0.0'], ['AIController', 'port', 50051], ['AIController', 'workers', undefined],
    ['AIController', 'workers_dns', undefined], ['AIController', 'workers_resolve_interval_s', 30], ['AIController', 'workers_retry_s', 2],
    ['AIController', 'max_attempts', 3], ['AIController', 'drain_deadline_s', 20],
    ['AIController', 'ranker', undefined], ['AIController', 'fileserver', undefined], ['AIController', 'controller_id', undefined],
    ['AIController', 'lease_s', 15], ['AIController', 'max_active_jobs', 4], ['AIController', 'max_state_bytes', 4294967296],
    ['AIController', 'state_dir', undefined], ['AIController', 'state_lane_port', undefined], ['AIController', 'state_sync', true],
    ['AIWorker', 'host', '0.0.0.0'], ['AIWorker', 'port', 50052], ['AIWorker', 'worker_id', undefined],
    ['AIWorker', 'max_concurrent_jobs', 2], ['AIWorker', 'backend', 'auto'], ['AIWorker', 'max_state_bytes', 2147483648],
    ['AIWorker', 'fileserver', undefined], ['AIWorker', 'state_dir', undefined], ['AIWorker', 'state_sync', true], ['AIWorker', 'drain_deadline_s', 20],
    ['FileServer', 'root', './.data/files'], ['FileServer', 'host', '0.0.0.0'], ['FileServer', 'port', 50053],
    ['FileServer', 'http_port', 8080], ['FileServer', 'max_put_bytes', 1073741824], ['FileServer', 'url_signing_key', undefined],
    ['FileServer', 'drain_deadline_s', 20], ['FileServer', 'http_processes', 1], ['FileServer', 'http_cache_bytes', 134217728],
    ['Ranker', 'host', '0.0.0.0'], ['Ranker', 'port', 50054], ['Ranker', 'drain_deadline_s', 20],
    ['Security', 'plaintext', false], ['Security', 'tls_cert', undefined], ['Security', 'tls_key', undefined],
    ['Security', 'tls_ca', undefined], ['Security', 'require_client_cert', true], ['Security', 'reflection', true], ['Security', 'mesh_token', undefined],
    ['Log', 'level', 'info'], ['Models', 'extra', undefined],
    ...['AIController', 'AIWorker', 'FileServer', 'Ranker'].map((section): [string, string, undefined] => [section, 'metrics_port', undefined]),
  ];
  for (const [section, key, def] of expected) {
    assert.ok(findSetting(section, key), `[${section}] ${key} in catalog`);
    assert.equal(defaultOf(section, key), def, `[${section}] ${key} default`);
  }
  assert.equal(SETTINGS_CATALOG.length, expected.length, 'no unexpected settings');
  const ids = SETTINGS_CATALOG.map((s) => `${s.section}.${s.key}`.toLowerCase());
  assert.equal(new Set(ids).size, ids.length, 'no duplicates');
  assert.throws(() => defaultOf('Nope', 'x'), /not in the catalog/);
});

test('getProperty does not consult the catalog', () => {
  const c = load({}, '');
  assert.throws(() => c.getProperty('Database', 'pool_size', 'int'), MissingPropertyError, 'a catalog default is not a value');
  assert.equal(c.getProperty('Database', 'pool_size', 'int', 4), 4);
  assert.equal(c.getProperty('Unknown', 'key', 'str', 'x'), 'x');
  assert.equal(load({ AIDE_UNKNOWN_KEY: 'v' }, '').getProperty('Unknown', 'key'), 'v', 'keys outside the catalog work');
});

test('settingsSnapshot: a child loading it with no environment sees the same settings', () => {
  const parent = load({ AIDE_FILESERVER_HTTP_PROCESSES: '3', DATABASE_URL: 'postgres://u:p;w=d@h/db?x=1' },
    '[FileServer]\nroot = /srv/with space\nurl_signing_key = "k;e=y#1"\nhttp_processes = 1\n[Unknown]\nkey = v\n');
  const child = Config.load({ text: settingsSnapshot(parent), env: {} });
  assert.equal(child.getProperty('FileServer', 'http_processes', 'int'), 3, 'env over file');
  assert.equal(child.getProperty('FileServer', 'root'), '/srv/with space');
  assert.equal(child.getProperty('FileServer', 'url_signing_key'), 'k;e=y#1');
  assert.equal(child.getProperty('Database', 'url'), 'postgres://u:p;w=d@h/db?x=1', 'an alias resolves too');
  assert.equal(child.has('Unknown', 'key'), false, 'only catalogued settings');
  assert.equal(child.has('FileServer', 'http_port'), false, 'unset stays unset');
});

test('npm run service -- <name> --help shows that service\'s sections and the shared ones it reads, no others', async () => {
  const { execFile } = await import('node:child_process');
  const help = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, ['--import', 'tsx', 'services/run.ts', 'worker', '--help'], (err, stdout) => (err ? reject(err) : resolve(stdout)));
  });
  const sections = [...help.matchAll(/^\[(\S+)\]$/gm)].map((m) => m[1]);
  assert.deepEqual(sections.sort(), ['AIWorker', 'Log', 'Models', 'NATS', 'Security']);
  assert.match(help, /^  AIDE_AIWORKER_MAX_CONCURRENT_JOBS /m);
  assert.doesNotMatch(help, /AIDE_AICONTROLLER_|AIDE_FILESERVER_|AIDE_DATABASE_/);
  // A key the controller reads from another service's section is listed alone, not the whole section.
  const controller = serviceCatalog('controller');
  assert.deepEqual(controller.filter((e) => e.section === 'FileServer').map((e) => e.key), ['url_signing_key']);
  assert.ok(controller.some((e) => e.section === 'Database'));
});
