// A WAN-shaped link between the browser (or curl) and the local S3 store: a TCP proxy that
// delays every byte by half the round trip in each direction, and paces each direction at a
// rate all connections share, as one access link would. A sender that outruns the link fills
// a queue of at most QUEUE_MS of link time; then its socket is paused, and TCP's own flow
// control slows it down, as a full router queue would (without the drops).
//
// It also records what the benchmark reports: when the first bytes went up, and how long the
// upstream link was busy (so how long it sat idle). Its CPU time the benchmark reads from /proc.

import net from "node:net";

const QUEUE_MS = 50;

/** One direction of the link: a serialiser at `bitsPerSecond`, then `delayMs` on the wire. */
class Direction {
  constructor(bitsPerSecond, delayMs) {
    this.bytesPerMs = bitsPerSecond / 8 / 1000;
    this.delayMs = delayMs;
    this.busyUntil = 0; // when the serialiser is done with what it holds (ms, performance.now)
    this.busyMs = 0; // time spent sending, in all
    this.first = null; // when the first byte was taken (ms since the epoch)
    this.last = null; // when the last byte taken so far is through the serialiser (epoch ms)
  }

  /** Takes `chunk` from `from`; answers when the link would deliver it (performance.now). */
  carry(chunk, from) {
    const now = performance.now();
    this.first ??= Date.now();
    const sendMs = chunk.length / this.bytesPerMs;
    const start = Math.max(now, this.busyUntil);
    this.busyUntil = start + sendMs;
    this.last = Date.now() + (this.busyUntil - now);
    this.busyMs += sendMs;
    // Too much waiting for the serialiser: hold the sender until the queue drains.
    const queued = this.busyUntil - now;
    if (queued > QUEUE_MS && !from.isPaused()) {
      from.pause();
      setTimeout(() => from.destroyed || from.resume(), queued - QUEUE_MS);
    }
    return this.busyUntil + this.delayMs;
  }
}

/** One socket's bytes in one direction, delivered in order when the link would have. */
class Pipe {
  constructor(direction, from, to) {
    Object.assign(this, { direction, from, to, queue: [], timer: null });
    from.on("data", (chunk) => {
      this.queue.push({ chunk, due: direction.carry(chunk, from) });
      this.schedule();
    });
  }

  schedule() {
    if (this.timer || !this.queue.length) return;
    // Timers round to whole milliseconds: one timer at a time keeps the bytes in order.
    this.timer = setTimeout(() => {
      this.timer = null;
      const now = performance.now();
      while (this.queue.length && this.queue[0].due <= now + 0.5) {
        const { chunk } = this.queue.shift();
        if (!this.to.destroyed) this.to.write(chunk);
      }
      this.schedule();
    }, Math.max(0, this.queue[0].due - performance.now()));
  }

  /** When everything taken so far is delivered. */
  drained() {
    return this.queue.length ? this.queue[this.queue.length - 1].due : performance.now();
  }
}

/**
 * Listens on a free loopback port and forwards to 127.0.0.1:`upstreamPort`.
 * `rttMs`: the round trip the link adds; `mbit`: its rate in each direction.
 */
export async function startShaper({ upstreamPort, rttMs, mbit }) {
  const up = new Direction(mbit * 1e6, rttMs / 2);
  const down = new Direction(mbit * 1e6, rttMs / 2);
  const sockets = new Set();
  const server = net.createServer((client) => {
    const upstream = net.connect(upstreamPort, "127.0.0.1");
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.setNoDelay(true);
      socket.on("close", () => sockets.delete(socket));
      socket.on("error", () => {});
    }
    const upward = new Pipe(up, client, upstream);
    const downward = new Pipe(down, upstream, client);
    // A side that closes is closed on the other once what it sent has been delivered.
    client.on("end", () => setTimeout(() => upstream.end(), Math.max(0, upward.drained() - performance.now() + 1)));
    upstream.on("end", () => setTimeout(() => client.end(), Math.max(0, downward.drained() - performance.now() + 1)));
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: server.address().port,
    /** Starts counting afresh: first and last byte, busy time. */
    reset() {
      for (const direction of [up, down]) Object.assign(direction, { busyMs: 0, first: null, last: null });
    },
    /** The upload direction since the last reset. */
    stats() {
      return { firstByteAt: up.first, lastByteAt: up.last, busyMs: up.busyMs };
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

// As a process of its own, so that its CPU time is its own:
//   node shaper.mjs UPSTREAM_PORT RTT_MS MBIT
// prints {"port": N}, then answers each line on stdin ("reset" or "stats") with a JSON line.
if (import.meta.url === `file://${process.argv[1]}`) {
  const [upstreamPort, rttMs, mbit] = process.argv.slice(2).map(Number);
  const shaper = await startShaper({ upstreamPort, rttMs, mbit });
  console.log(JSON.stringify({ port: shaper.port }));
  let pending = "";
  process.stdin.on("data", (data) => {
    pending += data;
    let newline;
    while ((newline = pending.indexOf("\n")) >= 0) {
      const command = pending.slice(0, newline).trim();
      pending = pending.slice(newline + 1);
      if (command === "reset") shaper.reset();
      console.log(JSON.stringify(command === "stats" ? shaper.stats() : { ok: true }));
    }
  });
  process.stdin.on("end", () => shaper.close().then(() => process.exit(0)));
}
