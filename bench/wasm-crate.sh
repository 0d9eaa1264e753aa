#!/usr/bin/env bash
# Builds one of the bench's measurement crates (bench/<crate>/, a cdylib named
# edge_otp_<crate with _>) into bench/<crate>/pkg/ the way .ci/build builds the package:
# cargo (the same release profile), wasm-bindgen --target web, then the same wasm-opt
# pass, so that sizes and speeds compare like for like. Keeps the .wasm from before
# wasm-opt beside it (<name>_bg.no-opt.wasm).
#   bash bench/wasm-crate.sh futures-driver
set -euo pipefail
crate=$1
name=edge_otp_${crate//-/_}
cd "$(dirname "$0")/$crate"
root=../..
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/$root/target/$crate}"

cargo build --quiet --release --target wasm32-unknown-unknown
rm -rf pkg
wasm-bindgen --target web --out-dir pkg --out-name "$name" \
  "$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/$name.wasm"
cp "pkg/${name}_bg.wasm" "pkg/${name}_bg.no-opt.wasm"
features=(--enable-bulk-memory --enable-reference-types --enable-nontrapping-float-to-int
  --enable-sign-ext --enable-multivalue --enable-mutable-globals)
"$root/node_modules/.bin/wasm-opt" -Oz --converge -ocimfs=100 --strip-debug --strip-producers "${features[@]}" \
  "pkg/${name}_bg.wasm" -o "pkg/${name}_bg.wasm"
echo "built bench/$crate/pkg/: $(wc -c < "pkg/${name}_bg.wasm") bytes of wasm" \
  "($(wc -c < "pkg/${name}_bg.no-opt.wasm") before wasm-opt)"
