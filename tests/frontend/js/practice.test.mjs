// Unit tests of the practice round's judge (frontend/static/frontend/practice.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import { maskCoverage } from "../../../frontend/static/frontend/practice.js";

function squareMask(size, left, top, side) {
  const mask = new Uint8Array(size * size);
  for (let y = top; y < top + side; y += 1) mask.fill(1, y * size + left, y * size + left + side);
  return mask;
}

test("coverage is the share of the object's pixels under the painted squares", () => {
  const mask = squareMask(64, 20, 20, 10); // 100 pixels
  assert.equal(maskCoverage(mask, 64, [], 14), 0);
  assert.equal(maskCoverage(mask, 64, [[25, 25, 0]], 14), 1); // one 14 px square covers it all
  assert.equal(maskCoverage(mask, 64, [[20, 20, 0]], 4), 4 / 100); // rows and columns 18..21
  assert.equal(maskCoverage(mask, 64, [[20, 20, 0], [20, 20, 50]], 4), 4 / 100); // painting twice counts once
  assert.equal(maskCoverage(mask, 64, [[5, 5, 0]], 14), 0); // clutter only
});

test("squares at the edge are clipped to the picture", () => {
  const mask = squareMask(32, 0, 0, 4);
  assert.equal(maskCoverage(mask, 32, [[0, 0, 0]], 6), 9 / 16); // x, y in 0..2
  assert.equal(maskCoverage(new Uint8Array(32 * 32), 32, [[0, 0, 0]], 6), 0);
});
