// Frame-accurate timing of a rapid-categorisation trial: pure functions, no DOM (tested with node --test).
//
// A trial is a sequence of phases (fixation, stimulus, mask) each lasting a whole number of display
// frames. The page calls `tick(now)` once per requestAnimationFrame callback with performance.now();
// the sequencer says which phase to draw at this frame, and records the time of every change.
// A phase ends after its number of frames, or earlier when a dropped frame already took its time,
// so a missed vsync does not lengthen the stimulus.

export function framesFor(durationMs, frameIntervalMs) {
  if (!(durationMs > 0)) return 0;
  return Math.max(1, Math.round(durationMs / frameIntervalMs));
}

export function median(values) {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (!sorted.length) return NaN;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

// The display's frame interval from successive rAF timestamps (the median ignores hiccups).
export function frameIntervalFrom(timestamps) {
  const deltas = [];
  for (let i = 1; i < timestamps.length; i += 1) deltas.push(timestamps[i] - timestamps[i - 1]);
  const interval = median(deltas);
  return Number.isFinite(interval) && interval > 0 ? interval : 1000 / 60;
}

export class FrameSequencer {
  // phases: [{name, frames}] in order; a phase with 0 frames is skipped.
  constructor(phases, frameIntervalMs) {
    this.phases = phases.filter((p) => p.frames > 0);
    this.frameIntervalMs = frameIntervalMs;
    this.current = -1;
    this.framesInPhase = 0;
    this.onsets = {}; // name -> performance.now() of the frame that first drew it
    this.frames = {}; // name -> rAF callbacks it stayed on screen
    this.endedAt = null;
  }

  get done() {
    return this.endedAt !== null;
  }

  // Call once per animation frame; returns the name of the phase to draw now, "end" once the last
  // phase is over (draw the response screen), or null when the frame keeps what is shown.
  tick(now) {
    if (this.done) return null;
    if (this.current >= 0) {
      const phase = this.phases[this.current];
      this.framesInPhase += 1;
      const elapsed = now - this.onsets[phase.name];
      const timeUp = elapsed >= (phase.frames - 0.5) * this.frameIntervalMs;
      if (this.framesInPhase < phase.frames && !timeUp) return null;
      this.frames[phase.name] = this.framesInPhase;
    }
    this.current += 1;
    this.framesInPhase = 0;
    if (this.current >= this.phases.length) {
      this.endedAt = now;
      return "end";
    }
    const next = this.phases[this.current];
    this.onsets[next.name] = now;
    return next.name;
  }

  // How long a phase was on screen: from the frame that drew it to the frame that replaced it.
  shownMs(name) {
    const index = this.phases.findIndex((p) => p.name === name);
    if (index < 0 || this.onsets[name] === undefined) return null;
    const after = index + 1 < this.phases.length ? this.onsets[this.phases[index + 1].name] : this.endedAt;
    return after === undefined || after === null ? null : after - this.onsets[name];
  }
}

// The keys a trial listens to: the two choices, lower-cased; everything else is ignored.
export function choiceKey(eventKey, allowedKeys) {
  if (typeof eventKey !== "string" || eventKey.length !== 1) return null;
  const key = eventKey.toLowerCase();
  return allowedKeys.includes(key) ? key : null;
}
