/** The held-out split for training statistics. */
import seedrandom from 'seedrandom';

/** Deterministic held-out membership, stable across rounds for the same image. */
export function isHeldOut(imageId: string, fraction: number, seed: number): boolean {
  return seedrandom(`${seed}:${imageId}`)() < fraction;
}
