import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';

const SIZE = 200_000_000;
const child = fileURLToPath(new URL('./rss-child.ts', import.meta.url));

describe('200 MB files stream with bounded memory', () => {
  for (const mode of ['put', 'get', 'http']) {
    it(`${mode}: peak RSS growth below half the file size`, async () => {
      const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', child, mode, String(SIZE)], { timeout: 120_000 });
      const report = JSON.parse(stdout.trim().split('\n').at(-1)!) as { receivedSha256: string; sentSha256: string; growth: number };
      assert.equal(report.receivedSha256, report.sentSha256, 'bytes arrived intact');
      assert.ok(report.growth < SIZE / 2, `RSS grew by ${(report.growth / 1e6).toFixed(1)} MB for a ${SIZE / 1e6} MB file`);
    });
  }
});
