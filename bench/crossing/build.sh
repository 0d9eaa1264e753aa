#!/usr/bin/env bash
# Builds the crossing measurement crate into bench/crossing/pkg/ the way
# .ci/build builds the package: cargo (same release profile), wasm-bindgen --target web,
# then the same wasm-opt pass, so sizes and speeds compare like for like.
# Runnable from anywhere: bash bench/crossing/build.sh
set -euo pipefail
cd "$(dirname "$0")"
root=../..
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/$root/target/crossing}"

cargo build --quiet --release --target wasm32-unknown-unknown
rm -rf pkg
wasm-bindgen --target web --out-dir pkg --out-name edge_otp_crossing \
  "$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/edge_otp_crossing.wasm"
cp pkg/edge_otp_crossing_bg.wasm pkg/edge_otp_crossing_bg.no-opt.wasm
features=(--enable-bulk-memory --enable-reference-types --enable-nontrapping-float-to-int
  --enable-sign-ext --enable-multivalue --enable-mutable-globals)
"$root/node_modules/.bin/wasm-opt" -Oz --strip-debug --strip-producers "${features[@]}" \
  pkg/edge_otp_crossing_bg.wasm -o pkg/edge_otp_crossing_bg.wasm
echo "built bench/crossing/pkg/: $(wc -c < pkg/edge_otp_crossing_bg.wasm) bytes of wasm" \
  "($(wc -c < pkg/edge_otp_crossing_bg.no-opt.wasm) before wasm-opt)"
