// The brush (docs/SCIENCE.md section 1): pointer positions to bubble centres, as pure functions.
//
// While the button is down a new centre is made every `intervalMs`, at a fixed cadence from the press
// (t0, t0 + interval, ...), each at most `maxStepPx` from the previous one, towards the pointer. The
// numbers come from the server (CLICKME BRUSH_INTERVAL_MS, BRUSH_MAX_STEP_PX). Coordinates are image
// pixels, integers inside [0, width) x [0, height); times are integer ms since the round started.

/** The integer pixel nearest to `point`, inside the image. */
export function clampToImage(point, bounds) {
  return {
    x: Math.min(Math.max(Math.round(point.x), 0), bounds.width - 1),
    y: Math.min(Math.max(Math.round(point.y), 0), bounds.height - 1),
  };
}

/** One step from `from` towards `to` (integer pixels): the target when it is within `maxStepPx`,
 * else the integer point along the way whose distance from `from` is at most `maxStepPx`. */
export function stepTowards(from, to, maxStepPx) {
  const dx = to.x - from.x;
  const dy = to.y - from.y;
  const distance = Math.hypot(dx, dy);
  if (distance <= maxStepPx) return { x: to.x, y: to.y };
  const fx = (dx * maxStepPx) / distance;
  const fy = (dy * maxStepPx) / distance;
  // Of the integer points around the exact step, the nearest to it that is no longer than the step.
  let best = { mx: Math.trunc(fx), my: Math.trunc(fy) };
  let bestError = Infinity;
  for (const mx of [Math.floor(fx), Math.ceil(fx)]) {
    for (const my of [Math.floor(fy), Math.ceil(fy)]) {
      const error = Math.hypot(mx - fx, my - fy);
      if (Math.hypot(mx, my) <= maxStepPx && error < bestError) {
        best = { mx, my };
        bestError = error;
      }
    }
  }
  return { x: from.x + best.mx, y: from.y + best.my };
}

/** The press: the first centre, under the pointer, at `tMs`. Returns {stroke, centre}. */
export function strokeStart(pointer, tMs, bounds) {
  const { x, y } = clampToImage(pointer, bounds);
  const t = Math.round(tMs);
  return { stroke: { x, y, t }, centre: [x, y, t] };
}

/** A press at `nowMs` when the last bubble of the round was made at `lastT` (null: none yet). The
 * brush keeps its cadence across strokes: a press sooner than `intervalMs` after the last bubble lays
 * its first one when that interval is over (the next advance), so no two bubbles of a round are
 * closer in time than the brush makes them. Returns {stroke, centres} (no centre or the press's one). */
export function strokePress(pointer, nowMs, lastT, brush, bounds) {
  if (lastT !== null && nowMs < lastT + brush.intervalMs) {
    const { x, y } = clampToImage(pointer, bounds);
    return { stroke: { x, y, t: lastT }, centres: [] };
  }
  const { stroke, centre } = strokeStart(pointer, Math.max(nowMs, lastT ?? 0), bounds);
  return { stroke, centres: [centre] };
}

/** Every centre due by `nowMs` (at t + interval, t + 2 interval, ...), each a step towards `pointer`.
 * Returns {stroke, centres}; `stroke` is the new state (the last centre made). */
export function strokeAdvance(stroke, pointer, nowMs, brush, bounds) {
  const target = clampToImage(pointer, bounds);
  const centres = [];
  let { x, y, t } = stroke;
  while (t + brush.intervalMs <= nowMs) {
    t += brush.intervalMs;
    ({ x, y } = stepTowards({ x, y }, target, brush.maxStepPx));
    centres.push([x, y, t]);
  }
  return { stroke: { x, y, t }, centres };
}

/** A whole stroke at once: `samples` are the pointer's positions [{t, x, y}] in time order, from the
 * press (the first) to the release (the last). Between samples the pointer stays where it was. */
export function strokeCentres(samples, brush, bounds) {
  if (!samples.length) return [];
  const first = strokeStart(samples[0], samples[0].t, bounds);
  let stroke = first.stroke;
  const centres = [first.centre];
  let pointer = samples[0];
  for (const sample of samples.slice(1)) {
    // Centres due before this sample still head for the previous position.
    const due = strokeAdvance(stroke, pointer, sample.t - 1e-9, brush, bounds);
    stroke = due.stroke;
    centres.push(...due.centres);
    pointer = sample;
  }
  const last = samples[samples.length - 1];
  centres.push(...strokeAdvance(stroke, pointer, last.t, brush, bounds).centres);
  return centres;
}
