// The participant's page of a rapid-categorisation experiment: consent, instructions, practice with
// feedback, then trials (fixation, stimulus, mask, response) timed with requestAnimationFrame.
// Each answer is stored on the server as its trial ends; an answer that could not be sent yet is
// kept in localStorage and sent again after a reload, so nothing answered is lost.

import { ApiError, loadBitmap, request } from "./api.js";
import { FrameSequencer, choiceKey, frameIntervalFrom, framesFor } from "./timing.js";

const config = JSON.parse(document.getElementById("experiment-config").textContent);
const keys = config.choices.map((choice) => choice.key);
const body = document.body;
const $ = (id) => document.getElementById(id);
const canvas = $("stage");
const context = canvas.getContext("2d", { alpha: false });
const pendingKey = `psychophysics:${config.slug}:pending`;
const FEEDBACK_MS = 900;
const GREY = "rgb(128, 128, 128)";
let frameIntervalMs = 1000 / 60;
const bitmaps = new Map();

function show(screen) {
  for (const section of document.querySelectorAll("[data-screen-name]")) {
    section.hidden = section.dataset.screenName !== screen;
  }
  body.dataset.screen = screen;
}

function setStatus(text) {
  $("status").textContent = text || "";
}

const nextFrame = () => new Promise((resolve) => requestAnimationFrame(resolve));
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function measureFrameInterval(n = 61) {
  const stamps = [];
  for (let i = 0; i < n; i += 1) stamps.push(await nextFrame());
  return frameIntervalFrom(stamps);
}

function sizeCanvas() {
  const ratio = window.devicePixelRatio || 1;
  const size = config.display_size_px;
  canvas.style.width = `${size}px`;
  canvas.style.height = `${size}px`;
  canvas.width = Math.round(size * ratio);
  canvas.height = Math.round(size * ratio);
}

function draw(what, stimulus, mask) {
  const { width, height } = canvas;
  body.dataset.showing = what;
  context.fillStyle = GREY;
  context.fillRect(0, 0, width, height);
  if (what === "fixation") {
    const arm = Math.round(width * 0.04);
    const thick = Math.max(2, Math.round(width * 0.008));
    context.fillStyle = "#000";
    context.fillRect(width / 2 - arm, height / 2 - thick / 2, 2 * arm, thick);
    context.fillRect(width / 2 - thick / 2, height / 2 - arm, thick, 2 * arm);
  } else if (what === "stimulus") {
    context.drawImage(stimulus, 0, 0, width, height);
  } else if (what === "mask") {
    context.drawImage(mask, 0, 0, width, height);
  }
}

function bitmapFor(url) {
  if (!bitmaps.has(url)) {
    const loading = loadBitmap(url);
    loading.catch(() => bitmaps.delete(url));
    bitmaps.set(url, loading);
  }
  return bitmaps.get(url);
}

function preload(trials) {
  for (const trial of trials) {
    bitmapFor(trial.stimulus_url).catch(() => {});
    bitmapFor(trial.mask_url).catch(() => {});
  }
}

function waitForStart(buttonId) {
  return new Promise((resolve) => {
    const button = $(buttonId);
    const done = () => {
      document.removeEventListener("keydown", onKey);
      button.removeEventListener("click", done);
      resolve();
    };
    const onKey = (event) => {
      if (event.key === " " && !event.repeat) {
        event.preventDefault();
        done();
      }
    };
    document.addEventListener("keydown", onKey);
    button.addEventListener("click", done);
  });
}

// One trial: returns the body of its answer.
async function runTrial(trial) {
  const [stimulus, mask] = await Promise.all([bitmapFor(trial.stimulus_url), bitmapFor(trial.mask_url)]);
  bitmaps.delete(trial.stimulus_url);
  bitmaps.delete(trial.mask_url);
  const phases = [
    { name: "fixation", frames: framesFor(config.fixation_ms, frameIntervalMs) },
    { name: "stimulus", frames: framesFor(config.stimulus_ms, frameIntervalMs) },
    { name: "mask", frames: framesFor(config.mask_ms, frameIntervalMs) },
  ];
  const sequencer = new FrameSequencer(phases, frameIntervalMs);
  const rafStamps = {};
  let onset = null;
  let response = null;
  let hidden = document.hidden;
  let wake = null;
  const onKey = (event) => {
    if (event.repeat || response || onset === null) return;
    const key = choiceKey(event.key, keys);
    if (key === null) return; // any other key is ignored
    event.preventDefault();
    response = { key, at: event.timeStamp };
    if (wake) wake();
  };
  const onVisibility = () => {
    if (document.hidden) hidden = true;
  };
  document.addEventListener("keydown", onKey);
  document.addEventListener("visibilitychange", onVisibility);
  body.dataset.trialId = String(trial.id);
  try {
    await new Promise((resolve) => {
      const frame = (rafTime) => {
        const now = performance.now();
        const what = sequencer.tick(now);
        if (what) {
          draw(what === "end" ? "blank" : what, stimulus, mask);
          rafStamps[what] = rafTime;
          if (what === "stimulus") onset = now;
        }
        if (what === "end") resolve();
        else requestAnimationFrame(frame);
      };
      requestAnimationFrame(frame);
    });
    if (!response) {
      body.dataset.awaiting = "response";
      $("response-prompt").dataset.visible = "true";
      await new Promise((resolve) => {
        wake = resolve;
        setTimeout(resolve, config.response_window_ms);
      });
    }
  } finally {
    document.removeEventListener("keydown", onKey);
    document.removeEventListener("visibilitychange", onVisibility);
    body.dataset.awaiting = "";
    $("response-prompt").dataset.visible = "false";
  }
  const afterStimulus = phases[2].frames > 0 ? "mask" : "end";
  const round1 = (value) => (value === null || value === undefined ? null : Math.round(value * 1000) / 1000);
  return {
    key: response ? response.key : null,
    rt_ms: response ? round1(Math.max(0, response.at - onset)) : null,
    requested_frames: phases[1].frames,
    shown_frames: sequencer.frames.stimulus,
    shown_stimulus_ms: round1(sequencer.shownMs("stimulus")),
    frame_interval_ms: round1(frameIntervalMs),
    timing: {
      fixation_frames: sequencer.frames.fixation ?? null,
      fixation_shown_ms: round1(sequencer.shownMs("fixation")),
      mask_requested_frames: phases[2].frames,
      mask_frames: sequencer.frames.mask ?? null,
      mask_shown_ms: round1(sequencer.shownMs("mask")),
      stimulus_shown_ms_raf: round1(rafStamps[afterStimulus] - rafStamps.stimulus),
      page_hidden: hidden,
      device_pixel_ratio: window.devicePixelRatio || 1,
    },
  };
}

function savePending(trialId, answer) {
  try {
    localStorage.setItem(pendingKey, JSON.stringify({ trialId, answer }));
  } catch {
    // private browsing: the answer is still sent, only not kept across a reload
  }
}

function readPending() {
  try {
    return JSON.parse(localStorage.getItem(pendingKey) || "null");
  } catch {
    return null;
  }
}

function clearPending() {
  try {
    localStorage.removeItem(pendingKey);
  } catch {
    // nothing kept
  }
}

// Send an answer until the server has it; null when the server already had it (a resend).
async function submit(trialId, answer) {
  savePending(trialId, answer);
  for (let attempt = 0; ; attempt += 1) {
    try {
      const result = await request("POST", `${config.api.trials}${trialId}/`, answer);
      clearPending();
      setStatus("");
      return result;
    } catch (error) {
      if (!(error instanceof ApiError) || !error.retryable) {
        clearPending();
        if (error instanceof ApiError && error.code === "already_answered") return null;
        throw error;
      }
      setStatus("Connection problem: your answer is kept and sent again in a moment…");
      await sleep(Math.min(1000 * 2 ** attempt, 15000));
    }
  }
}

function instructionsFor(phase, resumed, hadPractice) {
  const [a, b] = config.choices;
  const lead = resumed ? "Welcome back: you continue where you stopped. " : "";
  const task = `A cross appears in the middle, then an image flashes very briefly and is covered by a noisy pattern. Press ${a.key.toUpperCase()} if it showed ${a.label}, ${b.key.toUpperCase()} if ${b.label}. Answer as fast and as accurately as you can; you may answer as soon as the image appears.`;
  if (phase === "practice") return `${lead}${task} First a few practice trials, with feedback.`;
  if (!hadPractice) return `${lead}${task} There is no feedback.`;
  return `${lead}Now the real trials, without feedback. Keep your eyes on the cross; press ${a.key.toUpperCase()} for ${a.label} and ${b.key.toUpperCase()} for ${b.label}.`;
}

async function showInstructions(phase, resumed, hadPractice) {
  $("instructions-text").textContent = instructionsFor(phase, resumed, hadPractice);
  show("instructions");
  body.dataset.phase = phase;
  await waitForStart("instructions-start");
}

async function showBreak(state) {
  $("instructions-text").textContent =
    `Time for a short break: ${state.main_done} of ${state.n_main} trials done. Press space when you are ready to go on.`;
  show("instructions");
  await waitForStart("instructions-start");
}

async function showFeedback(feedback, answer) {
  const text = answer.key === null ? "Too slow: answer faster." : feedback.correct ? "Correct." : `Wrong: it was ${feedback.correct_label}.`;
  $("feedback").textContent = text;
  $("feedback").dataset.kind = answer.key !== null && feedback.correct ? "correct" : "wrong";
  await sleep(FEEDBACK_MS);
  $("feedback").textContent = "";
}

function showEnd(state) {
  $("end-code").textContent = state.completion_code || "";
  const link = $("end-link");
  link.hidden = !state.completion_url;
  if (state.completion_url) link.href = state.completion_url;
  show("end");
}

async function run(state, resumed) {
  let phase = null;
  while (state.phase !== "completed") {
    showResumeCode(state);
    const pending = readPending();
    const trial = state.trials[0];
    if (pending && pending.trialId === trial.id) {
      const resent = await submit(trial.id, pending.answer);
      state = resent ? resent.state : await request("GET", config.api.participant);
      continue;
    }
    if (trial.phase !== phase) {
      await showInstructions(trial.phase, resumed && phase === null, state.n_practice > 0);
      phase = trial.phase;
    }
    preload(state.trials);
    show("stage");
    const answer = await runTrial(trial);
    const result = await submit(trial.id, answer);
    if (result === null) {
      state = await request("GET", config.api.participant);
      continue;
    }
    if (trial.phase === "practice") await showFeedback(result.trial, answer);
    state = result.state;
    const block = config.trials_per_block;
    if (trial.phase === "main" && block > 0 && state.phase === "main" && state.main_done % block === 0) {
      await showBreak(state);
    }
  }
  showEnd(state);
}

function externalId() {
  const query = new URLSearchParams(window.location.search);
  for (const [name, platform] of [["PROLIFIC_PID", "prolific"], ["workerId", "mturk"], ["participant_id", "other"]]) {
    const value = query.get(name);
    if (value) return { platform, external_id: value };
  }
  return {};
}

function askResumeCode(message) {
  if (message) $("resume-text").textContent = message;
  show("resume");
  $("resume-input").focus();
  return new Promise((resolve) => {
    $("resume-form").addEventListener(
      "submit",
      (event) => {
        event.preventDefault();
        resolve($("resume-input").value.trim());
      },
      { once: true },
    );
  });
}

// A crowd id that started in another browser resumes here only with the code shown there: the
// answer is {state, resumed}, resumed when a code was needed.
async function join() {
  const body = {
    consent: true,
    ...externalId(),
    screen: [window.screen.width || 1, window.screen.height || 1],
    device_pixel_ratio: window.devicePixelRatio || 1,
  };
  for (;;) {
    try {
      return { state: await request("POST", config.api.participant, body), resumed: Boolean(body.resume_code) };
    } catch (error) {
      if (!(error instanceof ApiError) || error.code !== "started_elsewhere") throw error;
      body.resume_code = await askResumeCode(body.resume_code ? "That code does not match. Please check it and try again." : "");
    }
  }
}

function showResumeCode(state) {
  $("resume-code").textContent = state.resume_code || "";
  $("resume-line").hidden = !state.resume_code;
}

function fail(error) {
  $("end-title").textContent = "Something went wrong";
  $("end-text").textContent = error instanceof ApiError ? error.message : "Please reload the page.";
  $("end-code-line").hidden = true;
  show("end");
  body.dataset.error = error instanceof ApiError ? error.code : "error";
}

async function main() {
  sizeCanvas();
  const measuring = measureFrameInterval().then((interval) => {
    frameIntervalMs = interval;
    body.dataset.frameIntervalMs = interval.toFixed(3);
  });
  if (config.status !== "open" && !config.participant) {
    $("end-title").textContent = "This experiment is closed";
    $("end-text").textContent = "It is not taking participants at the moment. Thank you for your interest.";
    $("end-code-line").hidden = true;
    show("end");
    return;
  }
  let state = config.participant;
  let resumed = Boolean(state);
  if (!state) {
    show("consent");
    const agreed = await new Promise((resolve) => {
      $("consent-accept").addEventListener("click", () => resolve(true), { once: true });
      $("consent-decline").addEventListener("click", () => resolve(false), { once: true });
    });
    if (!agreed) {
      $("end-title").textContent = "Thank you";
      $("end-text").textContent = "You did not take part. You may close this page.";
      $("end-code-line").hidden = true;
      show("end");
      return;
    }
    ({ state, resumed } = await join());
  }
  await measuring;
  await run(state, resumed);
}

main().catch(fail);
