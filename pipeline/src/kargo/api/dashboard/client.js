// The engine's API: calls with the signed-in token, and the watch stream (Server-Sent Events).

const TOKEN_KEY = "kargo-dashboard-token";

export const token = {
  get: () => sessionStorage.getItem(TOKEN_KEY) || "",
  set: (value) => sessionStorage.setItem(TOKEN_KEY, value),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export async function call(method, path, body) {
  const headers = { authorization: `Bearer ${token.get()}` };
  if (body !== undefined) headers["content-type"] = "application/json";
  let response;
  try {
    response = await fetch(path, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (error) {
    throw new ApiError(0, `the server does not answer (${error.message})`);
  }
  const text = await response.text();
  let data = text;
  try { data = JSON.parse(text); } catch { /* logs are plain text */ }
  if (!response.ok) {
    const message = data && data.error ? data.error.message : `${method} ${path}: ${response.status}`;
    throw new ApiError(response.status, message);
  }
  return data;
}

export const items = async (path) => (await call("GET", path)).items || [];

// Calls onChange() for every change in the project until stop() is called; reconnects with
// backoff. fetch() rather than EventSource, which cannot send the Authorization header.
export function watch(project, onChange, onState) {
  const controller = new AbortController();
  let delay = 1000;
  const run = async () => {
    while (!controller.signal.aborted) {
      try {
        const response = await fetch(`/api/v1/watch?project=${encodeURIComponent(project)}`, {
          headers: { authorization: `Bearer ${token.get()}` }, signal: controller.signal,
        });
        if (!response.ok) throw new Error(`watch answered ${response.status}`);
        onState(true);
        delay = 1000;
        const reader = response.body.getReader();
        const decoder = new TextDecoder();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += decoder.decode(value, { stream: true });
          let end;
          while ((end = buffer.indexOf("\n\n")) >= 0) {
            const message = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            if (message.startsWith("event:")) onChange();
          }
        }
      } catch (error) {
        if (controller.signal.aborted) return;
      }
      onState(false);
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 15000);
    }
  };
  run();
  return () => controller.abort();
}
