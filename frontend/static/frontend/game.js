// ClickMe: the game page.
//
// The player paints bubbles over a dimmed image; each bubble centre is a click [x, y, t_ms] in
// image pixels (SCIENCE.md section 1). Clicks are posted in small batches, one post at a time, and
// the partner network's answer updates the guesses list. See API.md "Players" for the endpoints.

import { api, ApiError } from "./api.js";

// ---------------------------------------------------------------------------------------------
// Settings

const root = document.getElementById("game");
const intAttr = (name, fallback) => {
  const value = Number.parseInt(root?.dataset[name] ?? "", 10);
  return Number.isFinite(value) && value > 0 ? value : fallback;
};

const SETTINGS = {
  timeLimitMs: intAttr("timeLimitMs", 7000),
  bubbleSizePx: intAttr("bubbleSizePx", 14),
  maxClicks: intAttr("maxClicks", 200),
  maxClicksPerPost: intAttr("maxClicksPerPost", 100),
  imageSizePx: intAttr("imageSizePx", 256),
  meUrl: root?.dataset.meUrl || "/api/game/me/",
  roundsUrl: root?.dataset.roundsUrl || "/api/game/rounds/",
};

const PAINT_INTERVAL_MS = 50; // a new bubble centre every 50 ms while the pointer is down
const MAX_STEP_PX = 7; // ... that moves at most 7 px (image px) towards the pointer
const POST_EVERY_CLICKS = 10; // post after about 10 clicks ...
const POST_EVERY_MS = 500; // ... or 500 ms after the oldest unsent click
const POST_CHECK_MS = 100;
const NETWORK_RETRIES = 2;
const CONSENT_KEY = "clickme.consent.v1";
const LOW_TIME_MS = 2000;

// ---------------------------------------------------------------------------------------------
// Elements

const $ = (id) => document.getElementById(id);
const el = {
  canvas: $("game-canvas"),
  canvasMessage: $("canvas-message"),
  canvasMessageTitle: $("canvas-message-title"),
  canvasMessageText: $("canvas-message-text"),
  result: $("result"),
  category: $("category-name"),
  prompt: $("prompt"),
  timeBar: $("time-bar"),
  timeFill: document.querySelector("#time-bar .time-bar-fill"),
  timeLeft: $("time-left"),
  next: $("next-round"),
  clickCount: $("click-count"),
  status: $("status"),
  guesses: $("guesses"),
  guessesEmpty: $("guesses-empty"),
  thinking: $("partner-thinking"),
  roundScore: $("round-score"),
  totalScore: $("total-score"),
  roundsPlayed: $("rounds-played"),
  roundsWon: $("rounds-won"),
  nicknameForm: $("nickname-form"),
  nicknameInput: $("nickname-input"),
  nicknameSave: $("nickname-save"),
  nicknameMessage: $("nickname-message"),
  consent: $("consent"),
  consentAccept: $("consent-accept"),
  consentDecline: $("consent-decline"),
};

// ---------------------------------------------------------------------------------------------
// Small helpers

function storageGet(key) {
  try {
    return window.localStorage.getItem(key);
  } catch {
    return null;
  }
}

function storageSet(key, value) {
  try {
    window.localStorage.setItem(key, value);
  } catch {
    // Private mode or storage disabled: the server still has the consent.
  }
}

function setRoundState(state) {
  document.body.dataset.roundState = state;
}

function setStatus(message, kind = "info") {
  el.status.textContent = message || "";
  el.status.dataset.kind = message ? kind : "";
}

function errorMessage(error) {
  if (error instanceof ApiError) return error.detail;
  return "Something went wrong. Please reload the page.";
}

function showCanvasMessage(title, text = "") {
  el.canvasMessageTitle.textContent = title;
  el.canvasMessageText.textContent = text;
  el.canvasMessage.hidden = false;
}

function hideCanvasMessage() {
  el.canvasMessage.hidden = true;
}

function showResult(kind, title, detail = "") {
  el.result.replaceChildren();
  const strong = document.createElement("strong");
  strong.textContent = title;
  el.result.append(strong);
  if (detail) {
    const span = document.createElement("span");
    span.textContent = detail;
    el.result.append(span);
  }
  el.result.dataset.kind = kind;
  el.result.hidden = false;
}

function hideResult() {
  el.result.hidden = true;
  el.result.replaceChildren();
}

function formatPercent(probability) {
  const p = Math.max(0, Math.min(1, Number(probability) || 0)) * 100;
  return `${p < 10 && p > 0 ? p.toFixed(1) : Math.round(p)}%`;
}

// ---------------------------------------------------------------------------------------------
// The picture: the image dimmed, with bubbles revealed at full brightness

class Picture {
  constructor(canvas) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.image = null;
    this.width = canvas.width;
    this.height = canvas.height;
  }

  blank() {
    this.image = null;
    const { ctx, canvas } = this;
    const styles = getComputedStyle(canvas);
    ctx.fillStyle = styles.getPropertyValue("--canvas-idle").trim() || "#2b2f3a";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
  }

  show(image, width, height) {
    this.image = image;
    this.width = width;
    this.height = height;
    this.canvas.width = width;
    this.canvas.height = height;
    this.canvas.style.aspectRatio = `${width} / ${height}`;
    const { ctx } = this;
    ctx.imageSmoothingEnabled = true;
    ctx.globalAlpha = 1;
    ctx.drawImage(image, 0, 0, width, height);
    ctx.fillStyle = "rgba(8, 10, 18, 0.66)";
    ctx.fillRect(0, 0, width, height);
  }

  // A bubble_size_px square centred on (x, y), clipped to the image.
  reveal(x, y, size) {
    if (!this.image) return;
    const half = Math.floor(size / 2);
    const left = Math.max(0, x - half);
    const top = Math.max(0, y - half);
    const right = Math.min(this.width, x - half + size);
    const bottom = Math.min(this.height, y - half + size);
    if (right <= left || bottom <= top) return;
    const sx = this.image.naturalWidth / this.width;
    const sy = this.image.naturalHeight / this.height;
    this.ctx.drawImage(
      this.image,
      left * sx, top * sy, (right - left) * sx, (bottom - top) * sy,
      left, top, right - left, bottom - top,
    );
  }

  // Image pixel under a pointer event (floats, not clamped).
  toImage(event) {
    const rect = this.canvas.getBoundingClientRect();
    return {
      x: ((event.clientX - rect.left) * this.width) / rect.width,
      y: ((event.clientY - rect.top) * this.height) / rect.height,
    };
  }
}

// ---------------------------------------------------------------------------------------------
// One round: painting, the clicks queue, the timer and its end

class Round {
  constructor(data, picture, hooks) {
    this.id = data.round_id;
    this.imageId = data.image_id;
    this.category = data.category || { id: null, name: "" };
    this.width = data.image_size?.[0] || SETTINGS.imageSizePx;
    this.height = data.image_size?.[1] || SETTINGS.imageSizePx;
    this.timeLimitMs = data.time_limit_ms || SETTINGS.timeLimitMs;
    this.bubbleSizePx = data.bubble_size_px || SETTINGS.bubbleSizePx;
    this.maxClicks = data.max_clicks || SETTINGS.maxClicks;
    this.clicksUrl = `${SETTINGS.roundsUrl}${this.id}/clicks/`;
    this.finishUrl = `${SETTINGS.roundsUrl}${this.id}/finish/`;
    this.picture = picture;
    this.hooks = hooks;

    this.state = "open"; // open | won | expired (as the server says)
    this.score = 0;
    this.t0 = null; // performance.now() when the image was shown
    this.lastT = 0;
    this.recorded = 0; // clicks made (sent or queued), never more than maxClicks
    this.pending = []; // clicks not yet posted, in order
    this.pendingSince = 0;
    this.inFlight = null; // the one post in flight, if any
    this.accepting = true; // false once painting must stop (time up, won, closed)
    this.closed = false; // no more posts
    this.networkFailures = 0;
    this.ending = null;

    this.pen = null; // {x, y} last centre of the current stroke
    this.pointer = null; // {x, y} where the pointer is now (image px)
    this.paintTimer = null;
    this.postTimer = null;
    this.frame = null;
  }

  begin() {
    this.t0 = performance.now();
    this.postTimer = window.setInterval(() => this.maybeFlush(), POST_CHECK_MS);
    const tick = () => {
      this.frame = null;
      if (this.state !== "open" || !this.accepting) return;
      const remaining = this.timeLimitMs - this.elapsed();
      this.hooks.onTime(remaining, this.timeLimitMs);
      if (remaining <= 0) {
        this.end("time");
        return;
      }
      this.frame = window.requestAnimationFrame(tick);
    };
    tick();
  }

  elapsed() {
    return this.t0 === null ? 0 : performance.now() - this.t0;
  }

  canPaint() {
    return this.state === "open" && this.accepting && this.t0 !== null && this.recorded < this.maxClicks;
  }

  // ---- painting

  penDown(point) {
    if (!this.canPaint()) return;
    this.pointer = point;
    const x = this.clampX(Math.round(point.x));
    const y = this.clampY(Math.round(point.y));
    this.pen = { x, y };
    this.addClick(x, y);
    window.clearInterval(this.paintTimer);
    this.paintTimer = window.setInterval(() => this.step(), PAINT_INTERVAL_MS);
  }

  penMove(point) {
    this.pointer = point;
  }

  penUp() {
    window.clearInterval(this.paintTimer);
    this.paintTimer = null;
    this.pen = null;
    this.pointer = null;
    this.flush();
  }

  step() {
    if (!this.pen || !this.pointer) return;
    if (!this.canPaint()) {
      this.penUp();
      return;
    }
    const target = {
      x: Math.min(Math.max(this.pointer.x, 0), this.width - 1),
      y: Math.min(Math.max(this.pointer.y, 0), this.height - 1),
    };
    let dx = target.x - this.pen.x;
    let dy = target.y - this.pen.y;
    const distance = Math.hypot(dx, dy);
    if (distance > MAX_STEP_PX) {
      dx *= MAX_STEP_PX / distance;
      dy *= MAX_STEP_PX / distance;
    }
    let mx = Math.round(dx);
    let my = Math.round(dy);
    if (Math.hypot(mx, my) > MAX_STEP_PX) {
      // Rounding may overshoot by a fraction of a pixel: round towards the previous centre instead.
      mx = Math.trunc(dx);
      my = Math.trunc(dy);
    }
    const x = this.clampX(this.pen.x + mx);
    const y = this.clampY(this.pen.y + my);
    this.pen = { x, y };
    this.addClick(x, y);
  }

  clampX(x) {
    return Math.min(Math.max(x, 0), this.width - 1);
  }

  clampY(y) {
    return Math.min(Math.max(y, 0), this.height - 1);
  }

  addClick(x, y) {
    if (!this.canPaint()) return;
    const elapsed = this.elapsed();
    if (elapsed >= this.timeLimitMs) {
      this.end("time");
      return;
    }
    const t = Math.min(this.timeLimitMs, Math.max(this.lastT, Math.round(elapsed)));
    this.lastT = t;
    if (this.pending.length === 0) this.pendingSince = performance.now();
    this.pending.push([x, y, t]);
    this.recorded += 1;
    this.picture.reveal(x, y, this.bubbleSizePx);
    this.hooks.onClicks(this.recorded, this.maxClicks);
    if (this.recorded >= this.maxClicks) {
      this.penUp();
      this.hooks.onMaxClicks(this.maxClicks);
      return;
    }
    if (this.pending.length >= POST_EVERY_CLICKS) this.flush();
  }

  // ---- posting (one post at a time, so t_ms order is kept)

  maybeFlush() {
    if (!this.pending.length || this.inFlight) return;
    if (this.pending.length >= POST_EVERY_CLICKS || performance.now() - this.pendingSince >= POST_EVERY_MS) {
      this.flush();
    }
  }

  flush() {
    if (this.inFlight || this.closed || this.pending.length === 0) return this.inFlight;
    const batch = this.pending.splice(0, SETTINGS.maxClicksPerPost);
    this.pendingSince = performance.now();
    this.hooks.onThinking(true);
    this.inFlight = this.post(batch).finally(() => {
      this.inFlight = null;
      this.hooks.onThinking(false);
      if (!this.closed && this.pending.length >= POST_EVERY_CLICKS) this.flush();
    });
    return this.inFlight;
  }

  async post(batch) {
    let answer;
    try {
      answer = await api.post(this.clicksUrl, { clicks: batch });
    } catch (error) {
      if (this.closed) return;
      if (error instanceof ApiError && error.status === 409) {
        // round_closed: the server's clock ran out (or the round ended elsewhere).
        this.accepting = false;
        this.closed = true;
        this.pending = [];
        this.end("closed");
        return;
      }
      if (error instanceof ApiError && error.status === 0 && this.networkFailures < NETWORK_RETRIES) {
        this.networkFailures += 1;
        this.pending.unshift(...batch); // try again with the next post
        this.hooks.onError(error);
        return;
      }
      // A refused batch (400) changes nothing on the server; it is dropped so the next can go.
      this.hooks.onError(error);
      return;
    }
    this.networkFailures = 0;
    if (!answer) return;
    this.hooks.onAnswer(this, answer);
    if (answer.state && answer.state !== "open") {
      this.conclude(answer.state, answer.score ?? 0);
    }
  }

  // Post everything still queued, one post after the other.
  async drain() {
    let guard = 0;
    while (!this.closed && (this.inFlight || this.pending.length) && guard < 1000) {
      guard += 1;
      await (this.inFlight || this.flush());
    }
  }

  // ---- the end

  stopPainting() {
    this.accepting = false;
    window.clearInterval(this.paintTimer);
    this.paintTimer = null;
    this.pen = null;
    if (this.frame !== null) window.cancelAnimationFrame(this.frame);
    this.frame = null;
  }

  stopTimers() {
    this.stopPainting();
    window.clearInterval(this.postTimer);
    this.postTimer = null;
  }

  // The server says the round is over (won, or expired): no more posts.
  conclude(state, score) {
    if (this.state !== "open") return;
    this.closed = true;
    this.pending = [];
    this.stopTimers();
    this.state = state;
    this.score = score;
    this.hooks.onEnd(this, null);
  }

  // Time ran out here, or the server refused clicks with 409: send what is left, then finish.
  end(reason) {
    if (this.ending) return this.ending;
    this.stopPainting();
    this.ending = (async () => {
      if (reason === "time") await this.drain();
      else if (this.inFlight) await this.inFlight;
      this.stopTimers();
      if (this.state !== "open") return; // won on the last post
      this.closed = true;
      this.pending = [];
      let totalScore = null;
      try {
        const answer = await api.post(this.finishUrl, {});
        this.state = answer?.state || "expired";
        this.score = answer?.score ?? 0;
        totalScore = answer?.total_score ?? null;
      } catch (error) {
        this.state = "expired";
        this.hooks.onError(error);
      }
      if (this.state === "open") this.state = "expired";
      this.hooks.onEnd(this, { reason, totalScore });
    })();
    return this.ending;
  }
}

// ---------------------------------------------------------------------------------------------
// The page

const picture = new Picture(el.canvas);
let current = null; // the Round being played or last played
let starting = false;
let consented = false;
let noImagesLeft = false;
let activePointer = null;

function updateMe(me) {
  if (!me) return;
  if (typeof me.total_score === "number") el.totalScore.textContent = String(me.total_score);
  if (typeof me.rounds_played === "number") el.roundsPlayed.textContent = String(me.rounds_played);
  if (typeof me.rounds_won === "number") el.roundsWon.textContent = String(me.rounds_won);
}

async function refreshMe() {
  try {
    const me = await api.get(SETTINGS.meUrl);
    updateMe(me);
    return me;
  } catch (error) {
    setStatus(errorMessage(error), "error");
    return null;
  }
}

function setTime(remainingMs, limitMs) {
  const remaining = Math.max(0, Math.min(limitMs, remainingMs));
  const fraction = limitMs > 0 ? remaining / limitMs : 0;
  el.timeFill.style.transform = `scaleX(${fraction})`;
  el.timeBar.setAttribute("aria-valuemax", String(limitMs));
  el.timeBar.setAttribute("aria-valuenow", String(Math.round(remaining)));
  el.timeBar.dataset.remainingMs = String(Math.round(remaining));
  el.timeBar.classList.toggle("is-low", remaining <= LOW_TIME_MS && remaining > 0);
  el.timeBar.classList.toggle("is-out", remaining <= 0);
  el.timeLeft.textContent = `${(remaining / 1000).toFixed(1)} s`;
}

function renderGuesses(guesses, trueCategoryId) {
  const items = (Array.isArray(guesses) ? guesses : []).slice(0, 5).map((guess, index) => {
    const li = document.createElement("li");
    li.className = "guess";
    const correct = trueCategoryId != null && guess.category_id === trueCategoryId;
    li.dataset.categoryId = guess.category_id == null ? "" : String(guess.category_id);
    li.dataset.correct = correct ? "true" : "false";
    li.dataset.rank = String(index + 1);
    if (correct) li.classList.add("is-correct");

    const name = document.createElement("span");
    name.className = "guess-name";
    name.textContent = String(guess.name ?? "");
    const value = document.createElement("span");
    value.className = "guess-prob";
    value.textContent = formatPercent(guess.probability);
    const bar = document.createElement("span");
    bar.className = "guess-bar";
    bar.setAttribute("aria-hidden", "true");
    const fill = document.createElement("span");
    fill.className = "guess-bar-fill";
    fill.style.width = `${Math.max(0, Math.min(1, Number(guess.probability) || 0)) * 100}%`;
    bar.append(fill);
    li.append(name, value, bar);
    return li;
  });
  el.guesses.replaceChildren(...items);
  el.guessesEmpty.hidden = items.length > 0;
}

function clearGuesses(message) {
  el.guesses.replaceChildren();
  el.guessesEmpty.textContent = message;
  el.guessesEmpty.hidden = false;
}

const roundHooks = {
  onTime: setTime,
  onClicks(recorded, max) {
    el.clickCount.textContent = `${recorded} / ${max} bubbles`;
    el.canvas.dataset.clicks = String(recorded);
  },
  onMaxClicks(max) {
    setStatus(`You have used all ${max} bubbles for this round.`, "info");
  },
  onThinking(busy) {
    el.thinking.hidden = !busy;
  },
  onAnswer(round, answer) {
    if (round !== current) return;
    if (Array.isArray(answer.guesses)) {
      if (answer.guesses.length) renderGuesses(answer.guesses, round.category.id);
      else clearGuesses("Your partner has no guesses for now.");
    }
    if (typeof answer.score === "number" && answer.state === "won") el.roundScore.textContent = String(answer.score);
  },
  onError(error) {
    setStatus(errorMessage(error), "error");
  },
  onEnd(round, info) {
    if (round !== current) return;
    finishUi(round, info);
  },
};

function finishUi(round, info) {
  setRoundState(round.state === "won" ? "won" : "expired");
  document.body.dataset.roundScore = String(round.score);
  el.roundScore.textContent = String(round.score);
  el.canvas.classList.remove("is-active");
  if (round.state === "won") {
    showResult("won", `Recognised! +${round.score}`, `Your partner saw the ${round.category.name}.`);
    setStatus(`Recognised! You scored ${round.score} points.`, "success");
  } else {
    showResult("expired", "Time's up", "Your partner did not recognise it this time. +0");
    setStatus("Time's up. Ready for another one?", "info");
  }
  if (info && typeof info.totalScore === "number") el.totalScore.textContent = String(info.totalScore);
  refreshMe();
  el.next.textContent = "Next round";
  el.next.disabled = false;
  el.next.focus({ preventScroll: true });
}

function loadImage(url) {
  return new Promise((resolve, reject) => {
    const image = new Image();
    image.decoding = "async";
    image.onload = () => resolve(image);
    image.onerror = () => reject(new Error("image failed to load"));
    image.src = url;
  });
}

async function startRound() {
  if (starting || noImagesLeft) return;
  if (!consented) {
    openConsent();
    return;
  }
  if (current && current.state === "open") return;
  starting = true;
  el.next.disabled = true;
  hideResult();
  setStatus("Loading a new image\u2026", "info");
  clearGuesses("No guesses yet: paint to show your partner the image.");
  el.roundScore.textContent = "0";
  el.clickCount.textContent = "";
  document.body.dataset.roundScore = "0";
  setTime(SETTINGS.timeLimitMs, SETTINGS.timeLimitMs);

  let data;
  try {
    const screenSize = [Math.max(1, Math.round(window.screen?.width || 0)), Math.max(1, Math.round(window.screen?.height || 0))];
    data = await api.post(SETTINGS.roundsUrl, { screen: screenSize });
  } catch (error) {
    starting = false;
    if (error instanceof ApiError && error.code === "no_images_left") {
      noImagesLeft = true;
      setRoundState("none");
      current = null;
      picture.blank();
      el.category.textContent = "\u2014";
      el.prompt.classList.remove("is-live");
      setTime(SETTINGS.timeLimitMs, SETTINGS.timeLimitMs);
      showCanvasMessage("You have seen every image.", "Thank you for playing! Come back later for new ones.");
      setStatus("You have seen every image we have. Thank you for playing!", "success");
      el.next.textContent = "No images left";
      el.next.disabled = true;
      return;
    }
    setStatus(errorMessage(error), "error");
    el.next.disabled = false;
    return;
  }

  const round = new Round(data, picture, roundHooks);
  let image;
  try {
    image = await loadImage(data.image_url);
  } catch {
    starting = false;
    setStatus("The image could not be loaded. Please start another round.", "error");
    // Close the round on the server so it is not left open.
    api.post(round.finishUrl, {}).catch(() => {});
    setRoundState("none");
    el.next.textContent = "Next round";
    el.next.disabled = false;
    return;
  }

  current = round;
  starting = false;
  activePointer = null;
  hideCanvasMessage();
  picture.show(image, round.width, round.height);
  el.category.textContent = round.category.name;
  el.prompt.classList.add("is-live");
  document.body.dataset.roundId = String(round.id);
  el.canvas.classList.add("is-active");
  el.next.textContent = "Round in progress";
  setStatus(`Paint over the ${round.category.name}!`, "info");
  setRoundState("open");
  round.begin();
}

// ---- pointer input

function onPointerDown(event) {
  if (!current || !current.canPaint()) return;
  if (event.pointerType === "mouse" && event.button !== 0) return;
  if (activePointer !== null) return; // one finger paints; others are ignored
  event.preventDefault();
  activePointer = event.pointerId;
  try {
    el.canvas.setPointerCapture(event.pointerId);
  } catch {
    // Not capturable (synthetic event): moves outside the canvas are then lost, nothing worse.
  }
  current.penDown(picture.toImage(event));
}

function onPointerMove(event) {
  if (event.pointerId !== activePointer || !current) return;
  event.preventDefault();
  current.penMove(picture.toImage(event));
}

function onPointerEnd(event) {
  if (event.pointerId !== activePointer) return;
  activePointer = null;
  if (current) current.penUp();
}

// ---- consent

function openConsent() {
  el.consent.hidden = false;
  document.body.classList.add("has-modal");
  el.consentAccept.disabled = false;
  el.consentAccept.focus();
}

function closeConsent() {
  el.consent.hidden = true;
  document.body.classList.remove("has-modal");
}

let consentError = null;
async function acceptConsent() {
  el.consentAccept.disabled = true;
  if (consentError) consentError.remove();
  try {
    await api.patch(SETTINGS.meUrl, { consented: true });
  } catch (error) {
    el.consentAccept.disabled = false;
    consentError = document.createElement("p");
    consentError.className = "modal-error";
    consentError.setAttribute("role", "alert");
    consentError.textContent = errorMessage(error);
    el.consentAccept.closest(".modal").append(consentError);
    return;
  }
  storageSet(CONSENT_KEY, new Date().toISOString());
  consented = true;
  closeConsent();
  becomeReady();
}

function declineConsent() {
  closeConsent();
  setStatus("You can play once you agree to the research terms: press Start round to read them again.", "info");
  showCanvasMessage("Agree to play", "Press Start round to read what we store.");
  el.next.disabled = false;
  el.next.focus();
}

function becomeReady() {
  setRoundState("none");
  el.next.textContent = "Start round";
  el.next.disabled = false;
  showCanvasMessage("Ready?", "Press Start round. The clock starts when the image appears.");
  setStatus("");
  el.next.focus({ preventScroll: true });
}

// ---- nickname

async function saveNickname(event) {
  event.preventDefault();
  const nickname = el.nicknameInput.value;
  el.nicknameSave.disabled = true;
  el.nicknameMessage.textContent = "";
  el.nicknameMessage.dataset.kind = "";
  try {
    const me = await api.patch(SETTINGS.meUrl, { nickname });
    el.nicknameInput.value = me?.nickname ?? nickname;
    el.nicknameMessage.textContent = `Saved. You appear as \u201c${me?.nickname ?? nickname}\u201d.`;
    el.nicknameMessage.dataset.kind = "success";
    setStatus("Nickname saved.", "success");
    updateMe(me);
  } catch (error) {
    const message = errorMessage(error);
    el.nicknameMessage.textContent = message;
    el.nicknameMessage.dataset.kind = "error";
    setStatus(message, "error");
  } finally {
    el.nicknameSave.disabled = false;
  }
}

// ---- start

async function init() {
  setRoundState("none");
  picture.blank();
  setTime(SETTINGS.timeLimitMs, SETTINGS.timeLimitMs);

  el.canvas.addEventListener("pointerdown", onPointerDown);
  el.canvas.addEventListener("pointermove", onPointerMove);
  el.canvas.addEventListener("pointerup", onPointerEnd);
  el.canvas.addEventListener("pointercancel", onPointerEnd);
  el.canvas.addEventListener("lostpointercapture", onPointerEnd);
  el.canvas.addEventListener("contextmenu", (event) => event.preventDefault());
  el.canvas.addEventListener("dragstart", (event) => event.preventDefault());
  el.next.addEventListener("click", startRound);
  el.nicknameForm.addEventListener("submit", saveNickname);
  el.consentAccept.addEventListener("click", acceptConsent);
  el.consentDecline.addEventListener("click", declineConsent);
  el.consent.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.preventDefault();
      declineConsent();
    }
  });

  consented = Boolean(storageGet(CONSENT_KEY));
  const me = await refreshMe();
  if (me) {
    el.nicknameInput.value = me.nickname || "";
    if (me.consented === true && !consented) {
      consented = true;
      storageSet(CONSENT_KEY, new Date().toISOString());
    } else if (me.consented === false && consented) {
      // Same browser, new session (cookies cleared): record the consent given here again.
      api.patch(SETTINGS.meUrl, { consented: true }).catch(() => {});
    }
  }
  if (consented) becomeReady();
  else {
    showCanvasMessage("Welcome to ClickMe", "");
    openConsent();
  }
}

init();
