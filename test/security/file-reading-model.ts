/** The fixture model, except that training returns the bytes of its first image as read through the FileServer. */
import type { FileSource, PluginContext } from '../../libs/plugin/context.js';
import type { TrainingData } from '../../libs/plugin/data.js';
import { FixtureModel } from '../support/fixture-model.js';

export class FileReadingModel extends FixtureModel {
  static override readonly metadata = { ...FixtureModel.metadata, key: 'test.file-reader', name: 'File reader' };

  readonly #files: FileSource;

  constructor(ctx: PluginContext) {
    super(ctx);
    this.#files = ctx.fileServer;
  }

  override async train(_state: Uint8Array | null, data: TrainingData) {
    const [first] = Object.values(data.images);
    // null when the FileServer refused or lacks the file: the test tells the two apart by the bytes.
    return (await this.#files.getFile(first!.filename)) ?? new Uint8Array();
  }
}
