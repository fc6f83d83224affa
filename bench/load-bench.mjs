// Control-plane load benchmark (`make bench-load`): how many uploaders one app server and one
// PostgreSQL carry on this machine, and where it saturates.
//
// Each run starts a fresh release server with its embedded PostgreSQL (pg_stat_statements
// loaded, to count statements: set, then the server started again) and SeaweedFS, seeds HAUL_LOAD_ACCOUNTS accounts (one sign-up,
// then rows copied in SQL: argon2 per account would take minutes), and runs `haul-load`
// (load/src/main.rs): every account signs in once, then each step of the ramp runs that many
// uploaders at once, each over its own connection and session, for HAUL_LOAD_SECONDS. Between
// the step's marks this script reads the CPU seconds of the server, of PostgreSQL (every
// backend) and of the store from /proc, and the statements PostgreSQL ran.
//
// Prints, per step, the median and range over HAUL_LOAD_RUNS runs (default 3) of: requests per
// second with p50 and p99 by endpoint, completed uploads and signed URLs per second, shed
// requests (503) and errors by kind, CPU seconds per 1 000 uploads started, SQL statements
// per upload; then the saturation point (the first step whose p99 of sign_parts or
// complete_upload passes 250 ms) and the throughput before it.
//
// HAUL_LOAD_SERVERS=2 runs two app servers on one database and store, the uploaders split
// between them (round robin by account), to show the app tier scales out.
//
// The large uploads (one in ten, HAUL_LOAD_LARGE): HAUL_LOAD_BATCH parts a sign_parts call
// (default 6), HAUL_LOAD_LARGE_BATCHES calls an upload (default 4), and HAUL_LOAD_LARGE_PUT
// (default true; false leaves the first part un-PUT, so the store does no work but create and
// abort and what is measured is the signing).

import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import readline from "node:readline";

import { apiClient, freePort, startServer, stopServer } from "./common.mjs";
import { cpuOf, processesBelow, processUsage } from "./procfs.mjs";
import { median, spread } from "./runs.mjs";

const RUNS = Number(process.env.HAUL_LOAD_RUNS ?? 3);
const STEPS = (process.env.HAUL_LOAD_STEPS ?? "25,50,100,400,1000,2000").split(",").map(Number);
const SECONDS = Number(process.env.HAUL_LOAD_SECONDS ?? 15);
const SERVERS = Number(process.env.HAUL_LOAD_SERVERS ?? 1);
const ACCOUNTS = Math.max(...STEPS);
const BOUND_MS = 250;
const PASSWORD = "load-bench-password";
const targetDir = process.env.CARGO_TARGET_DIR ?? path.resolve("target");
const serverBin = process.env.HAUL_BENCH_SERVER ?? path.join(targetDir, "release/server");
const loadBin = process.env.HAUL_BENCH_LOAD ?? path.join(targetDir, "release/haul-load");
const PSQL = process.env.HAUL_PSQL ?? "/usr/lib/postgresql/15/bin/psql";
const ENDPOINTS = ["sign_in", "start_upload", "sign_parts", "complete_upload", "abort_upload", "list_files"];

const log = (message) => console.error(`load-bench: ${message}`);

/** Runs `sql` in the embedded cluster of the server whose data dir is `dataDir`; answers the
 * output (unaligned, no headers). */
function psql(dataDir, sql) {
  return execFileSync(
    PSQL,
    ["-h", path.join(dataDir, "postgres-socket"), "-U", "haul", "-d", "haul", "-Atq", "-v", "ON_ERROR_STOP=1", "-c", sql],
    { encoding: "utf8" },
  ).trim();
}

/** The processes of a server's tree by kind: the server itself, PostgreSQL, the store. */
function kinds(servers) {
  const found = { server: [], postgres: [], store: [] };
  for (const server of servers) {
    for (const pid of processesBelow(server.pid)) {
      let comm = "";
      try {
        comm = fs.readFileSync(`/proc/${pid}/comm`, "utf8").trim();
      } catch {
        continue;
      }
      if (pid === server.pid) found.server.push(pid);
      else if (comm.startsWith("postgres")) found.postgres.push(pid);
      else found.store.push(pid);
    }
  }
  return found;
}

/** CPU seconds so far by kind. The postmaster counts its ended backends (it waits for them). */
function cpu(servers) {
  const pids = kinds(servers);
  return {
    server: servers.reduce((sum, s) => sum + processUsage(s.pid).cpu, 0),
    postgres: cpuOf(pids.postgres, -1, true),
    store: cpuOf(pids.store, -1, true),
  };
}

const statements = (dataDir) =>
  Number(psql(dataDir, "select coalesce(sum(calls), 0) from pg_stat_statements where query not like '%pg_stat_statements%'"));

/** One run: fresh servers, seeded accounts, the ramp. Answers one result per step. */
async function run(index) {
  const tmp = fs.mkdtempSync(path.join(process.env.HAUL_BENCH_TMP ?? "/tmp", "load-bench-"));
  fs.chmodSync(tmp, 0o711);
  const dataDir = path.join(tmp, "data");
  const servers = [];
  try {
    const base = {
      HAUL_DATA_DIR: dataDir,
      // Warnings only (a log line per request would be part of what is measured), and the line
      // that names the embedded store's endpoint.
      HAUL_LOG: "warn,server::startup=info",
      HAUL_RATE_LIMIT_PER_IP: "100000000",
      HAUL_RATE_LIMIT_PER_ACCOUNT: "100000000",
      HAUL_PART_SIZE: "5MiB",
      HAUL_DEFAULT_QUOTA: "1000TiB",
      HAUL_MAX_CONNECTIONS: "15000",
    };
    // pg_stat_statements counts the statements; it loads only at PostgreSQL's start: set, then
    // the server (and its cluster) started again.
    const first = await startServer({ bin: serverBin, port: await freePort(), env: base, logPath: path.join(tmp, "setup.log") });
    psql(dataDir, "alter system set shared_preload_libraries = 'pg_stat_statements'");
    await stopServer(first);
    const port = await freePort();
    servers.push(await startServer({ bin: serverBin, port, env: base, logPath: path.join(tmp, "server-0.log") }));
    const urls = [`http://127.0.0.1:${port}`];
    if (SERVERS > 1) {
      // The second server uses the first one's database (its socket) and store (its endpoint,
      // as the first server logs it, and its key pair, from the store's identities file).
      const logged = fs.readFileSync(path.join(tmp, "server-0.log"), "utf8").replace(/\x1b\[[0-9;]*m/g, "");
      const endpoint = /embedded S3 store ready.*?endpoint="?(http:\/\/127\.0\.0\.1:\d+)/.exec(logged)?.[1];
      if (!endpoint) throw new Error("the first server's log does not name its S3 endpoint");
      const identities = execFileSync("find", [dataDir, "-name", "identities.json"], { encoding: "utf8" }).trim().split("\n")[0];
      const [credentials] = JSON.parse(fs.readFileSync(identities, "utf8")).identities[0].credentials;
      for (let i = 1; i < SERVERS; i++) {
        const other = await freePort();
        servers.push(
          await startServer({
            bin: serverBin,
            port: other,
            logPath: path.join(tmp, `server-${i}.log`),
            env: {
              ...base,
              HAUL_DATA_DIR: path.join(tmp, `data-${i}`),
              DATABASE_URL: `postgres://haul@localhost/haul?host=${path.join(dataDir, "postgres-socket")}`,
              HAUL_S3_ENDPOINT: endpoint,
              HAUL_S3_BUCKET: "haul",
              HAUL_S3_PATH_STYLE: "true",
              AWS_ACCESS_KEY_ID: credentials.accessKey,
              AWS_SECRET_ACCESS_KEY: credentials.secretKey,
            },
          }),
        );
        urls.push(`http://127.0.0.1:${other}`);
      }
    }

    // Accounts: one signed up (its argon2 hash is copied), the rest copied in SQL.
    await apiClient(urls[0])("sign_up", new URLSearchParams({ email: "load-0@bench.test", password: PASSWORD }));
    psql(
      dataDir,
      `insert into app_user (email, password_hash, quota_bytes)
       select 'load-' || i || '@bench.test', (select password_hash from app_user where email = 'load-0@bench.test'), 1125899906842624
       from generate_series(1, ${ACCOUNTS}) as i`,
    );
    psql(dataDir, "create extension if not exists pg_stat_statements");

    const load = spawn(
      loadBin,
      [
        "--url", urls.join(","), "--password", PASSWORD, "--steps", STEPS.join(","),
        "--seconds", String(SECONDS), "--large-bytes", String(4 * 1024 ** 3),
        "--large", process.env.HAUL_LOAD_LARGE ?? "0.1",
        "--batch", process.env.HAUL_LOAD_BATCH ?? "6",
        "--large-batches", process.env.HAUL_LOAD_LARGE_BATCHES ?? "4",
        "--large-put", process.env.HAUL_LOAD_LARGE_PUT ?? "true",
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    const exited = new Promise((resolve) => load.on("exit", (code) => resolve(code)));
    const results = [];
    let before = null;
    for await (const line of readline.createInterface({ input: load.stdout })) {
      const [mark, step, ...rest] = line.split(" ");
      if (mark === "SIGNED_IN") {
        const report = JSON.parse([step, ...rest].join(" "));
        log(`run ${index + 1}: ${ACCOUNTS} sign-ins in ${report.seconds.toFixed(1)} s`);
        results.signIn = report;
      } else if (mark === "STEP_START") {
        before = { cpu: { ...cpu(servers), client: cpuOf([load.pid], load.pid, true) }, statements: statements(dataDir) };
      } else if (mark === "STEP_END") {
        const after = { cpu: { ...cpu(servers), client: cpuOf([load.pid], load.pid, true) }, statements: statements(dataDir) };
        const report = JSON.parse(rest.join(" "));
        report.cpu = Object.fromEntries(Object.keys(after.cpu).map((k) => [k, after.cpu[k] - before.cpu[k]]));
        report.statements = after.statements - before.statements;
        results.push(report);
        log(`run ${index + 1}: ${report.uploaders} uploaders: ${report.completed_per_s.toFixed(0)} uploads/s, sign_parts p99 ${report.endpoints.sign_parts?.p99_ms.toFixed(0)} ms`);
      }
    }
    const code = await exited;
    if (code !== 0) throw new Error(`haul-load exited with ${code}`);
    // What the statements were, over the whole run (sign-ins included): the most called.
    const started = results.reduce((sum, r) => sum + r.started, 0);
    results.topStatements = psql(
      dataDir,
      `select calls, round(total_exec_time::numeric, 0), left(regexp_replace(query, '\\s+', ' ', 'g'), 110)
       from pg_stat_statements where query not like '%pg_stat_statements%' order by calls desc limit 14`,
    )
      .split("\n")
      .map((line) => line.split("|"))
      .map(([calls, ms, query]) => `${(Number(calls) / Math.max(1, started)).toFixed(2).padStart(6)} per upload, ${ms.padStart(6)} ms in all: ${query}`);
    return results;
  } finally {
    for (const server of servers.reverse()) await stopServer(server);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

const runs = [];
for (let i = 0; i < RUNS; i++) runs.push(await run(i));

const ms = (v) => v.toFixed(v < 10 ? 1 : 0);
const n0 = (v) => v.toFixed(0);
const n1 = (v) => v.toFixed(1);
const show = (values, f) => (values.length ? spread(values, f) : "–");
console.log(
  `\nControl-plane load, ${SERVERS} app server${SERVERS > 1 ? "s" : ""} on one PostgreSQL, ${SECONDS} s a step, median (range) of ${RUNS} runs`,
);
console.log(`sign-in (argon2, 8 at once): ${show(runs.map((r) => r.signIn.endpoints.sign_in.per_s), n0)} per s, p99 ${show(runs.map((r) => r.signIn.endpoints.sign_in.p99_ms), ms)} ms`);
for (const [s, uploaders] of STEPS.entries()) {
  const at = runs.map((r) => r[s]);
  const per1000 = (kind) => at.map((r) => (r.cpu[kind] * 1000) / Math.max(1, r.started));
  console.log(`\n${uploaders} uploaders:`);
  console.log("| endpoint | requests/s | p50 ms | p99 ms | shed (503) |");
  console.log("|---|---|---|---|---|");
  for (const name of ENDPOINTS.slice(1)) {
    const e = at.map((r) => r.endpoints[name]).filter(Boolean);
    if (!e.length) continue;
    console.log(
      `| ${name} | ${show(e.map((x) => x.per_s), n0)} | ${show(e.map((x) => x.p50_ms), ms)} | ${show(e.map((x) => x.p99_ms), ms)} | ${show(e.map((x) => x.shed), n0)} |`,
    );
  }
  console.log(`uploads completed/s ${show(at.map((r) => r.completed_per_s), n0)}, signed URLs/s ${show(at.map((r) => r.signed_per_s), n0)}`);
  console.log(
    `CPU s per 1 000 uploads: server ${show(per1000("server"), n1)}, PostgreSQL ${show(per1000("postgres"), n1)}, store ${show(per1000("store"), n1)}, the load generator ${show(per1000("client"), n1)}; SQL statements per upload ${show(at.map((r) => r.statements / Math.max(1, r.started)), n1)}`,
  );
  const errors = {};
  for (const r of at) for (const [k, v] of Object.entries(r.errors)) errors[k] = [...(errors[k] ?? []), v];
  console.log(`errors: ${Object.keys(errors).length ? Object.entries(errors).map(([k, v]) => `${k} ${median(v)}`).join(", ") : "none"}`);
}
console.log(`\nThe statements PostgreSQL ran most (run 1, whole run):\n${runs[0].topStatements.join("\n")}`);
const p99 = (r, name) => r.endpoints[name]?.p99_ms ?? 0;
const saturated = STEPS.findIndex((_, s) =>
  median(runs.map((r) => Math.max(p99(r[s], "sign_parts"), p99(r[s], "complete_upload")))) > BOUND_MS,
);
const under = saturated === -1 ? STEPS.length - 1 : saturated - 1;
console.log(
  saturated === -1
    ? `\nNo saturation up to ${STEPS.at(-1)} uploaders: p99 of sign_parts and complete_upload stayed under ${BOUND_MS} ms.`
    : `\nSaturation at ${STEPS[saturated]} uploaders: p99 of sign_parts or complete_upload passes ${BOUND_MS} ms.`,
);
if (under >= 0) {
  console.log(
    `Throughput at ${STEPS[under]} uploaders, the last step under the bound: ${show(runs.map((r) => r[under].completed_per_s), n0)} uploads completed/s, ${show(runs.map((r) => r[under].signed_per_s), n0)} signed URLs/s.`,
  );
}
