import { describe, expect, it } from 'vitest';
import { clampBatch, nextBatchSize, shrinkAfterConflict, type BatchBounds } from '../../src/backfill/batch-size.ts';

const bounds: BatchBounds = { targetMs: 200, min: 10, max: 1000 };

describe('nextBatchSize', () => {
  it('keeps the size when a batch takes exactly the target', () => {
    expect(nextBatchSize(100, 200, bounds)).toBe(100);
  });

  it('shrinks a slow batch at once, in proportion to how slow it was', () => {
    expect(nextBatchSize(400, 800, bounds)).toBe(100);
    expect(nextBatchSize(400, 400, bounds)).toBe(200);
  });

  it('grows a batch that took more than a quarter of the target by at most half again', () => {
    expect(nextBatchSize(100, 150, bounds)).toBe(133);
    expect(nextBatchSize(100, 51, bounds)).toBe(150);
  });

  it('grows a batch far below the target towards half of it, at most four times', () => {
    expect(nextBatchSize(100, 50, bounds)).toBe(200);
    expect(nextBatchSize(100, 40, bounds)).toBe(250);
    expect(nextBatchSize(100, 1, bounds)).toBe(400);
    expect(nextBatchSize(100, 0, bounds)).toBe(400);
  });

  it('reaches the target from 1,000 rows in a handful of batches, not ten', () => {
    const msPerRow = 0.005; // 40,000 rows meet the 200 ms target
    const wide: BatchBounds = { targetMs: 200, min: 50, max: 100_000 };
    let size = 1000;
    let batches = 0;
    while (size * msPerRow < 150) {
      size = nextBatchSize(size, size * msPerRow, wide);
      batches++;
    }
    expect(batches).toBeLessThanOrEqual(5);
    expect(size * msPerRow).toBeLessThanOrEqual(200 * 1.5);
  });

  it('never leaves the bounds', () => {
    expect(nextBatchSize(900, 1, bounds)).toBe(1000);
    expect(nextBatchSize(20, 60_000, bounds)).toBe(10);
  });

  it('converges on the size that meets the target when the cost per row is steady', () => {
    const msPerRow = 0.5; // 400 rows meet the 200 ms target
    let size = 10;
    for (let i = 0; i < 30; i++) size = nextBatchSize(size, size * msPerRow, bounds);
    expect(size).toBe(400);
  });
});

describe('shrinkAfterConflict', () => {
  it('halves, down to the minimum', () => {
    expect(shrinkAfterConflict(300, bounds)).toBe(150);
    expect(shrinkAfterConflict(15, bounds)).toBe(10);
  });
});

describe('clampBatch', () => {
  it('puts a size inside the bounds', () => {
    expect(clampBatch(5, bounds)).toBe(10);
    expect(clampBatch(5000, bounds)).toBe(1000);
    expect(clampBatch(500, bounds)).toBe(500);
  });
});
