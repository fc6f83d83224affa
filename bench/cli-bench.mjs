// Command-line upload benchmark: the same file (HAUL_BENCH_CLI_MIB, default 4096 MiB of random
// bytes) to the embedded local store by four clients, in HAUL_BENCH_CLI_RUNS rounds (default 4,
// so that each client goes first once), taking turns round by round, each with
// HAUL_BENCH_CLI_PARALLEL requests at once (default 4):
// - `haul upload` (the server's 16 MiB parts: hashing, signing, sending, completing, all
//   timed);
// - curl PUTting the same parts in parallel to URLs signed before the clock starts (the file
//   split and each part hashed beforehand too): the ceiling of sending alone;
// - `aws s3 cp` (awscli from PyPI) straight to the store's bucket with the store's keys,
//   16 MiB parts: as it comes (a CRC32 per part, on awscli 1.45);
// - the same with `--checksum-algorithm SHA256`: the store then checks a SHA-256 of each part,
//   as it always does for haul.
// Each round runs on a fresh server and store, with an untimed warm-up upload first; each
// timed upload starts once the machine has been idle for a second, and the uploads are deleted
// when the round ends. Needs about 6 times the file's size free in /tmp (the file, its parts,
// a round's store).
// Each is timed by GNU time (wall, user and system seconds of the whole process tree), and the
// CPU the server, its PostgreSQL and its store used meanwhile is read from /proc: on one machine
// the store's share decides the pace. Prints a table of the median and range of throughput and
// CPU seconds per GiB, and the ratios the issue targets. Expects the optimised builds, as one
// deploys them: target/release/server and target/release/haul (`make bench-cli` builds them);
// `aws` on PATH, else it is installed into HAUL_TOOLS_DIR/awscli.

import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";

import { freePort, makeRandomFile, startServer, stopServer } from "./common.mjs";
import { cpuOf, machineBusy, processesBelow } from "./procfs.mjs";
import { median, spread } from "./runs.mjs";

const MIB = 1024 * 1024;
const SIZE_MIB = Number(process.env.HAUL_BENCH_CLI_MIB ?? 4096);
// As many rounds as clients: each goes first once (the first upload of a round runs slowest).
const RUNS = Number(process.env.HAUL_BENCH_CLI_RUNS ?? 4);
const PARALLEL = Number(process.env.HAUL_BENCH_CLI_PARALLEL ?? 4);
const PART_MIB = 16;
const CLIENTS = ["haul", "curl", "aws", "awsSha256"];
const targetDir = process.env.CARGO_TARGET_DIR ?? path.resolve("target");
const serverBin = process.env.HAUL_BENCH_SERVER ?? path.join(targetDir, "release/server");
const haulBin = process.env.HAUL_BENCH_HAUL ?? path.join(targetDir, "release/haul");
const tmp = fs.mkdtempSync(path.join(process.env.HAUL_BENCH_TMP ?? "/tmp", "cli-bench-"));
fs.chmodSync(tmp, 0o711);

function log(message) {
  console.error(`cli-bench: ${message}`);
}

/** `aws`, from PATH or installed once into the tools directory (awscli from PyPI). */
function awsBinary() {
  if (spawnSync("aws", ["--version"], { stdio: "ignore" }).status === 0) return "aws";
  const venv = path.join(process.env.HAUL_TOOLS_DIR ?? `${process.env.HOME}/.cache/haul/tools`, "awscli");
  const bin = path.join(venv, "bin/aws");
  if (!fs.existsSync(bin)) {
    log("installing awscli from PyPI");
    execFileSync("python3", ["-m", "venv", venv], { stdio: "inherit" });
    execFileSync(path.join(venv, "bin/pip"), ["install", "--quiet", "awscli"], { stdio: "inherit" });
  }
  return bin;
}

/** Runs `command` under GNU time; answers wall, user and system seconds (children included). */
function timed(command, args, env = {}) {
  const report = path.join(tmp, "time.txt");
  const run = spawnSync("/usr/bin/time", ["-f", "%e %U %S", "-o", report, command, ...args], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "ignore", "pipe"],
    maxBuffer: 64 * MIB,
  });
  if (run.status !== 0) throw new Error(`${command} ${args.join(" ")} failed: ${run.stderr}`);
  const [wall, user, system] = fs.readFileSync(report, "utf8").trim().split("\n").pop().split(" ").map(Number);
  return { seconds: wall, cpu: user + system };
}

/** CPU seconds used so far by the server, its PostgreSQL and its store. */
function serverCpu(pid) {
  return cpuOf(processesBelow(pid), pid, true);
}

/** Waits (up to a minute) until the machine has been nearly idle for a second: what the last
 * upload left the store to do (writing back, freeing what was deleted) is not charged to the
 * next client. */
async function settle() {
  for (let waited = 0; waited < 60; waited++) {
    const busy = machineBusy();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    if (busy() < 0.1) return;
  }
  log("the machine stayed busy for a minute; timing anyway");
}

async function main() {
  const file = path.join(tmp, "bench.bin");
  log(`writing ${SIZE_MIB} MiB of random bytes`);
  makeRandomFile(file, SIZE_MIB * MIB);
  // curl's parts: split and hashed once, before any clock.
  const partsDir = path.join(tmp, "parts");
  fs.mkdirSync(partsDir);
  execFileSync("split", ["-b", String(PART_MIB * MIB), "-d", "-a", "5", file, path.join(partsDir, "part.")]);
  const partFiles = fs.readdirSync(partsDir).sort().map((name) => path.join(partsDir, name));
  const digests = partFiles.map((part) => createHash("sha256").update(fs.readFileSync(part)).digest("base64"));
  const results = Object.fromEntries(CLIENTS.map((client) => [client, []]));
  try {
    // A fresh server and store each round: SeaweedFS keeps deleted objects' space until it
    // is vacuumed, and the embedded store's volumes would run out after about 24 GiB.
    for (let run = 0; run < RUNS; run++) {
      await round({ run, file, partFiles, digests, results });
    }
    print(results, SIZE_MIB * MIB);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** One round on a fresh server: a warm-up, then each client once, in turn from `run`. */
async function round({ run, file, partFiles, digests, results }) {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const dataDir = path.join(tmp, `data-${run}`);
  const server = await startServer({
    bin: serverBin,
    port,
    logPath: path.join(tmp, "server.log"),
    env: {
      HAUL_DATA_DIR: dataDir,
      HAUL_PART_SIZE: `${PART_MIB}MiB`,
      HAUL_DEFAULT_QUOTA: "100GiB",
      HAUL_MAX_FILE_SIZE: "100GiB",
      HAUL_LOG: "warn",
      HAUL_RATE_LIMIT_PER_IP: "1000",
    },
  });
  try {
    await bench({ base, dataDir, serverPid: server.pid, run, file, partFiles, digests, results });
  } finally {
    await stopServer(server);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

/** A fresh account, its session cookie, and a full-scope API token made on /tokens. */
async function account(base) {
  const email = `bench-cli-${Date.now()}@example.com`;
  const signUp = await fetch(`${base}/api/sign_up`, {
    method: "POST",
    headers: { Origin: base },
    body: new URLSearchParams({ email, password: "correct horse battery staple" }),
  });
  if (!signUp.ok) throw new Error(`sign_up: ${signUp.status}`);
  const cookie = signUp.headers.getSetCookie().find((c) => c.startsWith("haul_session=")).split(";")[0];
  const made = await fetch(`${base}/tokens`, {
    method: "POST",
    headers: { Origin: base, Cookie: cookie },
    body: new URLSearchParams({ name: "bench", scope: "full", expires_in: "1d" }),
  });
  const token = (await made.text()).match(/<code class="api-token">([^<]+)</)?.[1];
  if (!token) throw new Error(`no token made (${made.status})`);
  return token;
}

function api(base, token) {
  return async function post(endpoint, body) {
    const json = !(body instanceof URLSearchParams);
    const send = () =>
      fetch(`${base}/api/${endpoint}`, {
        method: "POST",
        headers: { Authorization: `Bearer ${token}`, ...(json ? { "Content-Type": "application/json" } : {}) },
        body: json ? JSON.stringify(body) : body,
      });
    // A kept-alive connection that sat idle through a timed upload may have been closed by the
    // server as it was reused: once more, on a new one.
    const res = await send().catch((error) => {
      if (error.cause?.code !== "UND_ERR_SOCKET") throw error;
      return send();
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${endpoint}: ${res.status} ${text}`);
    return JSON.parse(text);
  };
}

/** The embedded store's key pair, from the identities file it keeps in the data dir. */
function storeKeys(dataDir) {
  const found = execFileSync("grep", ["-rl", "--include=*.json", "identities", dataDir], { encoding: "utf8" })
    .split("\n")
    .filter(Boolean);
  for (const file of found) {
    const { identities } = JSON.parse(fs.readFileSync(file, "utf8"));
    const key = identities?.[0]?.credentials?.[0];
    if (key) return key;
  }
  throw new Error("no store credentials in the data dir");
}

async function bench({ base, dataDir, serverPid, run, file, partFiles, digests, results }) {
  const token = await account(base);
  const post = api(base, token);
  const sizeBytes = SIZE_MIB * MIB;

  const config = path.join(tmp, `haul-config-${run}`);
  const login = spawnSync(haulBin, ["login", base], { input: `${token}\n`, env: { ...process.env, HAUL_CONFIG_DIR: config } });
  if (login.status !== 0) throw new Error(`haul login: ${login.stderr}`);

  // The store's endpoint and bucket, as a signed URL names them; its keys, for aws.
  const probe = await post("start_upload", new URLSearchParams({ name: "probe.bin", size: String(MIB), content_type: "application/octet-stream" }));
  const [signed] = await post("sign_parts", { file_id: probe.file.id, parts: [{ part_number: 1, sha256: createHash("sha256").update(Buffer.alloc(MIB)).digest("base64") }] });
  await post("abort_upload", new URLSearchParams({ file_id: probe.file.id }));
  const url = new URL(signed.url);
  const endpoint = url.origin;
  const bucket = url.pathname.split("/")[1];
  const keys = storeKeys(dataDir);
  const aws = awsBinary();
  const awsConfig = path.join(tmp, "aws-config");
  fs.writeFileSync(
    awsConfig,
    `[default]\nregion = us-east-1\ns3 =\n  max_concurrent_requests = ${PARALLEL}\n  multipart_chunksize = ${PART_MIB}MB\n  multipart_threshold = ${PART_MIB}MB\n`,
  );
  const awsEnv = {
    AWS_CONFIG_FILE: awsConfig,
    AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
    AWS_ACCESS_KEY_ID: keys.accessKey,
    AWS_SECRET_ACCESS_KEY: keys.secretKey,
  };

  execFileSync("sync");

  const awsCopy = async (run, name, flags) => {
    const key = `s3://${bucket}/${name}-bench-${run}.bin`;
    const result = timed(aws, ["--endpoint-url", endpoint, "s3", "cp", "--only-show-errors", ...flags, file, key], awsEnv);
    result.remove = async () => timed(aws, ["--endpoint-url", endpoint, "s3", "rm", "--only-show-errors", key], awsEnv);
    return result;
  };
  const clients = {
    haul: async (run) => {
      const name = `haul-${run}.bin`;
      const copy = path.join(tmp, name);
      fs.linkSync(file, copy);
      const result = timed(haulBin, ["upload", "--quiet", "--parallel", String(PARALLEL), copy], { HAUL_CONFIG_DIR: config });
      fs.rmSync(copy);
      const { files } = await post("list_files", new URLSearchParams({ name }));
      if (files[0]?.status !== "complete") throw new Error(`haul upload not complete: ${JSON.stringify(files[0])}`);
      result.remove = () => post("delete_file", new URLSearchParams({ file_id: files[0].id }));
      return result;
    },
    curl: async (run) => {
      const started = await post("start_upload", new URLSearchParams({ name: `curl-${run}.bin`, size: String(sizeBytes), content_type: "application/octet-stream" }));
      if (started.part_count !== partFiles.length) throw new Error(`planned ${started.part_count} parts, split ${partFiles.length}`);
      const configs = [];
      for (let first = 0; first < partFiles.length; first += 100) {
        const batch = digests.slice(first, first + 100).map((sha256, i) => ({ part_number: first + i + 1, sha256 }));
        for (const part of await post("sign_parts", { file_id: started.file.id, parts: batch })) {
          const cfg = path.join(tmp, `curl-${part.part_number}.cfg`);
          const headers = part.headers.map(([n, v]) => `header = "${n}: ${v}"`).join("\n");
          fs.writeFileSync(cfg, `url = "${part.url}"\nupload-file = "${partFiles[part.part_number - 1]}"\noutput = "/dev/null"\nfail\nsilent\nshow-error\n${headers}\n`);
          configs.push(cfg);
        }
      }
      const list = path.join(tmp, "curl-configs.txt");
      fs.writeFileSync(list, configs.join("\n"));
      const result = timed("xargs", ["-a", list, "-P", String(PARALLEL), "-n", "1", "curl", "-K"]);
      const done = await post("complete_upload", new URLSearchParams({ file_id: started.file.id }));
      if (done.status !== "complete") throw new Error(`curl upload not complete: ${JSON.stringify(done)}`);
      for (const cfg of configs) fs.rmSync(cfg);
      result.remove = () => post("delete_file", new URLSearchParams({ file_id: started.file.id }));
      return result;
    },
    aws: (run) => awsCopy(run, "aws", []),
    // The checks haul always has the store make: a SHA-256 of each part, sent with it.
    awsSha256: (run) => awsCopy(run, "aws-sha256", ["--checksum-algorithm", "SHA256"]),
  };
  // SeaweedFS grows its volumes on the first large writes: an untimed upload pays for some of
  // that. The first two timed uploads of a round still cost the store about a third more than
  // the last two, whoever sends them: hence the turns, and as many rounds as clients.
  log("warming the store up (untimed)");
  await (await clients.haul("warm-up")).remove();
  // Each timed upload starts on a quiet machine, its bytes written out and nothing deleted
  // meanwhile (the uploads are deleted once the round is over).
  const uploaded = [];
  for (let i = 0; i < CLIENTS.length; i++) {
    const client = CLIENTS[(run + i) % CLIENTS.length];
    execFileSync("sync");
    await settle();
    const before = serverCpu(serverPid);
    const result = await clients[client](run);
    result.storeCpu = serverCpu(serverPid) - before;
    log(`run ${run + 1}: ${client} ${result.seconds.toFixed(1)} s, ${result.cpu.toFixed(1)} CPU s, server and store ${result.storeCpu.toFixed(1)} CPU s`);
    results[client].push(result);
    uploaded.push(result);
  }
  for (const result of uploaded) await result.remove();
}

function print(results, sizeBytes) {
  const gib = sizeBytes / (1024 * MIB);
  const mibs = (r) => sizeBytes / MIB / r.seconds;
  const perGib = (r) => r.cpu / gib;
  const labels = {
    haul: `haul upload (${PARALLEL} in flight)`,
    curl: `curl (${PARALLEL} parallel PUTs, pre-signed)`,
    aws: `aws s3 cp (${PARALLEL} concurrent)`,
    awsSha256: `aws s3 cp --checksum-algorithm SHA256`,
  };
  console.log(`\nCommand-line upload of ${SIZE_MIB} MiB to the local store, ${PART_MIB} MiB parts, ${RUNS} runs each (median (min–max))`);
  const storePerGib = (r) => r.storeCpu / gib;
  console.log(`${"client".padEnd(40)} ${"MiB/s".padEnd(24)} ${"CPU s per GiB".padEnd(24)} server and store CPU s per GiB`);
  for (const client of CLIENTS) {
    const rows = results[client];
    console.log(
      `${labels[client].padEnd(40)} ${spread(rows.map(mibs), (v) => v.toFixed(0)).padEnd(24)} ${spread(rows.map(perGib), (v) => v.toFixed(2)).padEnd(24)} ${spread(rows.map(storePerGib), (v) => v.toFixed(2))}`,
    );
  }
  const m = (client, f) => median(results[client].map(f));
  console.log(`haul / curl throughput: ${((m("haul", mibs) / m("curl", mibs)) * 100).toFixed(0)} % (target ≥ 95 %)`);
  console.log(`haul / aws s3 cp throughput: ${((m("haul", mibs) / m("aws", mibs)) * 100).toFixed(0)} % (target > 100 %)`);
  console.log(`haul / aws s3 cp CPU per GiB: ${((m("haul", perGib) / m("aws", perGib)) * 100).toFixed(0)} % (target < 100 %)`);
  console.log(`haul / aws s3 cp with the same checks (SHA-256 per part): throughput ${((m("haul", mibs) / m("awsSha256", mibs)) * 100).toFixed(0)} %, CPU per GiB ${((m("haul", perGib) / m("awsSha256", perGib)) * 100).toFixed(0)} %`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
