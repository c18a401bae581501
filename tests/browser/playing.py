"""What a player does in the browser tests: open the game, start a round, paint; and what the tests
read back from the page (guesses, canvas pixels). Every wait is on an event in the page, never a sleep."""

from playwright.sync_api import expect

from game.models import Round

# Three horizontal strokes across the middle of a 256 px image, in image pixels.
STROKES = [[(x, y) for x in range(50, 211, 16)] for y in (70, 128, 186)]

# The pixels of the canvas at image points, beside a reference drawing of the whole image made the same
# way (same size, same transform, same smoothing): a revealed pixel equals the reference, a dimmed one is
# the reference under the page's veil.
CANVAS_PIXELS_JS = """async ([url, points]) => {
  const canvas = document.getElementById('game-canvas');
  const image = new Image();
  image.src = url;
  await image.decode();
  const reference = document.createElement('canvas');
  reference.width = canvas.width;
  reference.height = canvas.height;
  const ref = reference.getContext('2d');
  const scaleX = canvas.width / image.naturalWidth, scaleY = canvas.height / image.naturalHeight;
  ref.setTransform(scaleX, 0, 0, scaleY, 0, 0);
  ref.imageSmoothingEnabled = true;
  ref.imageSmoothingQuality = 'high';
  ref.drawImage(image, 0, 0, image.naturalWidth, image.naturalHeight);
  const shown = canvas.getContext('2d');
  return points.map(([x, y]) => {
    const dx = Math.floor((x + 0.5) * scaleX), dy = Math.floor((y + 0.5) * scaleY);
    return [Array.from(shown.getImageData(dx, dy, 1, 1).data).slice(0, 3),
            Array.from(ref.getImageData(dx, dy, 1, 1).data).slice(0, 3)];
  });
}"""
VEIL = (8, 10, 18)  # the page's dimming: rgba(8, 10, 18, 0.66) over the image


def dimmed(rgb):
    return [0.34 * c + 0.66 * v for c, v in zip(rgb, VEIL, strict=True)]


NEXT_BUBBLE_JS = """n => Number(document.getElementById('game-canvas').dataset.clicks) > n
  || document.body.dataset.roundState !== 'open'"""


def wait_round_state(page, state, timeout=10_000):
    page.wait_for_function("s => document.body.dataset.roundState === s", arg=state, timeout=timeout)


def accept_consent(page):
    page.goto("/")
    expect(page.locator("#consent")).to_be_visible()
    page.locator("#consent-accept").click()
    expect(page.locator("#consent")).to_be_hidden()


def open_game(page):
    """Load the game, agree to the research terms, pass on the practice and wait until a round can start."""
    accept_consent(page)
    page.locator("#skip-practice").click()  # the practice round has a test of its own
    expect(page.locator("#next-round")).to_have_text("Start round")
    expect(page.locator("#next-round")).to_be_enabled()
    wait_round_state(page, "none")


def start_round(page):
    page.locator("#next-round").click()
    wait_round_state(page, "open")
    return Round.objects.get(pk=int(page.evaluate("document.body.dataset.roundId")))


def painted(page):
    return int(page.locator("#game-canvas").get_attribute("data-clicks") or 0)


def paint(page, strokes, image_size):
    """Press the mouse button and drag along each stroke (image pixels), as a player does: after each
    move the test waits for the brush to lay its next bubble (one every BRUSH_INTERVAL_MS). Stops when
    the round ends (a win on a post)."""
    canvas = page.locator("#game-canvas")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    width, height = image_size

    def viewport(point):
        x, y = point
        return box["x"] + (x + 0.5) * box["width"] / width, box["y"] + (y + 0.5) * box["height"] / height

    for stroke in strokes:
        page.mouse.move(*viewport(stroke[0]))
        page.mouse.down()
        for point in stroke[1:]:
            before = painted(page)
            page.mouse.move(*viewport(point))
            page.wait_for_function(NEXT_BUBBLE_JS, arg=before)
            if page.evaluate("document.body.dataset.roundState") != "open":
                page.mouse.up()
                return
        page.mouse.up()


def guesses_shown(page):
    return page.locator("#guesses li.guess").evaluate_all(
        "items => items.map(li => [li.dataset.categoryId, li.dataset.correct, li.dataset.rank,"
        " li.querySelector('.guess-name').textContent])"
    )


def canvas_pixels(page, image_url, points):
    return page.evaluate(CANVAS_PIXELS_JS, [image_url, [list(p) for p in points]])
