import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { drawTile, rng, TILE_CLASSES } from '../../services/embedded/scene.js';

/**
 * A folder of the demo's aerial tiles, named <class>_<n>.jpg so that clients
 * can label them from the name: `count` tiles cycling through the classes.
 */
export async function writeTiles(count: number): Promise<string> {
  const folder = join(mkdtempSync(join(tmpdir(), 'aide-tiles-')), 'tiles');
  mkdirSync(folder);
  const random = rng(7);
  for (let i = 0; i < count; i++) {
    const cls = i % TILE_CLASSES.length;
    writeFileSync(join(folder, `${TILE_CLASSES[cls]!.name}_${String(i).padStart(3, '0')}.jpg`), await drawTile(cls, random));
  }
  return folder;
}
