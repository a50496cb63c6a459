import type { Config } from '../config/config.js';
import { serviceCatalog, settingsHelp } from '../config/catalog.js';
import { EXIT_CONFIG, settingProblem } from '../config/setting-error.js';
import { createLogger, type Logger } from '../log.js';

/** A started deployable: where it listens and how it stops. */
export interface RunningService {
  name: string;
  /** e.g. { grpc: '127.0.0.1:50052', http: '127.0.0.1:8080' } */
  addresses: Record<string, string>;
  drainDeadlineMs: number;
  /** Stop taking work, let running calls finish until the deadline, release resources. */
  shutdown(deadlineMs: number): Promise<void>;
}

export type ServiceStarter = (config: Config, logger: Logger) => Promise<RunningService>;

/**
 * SIGTERM / SIGINT → drain within the deadline → exit 0 (1 if stopping failed).
 *
 * The handlers stay installed while draining and ignore repeats: a signal
 * often arrives twice (to the whole process group, and relayed by a parent
 * such as npm or the tsx CLI), and with no handler left Node's default — or
 * the tsx CLI's, which exits when the child has no listener — would kill the
 * process and cut the calls it is letting finish.
 */
export function onShutdownSignals(stop: () => Promise<void>, logger: Logger): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.info({ signal }, 'already draining');
      return;
    }
    stopping = true;
    logger.info({ signal }, 'draining');
    stop().then(
      () => { logger.info('stopped'); process.exit(0); },
      (err: unknown) => { logger.error({ err }, 'shutdown failed'); process.exit(1); },
    );
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
}

/** A start-up failure the settings fix: its message (which names the setting) and EXIT_CONFIG, no stack; anything else is rethrown. */
export function exitOnSettingProblem(err: unknown): never {
  const problem = settingProblem(err);
  if (problem === undefined) throw err;
  process.stderr.write(`error: ${problem}\n`);
  process.exit(EXIT_CONFIG);
}

/** The whole life of one service process: --help, config, logger, start, drain on signals. */
export async function runService(name: string, start: ServiceStarter, argv = process.argv.slice(2)): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`Usage: npm run service -- ${name}\n\nSettings come from the INI file named by AIDE_SETTINGS;\n` +
      `each key can be overridden by an environment variable. The ${name}'s settings:\n\n${settingsHelp(serviceCatalog(name))}\n`);
    return;
  }
  const { Config } = await import('../config/config.js');
  let logger: Logger;
  let service: RunningService;
  try {
    const config = Config.load();
    logger = createLogger(name, config.getProperty('Log', 'level', 'str', 'info'));
    service = await start(config, logger);
  } catch (err) {
    exitOnSettingProblem(err);
  }
  onShutdownSignals(() => service.shutdown(service.drainDeadlineMs), logger);
}
