// A round's clock: time since the image appeared, a display tick every frame, and the time-up.
//
// The clock starts when the image is shown (the server's clock, which has the last word, started a
// little earlier). `now`, the frame and the timer functions are injectable so tests can drive it.

/** What is left of `limitMs` after `elapsedMs`, never below 0 nor above the limit. */
export function remainingMs(elapsedMs, limitMs) {
  return Math.max(0, Math.min(limitMs, limitMs - elapsedMs));
}

export class RoundClock {
  constructor({
    limitMs,
    onTick = () => {},
    onTimeUp = () => {},
    now = () => performance.now(),
    requestFrame = (callback) => window.requestAnimationFrame(callback),
    cancelFrame = (id) => window.cancelAnimationFrame(id),
    setTimer = (callback, ms) => window.setTimeout(callback, ms),
    clearTimer = (id) => window.clearTimeout(id),
  }) {
    Object.assign(this, { limitMs, onTick, onTimeUp, now, requestFrame, cancelFrame, setTimer, clearTimer });
    this.startedAt = null;
    this.frame = null;
    this.timer = null;
    this.running = false;
  }

  start() {
    this.startedAt = this.now();
    this.running = true;
    const tick = () => {
      this.frame = null;
      if (!this.running) return;
      const remaining = this.remainingMs();
      this.onTick(remaining, this.limitMs);
      if (remaining <= 0) this.timeUp();
      else this.frame = this.requestFrame(tick);
    };
    // Frames stop in a hidden tab; the timer still ends the round on time there.
    this.timer = this.setTimer(() => this.timeUp(), this.limitMs);
    tick();
  }

  elapsedMs() {
    return this.startedAt === null ? 0 : this.now() - this.startedAt;
  }

  remainingMs() {
    return remainingMs(this.elapsedMs(), this.limitMs);
  }

  timeUp() {
    if (!this.running) return;
    if (this.elapsedMs() < this.limitMs) {
      // A timer may fire a hair early: check again when the time is really up.
      this.clearTimer(this.timer);
      this.timer = this.setTimer(() => this.timeUp(), Math.ceil(this.limitMs - this.elapsedMs()));
      return;
    }
    this.stop();
    this.onTick(0, this.limitMs);
    this.onTimeUp();
  }

  stop() {
    this.running = false;
    if (this.frame !== null) this.cancelFrame(this.frame);
    this.clearTimer(this.timer);
    this.frame = null;
    this.timer = null;
  }
}
