// Clicks waiting to be posted: one post at a time (so the server sees t_ms in order), a post after
// `postEveryClicks` clicks or `postEveryMs` after the oldest unsent one, whichever comes first.
//
// `send(batch, nStored)` posts and resolves to the server's answer; `nStored` is how many clicks the
// server has confirmed stored before this batch (docs/API.md "Players", n_stored), or null when that
// is not known, so a batch sent again after its answer was lost is stored once. `classify(error)` says
// what a failure means: "closed" (the round is over: stop posting), "retry" (a network failure: the
// batch goes back to the front of the queue, at most `retries` times in a row; once given up, whether
// the server stored it is unknown), "resync" (the server holds other clicks than the count says: the
// batch goes back and is sent without a count) or "drop" (refused: the server kept nothing of it, so
// the next batch can go).

export class ClickQueue {
  constructor({
    send,
    classify,
    postEveryClicks,
    maxPerPost,
    postEveryMs = 500,
    retries = 2,
    stored = 0,
    now = () => performance.now(),
    onAnswer = () => {},
    onClosed = () => {},
    onError = () => {},
    onBusy = () => {},
  }) {
    Object.assign(this, { send, classify, postEveryClicks, maxPerPost, postEveryMs, retries, stored, now });
    Object.assign(this, { onAnswer, onClosed, onError, onBusy });
    this.pending = [];
    this.oldestAt = 0;
    this.inFlight = null;
    this.closed = false;
    this.failures = 0;
  }

  get size() {
    return this.pending.length;
  }

  push(click) {
    if (this.closed) return;
    if (!this.pending.length) this.oldestAt = this.now();
    this.pending.push(click);
    if (this.pending.length >= this.postEveryClicks) this.flush();
  }

  /** Post when enough clicks or enough time has gathered (called by the page's timer). */
  tick() {
    if (!this.pending.length || this.inFlight) return;
    if (this.pending.length >= this.postEveryClicks || this.now() - this.oldestAt >= this.postEveryMs) this.flush();
  }

  /** Post what is queued now (unless a post is in flight); resolves when that post is done. */
  flush() {
    if (this.inFlight || this.closed || !this.pending.length) return this.inFlight;
    const batch = this.pending.splice(0, this.maxPerPost);
    this.oldestAt = this.now();
    this.onBusy(true);
    this.inFlight = this.post(batch).finally(() => {
      this.inFlight = null;
      this.onBusy(false);
      if (!this.closed && this.pending.length >= this.postEveryClicks) this.flush();
    });
    return this.inFlight;
  }

  async post(batch) {
    let answer;
    try {
      answer = await this.send(batch, this.stored);
    } catch (error) {
      if (this.closed) return;
      const kind = this.classify(error);
      if (kind === "closed") {
        this.close();
        this.onClosed(error);
      } else if ((kind === "retry" || kind === "resync") && this.failures < this.retries) {
        this.failures += 1;
        if (kind === "resync") this.stored = null;
        this.pending.unshift(...batch);
        this.onError(error);
      } else {
        if (kind === "retry" || kind === "resync") this.stored = null; // stored or not: unknown
        this.failures = 0;
        this.onError(error);
      }
      return;
    }
    this.failures = 0;
    if (Number.isInteger(answer?.n_stored)) this.stored = answer.n_stored;
    else if (this.stored !== null) this.stored += batch.length;
    if (!this.closed) this.onAnswer(answer, batch);
  }

  /** Post everything still queued, one post after the other. */
  async drain() {
    for (let guard = 0; guard < 10_000 && !this.closed && (this.inFlight || this.pending.length); guard += 1) {
      await (this.inFlight || this.flush());
    }
  }

  /** No more posts; what is queued is dropped. */
  close() {
    this.closed = true;
    this.pending = [];
  }
}
