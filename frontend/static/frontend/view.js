// The game page's DOM: status lines, the result, the guesses (and their live announcement), the
// scores, the time bar and the buttons. Text only ever goes in as text, never as markup.

const LOW_TIME_MS = 2000;

function formatPercent(probability) {
  const p = Math.max(0, Math.min(1, Number(probability) || 0)) * 100;
  return `${p < 10 && p > 0 ? p.toFixed(1) : Math.round(p)}%`;
}

export function createView(doc = document) {
  const $ = (id) => doc.getElementById(id);
  const el = {
    canvas: $("game-canvas"),
    canvasMessage: $("canvas-message"),
    canvasMessageTitle: $("canvas-message-title"),
    canvasMessageText: $("canvas-message-text"),
    result: $("result"),
    category: $("category-name"),
    promptLead: $("prompt-lead"),
    prompt: $("prompt"),
    timeBar: $("time-bar"),
    timeFill: doc.querySelector("#time-bar .time-bar-fill"),
    timeLeft: $("time-left"),
    next: $("next-round"),
    skip: $("skip-round"),
    skipPractice: $("skip-practice"),
    practiceAgain: $("practice-again"),
    clickCount: $("click-count"),
    status: $("status"),
    guesses: $("guesses"),
    guessesEmpty: $("guesses-empty"),
    guessesLive: $("guesses-live"),
    guessesHint: $("guesses-hint"),
    thinking: $("partner-thinking"),
    roundScore: $("round-score"),
    totalScore: $("total-score"),
    roundsPlayed: $("rounds-played"),
    roundsWon: $("rounds-won"),
    nicknameForm: $("nickname-form"),
    nicknameInput: $("nickname-input"),
    nicknameSave: $("nickname-save"),
    nicknameMessage: $("nickname-message"),
  };
  let announced = "";
  const networkHint = el.guessesHint.textContent;

  const view = {
    el,

    setRoundState(state) {
      doc.body.dataset.roundState = state;
    },

    setStatus(message, kind = "info") {
      el.status.textContent = message || "";
      el.status.dataset.kind = message ? kind : "";
    },

    showCanvasMessage(title, text = "") {
      el.canvasMessageTitle.textContent = title;
      el.canvasMessageText.textContent = text;
      el.canvasMessage.hidden = false;
    },

    hideCanvasMessage() {
      el.canvasMessage.hidden = true;
    },

    showResult(kind, title, detail = "") {
      const strong = doc.createElement("strong");
      strong.textContent = title;
      const parts = [strong];
      if (detail) {
        const span = doc.createElement("span");
        span.textContent = detail;
        parts.push(span);
      }
      el.result.replaceChildren(...parts);
      el.result.dataset.kind = kind;
      el.result.hidden = false;
    },

    hideResult() {
      el.result.hidden = true;
      el.result.replaceChildren();
    },

    setPrompt(lead, name, live) {
      el.promptLead.textContent = lead;
      el.category.textContent = name;
      el.prompt.classList.toggle("is-live", live);
    },

    setTime(remainingMs, limitMs) {
      const remaining = Math.max(0, Math.min(limitMs, remainingMs));
      const fraction = limitMs > 0 ? remaining / limitMs : 0;
      el.timeFill.style.transform = `scaleX(${fraction})`;
      el.timeBar.setAttribute("aria-valuemax", String(limitMs));
      el.timeBar.setAttribute("aria-valuenow", String(Math.round(remaining)));
      el.timeBar.setAttribute("aria-valuetext", `${Math.ceil(remaining / 1000)} seconds left`);
      el.timeBar.dataset.remainingMs = String(Math.round(remaining));
      el.timeBar.classList.toggle("is-low", remaining <= LOW_TIME_MS && remaining > 0);
      el.timeBar.classList.toggle("is-out", remaining <= 0);
      el.timeLeft.textContent = `${(remaining / 1000).toFixed(1)} s`;
    },

    setClicks(recorded, max) {
      el.clickCount.textContent = recorded ? `${recorded} / ${max} bubbles` : "";
      el.canvas.dataset.clicks = String(recorded);
    },

    setThinking(busy) {
      el.thinking.hidden = !busy;
    },

    /** The partner's top 5, the right answer marked; a screen reader hears the top 3 when they change. */
    renderGuesses(guesses, trueCategoryId) {
      const list = (Array.isArray(guesses) ? guesses : []).slice(0, 5);
      const items = list.map((guess, index) => {
        const li = doc.createElement("li");
        li.className = "guess";
        const correct = trueCategoryId != null && guess.category_id === trueCategoryId;
        li.dataset.categoryId = guess.category_id == null ? "" : String(guess.category_id);
        li.dataset.correct = correct ? "true" : "false";
        li.dataset.rank = String(index + 1);
        if (correct) li.classList.add("is-correct");
        const name = doc.createElement("span");
        name.className = "guess-name";
        name.textContent = String(guess.name ?? "");
        const value = doc.createElement("span");
        value.className = "guess-prob";
        value.textContent = formatPercent(guess.probability);
        const bar = doc.createElement("span");
        bar.className = "guess-bar";
        bar.setAttribute("aria-hidden", "true");
        const fill = doc.createElement("span");
        fill.className = "guess-bar-fill";
        fill.style.width = `${Math.max(0, Math.min(1, Number(guess.probability) || 0)) * 100}%`;
        bar.append(fill);
        li.append(name, value, bar);
        return li;
      });
      el.guesses.replaceChildren(...items);
      el.guessesEmpty.hidden = items.length > 0;
      const top = list.slice(0, 3).map((guess) => {
        const mark = trueCategoryId != null && guess.category_id === trueCategoryId ? " (right answer)" : "";
        return `${guess.name}${mark}`;
      });
      view.announceGuesses(top.length ? `Partner guesses: ${top.join(", ")}.` : "");
    },

    /** Say it in the live region only when it changed (a post every half second would drown it). */
    announceGuesses(text) {
      if (text === announced) return;
      announced = text;
      el.guessesLive.textContent = text;
    },

    /** Who answers: the network, or in the practice round the page's stand-in rule. */
    setGuessesHint(practice) {
      el.guessesHint.textContent = practice
        ? "Practice: a simple rule stands in for the network here. It recognises the star once about a third of it is painted."
        : networkHint;
    },

    clearGuesses(message) {
      el.guesses.replaceChildren();
      el.guessesEmpty.textContent = message;
      el.guessesEmpty.hidden = false;
      announced = "";
      el.guessesLive.textContent = "";
    },

    setRoundScore(score) {
      el.roundScore.textContent = String(score);
      doc.body.dataset.roundScore = String(score);
    },

    updateMe(me) {
      if (!me) return;
      if (typeof me.total_score === "number") el.totalScore.textContent = String(me.total_score);
      if (typeof me.rounds_played === "number") el.roundsPlayed.textContent = String(me.rounds_played);
      if (typeof me.rounds_won === "number") el.roundsWon.textContent = String(me.rounds_won);
    },

    setTotalScore(total) {
      if (typeof total === "number") el.totalScore.textContent = String(total);
    },

    /** The main button: its label, whether it works, and the buttons beside it. */
    setControls({ next = null, nextEnabled = false, skip = false, skipPractice = false, focus = false }) {
      const focused = doc.activeElement;
      if (next !== null) el.next.textContent = next;
      el.next.disabled = !nextEnabled;
      el.skip.hidden = !skip;
      el.skip.disabled = !skip;
      el.skipPractice.hidden = !skipPractice;
      if (focus && nextEnabled) el.next.focus({ preventScroll: true });
      // A focused button just disabled or hidden would drop the focus to <body>: the round's heading takes it.
      else if ([el.next, el.skip, el.skipPractice].includes(focused) && (focused.disabled || focused.hidden)) {
        el.prompt.focus({ preventScroll: true });
      }
    },

    setNicknameMessage(message, kind) {
      el.nicknameMessage.textContent = message;
      el.nicknameMessage.dataset.kind = kind;
      el.nicknameInput.setAttribute("aria-invalid", kind === "error" ? "true" : "false");
    },
  };
  return view;
}
