// Test helper: start a throw-away PostgreSQL server on 127.0.0.1 (Debian's `postgresql`
// package: the binaries in /usr/lib/postgresql/<version>/bin, found with a glob; or the
// directory in $PG_BIN).
//
// - A fresh data directory (initdb --no-sync) in a temp dir, removed by stop().
// - PostgreSQL refuses to run as root: when the tests run as root, initdb and postgres
//   are spawned as the `postgres` system user that the Debian package creates (or
//   `nobody`), with child_process' uid/gid (as `runuser -u postgres --` would, but the
//   server stays our direct child, so signals reach it).
// - Listens on 127.0.0.1 only (no Unix socket), on a port that was free a moment ago
//   (retried if the bind fails); password (SCRAM) authentication with a random password.
// - fsync and full_page_writes off (a test server: the data need not survive a machine
//   crash); synchronous_commit stays on, so a commit survives a server crash
//   (restart({ immediate: true })), which the fault tests rely on.
// - `stop()` does a fast shutdown (SIGINT, SIGKILL after 5 s) and removes the directory;
//   the server is also SIGKILLed if the node process exits without calling stop() or gets
//   SIGINT/SIGTERM/SIGHUP. `restart({ immediate })` stops it (SIGQUIT with `immediate`:
//   no checkpoint, like a crash) and starts it again on the same port and data.
//
// Usage:
//   const pg = await startPostgres();   // { port, config, url, stop, restart, kill }
//   const pool = new pg.Pool({ ...pgServer.config, max: 8 });
//   await pgServer.stop();
//
// postgresMissing() answers why the server cannot be started here (null when it can);
// tests skip on it only when EDGE_OTP_ALLOW_NO_POSTGRES=1, and fail otherwise (CI).

import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, existsSync, readdirSync, writeFileSync, chownSync, chmodSync } from "node:fs";
import { randomBytes } from "node:crypto";
import net from "node:net";
import os from "node:os";
import path from "node:path";

const HOST = "127.0.0.1";
const USER = "edge_otp";

/** The bin directory of the newest PostgreSQL under /usr/lib/postgresql, or $PG_BIN. */
export function postgresBinDir() {
  if (process.env.PG_BIN) return process.env.PG_BIN;
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return null;
  const versions = readdirSync(root)
    .filter((v) => existsSync(path.join(root, v, "bin", "postgres")) && existsSync(path.join(root, v, "bin", "initdb")))
    .sort((a, b) => Number(b) - Number(a));
  return versions.length ? path.join(root, versions[0], "bin") : null;
}

/** Why a server cannot be started here, or null. */
export function postgresMissing() {
  const bin = postgresBinDir();
  if (!bin) return "PostgreSQL binaries not found in /usr/lib/postgresql/*/bin (apt-get install postgresql, or set PG_BIN)";
  for (const b of ["postgres", "initdb"]) {
    if (!existsSync(path.join(bin, b))) return `${path.join(bin, b)} not found`;
  }
  return null;
}

/**
 * node:test skip value for suites needing PostgreSQL: false when it is there; a reason
 * when it is missing and EDGE_OTP_ALLOW_NO_POSTGRES=1; else throws (CI must run them).
 */
export function postgresSkip() {
  const missing = postgresMissing();
  if (!missing) return false;
  if (process.env.EDGE_OTP_ALLOW_NO_POSTGRES === "1") return `${missing}; skipped (EDGE_OTP_ALLOW_NO_POSTGRES=1)`;
  throw new Error(`${missing}. Run \`bash .ci/setup\`, or set EDGE_OTP_ALLOW_NO_POSTGRES=1 to skip these tests.`);
}

/** uid/gid to run the server as: ourselves unless root, then `postgres` (or `nobody`). */
function serverIdentity() {
  if (typeof process.getuid !== "function" || process.getuid() !== 0) return null;
  for (const name of ["postgres", "nobody"]) {
    try {
      const uid = Number(execFileSync("id", ["-u", name], { encoding: "utf8" }).trim());
      const gid = Number(execFileSync("id", ["-g", name], { encoding: "utf8" }).trim());
      if (Number.isInteger(uid) && uid > 0) return { name, uid, gid };
    } catch {
      /* no such user */
    }
  }
  throw new Error("running as root and neither the postgres nor the nobody user exists");
}

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

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function run(file, args, spawnOpts) {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { ...spawnOpts, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => { out += d; });
    child.stderr.on("data", (d) => { out += d; });
    child.once("error", reject);
    child.once("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(`${file} exited ${code}:\n${out}`))));
  });
}

/** Resolves when a TCP connection to the port succeeds and PostgreSQL answers a query. */
async function waitReady(config, child, deadlineMs, output) {
  const { default: pg } = await import("pg");
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) return false;
    const c = new pg.Client({ ...config, connectionTimeoutMillis: 1000 });
    c.on("error", () => {});
    try {
      await c.connect();
      await c.query("SELECT 1");
      await c.end();
      return true;
    } catch {
      await c.end().catch(() => {});
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`postgres on port ${config.port} not ready within ${deadlineMs} ms:\n${output()}`);
    }
    await sleep(100);
  }
}

/**
 * Start a private PostgreSQL server on 127.0.0.1 on a free port.
 * @returns {Promise<{ port: number, url: string, config: object, bin: string, pid(): number,
 *   stop(): Promise<void>, restart(o?: { immediate?: boolean, downMs?: number }): Promise<void>,
 *   kill(signal?: string): Promise<void>, start(): Promise<void> }>}
 */
export async function startPostgres({ maxConnections = 100 } = {}) {
  const missing = postgresMissing();
  if (missing) throw new Error(missing);
  const bin = postgresBinDir();
  const who = serverIdentity();
  const ids = who ? { uid: who.uid, gid: who.gid } : {};
  const dir = mkdtempSync(path.join(os.tmpdir(), "edge-otp-pg-"));
  const data = path.join(dir, "data");
  const password = randomBytes(18).toString("base64url");
  const pwfile = path.join(dir, "pw");
  writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
  if (who) {
    chownSync(dir, who.uid, who.gid);
    chownSync(pwfile, who.uid, who.gid);
  }
  chmodSync(dir, 0o700);
  const env = { ...process.env, HOME: dir, LC_ALL: "C.UTF-8", LANG: "C.UTF-8" };
  const spawnOpts = { cwd: dir, env, ...ids };
  try {
    await run(path.join(bin, "initdb"), [
      "-D", data, "-U", USER, "--pwfile", pwfile, "--auth", "scram-sha-256",
      "-E", "UTF8", "--locale", "C.UTF-8", "--no-sync", "--no-instructions",
    ], spawnOpts);
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  rmSync(pwfile, { force: true });

  let child = null;
  let output = "";
  let port = 0;
  let config = null;

  async function launch() {
    const args = [
      "-D", data,
      "-c", `listen_addresses=${HOST}`,
      "-c", `port=${port}`,
      "-c", "unix_socket_directories=",
      "-c", `max_connections=${maxConnections}`,
      "-c", "fsync=off",
      "-c", "full_page_writes=off",
      "-c", "shared_buffers=32MB",
      "-c", "log_min_messages=fatal",
      "-c", "logging_collector=off",
    ];
    output = "";
    const c = spawn(path.join(bin, "postgres"), args, { ...spawnOpts, stdio: ["ignore", "pipe", "pipe"] });
    c.stdout.on("data", (d) => { output = (output + d).slice(-8000); });
    c.stderr.on("data", (d) => { output = (output + d).slice(-8000); });
    const exited = new Promise((resolve) => c.once("exit", resolve));
    c.exited = exited;
    c.once("error", () => {});
    c.unref();
    c.stdout.unref();
    c.stderr.unref();
    child = c;
    return waitReady(config, c, 20_000, () => output);
  }

  let started = false;
  for (let attempt = 0; attempt < 5 && !started; attempt++) {
    port = await freePort();
    config = { host: HOST, port, user: USER, password, database: "postgres" };
    started = await launch().catch(async (e) => {
      rmSync(dir, { recursive: true, force: true });
      throw e;
    });
  }
  if (!started) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`postgres failed to start after 5 attempts:\n${output}`);
  }

  const onExit = () => {
    try { child?.kill("SIGKILL"); } catch { /* gone */ }
    try { rmSync(dir, { recursive: true, force: true }); } catch { /* ignore */ }
  };
  const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"];
  const onSignal = (sig) => {
    removeHooks();
    onExit();
    if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
  };
  const removeHooks = () => {
    process.removeListener("exit", onExit);
    for (const s of SIGNALS) process.removeListener(s, onSignal);
  };
  process.once("exit", onExit);
  for (const s of SIGNALS) process.once(s, onSignal);

  /** Signals the postmaster and waits for it to exit (SIGKILL after 5 s). */
  async function kill(signal = "SIGINT") {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    c.kill(signal);
    const t = setTimeout(() => c.kill("SIGKILL"), 5000);
    await c.exited;
    clearTimeout(t);
  }

  async function start() {
    if (child && child.exitCode === null && child.signalCode === null) return;
    if (!(await launch())) throw new Error(`postgres did not come back on port ${port}:\n${output}`);
  }

  let stopped = null;
  return {
    port,
    config,
    url: `postgres://${USER}:${password}@${HOST}:${port}/postgres`,
    bin,
    user: who?.name ?? os.userInfo().username,
    pid: () => child?.pid,
    kill,
    start,
    async restart({ immediate = false, downMs = 0 } = {}) {
      await kill(immediate ? "SIGQUIT" : "SIGINT");
      if (downMs) await sleep(downMs);
      await start();
    },
    stop() {
      stopped ??= (async () => {
        removeHooks();
        await kill("SIGINT");
        rmSync(dir, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
}
