// The first-visit practice round: the same brush, clock and picture as a real round, on a picture
// drawn here, judged here. It never talks to the server, so no practice click reaches a map or a
// score. The judge is a simple stand-in for the network (told to the player): it "recognises" the
// star once enough of it is painted.

const SHAPES = ["star", "circle", "square", "triangle", "ring"];
const WIN_COVERAGE = 0.3; // share of the star's pixels to paint

function rng(seed) {
  let state = seed >>> 0 || 1;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

function starPath(ctx, cx, cy, outer, inner) {
  ctx.beginPath();
  for (let k = 0; k < 10; k += 1) {
    const radius = k % 2 ? inner : outer;
    const angle = -Math.PI / 2 + (k * Math.PI) / 5;
    ctx.lineTo(cx + radius * Math.cos(angle), cy + radius * Math.sin(angle));
  }
  ctx.closePath();
}

/** A cluttered picture with one star in it, and the star's pixels as a mask. */
export function practiceScene(size, seed = Date.now()) {
  const random = rng(seed);
  const canvas = document.createElement("canvas");
  canvas.width = size;
  canvas.height = size;
  const ctx = canvas.getContext("2d");
  const gradient = ctx.createLinearGradient(0, 0, size, size);
  gradient.addColorStop(0, "#3b4a6b");
  gradient.addColorStop(1, "#6b4a3b");
  ctx.fillStyle = gradient;
  ctx.fillRect(0, 0, size, size);
  for (let k = 0; k < 40; k += 1) {
    ctx.fillStyle = `hsl(${Math.floor(random() * 360)} 45% ${35 + Math.floor(random() * 30)}%)`;
    const x = random() * size;
    const y = random() * size;
    const r = 6 + random() * 18;
    if (k % 2) ctx.fillRect(x - r, y - r, 2 * r, 2 * r);
    else {
      ctx.beginPath();
      ctx.arc(x, y, r, 0, 2 * Math.PI);
      ctx.fill();
    }
  }
  const outer = size * 0.11;
  const cx = outer + random() * (size - 2 * outer);
  const cy = outer + random() * (size - 2 * outer);
  ctx.fillStyle = "#facc15";
  starPath(ctx, cx, cy, outer, outer * 0.45);
  ctx.fill();

  const maskCanvas = document.createElement("canvas");
  maskCanvas.width = size;
  maskCanvas.height = size;
  const maskCtx = maskCanvas.getContext("2d");
  starPath(maskCtx, cx, cy, outer, outer * 0.45);
  maskCtx.fill();
  const alpha = maskCtx.getImageData(0, 0, size, size).data;
  const mask = new Uint8Array(size * size);
  for (let i = 0; i < mask.length; i += 1) mask[i] = alpha[4 * i + 3] > 127 ? 1 : 0;
  return { canvas, mask, centre: [Math.round(cx), Math.round(cy)] };
}

/** The share of the mask's pixels inside the painted squares. */
export function maskCoverage(mask, size, painted, bubbleSizePx) {
  const covered = new Uint8Array(mask.length);
  const half = Math.floor(bubbleSizePx / 2);
  for (const [x, y] of painted) {
    for (let row = Math.max(0, y - half); row < Math.min(size, y - half + bubbleSizePx); row += 1) {
      covered.fill(1, row * size + Math.max(0, x - half), row * size + Math.min(size, x - half + bubbleSizePx));
    }
  }
  let inside = 0;
  let total = 0;
  for (let i = 0; i < mask.length; i += 1) {
    total += mask[i];
    inside += mask[i] & covered[i];
  }
  return total ? inside / total : 0;
}

/** The round data and the transport of a practice round (the same shapes as the server's). */
export function practiceRound({ size, timeLimitMs, bubbleSizePx, maxClicks, maxClicksPerPost }) {
  const scene = practiceScene(size);
  const painted = [];
  const data = {
    round_id: "practice",
    category: { id: "star", name: "star" },
    image_size: [size, size],
    time_limit_ms: timeLimitMs,
    bubble_size_px: bubbleSizePx,
    max_clicks: maxClicks,
    max_clicks_per_post: maxClicksPerPost,
  };
  let state = "open";
  const transport = {
    async postClicks(batch) {
      painted.push(...batch);
      const coverage = maskCoverage(scene.mask, size, painted, bubbleSizePx);
      const star = Math.min(0.95, 0.05 + (0.9 * coverage) / WIN_COVERAGE);
      const others = SHAPES.slice(1).map((name, k) => ({
        category_id: name,
        name,
        probability: ((1 - star) * (4 - k)) / 10,
      }));
      const guesses = [{ category_id: "star", name: "star", probability: star }, ...others].sort(
        (a, b) => b.probability - a.probability,
      );
      const recognized = coverage >= WIN_COVERAGE;
      if (recognized) state = "won";
      return { guesses, recognized, state, score: 0 };
    },
    async finish() {
      if (state === "open") state = "expired";
      return { state, score: 0, total_score: null };
    },
    async skip() {
      state = "skipped";
      return { state, score: 0, total_score: null };
    },
    classify: () => "drop",
  };
  return { data, transport, image: scene.canvas, centre: scene.centre };
}
