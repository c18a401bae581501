// Unit tests of the brush (frontend/static/frontend/stroke.js), run by node's test runner.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  clampToImage,
  stepTowards,
  strokeAdvance,
  strokeCentres,
  strokePress,
  strokeStart,
} from "../../../frontend/static/frontend/stroke.js";

const BRUSH = { intervalMs: 50, maxStepPx: 7 };
const IMAGE = { width: 256, height: 256 };

function distance(a, b) {
  return Math.hypot(a[0] - b[0], a[1] - b[1]);
}

test("a press makes one centre under the pointer, rounded to a pixel", () => {
  const { stroke, centre } = strokeStart({ x: 10.4, y: 20.6 }, 123.4, IMAGE);
  assert.deepEqual(centre, [10, 21, 123]);
  assert.deepEqual(stroke, { x: 10, y: 21, t: 123 });
});

test("a pointer outside the image paints on its nearest edge pixel", () => {
  assert.deepEqual(clampToImage({ x: -5, y: 300 }, IMAGE), { x: 0, y: 255 });
  assert.deepEqual(clampToImage({ x: 255.6, y: -0.4 }, IMAGE), { x: 255, y: 0 });
  assert.deepEqual(strokeStart({ x: 999, y: -999 }, 0, IMAGE).centre, [255, 0, 0]);
});

test("a step reaches a target within the step, else moves at most the step towards it", () => {
  assert.deepEqual(stepTowards({ x: 0, y: 0 }, { x: 3, y: 4 }, 7), { x: 3, y: 4 });
  assert.deepEqual(stepTowards({ x: 0, y: 0 }, { x: 100, y: 0 }, 7), { x: 7, y: 0 });
  assert.deepEqual(stepTowards({ x: 50, y: 50 }, { x: 50, y: 0 }, 7), { x: 50, y: 43 });
  // 7.2 px away: just too far for one step.
  assert.deepEqual(stepTowards({ x: 0, y: 0 }, { x: 6, y: 4 }, 7), { x: 5, y: 4 });
  // (4.95, 4.95) rounds to (5, 5), 7.07 px: the nearest integer point within 7 px is taken instead.
  assert.deepEqual(stepTowards({ x: 0, y: 0 }, { x: 100, y: 100 }, 7), { x: 4, y: 5 });
  for (let angle = 0; angle < 2 * Math.PI; angle += 0.01) {
    const to = { x: Math.round(100 * Math.cos(angle)), y: Math.round(100 * Math.sin(angle)) };
    const step = stepTowards({ x: 0, y: 0 }, to, 7);
    assert.ok(Number.isInteger(step.x) && Number.isInteger(step.y));
    assert.ok(Math.hypot(step.x, step.y) <= 7, `step ${JSON.stringify(step)} at angle ${angle}`);
    assert.ok(Math.hypot(step.x, step.y) >= 6, "a step is not much shorter than the limit");
    assert.ok(step.x * to.x + step.y * to.y > 0, "a step heads towards the target");
  }
});

test("nothing is due before an interval has passed, then one centre per interval at fixed times", () => {
  const { stroke } = strokeStart({ x: 100, y: 100 }, 1000, IMAGE);
  assert.deepEqual(strokeAdvance(stroke, { x: 200, y: 100 }, 1049, BRUSH, IMAGE).centres, []);
  const late = strokeAdvance(stroke, { x: 200, y: 100 }, 1170, BRUSH, IMAGE);
  assert.deepEqual(late.centres, [
    [107, 100, 1050],
    [114, 100, 1100],
    [121, 100, 1150],
  ]);
  assert.deepEqual(late.stroke, { x: 121, y: 100, t: 1150 });
  // The next one keeps the cadence of the press, not of the late timer.
  assert.deepEqual(strokeAdvance(late.stroke, { x: 200, y: 100 }, 1200, BRUSH, IMAGE).centres, [[128, 100, 1200]]);
});

test("a pointer held still keeps painting the same spot once reached", () => {
  const { stroke } = strokeStart({ x: 10, y: 10 }, 0, IMAGE);
  const { centres } = strokeAdvance(stroke, { x: 12, y: 10 }, 200, BRUSH, IMAGE);
  assert.deepEqual(centres, [
    [12, 10, 50],
    [12, 10, 100],
    [12, 10, 150],
    [12, 10, 200],
  ]);
});

test("a fast swipe is followed at the brush's pace: every centre at most 7 px from the last, 50 ms apart", () => {
  const samples = [];
  for (let t = 0; t <= 400; t += 8) samples.push({ t, x: 20 + t * 0.5, y: 30 + t * 0.4 }); // 0.64 px/ms
  const centres = strokeCentres(samples, BRUSH, IMAGE);
  assert.equal(centres.length, 9); // t = 0, 50, ..., 400
  for (let k = 1; k < centres.length; k += 1) {
    assert.equal(centres[k][2] - centres[k - 1][2], 50);
    assert.ok(distance(centres[k], centres[k - 1]) <= 7);
  }
  const end = centres[centres.length - 1];
  assert.ok(end[0] < 20 + 400 * 0.5 - 100, "the brush lags behind a pointer faster than it");
  assert.ok(centres.every(([x, y, t]) => [x, y, t].every(Number.isInteger)));
});

test("a slow stroke is followed exactly, and the centres stay inside the image", () => {
  const samples = [
    { t: 0, x: 250, y: 5 },
    { t: 60, x: 253, y: 2 },
    { t: 120, x: 270, y: -40 },
    { t: 260, x: 270, y: -40 },
  ];
  const centres = strokeCentres(samples, BRUSH, IMAGE);
  assert.deepEqual(centres, [
    [250, 5, 0],
    [250, 5, 50], // the pointer had not moved yet
    [253, 2, 100],
    [255, 0, 150],
    [255, 0, 200],
    [255, 0, 250],
  ]);
});

test("a press and release within one interval is a single centre", () => {
  assert.deepEqual(strokeCentres([{ t: 10, x: 5, y: 5 }, { t: 40, x: 50, y: 50 }], BRUSH, IMAGE), [[5, 5, 10]]);
  assert.deepEqual(strokeCentres([], BRUSH, IMAGE), []);
});

test("the brush follows the server's numbers", () => {
  const samples = [
    { t: 0, x: 0, y: 0 },
    { t: 1, x: 255, y: 0 },
    { t: 300, x: 255, y: 0 },
  ];
  assert.deepEqual(strokeCentres(samples, { intervalMs: 100, maxStepPx: 3 }, IMAGE), [
    [0, 0, 0],
    [3, 0, 100],
    [6, 0, 200],
    [9, 0, 300],
  ]);
});

test("a press right after the last bubble waits for the brush's cadence, a later one paints at once", () => {
  const first = strokePress({ x: 10, y: 10 }, 120.4, null, BRUSH, IMAGE);
  assert.deepEqual(first.centres, [[10, 10, 120]]);

  // Lifted and pressed again 20 ms after the bubble at t = 500: nothing yet ...
  const soon = strokePress({ x: 100, y: 100 }, 520, 500, BRUSH, IMAGE);
  assert.deepEqual(soon.centres, []);
  // ... the press's bubble comes at t = 550, under the pointer, where the new stroke began.
  assert.deepEqual(strokeAdvance(soon.stroke, { x: 100, y: 100 }, 560, BRUSH, IMAGE).centres, [[100, 100, 550]]);

  const later = strokePress({ x: 100, y: 100 }, 551, 500, BRUSH, IMAGE);
  assert.deepEqual(later.centres, [[100, 100, 551]]);
});

test("over a round of strokes no two bubbles are closer in time than the brush's interval", () => {
  let lastT = null;
  const times = [];
  for (const [pressAt, releaseAt] of [[0, 130], [140, 300], [305, 305], [320, 480]]) {
    let { stroke, centres } = strokePress({ x: 50, y: 50 }, pressAt, lastT, BRUSH, IMAGE);
    const step = strokeAdvance(stroke, { x: 90, y: 60 }, releaseAt, BRUSH, IMAGE);
    centres = [...centres, ...step.centres];
    times.push(...centres.map((c) => c[2]));
    if (centres.length) lastT = centres[centres.length - 1][2];
  }
  for (let k = 1; k < times.length; k += 1) assert.ok(times[k] - times[k - 1] >= 50, JSON.stringify(times));
});
