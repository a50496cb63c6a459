import type { Command } from 'commander';
import * as grpc from '@grpc/grpc-js';
import { FileServerClient } from '../../libs/fileserver-client/index.js';
import { ControllerServiceService } from '../../libs/gen/aide/v1/controller.js';
import { FileServiceService } from '../../libs/gen/aide/v1/fileserver.js';
import { createClient, type Client } from '../../libs/grpc/client.js';
import { StateLaneClient } from '../../libs/state-lane/client.js';
import { connectionOptions } from './connection.js';
import { credentialsFrom, readOption, type TlsOptions } from './credentials.js';
import { reportUnreachable } from './reachability.js';

export interface GlobalOptions extends TlsOptions {
  address: string;
  fileserver: string;
  token?: string;
  json?: boolean;
  /** The profile file the connection came from (connection.ts), if any: named when it cannot be reached. */
  profile?: string;
}

export type ControllerClient = Client<typeof ControllerServiceService>;

/** Unary calls fail after this long rather than hang on a stuck service. */
const DEADLINE_MS = 60_000;

/** One CLI call's context: its connections (opened on first use, closed when the command ends) and its output. */
export class Session {
  readonly json: boolean;
  readonly out: NodeJS.WritableStream = process.stdout;
  readonly #options: GlobalOptions;
  readonly #channels: { close(): void }[] = [];
  #controller: ControllerClient | undefined;
  #files: Client<typeof FileServiceService> | undefined;

  constructor(options: GlobalOptions) {
    this.#options = options;
    this.json = options.json ?? false;
  }

  get controller(): ControllerClient {
    this.#controller ??= this.#open(ControllerServiceService, 'controller', this.#options.address);
    return this.#controller;
  }

  /** One project's folder on the FileServer. */
  files(project: string): FileServerClient {
    this.#files ??= this.#open(FileServiceService, 'FileServer', this.#options.fileserver);
    return new FileServerClient({ client: this.#files, project });
  }

  /** A line of human output (suppressed with --json, where the command prints JSON instead). */
  say(line: string): void {
    if (!this.json) this.out.write(`${line}\n`);
  }

  /** A response: as JSON with --json (the proto3 JSON mapping), else as the lines `human` makes of it. */
  print<T>(value: T, codec: { toJSON(value: T): unknown }, human: (value: T) => string[]): void {
    const text = this.json ? JSON.stringify(codec.toJSON(value), null, 2) : human(value).join('\n');
    if (text !== '') this.out.write(`${text}\n`);
  }

  /** The controller's state lane at `url` (plain HTTP/2, for large states), with this session's token and CA. */
  async stateLane(url: string): Promise<StateLaneClient> {
    const lane = await StateLaneClient.connect(url, { token: this.#options.token ?? '', ca: readOption(this.#options.tlsCa, '--tls-ca') ?? undefined });
    this.#channels.push(lane);
    return lane;
  }

  close(): void {
    for (const c of this.#channels) c.close();
  }

  #open<S extends grpc.ServiceDefinition>(definition: S, service: string, address: string): Client<S> {
    const metadata = new grpc.Metadata();
    if (this.#options.token) metadata.set('authorization', `Bearer ${this.#options.token}`);
    const client = createClient(definition, address, { credentials: credentialsFrom(this.#options), metadata, defaultDeadlineMs: DEADLINE_MS });
    this.#channels.push(client);
    return reportUnreachable(client, { service, address, plaintext: this.#options.plaintext ?? false, profile: this.#options.profile });
  }
}

/**
 * A commander action that gets a Session built from the global options (or the profile) as its
 * first argument, and closes it afterwards. Commander passes the positional
 * arguments, the command's options and the command itself.
 */
export function withSession<A extends unknown[]>(fn: (session: Session, ...args: A) => Promise<void>) {
  return async (...args: [...A, Command]): Promise<void> => {
    const command = args[args.length - 1] as Command;
    const session = new Session(connectionOptions(command));
    try {
      await fn(session, ...(args.slice(0, -1) as A));
    } finally {
      session.close();
    }
  };
}
