// One round in the page: the brush turns the pointer into clicks, the queue posts them, the clock
// ends the round. A `transport` talks to whoever judges the round: the server's API (a real round)
// or the page itself (the practice round). States are the server's: open, won, expired, skipped.

import { ClickQueue } from "./click_queue.js";
import { RoundClock } from "./clock.js";
import { strokeAdvance, strokePress } from "./stroke.js";

export class PlayRound {
  /**
   * @param data the round as the server started it (docs/API.md: round_id, category, image_size, ...)
   * @param brush {intervalMs, maxStepPx, postEveryClicks, maxClicksPerPost}
   * @param transport {postClicks(batch, nStored), finish(), skip(), classify(error)}
   * @param hooks {onTime, onClicks, onMaxClicks, onThinking, onAnswer, onError, onEnd}
   */
  constructor({ data, picture, transport, brush, hooks }) {
    this.id = data.round_id;
    this.category = data.category || { id: null, name: "" };
    this.bounds = { width: data.image_size[0], height: data.image_size[1] };
    this.timeLimitMs = data.time_limit_ms;
    this.bubbleSizePx = data.bubble_size_px;
    this.maxClicks = data.max_clicks;
    this.picture = picture;
    this.transport = transport;
    this.brush = brush;
    this.hooks = hooks;

    this.state = "open";
    this.score = 0;
    this.recorded = 0;
    this.lastT = 0;
    this.painting = true; // false once no more clicks may be made
    this.stroke = null; // the brush's state while the button is down
    this.pointer = null; // where the pointer is (image px)
    this.brushTimer = null;
    this.postTimer = null;
    this.ending = null;

    this.clock = new RoundClock({
      limitMs: this.timeLimitMs,
      onTick: (remaining, limit) => hooks.onTime(remaining, limit),
      onTimeUp: () => this.end("time"),
    });
    this.queue = new ClickQueue({
      send: (batch, nStored) => transport.postClicks(batch, nStored),
      classify: (error) => transport.classify(error),
      postEveryClicks: brush.postEveryClicks,
      maxPerPost: data.max_clicks_per_post || brush.maxClicksPerPost,
      onAnswer: (answer) => this.answered(answer),
      onClosed: () => this.end("closed"),
      onError: (error) => hooks.onError(error),
      onBusy: (busy) => hooks.onThinking(busy),
    });
  }

  begin() {
    this.clock.start();
    this.postTimer = window.setInterval(() => this.queue.tick(), 100);
  }

  canPaint() {
    return this.state === "open" && this.painting && this.recorded < this.maxClicks;
  }

  // ---- the brush

  penDown(point) {
    if (!this.canPaint()) return;
    this.pointer = point;
    const lastT = this.recorded ? this.lastT : null;
    const press = strokePress(point, this.clock.elapsedMs(), lastT, this.brush, this.bounds);
    this.stroke = press.stroke;
    this.record(press.centres);
    window.clearInterval(this.brushTimer);
    this.brushTimer = window.setInterval(() => this.brushTick(), this.brush.intervalMs);
  }

  penMove(point) {
    this.pointer = point;
  }

  penUp() {
    if (this.stroke) this.brushTick();
    this.stopBrush();
    this.queue.flush();
  }

  brushTick() {
    if (!this.stroke || !this.pointer) return;
    const now = Math.min(this.clock.elapsedMs(), this.timeLimitMs);
    const step = strokeAdvance(this.stroke, this.pointer, now, this.brush, this.bounds);
    this.stroke = step.stroke;
    this.record(step.centres);
  }

  stopBrush() {
    window.clearInterval(this.brushTimer);
    this.brushTimer = null;
    this.stroke = null;
    this.pointer = null;
  }

  record(centres) {
    for (const [x, y, t] of centres) {
      if (!this.canPaint()) break;
      if (t > this.timeLimitMs) break;
      this.lastT = t;
      this.recorded += 1;
      this.picture.reveal(x, y, this.bubbleSizePx);
      this.queue.push([x, y, t]);
      this.hooks.onClicks(this.recorded, this.maxClicks);
      if (this.recorded >= this.maxClicks) {
        this.stopBrush();
        this.queue.flush();
        this.hooks.onMaxClicks(this.maxClicks);
      }
    }
  }

  // ---- the partner's answers and the end

  answered(answer) {
    if (!answer || this.state !== "open") return;
    this.hooks.onAnswer(this, answer);
    if (answer.state && answer.state !== "open") this.conclude(answer.state, answer.score ?? 0, null);
  }

  stopPainting() {
    this.painting = false;
    this.stopBrush();
    this.clock.stop();
  }

  stopTimers() {
    this.stopPainting();
    window.clearInterval(this.postTimer);
    this.postTimer = null;
  }

  conclude(state, score, totalScore, reason = "answer") {
    if (this.state !== "open") return;
    this.queue.close();
    this.stopTimers();
    this.state = state;
    this.score = score;
    this.hooks.onEnd(this, { reason, totalScore });
  }

  /** Time ran out here (everything painted is posted first) or the server closed the round. */
  end(reason) {
    if (this.ending || this.state !== "open") return this.ending;
    this.stopPainting();
    this.ending = (async () => {
      if (reason === "time") await this.queue.drain();
      else if (this.queue.inFlight) await this.queue.inFlight;
      if (this.state !== "open") return; // won on the last post
      this.queue.close();
      try {
        const answer = await this.transport.finish();
        this.conclude(answer?.state === "open" ? "expired" : answer?.state || "expired", answer?.score ?? 0, answer?.total_score ?? null, reason);
      } catch (error) {
        this.hooks.onError(error);
        this.conclude("expired", 0, null, reason);
      }
    })();
    return this.ending;
  }

  /** The player cannot find it: not scored, its clicks not used (the server's skip). */
  skip() {
    if (this.ending || this.state !== "open") return this.ending;
    this.stopPainting();
    this.ending = (async () => {
      if (this.queue.inFlight) await this.queue.inFlight; // its answer may have won the round
      if (this.state !== "open") return;
      this.queue.close();
      try {
        const answer = await this.transport.skip();
        this.conclude(answer?.state || "skipped", answer?.score ?? 0, answer?.total_score ?? null, "skip");
      } catch (error) {
        if (this.transport.classify(error) !== "closed") this.hooks.onError(error);
        // Closed meanwhile (time up on the server's clock): say how it ended.
        try {
          const answer = await this.transport.finish();
          this.conclude(answer?.state || "expired", answer?.score ?? 0, answer?.total_score ?? null, "closed");
        } catch (finishError) {
          this.hooks.onError(finishError);
          this.conclude("expired", 0, null, "closed");
        }
      }
    })();
    return this.ending;
  }
}
