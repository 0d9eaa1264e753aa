// edge-otp for Node.js via require(): the ES module itself (Node >= 20.19 requires ES
// modules without a flag), so that require and import share one instance and one OtpError.
module.exports = require("./dist/node.mjs");
