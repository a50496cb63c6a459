import { createReadStream, createWriteStream } from 'node:fs';
import { readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Option, type Command } from 'commander';
import { payload, StreamParts, toChunks, verifyChunks } from '../../../libs/blob/index.js';
import { ModelStateInfo } from '../../../libs/gen/aide/v1/common.js';
import {
  DeleteModelStateResponse, GetTrainingStatisticsResponse, ImportModelStateResponse, ListModelStatesResponse, SetCurrentModelStateResponse, type ImportModelStateRequest,
  type StoppingSignal,
} from '../../../libs/gen/aide/v1/controller.js';
import { packOnnxState } from '../../../models/onnx/state-format.js';
import { UsageError } from '../failure.js';
import { when } from '../format.js';
import { terminalPlot, trainingCurves } from '../training-plot.js';
import { withSession, type Session } from '../session.js';

/** --lane: the bytes over the controller's state lane instead of gRPC (large states move several times faster). */
const laneOption = () => new Option('--lane <url>', 'the controller\'s state lane (http[s]://host:port, [AIController] state_lane_port): the bytes over plain HTTP/2')
  .env('AIDE_STATE_LANE');

/** ExportModelState's info and its bytes, checked as they pass; `ended` checks the stream closed after them. */
async function grpcExport(session: Session, project: string, id: string): Promise<{ info: ModelStateInfo; pieces: AsyncIterable<Buffer>; ended(): Promise<void> }> {
  const parts = new StreamParts(session.controller.exportModelState({ project, id }));
  const info = await parts.take(payload('info'), 'state info');
  return { info, pieces: verifyChunks(parts.chunks(payload('chunk')), { maxSize: info.sizeBytes }), ended: () => parts.end('the state') };
}

const line = (s: ModelStateInfo): string =>
  `${s.id}  v${s.version}${s.current ? ' (current)' : ''}  ${s.modelLibrary}  ${s.numImages} images  ${s.sizeBytes} bytes  ${when(s.createdAt)}`;

/** The stopping signal: how many unannotated images changed class since the previous predicted state, and the held-out trend. */
function stoppingText(s: StoppingSignal): string {
  const changed = s.previousModelStateId
    ? `  changed ${(100 * s.changedFraction).toFixed(1)} % since v${s.previousVersion} (${s.changedImages}/${s.comparedImages} unannotated images)`
    : '';
  const delta = s.hasHeldOutAccuracy && s.heldOutAccuracyDelta !== 0 ? `  held-out ${s.heldOutAccuracyDelta > 0 ? '+' : ''}${(100 * s.heldOutAccuracyDelta).toFixed(1)} pts` : '';
  return changed + delta;
}

/** One line per state: its statistics, then (where scored) its golden-question accuracy and (where predicted) its stopping signal. */
function statisticsLines(r: GetTrainingStatisticsResponse): string[] {
  const golden = new Map(r.goldenAccuracy.map((g) => [g.modelStateId, g]));
  const stopping = new Map(r.stopping.map((s) => [s.modelStateId, s]));
  return r.states.map((s) => {
    const stats = Object.entries(s.stats).map(([k, v]) => `${k}=${Number(v.toPrecision(6))}`).join(' ');
    const g = golden.get(s.id);
    const scored = g ? `  golden ${g.score.toFixed(3)} (${g.matched}/${g.predicted} predicted, ${g.matched}/${g.annotated} annotated, ${g.images} images)` : '';
    const signal = stopping.get(s.id);
    return `v${s.version}  ${when(s.createdAt)}  ${s.numImages} images  ${stats || '-'}${scored}${signal ? stoppingText(signal) : ''}`;
  });
}

/** The state's info travels next to its bytes, so an import knows the model and label classes it was trained with. */
const infoFile = (file: string): string => `${file}.json`;

async function readInfo(file: string): Promise<ModelStateInfo | undefined> {
  const text = await readFile(infoFile(file), 'utf8').catch(() => undefined);
  return text === undefined ? undefined : ModelStateInfo.fromJSON(JSON.parse(text));
}

/** The onnx.* model that runs a manifest's task by default (onnx.points takes a detector too: --model-library). */
const ONNX_MODEL_OF_TASK: Record<string, string> = { detector: 'onnx.boundingBoxes', classifier: 'onnx.labels', backbone: 'onnx.backboneHead' };

/** An .onnx file and its manifest as a state (models/onnx/state-format.ts), with the model that runs it. */
async function packOnnx(file: string, manifestFile: string): Promise<{ pieces: Uint8Array[]; modelLibrary: string }> {
  const [onnx, manifestText] = await Promise.all([
    readFile(file).catch((err: Error) => { throw new UsageError(`cannot read ${file}: ${err.message}`); }),
    readFile(manifestFile, 'utf8').catch((err: Error) => { throw new UsageError(`cannot read ${manifestFile}: ${err.message}`); }),
  ]);
  let manifest: { task?: string };
  try {
    manifest = JSON.parse(manifestText) as { task?: string };
  } catch (err) {
    throw new UsageError(`${manifestFile} is not JSON: ${(err as Error).message}`);
  }
  try {
    return { pieces: packOnnxState(onnx, manifest), modelLibrary: ONNX_MODEL_OF_TASK[manifest.task ?? ''] ?? '' };
  } catch (err) {
    throw new UsageError(`${file} with ${manifestFile}: ${(err as Error).message}`);
  }
}

export function registerStates(program: Command): void {
  const states = program.command('states').alias('state').description('model states: list, statistics, make current, delete, export to a file, import from one');

  states.command('list <project>').description('list the project\'s model states, oldest first')
    .action(withSession(async (session, project: string) => {
      session.print(await session.controller.listModelStates({ project }), ListModelStatesResponse, (r) => r.states.map(line));
    }));

  states.command('stats <project>').description('training statistics, golden-question accuracy and stopping signal (class changes on unannotated images since the previous state, held-out trend) of every state, oldest first')
    .option('--plot [file.svg]', 'also draw the training curves (loss, held-out and golden-question accuracy by version): in the terminal, or as an SVG chart written to the file')
    .action(withSession(async (session, project: string, o: { plot?: true | string }) => {
      const statistics = await session.controller.getTrainingStatistics({ project });
      session.print(statistics, GetTrainingStatisticsResponse, statisticsLines);
      if (o.plot === undefined) return;
      const curves = trainingCurves(statistics);
      if (o.plot === true) {
        session.say(`\n${terminalPlot(curves, Boolean((session.out as NodeJS.WriteStream).isTTY))}`);
        return;
      }
      const { svgPlot } = await import('../training-plot-svg.js');
      await writeFile(o.plot, svgPlot(curves, `${project}: training curves`)).catch((err: Error) => {
        throw new UsageError(`--plot: cannot write ${o.plot}: ${err.message}`);
      });
      session.say(`wrote the training curves (${curves.map((c) => c.name).join(', ') || 'none'}) to ${o.plot}`);
    }));

  states.command('current <project> <id>').description('make a state current again: training and inference continue from it (no copy)')
    .action(withSession(async (session, project: string, id: string) => {
      session.print(await session.controller.setCurrentModelState({ project, id }), SetCurrentModelStateResponse, (r) => [line(r.state!)]);
    }));

  states.command('delete <project> <id>').description('delete a state (refused while a job uses it)')
    .action(withSession(async (session, project: string, id: string) => {
      session.print(await session.controller.deleteModelState({ project, id }), DeleteModelStateResponse, () => [`deleted ${id}`]);
    }));

  states.command('export <project> <id> <file>').description('stream a model state to <file> (its info to <file>.json)')
    .addOption(laneOption())
    .action(withSession(async (session, project: string, id: string, file: string, o: { lane?: string }) => {
      const { info, pieces, ended } = o.lane ? { ...await (await session.stateLane(o.lane)).download(project, id), ended: async () => {} } : await grpcExport(session, project, id);
      const partial = `${file}.partial`;
      try {
        // Written aside and renamed once the SHA-256 checked out: a failed export leaves no file that looks complete.
        await pipeline(Readable.from(pieces), createWriteStream(partial));
        await ended();
        await rename(partial, file);
      } finally {
        await rm(partial, { force: true });
      }
      await writeFile(infoFile(file), `${JSON.stringify(ModelStateInfo.toJSON(info), null, 2)}\n`);
      session.print(info, ModelStateInfo, (s) => [`exported ${line(s)} to ${file}`]);
    }));

  states.command('import <project> <file>').description('stream a model state from <file> into the project as its next version (not current: `states current` makes it so)')
    .addOption(laneOption())
    .option('--model-library <library>', 'model the state belongs to (default: from <file>.json, or from the --onnx-manifest task)')
    .option('--onnx-manifest <manifest.json>', '<file> is an .onnx graph: pack it with this manifest (input, output decoding, classes) into a state of an onnx.* model')
    .action(withSession(async (session, project: string, file: string, o: { modelLibrary?: string; onnxManifest?: string; lane?: string }) => {
      const packed = o.onnxManifest === undefined ? undefined : await packOnnx(file, o.onnxManifest);
      const info = packed ? undefined : await readInfo(file);
      const library = o.modelLibrary ?? packed?.modelLibrary ?? info?.modelLibrary;
      if (!library) throw new UsageError(`no ${infoFile(file)} to take the model from: give --model-library`);
      const modelLibrary = library;
      const size = packed ? packed.pieces.reduce((n, p) => n + p.length, 0)
        : (await stat(file).catch((err: Error) => { throw new UsageError(`cannot read ${file}: ${err.message}`); })).size;
      const header = { project, modelLibrary, size, labelClassMap: info?.labelClassMap ?? {}, stats: info?.stats ?? {}, numImages: info?.numImages ?? 0 };
      const bytes = () => packed?.pieces ?? createReadStream(file);
      if (o.lane) {
        const state = await (await session.stateLane(o.lane)).upload(header, size, bytes());
        session.print({ state }, ImportModelStateResponse, (r) => [`imported ${line(r.state!)}`]);
        return;
      }
      async function* requests(): AsyncGenerator<ImportModelStateRequest> {
        yield { payload: { $case: 'header', value: header } };
        for await (const chunk of toChunks(bytes(), { totalSize: size })) yield { payload: { $case: 'chunk', value: chunk } };
      }
      const res = await session.controller.importModelState(requests());
      session.print(res, ImportModelStateResponse, (r) => [`imported ${line(r.state!)}`]);
    }));
}
