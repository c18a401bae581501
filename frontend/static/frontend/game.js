// ClickMe: the game page. It wires the pieces together: the server's settings (data attributes of
// #game), the API, the picture, the view, the consent dialog, real rounds and the practice round.
// The player paints bubbles over a dimmed image; each bubble centre is a click [x, y, t_ms] in image
// pixels (docs/SCIENCE.md section 1), posted in small batches; the partner's answer updates the guesses.

import { ApiError, gameApi } from "./api.js";
import { createConsentDialog } from "./consent.js";
import { Picture } from "./picture.js";
import { practiceRound } from "./practice.js";
import { PlayRound } from "./round.js";
import { createView } from "./view.js";

const CONSENT_KEY = "clickme.consent.v1";
const PRACTICE_KEY = "clickme.practice.v1";

const root = document.getElementById("game");
const positive = (name, fallback) => {
  const value = Number.parseInt(root.dataset[name] ?? "", 10);
  return Number.isFinite(value) && value > 0 ? value : fallback;
};
const SETTINGS = {
  timeLimitMs: positive("timeLimitMs", 7000),
  bubbleSizePx: positive("bubbleSizePx", 14),
  maxClicks: positive("maxClicks", 200),
  imageSizePx: positive("imageSizePx", 256),
};
const BRUSH = {
  intervalMs: positive("brushIntervalMs", 50),
  maxStepPx: positive("brushMaxStepPx", 7),
  postEveryClicks: positive("postEveryClicks", 10),
  maxClicksPerPost: positive("maxClicksPerPost", 100),
};

const api = gameApi({ meUrl: root.dataset.meUrl, roundsUrl: root.dataset.roundsUrl });
const view = createView(document);
const { el } = view;
const picture = new Picture(el.canvas, { idleSizePx: SETTINGS.imageSizePx });

let current = null; // the PlayRound being played or last played
let busy = false; // a round is being fetched
let consented = false;
let noImagesLeft = false;
let activePointer = null;

function stored(key) {
  try {
    return window.localStorage.getItem(key);
  } catch {
    return null;
  }
}

function store(key) {
  try {
    window.localStorage.setItem(key, new Date().toISOString());
  } catch {
    // Private mode or storage disabled: the server still has the consent.
  }
}

function errorMessage(error) {
  if (error instanceof ApiError) return error.detail;
  return "Something went wrong. Please reload the page.";
}

function classify(error) {
  if (error instanceof ApiError && error.status === 409 && error.code === "stored_clicks_differ") return "resync";
  if (error instanceof ApiError && error.status === 409) return "closed";
  if (error instanceof ApiError && error.status === 0) return "retry";
  return "drop";
}

async function refreshMe() {
  try {
    const me = await api.me();
    view.updateMe(me);
    return me;
  } catch (error) {
    view.setStatus(errorMessage(error), "error");
    return null;
  }
}

// ---- rounds

const hooks = {
  onTime: (remaining, limit) => view.setTime(remaining, limit),
  onClicks: (recorded, max) => view.setClicks(recorded, max),
  onMaxClicks: (max) => view.setStatus(`You have used all ${max} bubbles for this round.`),
  onThinking: (thinking) => view.setThinking(thinking),
  onAnswer(round, answer) {
    if (round !== current) return;
    if (Array.isArray(answer.guesses)) {
      if (answer.guesses.length) view.renderGuesses(answer.guesses, round.category.id);
      else view.clearGuesses("Your partner has no guesses for now.");
    }
  },
  onError: (error) => view.setStatus(errorMessage(error), "error"),
  onEnd(round, info) {
    if (round === current) roundEnded(round, info);
  },
};

function roundEnded(round, info) {
  const practice = round.id === "practice";
  const name = round.category.name;
  view.setRoundState(round.state);
  document.body.dataset.roundMode = practice ? "practice" : "game";
  el.canvas.classList.remove("is-active");
  view.setRoundScore(practice ? 0 : round.score);
  if (round.state === "won") {
    if (practice) {
      view.showResult("won", "Found it!", "In a real round a network judges, and you score points.");
      view.setStatus("Practice done: you found the star. Now for real!", "success");
    } else {
      view.showResult("won", `Recognised! +${round.score}`, `Your partner saw the ${name}.`);
      view.setStatus(`Recognised! You scored ${round.score} points.`, "success");
    }
  } else {
    // Not recognised (or skipped): show the whole image, so the player sees where the object was.
    picture.revealAll();
    document.body.dataset.revealed = "true";
    el.canvas.setAttribute("aria-label", `The whole image, revealed: the ${name} is in it.`);
    if (round.state === "skipped") {
      view.showResult("skipped", "Skipped: here is the whole image", `Look again: the ${name} is in the picture. Not scored.`);
      view.setStatus(`Skipped: no points, and its clicks are not used. The ${name} is shown in full.`);
    } else {
      const lead = info?.reason === "time" ? "Time's up" : "Not recognised";
      view.showResult("expired", `${lead}: here is the whole image`, `Look again: the ${name} is in the picture. +0`);
      view.setStatus(`${lead}. Your partner did not recognise the ${name}: the whole image now shows where it was.`);
    }
  }
  if (practice) {
    store(PRACTICE_KEY);
  } else {
    view.setTotalScore(info?.totalScore);
    refreshMe();
  }
  view.setControls({ next: practice ? "Start round" : "Next round", nextEnabled: true, focus: true });
}

function prepareRound() {
  busy = true;
  view.setControls({ nextEnabled: false });
  view.hideResult();
  view.clearGuesses("No guesses yet: paint to show your partner the image.");
  view.setRoundScore(0);
  view.setClicks(0, SETTINGS.maxClicks);
  view.setTime(SETTINGS.timeLimitMs, SETTINGS.timeLimitMs);
  delete document.body.dataset.revealed;
}

function play(round, image, { lead, practice }) {
  current = round;
  busy = false;
  activePointer = null;
  view.hideCanvasMessage();
  picture.show(image, round.bounds.width, round.bounds.height);
  el.canvas.setAttribute("aria-label", `The image to reveal: press and drag to paint the ${round.category.name}`);
  view.setPrompt(lead, round.category.name, true);
  view.setGuessesHint(practice);
  document.body.dataset.roundId = String(round.id);
  document.body.dataset.roundMode = practice ? "practice" : "game";
  el.canvas.classList.add("is-active");
  view.setControls({ next: "Round in progress", nextEnabled: false, skip: !practice });
  view.setStatus(practice ? "Practice: hold the button down and paint over the star!" : `Paint over the ${round.category.name}!`);
  view.setRoundState("open");
  round.begin();
}

function loadImage(url) {
  return new Promise((resolve, reject) => {
    const image = new Image();
    image.decoding = "async";
    image.addEventListener("load", () => resolve(image), { once: true });
    image.addEventListener("error", () => reject(new Error("image failed to load")), { once: true });
    image.src = url;
  });
}

function outOfImages() {
  noImagesLeft = true;
  current = null;
  view.setRoundState("none");
  picture.blank();
  view.setPrompt("Reveal the parts that show a:", "\u2014", false);
  view.showCanvasMessage("You have seen every image.", "Thank you for playing! Come back later for new ones.");
  view.setStatus("You have seen every image we have. Thank you for playing!", "success");
  view.setControls({ next: "No images left", nextEnabled: false });
}

function imagesComing() {
  // Images are still being screened against the partner: not the end, try again shortly.
  current = null;
  view.setRoundState("none");
  picture.blank();
  view.setPrompt("Reveal the parts that show a:", "\u2014", false);
  view.showCanvasMessage("New images are on their way.", "They are being prepared for you: try again in a minute.");
  view.setStatus("New images are being prepared. Try again in a minute.", "info");
  view.setControls({ next: "Try again", nextEnabled: true });
}

async function startRound() {
  if (busy || noImagesLeft || current?.state === "open") return;
  if (!consented) {
    consent.open();
    return;
  }
  if (!stored(PRACTICE_KEY)) {
    startPractice();
    return;
  }
  prepareRound();
  view.setStatus("Loading a new image\u2026");
  let data;
  try {
    const screen = [Math.max(1, Math.round(window.screen?.width || 1)), Math.max(1, Math.round(window.screen?.height || 1))];
    data = await api.startRound(screen);
  } catch (error) {
    busy = false;
    if (error instanceof ApiError && error.code === "no_images_left" && error.body?.screening) return imagesComing();
    if (error instanceof ApiError && error.code === "no_images_left") return outOfImages();
    view.setStatus(errorMessage(error), "error");
    view.setControls({ nextEnabled: true });
    return;
  }
  const transport = {
    postClicks: (batch, nStored) => api.postClicks(data.round_id, batch, nStored),
    finish: () => api.finish(data.round_id),
    skip: () => api.skip(data.round_id),
    classify,
  };
  const round = new PlayRound({ data, picture, transport, brush: BRUSH, hooks });
  let image;
  try {
    image = await loadImage(data.image_url);
  } catch {
    busy = false;
    view.setStatus("The image could not be loaded. Please start another round.", "error");
    api.finish(data.round_id).catch(() => {}); // not left open on the server
    view.setRoundState("none");
    view.setControls({ next: "Next round", nextEnabled: true });
    return;
  }
  play(round, image, { lead: "Reveal the parts that show a:", practice: false });
}

function startPractice() {
  if (busy || current?.state === "open") return;
  prepareRound();
  const { data, transport, image, centre } = practiceRound({
    size: SETTINGS.imageSizePx,
    timeLimitMs: SETTINGS.timeLimitMs,
    bubbleSizePx: SETTINGS.bubbleSizePx,
    maxClicks: SETTINGS.maxClicks,
    maxClicksPerPost: BRUSH.maxClicksPerPost,
  });
  const round = new PlayRound({ data, picture, transport, brush: BRUSH, hooks });
  document.body.dataset.practiceTarget = centre.join(","); // where the star is (image pixels), for tests
  play(round, image, { lead: "Practice (nothing is sent or stored): reveal the", practice: true });
}

function skipPractice() {
  store(PRACTICE_KEY);
  becomeReady();
}

function skipRound() {
  if (current?.state === "open" && current.id !== "practice") {
    view.setControls({ next: "Round in progress", nextEnabled: false, skip: false });
    view.setStatus("Skipping\u2026");
    current.skip();
  }
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

// ---- consent, readiness, nickname

const consent = createConsentDialog(document.getElementById("consent"), {
  async record() {
    await api.consent();
    store(CONSENT_KEY);
    consented = true;
  },
  onAccept: becomeReady,
  onDecline() {
    view.setStatus("You can play once you agree to the research terms: press Start round to read them again.");
    view.showCanvasMessage("Agree to play", "Press Start round to read what we store.");
    view.setControls({ next: "Start round", nextEnabled: true, focus: true });
  },
});

function becomeReady() {
  view.setRoundState("none");
  view.setStatus("");
  const seconds = (SETTINGS.timeLimitMs / 1000).toLocaleString("en");
  if (!stored(PRACTICE_KEY)) {
    view.showCanvasMessage(
      "First time here? Practise once.",
      `A star is hidden in a picture your browser draws. Hold the button down and paint over it: the brush follows at its own pace, and you have ${seconds} seconds. Nothing is sent or stored.`,
    );
    view.setControls({ next: "Practice round", nextEnabled: true, skipPractice: true, focus: true });
  } else {
    view.showCanvasMessage("Ready?", `Press Start round. The ${seconds} seconds start when the image appears.`);
    view.setControls({ next: "Start round", nextEnabled: true, focus: true });
  }
}

async function saveNickname(event) {
  event.preventDefault();
  const nickname = el.nicknameInput.value;
  el.nicknameSave.disabled = true;
  view.setNicknameMessage("", "");
  try {
    const me = await api.setNickname(nickname);
    el.nicknameInput.value = me?.nickname ?? nickname;
    view.setNicknameMessage(`Saved. You appear as \u201c${me?.nickname ?? nickname}\u201d.`, "success");
    view.setStatus("Nickname saved.", "success");
    view.updateMe(me);
  } catch (error) {
    // The server's detail names the rule that failed.
    const message = errorMessage(error);
    view.setNicknameMessage(message, "error");
    view.setStatus(message, "error");
    el.nicknameInput.focus();
  } finally {
    el.nicknameSave.disabled = false;
  }
}

async function init() {
  view.setRoundState("none");
  view.setTime(SETTINGS.timeLimitMs, SETTINGS.timeLimitMs);
  el.canvas.addEventListener("pointerdown", onPointerDown);
  el.canvas.addEventListener("pointermove", onPointerMove);
  el.canvas.addEventListener("pointerup", onPointerEnd);
  el.canvas.addEventListener("pointercancel", onPointerEnd);
  el.canvas.addEventListener("lostpointercapture", onPointerEnd);
  el.canvas.addEventListener("contextmenu", (event) => event.preventDefault());
  el.canvas.addEventListener("dragstart", (event) => event.preventDefault());
  el.next.addEventListener("click", startRound);
  el.skip.addEventListener("click", skipRound);
  el.skipPractice.addEventListener("click", skipPractice);
  el.practiceAgain.addEventListener("click", () => (consented ? startPractice() : consent.open()));
  el.nicknameForm.addEventListener("submit", saveNickname);

  consented = Boolean(stored(CONSENT_KEY));
  const me = await refreshMe();
  if (me) {
    el.nicknameInput.value = me.nickname || "";
    if (me.consented === true && !consented) {
      consented = true;
      store(CONSENT_KEY);
    } else if (me.consented === false && consented) {
      // Same browser, new session (cookies cleared): record the consent given here again.
      api.consent().catch(() => {});
    }
  }
  if (consented) becomeReady();
  else {
    view.showCanvasMessage("Welcome to ClickMe", "");
    consent.open();
  }
}

init();
