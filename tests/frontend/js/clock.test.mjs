// Unit tests of the round clock (frontend/static/frontend/clock.js) on a hand-driven time line.
import assert from "node:assert/strict";
import { test } from "node:test";

import { RoundClock, remainingMs } from "../../../frontend/static/frontend/clock.js";

test("the time left is clamped to the limit", () => {
  assert.equal(remainingMs(0, 7000), 7000);
  assert.equal(remainingMs(2500, 7000), 4500);
  assert.equal(remainingMs(9000, 7000), 0);
  assert.equal(remainingMs(-5, 7000), 7000);
});

function fakeClock(limitMs) {
  const world = { t: 1000, frames: [], timers: [], ticks: [], timeUps: 0 };
  const clock = new RoundClock({
    limitMs,
    now: () => world.t,
    onTick: (remaining) => world.ticks.push(remaining),
    onTimeUp: () => (world.timeUps += 1),
    requestFrame: (callback) => world.frames.push(callback) - 1,
    cancelFrame: (id) => (world.frames[id] = null),
    setTimer: (callback, ms) => world.timers.push({ callback, at: world.t + ms }) - 1,
    clearTimer: (id) => id != null && (world.timers[id] = null),
  });
  world.frame = () => {
    const pending = world.frames.filter(Boolean);
    world.frames = [];
    for (const callback of pending) callback();
  };
  world.fireTimers = () => {
    const due = world.timers.filter((timer) => timer && timer.at <= world.t);
    world.timers = world.timers.map((timer) => (timer && timer.at <= world.t ? null : timer));
    for (const timer of due) timer.callback();
  };
  return { clock, world };
}

test("the clock ticks every frame and ends exactly once when the time is up", () => {
  const { clock, world } = fakeClock(1000);
  clock.start();
  assert.deepEqual(world.ticks, [1000]);
  world.t += 400;
  world.frame();
  assert.equal(clock.elapsedMs(), 400);
  assert.deepEqual(world.ticks, [1000, 600]);
  world.t += 600;
  world.frame();
  world.fireTimers();
  assert.equal(world.timeUps, 1);
  assert.equal(world.ticks.at(-1), 0);
  world.t += 100;
  world.frame();
  world.fireTimers();
  assert.equal(world.timeUps, 1);
});

test("a hidden tab (no frames) still ends on time, and an early timer waits for the real end", () => {
  const { clock, world } = fakeClock(1000);
  clock.start();
  world.t += 990; // the timer fires 10 ms early
  world.timers[0].at = world.t;
  world.fireTimers();
  assert.equal(world.timeUps, 0);
  world.t += 10;
  world.fireTimers();
  assert.equal(world.timeUps, 1);
});

test("a stopped clock never ends", () => {
  const { clock, world } = fakeClock(1000);
  clock.start();
  clock.stop();
  world.t += 5000;
  world.frame();
  world.fireTimers();
  assert.equal(world.timeUps, 0);
});
