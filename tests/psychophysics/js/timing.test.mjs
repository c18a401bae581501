// node --test: the frame sequencer of the experiment page, driven with synthetic frame times.
import assert from "node:assert/strict";
import { test } from "node:test";

import { FrameSequencer, choiceKey, frameIntervalFrom, framesFor } from "../../../psychophysics/static/psychophysics/timing.js";

const FRAME = 1000 / 60;

function run(sequencer, times) {
  const drawn = [];
  for (const t of times) {
    const what = sequencer.tick(t);
    if (what) drawn.push([what, t]);
    if (sequencer.done) break;
  }
  return drawn;
}

test("durations become whole frames, at least one", () => {
  assert.equal(framesFor(100, FRAME), 6);
  assert.equal(framesFor(50, FRAME), 3);
  assert.equal(framesFor(5, FRAME), 1);
  assert.equal(framesFor(0, FRAME), 0);
  assert.equal(framesFor(100, 1000 / 144), 14);
});

test("the frame interval is the median of the deltas, robust to a hiccup", () => {
  const stamps = [0, 16.7, 33.3, 50, 100, 116.7, 133.3];
  assert.ok(Math.abs(frameIntervalFrom(stamps) - 16.67) < 0.1);
  assert.equal(frameIntervalFrom([5]), 1000 / 60);
});

test("each phase lasts its frames and the shown durations are measured between the frames", () => {
  const sequencer = new FrameSequencer(
    [
      { name: "fixation", frames: 30 },
      { name: "stimulus", frames: 6 },
      { name: "mask", frames: 30 },
    ],
    FRAME,
  );
  const times = Array.from({ length: 100 }, (_, i) => 1000 + i * FRAME);
  const drawn = run(sequencer, times);
  assert.deepEqual(drawn.map(([what]) => what), ["fixation", "stimulus", "mask", "end"]);
  assert.equal(sequencer.frames.stimulus, 6);
  assert.ok(Math.abs(sequencer.shownMs("stimulus") - 6 * FRAME) < 1e-6);
  assert.ok(Math.abs(sequencer.shownMs("fixation") - 30 * FRAME) < 1e-6);
  assert.ok(Math.abs(sequencer.shownMs("mask") - 30 * FRAME) < 1e-6);
});

test("a dropped frame does not lengthen the stimulus", () => {
  const sequencer = new FrameSequencer(
    [
      { name: "stimulus", frames: 6 },
      { name: "mask", frames: 2 },
    ],
    FRAME,
  );
  // frame 3 is missed: the callback after frame 2 comes two intervals later
  const times = [0, 1, 2, 4, 5, 6, 7, 8, 9, 10].map((k) => k * FRAME);
  run(sequencer, times);
  assert.equal(sequencer.frames.stimulus, 5); // 5 callbacks ...
  assert.ok(Math.abs(sequencer.shownMs("stimulus") - 6 * FRAME) < 1e-6); // ... but 6 frames of time
});

test("a phase of zero frames is skipped", () => {
  const sequencer = new FrameSequencer(
    [
      { name: "stimulus", frames: 2 },
      { name: "mask", frames: 0 },
    ],
    FRAME,
  );
  const drawn = run(sequencer, [0, 1, 2, 3].map((k) => k * FRAME));
  assert.deepEqual(drawn.map(([what]) => what), ["stimulus", "end"]);
  assert.ok(Math.abs(sequencer.shownMs("stimulus") - 2 * FRAME) < 1e-6);
});

test("only the two choice keys count, in either case", () => {
  assert.equal(choiceKey("f", ["f", "j"]), "f");
  assert.equal(choiceKey("J", ["f", "j"]), "j");
  assert.equal(choiceKey("k", ["f", "j"]), null);
  assert.equal(choiceKey("Enter", ["f", "j"]), null);
  assert.equal(choiceKey(" ", ["f", "j"]), null);
});
