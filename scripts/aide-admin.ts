/**
 * Administration straight on the database named by the settings ([Database]
 * url, or DATABASE_URL; AIDE_SETTINGS names the file):
 *
 *   npx tsx scripts/aide-admin.ts tokens create --name ci --role proj=admin --role '*=viewer' --ttl 30d
 *   npx tsx scripts/aide-admin.ts tokens revoke <id>
 *   npx tsx scripts/aide-admin.ts tokens list
 *   npx tsx scripts/aide-admin.ts audit list [--project p] [--limit n]
 *
 * For bootstrapping (the first '*'=admin token) and for operators with
 * database access; everyone else uses aide.v1.AdminService with a token.
 */
import { userInfo } from 'node:os';
import { Command, InvalidArgumentError } from 'commander';
import { listAuditEvents } from '../libs/auth/audit.js';
import { isRole, type Role } from '../libs/auth/roles.js';
import { migrateAuth } from '../libs/auth/schema.js';
import { TokenStore, type TokenInfo } from '../libs/auth/tokens.js';
import { Config } from '../libs/config/config.js';
import { databaseOptions, openDatabase } from '../libs/db/index.js';
import { createLogger } from '../libs/log.js';

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** '30d', '12h', '45m', '90s'; 'never' = no expiry. */
function parseTtl(text: string): number {
  if (text === 'never') return 0;
  const match = /^(\d+)([smhd])$/.exec(text);
  if (!match) throw new InvalidArgumentError('use a number with s, m, h or d (e.g. 30d), or never');
  return Number(match[1]) * UNIT_SECONDS[match[2]!]!;
}

/** Repeated `--role project=role` into one map. */
function collectRole(text: string, roles: Map<string, Role>): Map<string, Role> {
  const [project, role] = text.split('=');
  if (!project || !role || !isRole(role)) throw new InvalidArgumentError('use project=role with role viewer, annotator, trainer or admin ("*" = every project)');
  if (roles.has(project)) throw new InvalidArgumentError(`project '${project}' is named twice`);
  return new Map(roles).set(project, role);
}

const actor = (): string => `cli:${userInfo().username}`;
const day = (d: Date | null): string => d?.toISOString() ?? '-';
const describe = (t: TokenInfo): string =>
  [t.id, t.name, [...t.roles].map(([p, r]) => `${p}=${r}`).join(','), day(t.createdAt), day(t.expiresAt), t.revokedAt ? `revoked ${day(t.revokedAt)}` : 'active'].join('\t');

/** Runs `action` with the token store on the configured database, then closes it. */
async function withStore<T>(action: (store: TokenStore) => Promise<T>): Promise<T> {
  const config = Config.load();
  const options = databaseOptions(config);
  if (!options.url) throw new Error('set [Database] url (or DATABASE_URL): the embedded database of one command holds no tokens');
  const db = await openDatabase({ ...options, logger: createLogger('aide-admin', 'warn') });
  try {
    await migrateAuth(db.pool);
    return await action(new TokenStore(db.pool));
  } finally {
    await db.close();
  }
}

const program = new Command('aide-admin').description('API tokens and the audit trail of an AIDE mesh').showHelpAfterError();
const tokens = program.command('tokens').description('API tokens');

tokens.command('create')
  .requiredOption('--name <name>', 'who or what the token is for')
  .requiredOption('--role <project=role>', 'a role on a project, repeatable; "*" = every project', collectRole, new Map<string, Role>())
  .option('--ttl <duration>', 'lifetime: 30d, 12h, 45m, 90s or never', parseTtl, parseTtl('90d'))
  .action((opts: { name: string; role: Map<string, Role>; ttl: number }) => withStore(async (store) => {
    const { token, secret } = await store.createToken({ name: opts.name, roles: opts.role, ttlSeconds: opts.ttl }, actor());
    process.stderr.write(`created ${describe(token)}\nthe secret is shown once; store it now:\n`);
    process.stdout.write(`${secret}\n`);
  }));

tokens.command('revoke <id>')
  .action((id: string) => withStore(async (store) => {
    await store.revokeToken(id, actor());
    process.stderr.write(`revoked ${id}\n`);
  }));

tokens.command('list')
  .action(() => withStore(async (store) => {
    for (const token of await store.listTokens()) process.stdout.write(`${describe(token)}\n`);
  }));

program.command('audit').description('the audit trail').command('list')
  .option('--project <project>', 'only this project\'s events')
  .option('--limit <n>', 'newest n events', (v) => Number.parseInt(v, 10), 100)
  .action((opts: { project?: string; limit: number }) => withStore(async (store) => {
    const { events } = await listAuditEvents(store.pool, { project: opts.project, pageSize: opts.limit });
    for (const e of events) {
      process.stdout.write(`${[e.id, e.time.toISOString(), e.actor, e.action, e.project || '-', e.target || '-', JSON.stringify(e.details)].join('\t')}\n`);
    }
  }));

await program.parseAsync().catch((err: unknown) => {
  process.stderr.write(`aide-admin: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
