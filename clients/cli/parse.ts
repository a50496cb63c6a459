import { readFileSync } from 'node:fs';
import { InvalidArgumentError, Option } from 'commander';

/** Commander argument parsers: a bad value fails the parse with its message (exit code 2). */

export function count(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) throw new InvalidArgumentError('must be a whole number ≥ 0');
  return n;
}

/** JSON given inline, or as @file; checked to parse, passed on as text (the API carries options as JSON text). */
export function jsonText(value: string): string {
  let text = value;
  if (value.startsWith('@')) {
    try {
      text = readFileSync(value.slice(1), 'utf8');
    } catch (err) {
      throw new InvalidArgumentError(`cannot read ${value.slice(1)}: ${(err as Error).message}`);
    }
  }
  try {
    JSON.parse(text);
  } catch (err) {
    throw new InvalidArgumentError(`not JSON: ${(err as Error).message}`);
  }
  return text;
}

type NumericEnum = Record<string, string | number>;

/**
 * The CLI's words for a generated proto enum: JOB_STATE_SUCCEEDED ↔ "succeeded",
 * ANNOTATION_TYPE_BOUNDING_BOXES ↔ "bounding-boxes" (UNSPECIFIED and UNRECOGNIZED are not words).
 */
export class EnumWords {
  readonly words: string[];
  readonly #byWord = new Map<string, number>();
  readonly #enum: NumericEnum;
  readonly #prefix: string;

  constructor(values: NumericEnum, prefix: string) {
    this.#enum = values;
    this.#prefix = prefix;
    for (const [key, value] of Object.entries(values)) {
      if (typeof value === 'number' && key.startsWith(prefix) && !key.endsWith('_UNSPECIFIED')) this.#byWord.set(this.#toWord(key), value);
    }
    this.words = [...this.#byWord.keys()];
  }

  /** An argument parser for commander. */
  readonly parse = (word: string): number => {
    const value = this.#byWord.get(word);
    if (value === undefined) throw new InvalidArgumentError(`one of: ${this.words.join(', ')}`);
    return value;
  };

  /** An option taking one of the words, converted to the enum's value. */
  option(flags: string, description: string): Option {
    return new Option(flags, `${description} (${this.words.join(' | ')})`).argParser(this.parse);
  }

  word(value: number): string {
    const key = this.#enum[value];
    return typeof key === 'string' ? this.#toWord(key) : String(value);
  }

  #toWord(key: string): string {
    return key.slice(this.#prefix.length).toLowerCase().replaceAll('_', '-');
  }
}
