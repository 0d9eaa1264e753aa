// Test helper: start a throw-away `redis-server` on 127.0.0.1.
//
// - Binds 127.0.0.1 only (`--bind 127.0.0.1`, no unix socket, protected mode on).
// - No persistence (`--save "" --appendonly no`) unless `persist` (an fsynced AOF, for
//   `restart()`: SIGKILL and start again on the same port and directory); the working
//   dir is a fresh temp dir.
// - Port: obtained by listening on port 0 with node:net and closing; if redis then
//   fails to bind it (race with another process), we retry with a new port.
// - `stop()` sends SIGTERM (SIGKILL after 3 s) and removes the temp dir; the server is
//   also SIGKILLed if the node process exits without calling stop() or gets
//   SIGINT/SIGTERM/SIGHUP (the signal is then re-raised if nobody else handles it).
//
// Usage:
//   const redis = await startRedis();   // { port, url, stop, restart }
//   ... new Redis(redis.url) / createClient({ url: redis.url }) ...
//   await redis.stop();

import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, existsSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

const HOST = "127.0.0.1";
const REDIS_SERVER = process.env.REDIS_SERVER_BIN || "/usr/bin/redis-server";

/** @returns {Promise<number>} a port that was free on 127.0.0.1 a moment ago */
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once("error", reject);
    srv.listen({ host: HOST, port: 0, exclusive: true }, () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** One PING round trip over a raw socket; resolves true on "+PONG". */
function ping(port, timeoutMs = 500) {
  return new Promise((resolve) => {
    const sock = net.connect({ host: HOST, port });
    let buf = "";
    const done = (ok) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    sock.once("error", () => done(false));
    sock.on("data", (d) => {
      buf += d.toString("latin1");
      if (buf.includes("\r\n")) done(buf.startsWith("+PONG"));
    });
    sock.once("connect", () => sock.write("PING\r\n"));
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function startOnce(port, dir, persist) {
  const args = [
    "--bind", HOST,
    "--port", String(port),
    "--unixsocket", "",
    "--protected-mode", "yes",
    "--save", "",
    ...(persist ? ["--appendonly", "yes", "--appendfsync", "always"] : ["--appendonly", "no"]),
    "--dir", dir,
    "--daemonize", "no",
    "--logfile", "",
    "--loglevel", "warning",
    "--databases", "1",
  ];
  const child = spawn(REDIS_SERVER, args, { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (d) => { output += d; });
  child.stderr.on("data", (d) => { output += d; });
  let exited = null;
  const exitPromise = new Promise((resolve) => {
    child.once("exit", (code, signal) => {
      exited = { code, signal };
      resolve(exited);
    });
  });
  const spawnError = new Promise((resolve) => child.once("error", resolve));

  const deadline = Date.now() + 10_000;
  for (;;) {
    const err = await Promise.race([spawnError, sleep(0).then(() => null)]);
    if (err) throw new Error(`cannot spawn ${REDIS_SERVER}: ${err.message}`);
    if (exited) return { child: null, output, exited };
    if (await ping(port)) return { child, output, exitPromise };
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`redis-server on port ${port} did not answer PING within 10 s:\n${output}`);
    }
    await sleep(50);
  }
}

/**
 * Start a private redis-server on 127.0.0.1 on a free port.
 *
 * With `persist`, every write is appended to an AOF and fsynced before Redis answers
 * (`--appendonly yes --appendfsync always`), so `restart()` (SIGKILL, like a crash or an
 * OOM kill, then a start on the same port and directory) loses no acknowledged write, as
 * in a deployment that keeps OTP state in Redis.
 * @param {{ persist?: boolean }} [o]
 * @returns {Promise<{ port: number, url: string, stop: () => Promise<void>,
 *   restart: (o?: { downMs?: number }) => Promise<void> }>}
 */
export async function startRedis({ persist = false } = {}) {
  if (!existsSync(REDIS_SERVER)) {
    throw new Error(`${REDIS_SERVER} not found (apt-get install redis-server)`);
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), "edge-otp-redis-"));
  let lastOutput = "";
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const r = await startOnce(port, dir, persist);
    if (!r.child) {
      // Exited before answering PING (most likely the port got taken): retry.
      lastOutput = r.output;
      continue;
    }
    let { child, exitPromise } = r;
    // Do not keep the event loop alive because of the server.
    const detach = () => {
      child.unref();
      child.stdout.unref();
      child.stderr.unref();
    };
    detach();
    const onExit = () => {
      try { child.kill("SIGKILL"); } catch { /* already gone */ }
      try { rmSync(dir, { recursive: true, force: true }); } catch { /* ignore */ }
    };
    // On a fatal signal, kill the server and re-raise the signal if nobody else
    // handles it (so the default behaviour, terminating, is preserved).
    const onSignal = (sig) => {
      removeHooks();
      onExit();
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    };
    const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"];
    const removeHooks = () => {
      process.removeListener("exit", onExit);
      for (const s of SIGNALS) process.removeListener(s, onSignal);
    };
    process.once("exit", onExit);
    for (const s of SIGNALS) process.once(s, onSignal);
    const running = () => child.exitCode === null && child.signalCode === null;
    let stopped = null;
    const stop = () => {
      stopped ??= (async () => {
        removeHooks();
        if (running()) {
          child.kill("SIGTERM");
          const t = setTimeout(() => child.kill("SIGKILL"), 3000);
          await exitPromise;
          clearTimeout(t);
        }
        rmSync(dir, { recursive: true, force: true });
      })();
      return stopped;
    };
    const restart = async ({ downMs = 300 } = {}) => {
      if (running()) {
        child.kill("SIGKILL");
        await exitPromise;
      }
      await sleep(downMs);
      const again = await startOnce(port, dir, persist);
      if (!again.child) throw new Error(`redis-server did not come back on port ${port}:\n${again.output}`);
      ({ child, exitPromise } = again);
      detach();
    };
    return { port, url: `redis://${HOST}:${port}`, stop, restart };
  }
  rmSync(dir, { recursive: true, force: true });
  throw new Error(`redis-server failed to start after 5 attempts:\n${lastOutput}`);
}
