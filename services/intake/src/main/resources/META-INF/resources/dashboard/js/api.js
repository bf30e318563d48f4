// Every call the dashboard makes to intake goes through api() here, so a bearer token (when the user saved one)
// travels with each of them, the live event stream included (read with fetch, since EventSource cannot send
// headers).

const TOKEN_KEY = 'quantflow.token';

/** The saved API token, or ''. */
export function token() {
  try {
    return localStorage.getItem(TOKEN_KEY) || '';
  } catch {
    return '';
  }
}

/** Saves the API token ('' removes it). */
export function setToken(value) {
  const v = (value || '').trim();
  if (v) {
    localStorage.setItem(TOKEN_KEY, v);
  } else {
    localStorage.removeItem(TOKEN_KEY);
  }
}

/** Intake's {"error", "reason"} answer (or a transport failure) as an Error. */
export class ApiError extends Error {
  constructor(status, code, reason) {
    super(`${code}: ${reason}`);
    this.status = status;
    this.code = code;
    this.reason = reason;
  }
}

/** fetch() against intake with the Authorization header added; resolves to the Response, whatever its status. */
export async function api(path, options = {}) {
  const headers = new Headers(options.headers || {});
  const t = token();
  if (t) {
    headers.set('Authorization', `Bearer ${t}`);
  }
  if (!headers.has('Accept')) {
    headers.set('Accept', 'application/json');
  }
  try {
    return await fetch(path, { ...options, headers });
  } catch (e) {
    if (e.name === 'AbortError') {
      throw e;
    }
    throw new ApiError(0, 'UNREACHABLE', `intake did not answer (${e.message})`);
  }
}

/** The error a non-2xx Response carries. */
export async function errorOf(response) {
  let code = `HTTP_${response.status}`;
  let reason = response.statusText || 'request failed';
  try {
    const body = await response.json();
    code = body.error || code;
    reason = body.reason || reason;
  } catch {
    // not JSON: keep the status line
  }
  if (response.status === 401 || response.status === 403) {
    reason += ' (set the API token at the top right)';
  }
  return new ApiError(response.status, code, reason);
}

/** GET (or any call) answered with JSON; throws ApiError on a 4xx/5xx. */
export async function apiJson(path, options = {}) {
  const r = await api(path, options);
  if (!r.ok) {
    throw await errorOf(r);
  }
  return r.json();
}

/**
 * Reads a Server-Sent Events stream of JSON events; calls onEvent for each. Resolves when the server ends the
 * stream (intake ends it after READY or FAILED), rejects on an error status or a broken connection.
 */
export async function streamEvents(path, onEvent, signal) {
  const r = await api(path, { headers: { Accept: 'text/event-stream' }, signal });
  if (!r.ok) {
    throw await errorOf(r);
  }
  const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) {
      break;
    }
    buffer += value.replace(/\r/g, '');
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = block.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).replace(/^ /, ''))
        .join('\n');
      if (data) {
        onEvent(JSON.parse(data));
      }
    }
  }
}
