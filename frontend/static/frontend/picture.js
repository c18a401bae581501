// The picture on the canvas: the image dimmed, the painted bubbles at full brightness.
//
// Everything is drawn in image pixels through one transform; the canvas's backing store follows its
// size on screen in device pixels (devicePixelRatio), so bubble edges stay sharp on high-DPI screens.
// The painted bubbles are kept, so a resize or a zoom redraws the same picture.

const VEIL = "rgba(8, 10, 18, 0.66)";

export class Picture {
  constructor(canvas, { idleSizePx = 256 } = {}) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.image = null;
    this.width = idleSizePx;
    this.height = idleSizePx;
    this.bubbles = []; // [x, y, size] in image pixels, in the order painted
    this.revealed = false;
    if ("ResizeObserver" in window) new ResizeObserver(() => this.fit()).observe(canvas);
    this.watchPixelRatio();
    this.fit();
  }

  /** A zoom or a move to another screen changes devicePixelRatio, not always the canvas's CSS size. */
  watchPixelRatio() {
    const query = window.matchMedia?.(`(resolution: ${window.devicePixelRatio || 1}dppx)`);
    query?.addEventListener("change", () => {
      this.fit();
      this.watchPixelRatio();
    }, { once: true });
  }

  /** Size the backing store to the canvas's box on screen in device pixels, and redraw. */
  fit() {
    const dpr = window.devicePixelRatio || 1;
    const cssWidth = this.canvas.getBoundingClientRect().width || this.width;
    const width = Math.max(1, Math.round(cssWidth * dpr));
    const height = Math.max(1, Math.round((width * this.height) / this.width));
    if (this.canvas.width !== width || this.canvas.height !== height) {
      this.canvas.width = width;
      this.canvas.height = height;
    }
    this.redraw();
  }

  /** Device pixels per image pixel. */
  get scale() {
    return this.canvas.width / this.width;
  }

  redraw() {
    const { ctx, canvas } = this;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    if (!this.image) {
      ctx.fillStyle = getComputedStyle(canvas).getPropertyValue("--canvas-idle").trim() || "#2b2f3a";
      ctx.fillRect(0, 0, canvas.width, canvas.height);
      return;
    }
    ctx.setTransform(canvas.width / this.width, 0, 0, canvas.height / this.height, 0, 0);
    ctx.imageSmoothingEnabled = true;
    ctx.imageSmoothingQuality = "high";
    ctx.drawImage(this.image, 0, 0, this.width, this.height);
    if (this.revealed) return;
    ctx.fillStyle = VEIL;
    ctx.fillRect(0, 0, this.width, this.height);
    this.drawBubbles(this.bubbles);
  }

  /** Nothing to show (between rounds). */
  blank() {
    this.image = null;
    this.bubbles = [];
    this.revealed = false;
    this.redraw();
  }

  /** A new image (an <img> or a canvas), dimmed, at `width` x `height` image pixels. */
  show(image, width, height) {
    this.image = image;
    this.bubbles = [];
    this.revealed = false;
    const resized = width !== this.width || height !== this.height;
    this.width = width;
    this.height = height;
    this.canvas.style.aspectRatio = `${width} / ${height}`;
    if (resized) this.fit();
    else this.redraw();
  }

  /** A bubble_size_px square centred on (x, y), clipped to the image (docs/SCIENCE.md section 1). */
  reveal(x, y, size) {
    if (!this.image || this.revealed) return;
    this.bubbles.push([x, y, size]);
    this.drawBubble(x, y, size);
  }

  drawBubble(x, y, size) {
    this.drawBubbles([[x, y, size]]);
  }

  /** The image at full brightness through the union of the bubbles' squares (one draw, no seams). */
  drawBubbles(bubbles) {
    if (!bubbles.length) return;
    const { ctx } = this;
    ctx.save();
    ctx.beginPath();
    for (const [x, y, size] of bubbles) {
      const half = Math.floor(size / 2);
      const left = Math.max(0, x - half);
      const top = Math.max(0, y - half);
      const right = Math.min(this.width, x - half + size);
      const bottom = Math.min(this.height, y - half + size);
      if (right > left && bottom > top) ctx.rect(left, top, right - left, bottom - top);
    }
    ctx.clip();
    ctx.drawImage(this.image, 0, 0, this.width, this.height);
    ctx.restore();
  }

  /** The whole image at full brightness: where the object was, after a round it was not found in. */
  revealAll() {
    if (!this.image) return;
    this.revealed = true;
    this.redraw();
  }

  /** The image pixel under a pointer event (floats, not clamped). */
  toImage(event) {
    const rect = this.canvas.getBoundingClientRect();
    return {
      x: ((event.clientX - rect.left) * this.width) / rect.width,
      y: ((event.clientY - rect.top) * this.height) / rect.height,
    };
  }
}
