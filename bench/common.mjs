// Pieces the benchmarks share: a free port, the server started and stopped, an API client like
// the pages' own, random test files, and the machine's Chromium launched headless.

import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import { createRequire } from "node:module";
import net from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

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
    }).catch((error) => {
      // fetch's own message says only "fetch failed": the cause says what the socket did.
      const cause = error.cause ? `${error.cause.code ?? ""} ${error.cause.message ?? error.cause}` : "";
      throw new Error(`POST /api/${endpoint}: ${error.message}${cause ? `: ${cause.trim()}` : ""}`);
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

function logTail(logPath) {
  try {
    return fs.readFileSync(logPath, "utf8").split("\n").slice(-30).join("\n");
  } catch {
    return "(no server log)";
  }
}

/**
 * Starts the server binary on 127.0.0.1:`port` with `env` over the inherited environment (the
 * server starts its own PostgreSQL and SeaweedFS; weed is put on PATH), its output appended to
 * `logPath`. Resolves with the child once /readyz answers 200.
 */
export async function startServer({ bin, port, env, logPath }) {
  const logFd = fs.openSync(logPath, "a");
  const server = spawn(bin, [], {
    stdio: ["ignore", logFd, logFd],
    env: {
      ...process.env,
      PATH: `${process.env.HOME}/.cache/haul/tools/seaweedfs/bin:${process.env.PATH}`,
      HAUL_ADDR: `127.0.0.1:${port}`,
      ...env,
    },
  });
  fs.closeSync(logFd);
  server.exited = new Promise((resolve) => server.on("exit", (code, signal) => resolve({ code, signal })));
  let exited = null;
  server.exited.then((status) => (exited = status));
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (exited) {
      throw new Error(`server exited during start (${JSON.stringify(exited)}):\n${logTail(logPath)}`);
    }
    try {
      if ((await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200) return server;
    } catch {
      // Not listening yet.
    }
    await sleep(250);
  }
  server.kill("SIGKILL");
  throw new Error(`server not ready after 120 s:\n${logTail(logPath)}`);
}

/** SIGTERM lets the server stop PostgreSQL and SeaweedFS itself; SIGKILL only as a last resort. */
export async function stopServer(server) {
  if (!server || server.exitCode !== null || server.signalCode !== null) return;
  server.kill("SIGTERM");
  const stopped = await Promise.race([server.exited.then(() => true), sleep(30_000).then(() => false)]);
  if (!stopped) {
    console.error("bench: server still running 30 s after SIGTERM; sending SIGKILL");
    server.kill("SIGKILL");
    await server.exited;
  }
}

/** Fills `file` with `bytes` random bytes, so nothing along the way can compress them. */
export function makeRandomFile(file, bytes) {
  const fd = fs.openSync(file, "w");
  const made = spawnSync("head", ["-c", String(bytes), "/dev/urandom"], { stdio: ["ignore", fd, "inherit"] });
  fs.closeSync(fd);
  if (made.status !== 0) throw new Error(`could not write ${file}`);
}

// playwright-core is installed with the end-to-end tests' packages, in end2end/node_modules
// (`npm ci` there, by scripts/tools.sh). Node looks for a bare `import "playwright-core"` in
// node_modules folders above the importing file only, so from bench/ it would not find it, and
// NODE_PATH does not apply to `import`. A require made for end2end/package.json resolves as the
// tests do, from any working directory, with the one lock file and the one install. It is
// resolved when a browser is launched, so the benches that need none (admin-bench.mjs,
// plan-bench.mjs) run without those packages installed.
const requireFromEnd2end = createRequire(new URL("../end2end/package.json", import.meta.url));

/** The machine's Chromium with the end-to-end tests' flags (end2end/chromium.json), headless,
 * by playwright-core's launcher; CHROMIUM overrides the executable. */
export function launchChromium() {
  const { chromium } = requireFromEnd2end("playwright-core");
  const settings = JSON.parse(fs.readFileSync(new URL("../end2end/chromium.json", import.meta.url), "utf8"));
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? settings.executablePath,
    headless: true,
    args: settings.args,
  });
}
