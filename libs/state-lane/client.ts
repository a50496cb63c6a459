/** A client of the state lane (protocol.ts): uploads hashed as they go, downloads checked against the stored digest. */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import http2 from 'node:http2';
import { checkedPieces, type VerifiedPieces } from '../blob/index.js';
import { AideError, type ErrorKind } from '../errors.js';
import { ModelStateInfo } from '../gen/aide/v1/common.js';
import { ImportModelStateHeader } from '../gen/aide/v1/controller.js';
import { BULK_HTTP2_SETTINGS, BULK_SESSION_WINDOW } from '../service/http2-serve.js';
import { IMPORT_HEADER, SHA256_FIELD, STATE_HEADER, statePath, statesPath } from './protocol.js';


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
    // The server's windows on this end too: a download never waits on acknowledgements every 64 KiB.
    const session = http2.connect(url, { settings: BULK_HTTP2_SETTINGS, ...(opts.ca && { ca: opts.ca }) });
    await Promise.race([once(session, 'connect'), once(session, 'error').then(([err]) => { throw err; })]);
    session.setLocalWindowSize(BULK_SESSION_WINDOW);
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
    const pieces = checkedPieces(req as AsyncIterable<Buffer>, { size: info.sizeBytes, expected: () => expected, what: `state ${id}`, digest: 'its SHA-256' });
    return { info, pieces };
  }

  close(): void {
    this.session.close();
  }
}
