import type { PluginContext } from '../../libs/plugin/context.js';
import type { TrainingData } from '../../libs/plugin/data.js';
import type { UpdateState } from '../../libs/plugin/plugin.js';
import { FixtureModel } from '../support/fixture-model.js';

/** The fixture model, but training first reads every image's file through its fileServer, as real models do. */
export class FileReadingModel extends FixtureModel {
  static override readonly metadata = { ...FixtureModel.metadata, key: 'test.file-reader', name: 'File reader' };

  readonly #files: PluginContext['fileServer'];

  constructor(ctx: PluginContext) {
    super(ctx);
    this.#files = ctx.fileServer;
  }

  override async train(stateDict: Uint8Array | null, data: TrainingData, updateState: UpdateState, signal?: AbortSignal) {
    for (const image of Object.values(data.images)) {
      if (!await this.#files.getFile(image.filename)) throw new Error(`${image.filename} is missing on the FileServer`);
    }
    return super.train(stateDict, data, updateState, signal);
  }
}
