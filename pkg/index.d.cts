// Types of `require("edge-otp")` (Node >= 20.19 requires the ES module itself): the same
// declarations as index.d.ts, for CommonJS consumers under `module: node16`.
declare const edgeOtp: typeof import("./index.js", { with: { "resolution-mode": "import" } });
export = edgeOtp;
