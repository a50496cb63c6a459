/** The held-out split for training statistics. */
import seedrandom from 'seedrandom';

/**
 * Deterministic held-out membership by the image's path: stable across rounds,
 * and the same for the same files in another project (image ids differ there).
 */
export function isHeldOut(filename: string, fraction: number, seed: number): boolean {
  return seedrandom(`${seed}:${filename}`)() < fraction;
}
