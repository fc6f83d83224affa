import { defineConfig } from "@playwright/test";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";

// Free ports per run, chosen once: workers inherit them through the environment. They come
// from below the kernel's ephemeral range (ip_local_port_range, 32768 and up), where ports
// given out for "any free port" are: the servers start one after another, and each one's
// embedded stores take such ports meanwhile, which could otherwise be a later server's.
function freePort(): string {
  return execFileSync(process.execPath, [
    "-e",
    `const net = require("net");
     const low = Number(require("fs").readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").split(/\\s+/)[0]);
     const tryPort = (left) => {
       const port = 10000 + Math.floor(Math.random() * (low - 10000));
       const s = net.createServer();
       s.once("error", () => (left > 0 ? tryPort(left - 1) : process.exit(1)));
       s.listen(port, "127.0.0.1", () => { console.log(port); s.close(); });
     };
     tryPort(200);`,
  ])
    .toString()
    .trim();
}
process.env.HAUL_E2E_PORT ??= freePort();
process.env.HAUL_E2E_SHORT_TTL_PORT ??= freePort();
process.env.HAUL_E2E_MD5_PORT ??= freePort();
process.env.HAUL_E2E_NONE_PORT ??= freePort();
const port = process.env.HAUL_E2E_PORT;
const baseURL = `http://127.0.0.1:${port}`;
// A second server whose part URLs live 2 s (tests/integrity.spec.ts) and whose share links
// 3 s at most (tests/shares.spec.ts).
const shortTtlPort = process.env.HAUL_E2E_SHORT_TTL_PORT;
// A third whose uploads are checked by Content-MD5, as on stores that refuse S3's SHA-256
// checksums (tests/checksum-modes.spec.ts).
const md5Port = process.env.HAUL_E2E_MD5_PORT;
// And a fourth that checks sizes only.
const nonePort = process.env.HAUL_E2E_NONE_PORT;
const root = path.resolve(__dirname, "..");
// The machine's Chromium and the flags it needs here; shared with the benches (../bench/common.mjs).
const chromium = JSON.parse(readFileSync(path.join(__dirname, "chromium.json"), "utf8"));

export default defineConfig({
  testDir: "./tests",
  timeout: 60_000,
  expect: { timeout: 15_000 },
  fullyParallel: true,
  forbidOnly: true,
  retries: 0,
  workers: 2,
  reporter: [["list"]],
  use: {
    baseURL,
    trace: "retain-on-failure",
    launchOptions: {
      executablePath: process.env.CHROMIUM ?? chromium.executablePath,
      args: chromium.args,
    },
  },
  projects: [
    { name: "chromium", use: { browserName: "chromium" }, testIgnore: /responsiveness\.spec\.ts/ },
    // Measurements of the page's main thread: alone, once everything else is done.
    {
      name: "quiet",
      use: { browserName: "chromium" },
      testMatch: /responsiveness\.spec\.ts/,
      dependencies: ["chromium"],
    },
  ],
  webServer: [
    server(port, "", {}),
    server(shortTtlPort, "-short-ttl", { HAUL_URL_TTL: "2s", HAUL_SHARE_MAX_TTL: "3s" }),
    server(md5Port, "-md5", { HAUL_S3_CHECKSUM: "md5" }),
    server(nonePort, "-none", { HAUL_S3_CHECKSUM: "none" }),
  ],
});

function server(port: string, suffix: string, extra: Record<string, string>) {
  const base = `http://127.0.0.1:${port}`;
  const dataDir = process.env.HAUL_E2E_DATA_DIR ?? path.join(root, ".haul-e2e");
  return {
    // Niced: the servers (and the PostgreSQL and S3 they start) must not take the CPU from
    // the browser whose main thread the tests measure; `nice` execs, so the PID stays the
    // server's for the graceful shutdown.
    command: `nice -n 10 ${process.env.HAUL_E2E_SERVER ?? path.join(root, "target/debug/server")}`,
    url: `${base}/readyz`,
    timeout: 180_000,
    reuseExistingServer: false,
    stdout: "pipe" as const,
    stderr: "pipe" as const,
    gracefulShutdown: { signal: "SIGTERM" as const, timeout: 30_000 },
    env: {
      HAUL_ADDR: `127.0.0.1:${port}`,
      HAUL_DATA_DIR: dataDir + suffix,
      LEPTOS_SITE_ROOT: process.env.HAUL_E2E_SITE_ROOT ?? path.join(root, "target/site"),
      HAUL_LOG: "info,tower_http=warn",
      // Small parts, so a 40 MiB test file is a real multipart upload.
      HAUL_PART_SIZE: "5MiB",
      // Every test signs up or in from 127.0.0.1: the default 30 attempts per IP in 15 minutes
      // would refuse the later ones (the limits have their own tests in server/tests).
      HAUL_RATE_LIMIT_PER_IP: "10000",
      ...extra,
    },
  };
}
