/**
 * Runs a registered model's train or inference, or a ranker, in-process for a
 * project — the twin of the seed's debug/test_model_locally.py. No controller,
 * worker or queue: errors surface with their stack, breakpoints just work.
 *
 *   npx tsx scripts/test-model-locally.ts --project demo --mode train \
 *     --model-library examples.colour_histogram --data data.json --file-root ./files --save-state state.bin
 *
 * Data come from a JSON file (TrainingData for train/inference, image id →
 * predictions for rank); files from a local FileServer root folder or a
 * running FileServer; settings from --settings or AIDE_SETTINGS.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { Command, Option } from 'commander';
import cliProgress from 'cli-progress';
import { Config } from '../libs/config/config.js';
import { DbConnector, databaseOptions, openDatabase, type Database } from '../libs/db/index.js';
import { FileServerClient } from '../libs/fileserver-client/index.js';
import { createLogger } from '../libs/log.js';
import type { DbConnectorLike, FileSource } from '../libs/plugin/context.js';
import type { InferenceResult, LabelAnnotation, TrainingData } from '../libs/plugin/data.js';
import { rankDataFromJson, typedArraysAsLists } from '../libs/plugin/json-data.js';
import { LocalFileSource } from '../libs/plugin/local-file-source.js';
import type { UpdateState } from '../libs/plugin/plugin.js';
import { rankInMemory } from '../libs/plugin/pool-selection.js';
import { noDatabase } from '../libs/plugin/probe.js';
import { loadRegistry, type Registry } from '../libs/plugin/registry.js';
import { meshClientOptions } from '../libs/service/mesh-access.js';

interface Cli {
  project: string;
  mode: 'train' | 'inference' | 'rank';
  modelLibrary?: string;
  rankerLibrary?: string;
  options?: string;
  data: string;
  settings?: string;
  fileRoot?: string;
  fileserver?: string;
  db: boolean;
  state?: string;
  saveState?: string;
  output?: string;
  extra: string[];
}

const program = new Command('test-model-locally')
  .description('Run a model (train, inference) or a ranker in-process for a project')
  .requiredOption('--project <name>', 'short name of the project')
  .addOption(new Option('--mode <mode>', 'what to run').choices(['train', 'inference', 'rank']).makeOptionMandatory())
  .option('--model-library <key>', 'registry key of the model (train, inference)')
  .option('--ranker-library <key>', 'registry key of the ranker (rank)')
  .option('--options <json|@file>', 'plugin options as JSON text or @path (default: the plugin\'s defaults)')
  .requiredOption('--data <file>', 'JSON data file: TrainingData (train, inference) or image id → { predictions } (rank)')
  .option('--settings <file>', 'INI settings file (default: AIDE_SETTINGS)')
  .option('--file-root <dir>', 'local FileServer root folder: files are read from <dir>/<project>/')
  .option('--fileserver <host:port>', 'running FileServer (default: [AIWorker] fileserver)')
  .option('--db', 'open the project database from [Database] and hand it to the plugin', false)
  .option('--state <file>', 'input model state')
  .option('--save-state <file>', 'where train writes the new state')
  .option('--output <file>', 'where inference and rank write their result as JSON')
  .option('--extra <spec...>', 'extra plugins to register (specifier#ExportName)', []);

/** Progress bar for PROGRESS with done/total; other states print as lines, as AIDE shows indefinite bars. */
function progressReporter(): { update: UpdateState; stop(): void } {
  const bar = new cliProgress.SingleBar({ format: '{message} [{bar}] {value}/{total}', stream: process.stderr }, cliProgress.Presets.shades_classic);
  let started = false;
  return {
    update(state, message = '', done, total) {
      if (state === 'PROGRESS' && done !== undefined && total !== undefined) {
        if (!started) { bar.start(total, done, { message }); started = true; }
        bar.setTotal(total);
        bar.update(done, { message });
      } else {
        process.stderr.write(`[${state}] ${message}\n`);
      }
    },
    stop() {
      if (started) bar.stop();
      started = false;
    },
  };
}

const readText = async (value: string) => (value.startsWith('@') ? readFile(value.slice(1), 'utf8') : value);

function fileSource(cli: Cli, config: Config): FileSource {
  if (cli.fileRoot) return new LocalFileSource(cli.fileRoot, cli.project);
  const address = cli.fileserver ?? config.getProperty('AIWorker', 'fileserver', 'str', '');
  if (!address) throw new Error('give --file-root or --fileserver (or set [AIWorker] fileserver)');
  return new FileServerClient({ project: cli.project, address, ...meshClientOptions(config) });
}

/** Share of images whose predicted label equals their (single) annotated label, if the data have labels. */
function labelAccuracy(data: TrainingData<LabelAnnotation>, result: InferenceResult): { correct: number; total: number } {
  let correct = 0;
  let total = 0;
  for (const [id, image] of Object.entries(data.images)) {
    const truth = image.annotations?.[0]?.label;
    if (!truth) continue;
    total++;
    const predicted = result[id]?.predictions[0];
    if (predicted && 'label' in predicted && predicted.label === truth) correct++;
  }
  return { correct, total };
}

async function verifiedOptions(registry: Registry, key: string, text: string | undefined) {
  const verified = await registry.verifyOptions(key, text === undefined ? '' : await readText(text));
  for (const w of verified.warnings) process.stderr.write(`options warning: ${w}\n`);
  if (!verified.valid) throw new Error(`invalid options for ${key}: ${verified.errors.join('; ')}`);
  return verified.options;
}

async function run(cli: Cli): Promise<void> {
  const config = Config.load(cli.settings ? { file: cli.settings } : {});
  const logger = createLogger('test-model-locally', config.getProperty('Log', 'level', 'str', 'warn'));
  const extra = [...config.getProperty('Models', 'extra', 'str', '').split(','), ...cli.extra].map((s) => s.trim()).filter(Boolean);
  const registry = await loadRegistry({ extra, config, logger });
  for (const e of registry.errors) process.stderr.write(`plugin skipped: ${e.source}: ${e.message}\n`);

  let database: Database | undefined;
  let dbConnector: DbConnectorLike = noDatabase;
  if (cli.db) {
    database = await openDatabase({ ...databaseOptions(config), logger });
    dbConnector = new DbConnector(database);
  }
  const data: unknown = JSON.parse(await readFile(cli.data, 'utf8'));
  const context = { project: cli.project, config, dbConnector, fileServer: fileSource(cli, config) };
  const progress = progressReporter();
  const started = performance.now();
  try {
    if (cli.mode === 'rank') {
      if (!cli.rankerLibrary) throw new Error('--mode rank needs --ranker-library');
      const { ctor } = registry.getRanker(cli.rankerLibrary);
      const ranker = new ctor({ ...context, options: await verifiedOptions(registry, cli.rankerLibrary, cli.options) });
      const ranked = await rankInMemory(ranker, rankDataFromJson(data), progress.update, undefined, cli.rankerLibrary);
      await writeResult(cli, ranked);
      return;
    }
    if (!cli.modelLibrary) throw new Error(`--mode ${cli.mode} needs --model-library`);
    const { ctor } = registry.getModel(cli.modelLibrary);
    const model = new ctor({ ...context, options: await verifiedOptions(registry, cli.modelLibrary, cli.options) });
    const state = cli.state ? new Uint8Array(await readFile(cli.state)) : null;
    const trainingData = data as TrainingData<LabelAnnotation>;
    if (cli.mode === 'train') {
      const result = await model.train(state, trainingData, progress.update);
      const { state: next, stats } = result instanceof Uint8Array ? { state: result, stats: undefined } : result;
      progress.stop();
      process.stdout.write(`trained: state of ${next.length} bytes${stats ? `, stats ${JSON.stringify(stats)}` : ''}\n`);
      if (cli.saveState) await writeFile(cli.saveState, next);
    } else {
      const result = await model.inference(state, trainingData, progress.update);
      progress.stop();
      const { correct, total } = labelAccuracy(trainingData, result);
      const count = Object.values(result).reduce((n, img) => n + img.predictions.length, 0);
      process.stdout.write(`inference: ${count} predictions on ${Object.keys(result).length} images\n`);
      if (total > 0) process.stdout.write(`accuracy: ${correct}/${total} = ${(correct / total).toFixed(4)}\n`);
      await writeResult(cli, result);
    }
  } finally {
    progress.stop();
    await database?.close();
    process.stderr.write(`done in ${((performance.now() - started) / 1000).toFixed(2)} s\n`);
  }
}

async function writeResult(cli: Cli, result: unknown): Promise<void> {
  if (cli.output) await writeFile(cli.output, JSON.stringify(result, typedArraysAsLists, 2));
}

program.action(async (cli: Cli) => {
  try {
    await run(cli);
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  }
});
await program.parseAsync();
