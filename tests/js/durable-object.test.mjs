// edge-otp/durable-object inside workerd (Miniflare), FROM THE PACKED TARBALL as a user
// installs it: `npm pack` pkg/, install the tarball into an empty project, bundle the
// fixture Worker (tests/js/fixtures/durable-object-worker.js) with esbuild against the
// installed copy, run it on Miniflare with SQLite-backed objects.
//
//   - the conformance suite through durableOtp (one object per scope and user);
//   - storms: 1000 wrong checks from 1000 parallel requests and from Promise.all in one
//     request -> exactly maxAttempts "invalid"; 100 parallel right verifies -> one true;
//     100 parallel creates under issueLimit 5 -> exactly 5 issued;
//   - errors across RPC as OtpError with code and fields; bad input before any RPC;
//   - the alarm empties an idle object; one RPC per operation.
//
//   node --test tests/js/durable-object.test.mjs
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync, copyFileSync } from "node:fs";
import path from "node:path";
import { buildWorker, serveBuild, packageBuilt, ROOT, TEST_SECRET, stubNodeEntry } from "./miniflare.mjs";
import { installTarball, run } from "./tarball.mjs";

if (!packageBuilt()) throw new Error("package not built: run `bash .ci/build` first");

const report = (figures) => console.log(JSON.stringify(figures));

const MAX_ATTEMPTS = 3;
const ISSUE_LIMIT = 5;
const work = {};
let seq = 0;
const freshUser = (tag) => `${tag}-${process.pid}-${++seq}@example.com`;

async function post(pathname, body = {}) {
  const res = await work.server.mf.dispatchFetch(`http://do${pathname}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${pathname}: ${res.status} ${await res.text()}`);
  return res.json();
}
const op = (body) => post("/op", body);
const wrongCode = (code) => String((Number(code[0]) + 1) % 10) + code.slice(1);

describe("edge-otp/durable-object in workerd, from the packed tarball", () => {
  before(async () => {
    const t = await installTarball({ prefix: "edge-otp-do-" });
    work.cleanup = t.cleanup;
    work.project = t.project;
    const installed = path.join(t.project, "node_modules/edge-otp");
    const files = t.info.files.map((f) => f.path);
    assert.ok(files.includes("durable-object.js") && files.includes("durable-object.d.ts"), "durable-object entry in the tarball");
    const build = await buildWorker({
      entry: path.join(ROOT, "tests/js/fixtures/durable-object-worker.js"),
      pkgDir: installed,
      plugins: [stubNodeEntry],
    });
    work.server = await serveBuild(build, {
      name: "edge-otp-durable-object",
      bindings: {
        OTP_SECRET: TEST_SECRET,
        OTP_MAX_ATTEMPTS: String(MAX_ATTEMPTS),
        OTP_RESEND_COOLDOWN_SECONDS: "0",
        OTP_ISSUE_LIMIT: `${ISSUE_LIMIT}/3600`,
        OTP_MODE: "not an option: other OTP_* variables are the app's",
      },
      durableObjects: {
        OTP: { className: "OtpDO", useSQLite: true },
        SHORT: { className: "ShortOtpDO", useSQLite: true },
        TEST: { className: "TestOtpDO", useSQLite: true },
        NOSECRET: { className: "NoSecretDO", useSQLite: true },
        BADENV: { className: "BadEnvDO", useSQLite: true },
        ASYNC: { className: "AsyncOtpDO", useSQLite: true },
      },
    });
  });
  after(async () => {
    await work.server?.dispose();
    work.cleanup?.();
  });

  // The object's policy is the object's: a client cannot bring another secret to the
  // same records (by design), so the case that needs two secrets on one store does not apply.
  const notApplicable = {
    "a second manager with the same secret shares the records; another secret does not verify them":
      "a durableOtp client has no secret of its own: the object's policy applies to every client",
  };

  test("conformance suite through durableOtp", async () => {
    const names = await (await work.server.mf.dispatchFetch("http://do/cases")).json();
    assert.ok(names.length >= 30);
    const results = { passed: 0, skipped: 0, failed: [] };
    for (const name of names) {
      if (notApplicable[name]) {
        results.skipped++;
        continue;
      }
      const r = await post("/conformance", { name });
      if (r.status === "passed") results.passed++;
      else if (r.status === "skipped") results.skipped++;
      else results.failed.push({ name, ...r });
    }
    report({ suite: "conformance", through: "durableOtp", cases: names.length, passed: results.passed, skipped: results.skipped, failed: results.failed.length });
    assert.deepEqual(results.failed, []);
    assert.equal(results.skipped, Object.keys(notApplicable).length);
  });

  test("storm: 1000 wrong checks from 1000 parallel requests -> exactly maxAttempts invalid", async () => {
    const user = freshUser("wrong");
    const { value: issued } = await op({ op: "create", user });
    const bad = wrongCode(issued.code);
    const answers = await Promise.all(Array.from({ length: 1000 }, () => op({ op: "check", user, code: bad })));
    const reasons = tally(answers.map((a) => a.value?.reason ?? a.error?.code));
    report({ storm: "wrong", from: "1000 requests", n: 1000, maxAttempts: MAX_ATTEMPTS, answers: reasons });
    assert.equal(reasons.invalid, MAX_ATTEMPTS);
    assert.equal(reasons.exhausted, 1000 - MAX_ATTEMPTS);
    assert.equal((await op({ op: "getLatestOtp", user })).value.attempts, MAX_ATTEMPTS);
  });

  test("storm: 1000 wrong checks from Promise.all in one request -> exactly maxAttempts invalid", async () => {
    const user = freshUser("wrong-all");
    const { value: issued } = await op({ op: "create", user });
    const { answers } = await post("/all", { op: "check", user, code: wrongCode(issued.code), n: 1000 });
    const reasons = tally(answers.map((a) => a.value?.reason ?? a.error?.code));
    report({ storm: "wrong", from: "Promise.all in one request", n: 1000, maxAttempts: MAX_ATTEMPTS, answers: reasons });
    assert.equal(reasons.invalid, MAX_ATTEMPTS);
    assert.equal(reasons.exhausted, 1000 - MAX_ATTEMPTS);
  });

  test("storm: 100 parallel right verifies -> exactly one true", async () => {
    const user = freshUser("right");
    const { value: issued } = await op({ op: "create", user });
    const answers = await Promise.all(Array.from({ length: 100 }, () => op({ op: "verify", user, code: issued.code })));
    const values = tally(answers.map((a) => String(a.value ?? a.error?.code)));
    report({ storm: "right", from: "100 requests", n: 100, answers: values });
    assert.equal(values.true, 1);
    assert.equal(values.false, 99);
  });

  test("storm: 100 parallel creates with issue limit 5 -> exactly 5 issued", async () => {
    const user = freshUser("create");
    const answers = await Promise.all(Array.from({ length: 100 }, () => op({ op: "create", user })));
    const outcomes = tally(answers.map((a) => (a.value ? "issued" : `${a.error.code}:${a.error.reason}`)));
    report({ storm: "create", from: "100 requests", n: 100, limit: ISSUE_LIMIT, outcomes });
    assert.equal(outcomes.issued, ISSUE_LIMIT);
    assert.equal(outcomes["RATE_LIMITED:issue_limit"], 100 - ISSUE_LIMIT);
    const latest = (await op({ op: "getLatestOtp", user })).value;
    const last = answers.find((a) => a.value?.code === latest.code);
    assert.ok(last, "the latest code is one of those issued");
    assert.equal((await op({ op: "verify", user, code: latest.code })).value, true);
  });

  test("errors cross RPC as OtpError with code and fields; bad input and scope before any RPC", async () => {
    const e = await post("/errors");
    assert.equal(e.generate.code, "ACTIVE_OTP_EXISTS");
    assert.equal(e.generate.isOtpError, true);
    assert.equal(typeof e.generate.expiresAt, "number");
    assert.match(e.generate.message, /^edge-otp: /);
    assert.equal(e.create.code, "RATE_LIMITED");
    assert.equal(e.create.isOtpError, true);
    assert.equal(e.create.reason, "issue_limit");
    assert.ok(e.create.retryAfterMs > 0 && e.create.retryAfterMs <= 3_600_000, `retryAfterMs ${e.create.retryAfterMs}`);
    for (const k of ["emptyUser", "numberUser", "longUser"]) {
      assert.equal(e[k].code, "INVALID_ARGUMENT", k);
      assert.equal(e[k].argument, "user", k);
      assert.equal(e[k].isOtpError, true, k);
    }
    assert.equal(e.badCode.code, "INVALID_ARGUMENT");
    assert.equal(e.badCode.argument, "code");
    for (const k of ["symbolToken", "numberToken"]) {
      assert.deepEqual([e[k].code, e[k].argument, e[k].isOtpError], ["INVALID_ARGUMENT", "token", true], k);
    }
    assert.deepEqual([e.fnOption.code, e.fnOption.argument, e.fnOption.isOtpError], ["INVALID_ARGUMENT", "consume", true], "a function as consume");
    assert.deepEqual([e.typoOption.code, e.typoOption.argument], ["INVALID_ARGUMENT", "options"], "an unknown per-call key");
    assert.match(e.typoOption.message, /: ttl$/);
    assert.equal(e.throwingGetter.same, true, "a throwing getter's own error");
    const { none, ...sixty } = e.lifetimes;
    assert.deepEqual(sixty, { plain: 60_000, classInstance: 60_000, nullPrototype: 60_000, proxy: 60_000, inherited: none },
      "per-call options that are not plain objects: their own keys, as OtpManager reads them");
    assert.notEqual(none, 60_000);
    assert.equal(e.generate.stackHead, `OtpError: ${e.generate.message}`, "the stack says why (what loggers print)");
    assert.deepEqual([e.stub.code, e.stub.field, e.stub.isOtpError], ["INVALID_CONFIG", "namespace", true], "a stub is not a namespace");
    assert.equal(e.defaultScope.names[1], e.defaultScope.names[0], "the default scope spelled out is the same object");
    assert.deepEqual(e.defaultScope.scopes, [null, null], "both clients' scope is undefined (null in JSON): the default");
    assert.equal(e.defaultScope.generate, "ACTIVE_OTP_EXISTS", "and the same record: the code created without a scope is active");
    assert.equal(e.badScope.code, "INVALID_CONFIG");
    assert.equal(e.badScope.field, "scope");
    assert.equal(e.badScope.isOtpError, true);
    // The client takes scope and normalizeUser only; the policy is the object's.
    assert.equal(e.policyKey.code, "INVALID_CONFIG", "a policy option on the client is refused");
    assert.equal(e.policyKey.field, "options");
    assert.equal(e.policyKey.isOtpError, true);
    assert.match(e.policyKey.message, /: ttlSeconds$/, "the message names the refused key");
    assert.equal(e.nullOptions.code, "INVALID_CONFIG");
    assert.equal(e.nullOptions.field, "options");
    assert.equal(e.noNamespace.code, "INVALID_CONFIG", "not a namespace binding");
    assert.equal(e.noNamespace.field, "namespace");
    assert.equal(e.noNamespace.isOtpError, true);
    assert.equal(e.inheritedScope.value, ":ada", "inherited keys are not options (the default scope)");
    assert.equal(e.hiddenScope.value, ":ada", "a non-enumerable scope is neither checked nor used");
    assert.equal(e.optionsOverRpc.value, undefined, "the policy (with the secret) is not offered over RPC");
    assert.match(e.optionsOverRpc.error, /does not implement/);
    assert.equal(e.noSecret.code, "INVALID_CONFIG");
    assert.equal(e.noSecret.field, "secret");
    assert.match(e.noSecret.message, /is required: .*OTP_SECRET/, "the message says where the object reads its secret");
    assert.equal(e.noSecret.isOtpError, true);
    // A value from the env that the policy refuses: the message says which variable.
    assert.equal(e.badEnv.code, "INVALID_CONFIG");
    assert.equal(e.badEnv.field, "ttlSeconds");
    assert.match(e.badEnv.message, /invalid ttlSeconds: .*\(from OTP_TTL_SECONDS in the Durable Object's env\)$/);
    assert.equal(e.badEnvLimit.field, "issueLimit");
    assert.match(e.badEnvLimit.message, /\(from OTP_ISSUE_LIMIT in the Durable Object's env\)$/);
    // A subclass's own value is not the env's, though the env has the variable too.
    assert.equal(e.badEnvOwn.field, "ttlSeconds");
    assert.doesNotMatch(e.badEnvOwn.message, /OTP_TTL_SECONDS/);
    assert.equal(e.badEnvOwnLimit.field, "failureLimit");
    assert.doesNotMatch(e.badEnvOwnLimit.message, /OTP_FAILURE_LIMIT/, "a limit with a key more is not the env's");
  });

  test("one RPC per operation (getByName, and idFromName + get); none for bad input", async () => {
    const counts = await post("/rpcs");
    report({ rpcsPerOperation: counts });
    for (const [how, c] of Object.entries(counts)) {
      for (const opName of ["create", "generate", "getLatestOtp", "check", "verify", "resetAttempts", "invalidate"]) {
        assert.equal(c[opName], 1, `${how} ${opName}`);
      }
      assert.equal(c.badUser, 0, `${how} bad user`);
      assert.equal(c.badCode, 0, `${how} bad code`);
      assert.equal(c.badToken, 0, `${how} bad token`);
    }
  });

  test("optionsFromEnv: the documented OTP_* variables, numbers and limits parsed; others left alone", async () => {
    const env = {
      OTP_SECRET: "s".repeat(16),
      OTP_TTL_SECONDS: "600",
      OTP_MAX_ATTEMPTS: " 5 ",
      OTP_LENGTH: "6",
      OTP_ALPHABET: "23456789",
      OTP_KEY_PREFIX: "app:",
      OTP_RESEND_COOLDOWN_SECONDS: "0",
      OTP_ISSUE_LIMIT: "5/3600",
      OTP_FAILURE_LIMIT: "off",
      OTP_MODE: "kv",
      OTHER: "x",
    };
    assert.deepEqual(await post("/env", { env }), {
      secret: "s".repeat(16),
      ttlSeconds: 600,
      maxAttempts: 5,
      length: 6,
      alphabet: "23456789",
      keyPrefix: "app:",
      resendCooldownSeconds: 0,
      issueLimit: { count: 5, windowSeconds: 3600 },
      failureLimit: null,
    });
    // Not numbers / not limits: passed on as they are, for the wasm module to refuse by name.
    assert.deepEqual(await post("/env", { env: { OTP_TTL_SECONDS: "10m", OTP_ISSUE_LIMIT: "five", OTP_FAILURE_LIMIT: '{"count":3,"windowSeconds":60}' } }), {
      ttlSeconds: "10m",
      issueLimit: "five",
      failureLimit: { count: 3, windowSeconds: 60 },
    });
    // "off" and "null" in any case are no limit.
    assert.deepEqual(await post("/env", { env: { OTP_ISSUE_LIMIT: " OFF ", OTP_FAILURE_LIMIT: "Null" } }), {
      issueLimit: null,
      failureLimit: null,
    });
    // Only decimal notation is a number: hexadecimal, exponents and words stay strings.
    assert.deepEqual(await post("/env", { env: { OTP_TTL_SECONDS: "0x1e", OTP_MAX_ATTEMPTS: "1e1", OTP_LENGTH: "Infinity", OTP_RESEND_COOLDOWN_SECONDS: "-1" } }), {
      ttlSeconds: "0x1e", maxAttempts: "1e1", length: "Infinity", resendCooldownSeconds: -1,
    });
    // JSON vars (non-strings) pass as they are.
    assert.deepEqual(await post("/env", { env: { OTP_TTL_SECONDS: 90, OTP_ISSUE_LIMIT: null } }), { ttlSeconds: 90, issueLimit: null });
  });

  test("TypeScript consumer (strict) of edge-otp/durable-object against the installed tarball", async () => {
    copyFileSync(path.join(ROOT, "tests/js/types/consumer-durable-object.ts"), path.join(work.project, "consumer.ts"));
    writeFileSync(path.join(work.project, "tsconfig.json"), JSON.stringify({
      compilerOptions: {
        strict: true, exactOptionalPropertyTypes: true, noUnusedLocals: true, noEmit: true, skipLibCheck: false,
        skipDefaultLibCheck: true, target: "es2022", module: "nodenext", moduleResolution: "nodenext",
        lib: ["es2022", "esnext.disposable"], types: [],
      },
      files: ["consumer.ts"],
    }));
    await run(process.execPath, [path.join(ROOT, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.json"], { cwd: work.project, timeout: 120_000 });
  });

  test("an async options(): read once per scope and object (concurrent first calls share it); a failed read is not kept", async () => {
    const r = await post("/async");
    assert.deepEqual(r.codes, ["string", "string"], "both creates issued");
    assert.equal(r.verified, true, "the latest code verifies");
    assert.equal(r.reads, 1, "three concurrent first calls, one policy read");
    assert.deepEqual([r.first.error?.code, r.first.error?.field, r.first.error?.isOtpError], ["INVALID_CONFIG", "secret", true], "the failed read's error");
    assert.equal(r.second, "string", "the next call reads the policy again and works");
    assert.equal(r.flakyReads, 2);
  });

  test("forget leaves the object empty at once: no record, no deadline, no alarm", async () => {
    const user = freshUser("forget");
    assert.ok((await post("/short", { op: "create", user })).value.code);
    assert.equal((await post("/inspect", { user })).keys.length, 2, "the record and its deadline");
    assert.equal((await post("/short", { op: "forget", user })).value, true);
    assert.deepEqual(await post("/inspect", { user }), { keys: [], alarm: null });
    assert.equal((await post("/short", { op: "forget", user })).value, false, "nothing left to forget");
    assert.deepEqual(await post("/inspect", { user }), { keys: [], alarm: null });
    assert.ok((await post("/short", { op: "create", user })).value.code, "a new start");
    const again = await post("/inspect", { user });
    assert.equal(again.keys.length, 2, "the record and its deadline");
    assert.equal(typeof again.alarm, "number", "an alarm again");
  });

  test("the alarm deletes an idle object's storage once its record is past every window", async () => {
    const user = freshUser("idle");
    assert.ok((await post("/short", { op: "create", user })).value.code);
    const during = await post("/inspect", { user });
    assert.equal(during.keys.length, 2, "the record and its deadline are stored");
    assert.equal(typeof during.alarm, "number", "an alarm is set");
    // Writes within the window push the deadline on: the object lives while it is used.
    await new Promise((r) => setTimeout(r, 600));
    assert.ok((await post("/short", { op: "create", user })).value.code);
    await new Promise((r) => setTimeout(r, 600));
    assert.equal((await post("/inspect", { user })).keys.length, 2, "still there 1.2 s after the first write");
    const deadline = Date.now() + 10_000;
    let after;
    do {
      await new Promise((r) => setTimeout(r, 250));
      after = await post("/inspect", { user });
    } while (after.keys.length > 0 && Date.now() < deadline);
    report({ alarm: "idle object", keysBefore: during.keys.length, keysAfter: after.keys.length, alarmAfter: after.alarm });
    assert.deepEqual(after.keys, []);
    assert.equal(after.alarm, null);
  });
});

function tally(list) {
  const t = {};
  for (const x of list) t[x] = (t[x] ?? 0) + 1;
  return t;
}
