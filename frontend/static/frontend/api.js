// A small fetch wrapper for the ClickMe JSON API.
//
// Every request is same-origin with the session cookie; unsafe methods carry Django's CSRF token
// (X-CSRFToken, read from the csrftoken cookie, or from the page's meta tag when the cookie is not
// readable). Errors become ApiError with the server's {"detail", "code"} when it sent them.

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

export class ApiError extends Error {
  constructor(status, detail, code, body = null) {
    super(detail);
    this.name = "ApiError";
    this.status = status; // 0 for a network failure
    this.detail = detail;
    this.code = code;
    this.body = body;
  }
}

export function readCookie(name) {
  for (const part of document.cookie ? document.cookie.split(";") : []) {
    const [key, ...rest] = part.trim().split("=");
    if (key === name) {
      try {
        return decodeURIComponent(rest.join("="));
      } catch {
        return rest.join("=");
      }
    }
  }
  return null;
}

export function csrfToken() {
  const fromCookie = readCookie("csrftoken");
  if (fromCookie) return fromCookie;
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

function describeStatus(status) {
  if (status >= 500) return `The server had a problem (error ${status}). Please try again in a moment.`;
  if (status === 404) return "Not found.";
  if (status === 403) return "The request was refused. Reload the page and try again.";
  if (status === 429) return "Too many requests: please slow down a little.";
  return `The request failed (error ${status}).`;
}

export async function request(method, url, body = undefined, { signal } = {}) {
  method = method.toUpperCase();
  const headers = { Accept: "application/json" };
  const init = { method, headers, credentials: "same-origin", cache: "no-store", signal };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  if (!SAFE_METHODS.has(method)) headers["X-CSRFToken"] = csrfToken();

  let response;
  try {
    response = await fetch(url, init);
  } catch (error) {
    if (error && error.name === "AbortError") throw error;
    throw new ApiError(0, "Could not reach the server. Check your connection and try again.", "network_error");
  }

  let data = null;
  const text = await response.text().catch(() => "");
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!response.ok) {
    const detail = data && typeof data.detail === "string" && data.detail ? data.detail : describeStatus(response.status);
    const code = data && typeof data.code === "string" ? data.code : `http_${response.status}`;
    throw new ApiError(response.status, detail, code, data);
  }
  return data;
}

export const api = {
  get: (url, options) => request("GET", url, undefined, options),
  post: (url, body = {}, options) => request("POST", url, body, options),
  patch: (url, body = {}, options) => request("PATCH", url, body, options),
};

/** The players' endpoints (docs/API.md "Players"), from the page's base URLs. */
export function gameApi({ meUrl = "/api/game/me/", roundsUrl = "/api/game/rounds/", leaderboardUrl = "/api/game/leaderboard/" } = {}) {
  const round = (id, action) => `${roundsUrl}${encodeURIComponent(id)}/${action}/`;
  return {
    me: () => api.get(meUrl),
    setNickname: (nickname) => api.patch(meUrl, { nickname }),
    consent: () => api.patch(meUrl, { consented: true }),
    startRound: (screen) => api.post(roundsUrl, screen ? { screen } : {}),
    // n_stored (docs/API.md "Players"): the clicks the server confirmed before these; null: not known
    postClicks: (id, clicks, nStored = null) =>
      api.post(round(id, "clicks"), nStored === null || nStored === undefined ? { clicks } : { clicks, n_stored: nStored }),
    finish: (id) => api.post(round(id, "finish"), {}),
    skip: (id) => api.post(round(id, "skip"), {}),
    leaderboard: (period, limit, options) =>
      api.get(`${leaderboardUrl}?${new URLSearchParams({ period, limit: String(limit) })}`, options),
  };
}

export default api;
