// The "Authenticator app" demo: edge-otp/totp running in this page (www/vendor/edge-otp-totp.js,
// the package's browser build) over memoryStorage(); the QR code of the key URI is drawn
// here (www/vendor/qrcode.js, qrcode-generator), no network. The demo secret is random,
// made in this browser: a real app secret never goes to a browser.
import { TotpManager, memoryStorage, OtpError } from "./vendor/edge-otp-totp.js";
import qrcode from "./vendor/qrcode.js";
import { humanDuration } from "./duration.js";

const $ = (id) => document.getElementById(id);
const bytes = crypto.getRandomValues(new Uint8Array(32));
const totp = new TotpManager(memoryStorage(), { secret: bytes, issuer: "edge-otp demo" });
const user = () => $("user").value.trim() || "ada@example.com";

// The failure budget as the manager's policy has it ("5 per 15 minutes").
const { failureLimit } = totp.policy;
const budget = failureLimit ? ` (${failureLimit.count} per ${humanDuration(failureLimit.windowSeconds * 1000)})` : "";

const MESSAGES = {
  verified: ["Verified: the code was right for a new time step.", "good"],
  invalid: [`Wrong code: one failure spent${budget}.`, "bad"],
  replayed: ["Replayed: this code (or an earlier one) was already accepted. Not a failure.", "warn"],
  none: ["Not enrolled.", "warn"],
  locked: ["Locked: too many failures. Nothing is compared until the window ends.", "bad"],
  accepted: ["Recovery code accepted (it will not work again).", "good"],
  rejected: ["Recovery code refused (wrong, used, or locked).", "bad"],
};

function say(reason, extra = "") {
  const [text, tone] = MESSAGES[reason] ?? [reason, "info"];
  const m = $("message");
  m.textContent = text + extra;
  m.dataset.reason = reason;
  m.dataset.tone = tone;
}

async function refresh() {
  const s = await totp.status(user());
  $("status").textContent = s;
  $("status").dataset.status = s;
}

// An OtpError as a sentence for the page, by its stable code (not its message alone).
const ERRORS = {
  NOT_ENROLLED: () => "Not enrolled: enroll first.",
  ALREADY_ENROLLED: () => "Already enrolled.",
  INVALID_ARGUMENT: (e) => `Please check your input: the ${e.argument} ${e.reason}.`,
  RATE_LIMITED: (e) => `Too many attempts: try again in ${humanDuration(e.retryAfterMs ?? 0)}.`,
};

function fail(e) {
  if (e instanceof OtpError) {
    say(ERRORS[e.code]?.(e) ?? `Something went wrong (${e.code}).`);
    $("message").dataset.reason = e.code;
    $("message").dataset.tone = "bad";
  } else {
    say(String(e));
  }
}

// Another account: what was shown for the previous one goes.
function forgetShown() {
  $("qr-figure").hidden = true;
  $("qr").replaceChildren();
  $("codes").replaceChildren();
  say("");
}

$("enroll-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  try {
    const account = user();
    const e = await totp.enroll(account, { replace: true });
    if (account !== user()) return; // another account was typed meanwhile
    const qr = qrcode(0, "M");
    qr.addData(e.uri);
    qr.make();
    $("qr").innerHTML = qr.createSvgTag({ cellSize: 6, margin: 4, scalable: false });
    $("qr").dataset.uri = e.uri;
    $("seed").textContent = e.secret.replace(/(.{4})/g, "$1 ").trim();
    $("uri").textContent = e.uri;
    $("qr-figure").hidden = false;
    $("codes").replaceChildren();
    say("Enrolled (pending): scan the QR code, then enter the first code.");
    $("message").dataset.reason = "enrolled";
    await refresh();
  } catch (e) {
    fail(e);
  }
});

$("verify-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  try {
    const v = await totp.check(user(), $("code").value);
    say(v.reason, v.reason === "locked" ? ` Try again in ${humanDuration(v.retryAfterMs)}.` : "");
    await refresh();
  } catch (e) {
    fail(e);
  }
});

$("new-codes").addEventListener("click", async () => {
  try {
    const codes = await totp.newRecoveryCodes(user());
    $("codes").replaceChildren(...codes.map((c) => Object.assign(document.createElement("li"), { textContent: c })));
    say("A new set of recovery codes: the previous set no longer works.");
    $("message").dataset.reason = "codes";
  } catch (e) {
    fail(e);
  }
});

$("recovery-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  try {
    say((await totp.useRecoveryCode(user(), $("recovery").value)) ? "accepted" : "rejected");
  } catch (e) {
    fail(e);
  }
});

$("disable").addEventListener("click", async () => {
  try {
    const had = await totp.disable(user());
    forgetShown();
    say(had ? "Disabled: the enrollment was deleted." : "Nothing to disable.");
    $("message").dataset.reason = "disabled";
    await refresh();
  } catch (e) {
    fail(e);
  }
});

$("user").addEventListener("change", () => {
  forgetShown();
  refresh();
});
document.documentElement.dataset.ready = "1";
refresh();
