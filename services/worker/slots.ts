import { resourceExhausted } from '../../libs/errors.js';

/** At most `max` jobs at once; one more is refused (RESOURCE_EXHAUSTED) rather than queued. */
export class JobSlots {
  #running = 0;
  constructor(readonly max: number) {}

  get running(): number { return this.#running; }

  /** Takes a slot or throws; call the returned function exactly once to give it back. */
  acquire(): () => void {
    if (this.#running >= this.max) throw resourceExhausted(`worker busy: ${this.#running}/${this.max} jobs running`);
    this.#running++;
    let released = false;
    return () => {
      if (!released) { released = true; this.#running--; }
    };
  }
}
