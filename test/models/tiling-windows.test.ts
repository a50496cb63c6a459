import assert from 'node:assert/strict';
import { test } from 'node:test';
import seedrandom from 'seedrandom';
import { ownsCentre, slidingWindows, toImage, toWindow, trainingWindows } from '../../models/builtin/tiling/windows.js';

const W = 4000;
const H = 3001;
const geometry = { size: 512, overlap: 96 };

test('sliding windows stay inside the image, end flush with it, and their cores own every centre exactly once', () => {
  const windows = slidingWindows(W, H, geometry);
  for (const w of windows) {
    assert.ok(w.left >= 0 && w.top >= 0 && w.left + w.width <= W && w.top + w.height <= H, JSON.stringify(w));
    assert.equal(w.width, 512);
  }
  assert.ok(windows.some((w) => w.left + w.width === W) && windows.some((w) => w.top + w.height === H));
  const random = seedrandom('cores');
  for (let i = 0; i < 5000; i++) {
    const x = random() * W;
    const y = random() * H;
    assert.equal(windows.filter((w) => ownsCentre(w, x, y)).length, 1, `(${x}, ${y})`);
  }
  // Corners and edges of the image too.
  for (const [x, y] of [[0, 0], [W - 1e-9, H - 1e-9], [0, H - 1e-9], [W - 1e-9, 0]] as const) {
    assert.equal(windows.filter((w) => ownsCentre(w, x, y)).length, 1);
  }
});

test('an object no larger than the overlap lies whole in the window owning its centre', () => {
  const windows = slidingWindows(W, H, geometry);
  const random = seedrandom('whole');
  for (let i = 0; i < 2000; i++) {
    const size = 1 + random() * geometry.overlap;
    const x = size / 2 + random() * (W - size);
    const y = size / 2 + random() * (H - size);
    const owner = windows.find((w) => ownsCentre(w, x, y))!;
    assert.ok(x - size / 2 >= owner.left && x + size / 2 <= owner.left + owner.width, `x ${x} size ${size} in ${owner.left}`);
    assert.ok(y - size / 2 >= owner.top && y + size / 2 <= owner.top + owner.height, `y ${y} size ${size} in ${owner.top}`);
  }
});

test('an image smaller than a window is one window of its own size', () => {
  assert.deepEqual(slidingWindows(300, 200, geometry), [{ left: 0, top: 0, width: 300, height: 200, core: { left: 0, top: 0, right: 300, bottom: 200 } }]);
});

test('coordinates move between a window and the image exactly; clipped items keep their visible part or are dropped', () => {
  const window = { left: 1000, top: 500, width: 512, height: 512 };
  const box = { x: 1100 / W, y: 700 / H, width: 40 / W, height: 30 / H, label: 'a' };
  const inWindow = toWindow(box, window, W, H)!;
  assert.equal(inWindow.label, 'a');
  assert.ok(Math.abs(inWindow.x - 100 / 512) < 1e-12 && Math.abs(inWindow.y - 200 / 512) < 1e-12);
  assert.ok(Math.abs(inWindow.width - 40 / 512) < 1e-12 && Math.abs(inWindow.height - 30 / 512) < 1e-12);
  const back = toImage(inWindow, window, W, H);
  for (const k of ['x', 'y', 'width', 'height'] as const) assert.ok(Math.abs(back[k] - box[k]) < 1e-12, k);

  // 3/4 of this box's width lies inside the window's left edge: kept, clipped to the visible part.
  const edge = toWindow({ x: 1010 / W, y: 700 / H, width: 40 / W, height: 30 / H }, window, W, H)!;
  assert.ok(Math.abs(edge.x - 15 / 512) < 1e-12 && Math.abs(edge.width - 30 / 512) < 1e-12);
  // Only 1/4 inside: dropped; a point outside: dropped; a point inside: kept.
  assert.equal(toWindow({ x: 990 / W, y: 700 / H, width: 40 / W, height: 30 / H }, window, W, H), null);
  assert.equal(toWindow({ x: 999 / W, y: 700 / H, width: 0, height: 0 }, window, W, H), null);
  const point = toWindow({ x: 1256 / W, y: 756 / H, width: 0, height: 0 }, window, W, H)!;
  assert.ok(Math.abs(point.x - 0.5) < 1e-12 && Math.abs(point.y - 0.5) < 1e-12 && point.width === 0);
});

test('training windows hold their object whole where it fits, plus random negatives, all inside the image', () => {
  const random = seedrandom('train');
  const objects = Array.from({ length: 50 }, () => {
    const w = 10 + random() * 200;
    const h = 10 + random() * 200;
    return { x: (w / 2 + random() * (W - w)) / W, y: (h / 2 + random() * (H - h)) / H, width: w / W, height: h / H };
  });
  const windows = trainingWindows(W, H, objects, 256, 7, random);
  assert.equal(windows.length, 57);
  windows.forEach((w, i) => {
    assert.ok(w.left >= 0 && w.top >= 0 && w.left + w.width <= W && w.top + w.height <= H);
    const o = objects[i];
    if (!o) return;
    const inside = toWindow(o, w, W, H, 1 - 1e-9);
    assert.ok(inside && Math.abs(inside.width * 256 - o.width * W) < 1e-6, `object ${i} whole in its window`);
  });
  const lefts = new Set(windows.slice(50).map((w) => w.left));
  assert.ok(lefts.size > 1, 'negatives are spread out');
});
