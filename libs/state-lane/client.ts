/** A client of the state lane (protocol.ts): uploads hashed as they go, downloads checked against the stored digest. */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import http2 from 'node:http2';
import type { VerifiedPieces } from '../blob/index.js';
import { AideError, dataLoss, type ErrorKind } from '../errors.js';
import { ModelStateInfo } from '../gen/aide/v1/common.js';
import { ImportModelStateHeader } from '../gen/aide/v1/controller.js';
import { IMPORT_HEADER, SHA256_FIELD, STATE_HEADER, statePath, statesPath } from './protocol.js';

/** The client's receive windows: a download never waits on acknowledgements every 64 KiB. */
const settings = { initialWindowSize: 16 << 20, maxFrameSize: (1 << 24) - 1 };
const SESSION_WINDOW = 64 << 20;

type Request = http2.ClientHttp2Stream;

/** The answer's headers, or the lane's error (its JSON body) as the AideError it names. */
async function responseOf(req: Request): Promise<http2.IncomingHttpHeaders & http2.IncomingHttpStatusHeader> {
  const [headers] = await once(req, 'response') as [http2.IncomingHttpHeaders & http2.IncomingHttpStatusHeader];
  if (headers[':status'] === 200) return headers;
  const body = JSON.parse((await text(req)) || '{}') as { code?: ErrorKind; message?: string };
  throw new AideError(body.code ?? 'INTERNAL', body.message ?? `state lane answered ${headers[':status']}`);
}

async function text(req: Request): Promise<string> {
  let out = '';
  for await (const piece of req) out += String(piece);
  return out;
}

export class StateLaneClient {
  private constructor(private readonly session: http2.ClientHttp2Session, private readonly token: string) {}

  /** `url`: http://host:port (or https:// with `ca` for a private CA). */
  static async connect(url: string, opts: { token: string; ca?: string | Buffer }): Promise<StateLaneClient> {
    const session = http2.connect(url, { settings, ...(opts.ca && { ca: opts.ca }) });
    await Promise.race([once(session, 'connect'), once(session, 'error').then(([err]) => { throw err; })]);
    session.setLocalWindowSize(SESSION_WINDOW);
    return new StateLaneClient(session, opts.token);
  }

  /** Uploads `size` bytes as a new state of `header.project`; resolves with it once stored. */
  async upload(header: Omit<ImportModelStateHeader, 'size'>, size: number, pieces: Iterable<Uint8Array> | AsyncIterable<Uint8Array>): Promise<ModelStateInfo> {
    const req = this.session.request({
      ':method': 'PUT', ':path': statesPath(header.project), authorization: `Bearer ${this.token}`, 'content-length': size,
      [IMPORT_HEADER]: JSON.stringify(ImportModelStateHeader.toJSON({ ...header, size })),
    }, { waitForTrailers: true });
    const hash = createHash('sha256');
    req.once('wantTrailers', () => req.sendTrailers({ [SHA256_FIELD]: hash.digest('hex') }));
    const answered = responseOf(req);
    answered.catch(() => {}); // awaited below, after the body went (or failed)
    try {
      for await (const piece of pieces) {
        hash.update(piece);
        if (!req.write(piece)) await Promise.race([once(req, 'drain'), answered]);
      }
      req.end();
    } catch (err) {
      req.close(http2.constants.NGHTTP2_CANCEL);
      throw err;
    }
    await answered;
    return ModelStateInfo.fromJSON(JSON.parse(await text(req)));
  }

  /** A state's info and its bytes, checked against the stored SHA-256 as they pass (DATA_LOSS at the end otherwise). */
  async download(project: string, id: string): Promise<{ info: ModelStateInfo; pieces: VerifiedPieces }> {
    const req = this.session.request({ ':method': 'GET', ':path': statePath(project, id), authorization: `Bearer ${this.token}` });
    req.end();
    const headers = await responseOf(req);
    const info = ModelStateInfo.fromJSON(JSON.parse(String(headers[STATE_HEADER])));
    const expected = Buffer.from(String(headers[SHA256_FIELD]), 'hex');
    const out = { sha256: undefined as Buffer | undefined, [Symbol.asyncIterator]: () => pieces() };
    async function* pieces(): AsyncGenerator<Buffer> {
      const hash = createHash('sha256');
      let got = 0;
      for await (const piece of req as AsyncIterable<Buffer>) {
        hash.update(piece);
        got += piece.byteLength;
        yield piece;
      }
      if (got !== info.sizeBytes) throw dataLoss(`state ${id}: ${got} of ${info.sizeBytes} bytes arrived`);
      const digest = hash.digest();
      if (!digest.equals(expected)) throw dataLoss(`state ${id} does not match its SHA-256`);
      out.sha256 = digest;
    }
    return { info, pieces: out };
  }

  close(): void {
    this.session.close();
  }
}
