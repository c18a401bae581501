// The participant's JSON calls: same-origin, session cookie, Django's CSRF token on POST.
// Errors become ApiError with the server's {"detail", "code"}; status 0 is a network failure.

export class ApiError extends Error {
  constructor(status, detail, code) {
    super(detail);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
  }

  get retryable() {
    return this.status === 0 || this.status >= 500 || this.status === 429;
  }
}

function csrfToken() {
  const cookie = document.cookie.split(";").map((part) => part.trim()).find((part) => part.startsWith("csrftoken="));
  if (cookie) return decodeURIComponent(cookie.slice("csrftoken=".length));
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

export async function request(method, url, body) {
  const headers = { Accept: "application/json" };
  const init = { method, headers, credentials: "same-origin", cache: "no-store" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  if (method !== "GET") headers["X-CSRFToken"] = csrfToken();
  let response;
  try {
    response = await fetch(url, init);
  } catch {
    throw new ApiError(0, "Could not reach the server.", "network_error");
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) {
    const detail = data && typeof data.detail === "string" ? data.detail : `error ${response.status}`;
    throw new ApiError(response.status, detail, data && data.code ? data.code : `http_${response.status}`);
  }
  return data;
}

// A decoded image, ready to draw in one frame (decoding never happens while a trial runs).
export async function loadBitmap(url) {
  let response;
  try {
    response = await fetch(url, { credentials: "same-origin" });
  } catch {
    throw new ApiError(0, "Could not reach the server.", "network_error");
  }
  if (!response.ok) throw new ApiError(response.status, `could not load ${url}`, `http_${response.status}`);
  return createImageBitmap(await response.blob());
}
