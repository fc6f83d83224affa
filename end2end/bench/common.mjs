// Pieces both benchmarks use: a free port, and an API client like the pages' own.

import net from "node:net";

/** A TCP port nothing listens on (on 127.0.0.1). */
export async function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.on("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/**
 * An API client on Node's fetch: `post(endpoint, body)` calls a server function with a form
 * (URLSearchParams) or JSON, keeps the session cookie, and sends Origin (the server refuses
 * state-changing requests whose Origin is another site).
 */
export function apiClient(base) {
  let cookie = "";
  async function post(endpoint, body) {
    const res = await fetch(`${base}/api/${endpoint}`, {
      method: "POST",
      headers: {
        Origin: base,
        Cookie: cookie,
        ...(body instanceof URLSearchParams ? {} : { "Content-Type": "application/json" }),
      },
      body: body instanceof URLSearchParams ? body : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`POST /api/${endpoint}: ${res.status} ${text}`);
    const session = res.headers.getSetCookie().find((c) => c.startsWith("haul_session="));
    if (session) cookie = session.split(";")[0];
    return JSON.parse(text);
  }
  /** GETs a page with the session, as a browser opening it; answers its HTML. */
  post.page = async (path) => {
    const res = await fetch(`${base}${path}`, { headers: { Cookie: cookie } });
    const html = await res.text();
    if (!res.ok) throw new Error(`GET ${path}: ${res.status}`);
    return html;
  };
  return post;
}
