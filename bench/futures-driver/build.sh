#!/usr/bin/env bash
# Builds the futures-driver measurement crate into bench/futures-driver/pkg/ the way
# .ci/build builds the package: cargo (same release profile), wasm-bindgen --target web,
# then the same wasm-opt pass, so sizes and speeds compare like for like.
# Runnable from anywhere: bash bench/futures-driver/build.sh
set -euo pipefail
cd "$(dirname "$0")"
root=../..
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/$root/target/futures-driver}"

cargo build --quiet --release --target wasm32-unknown-unknown
rm -rf pkg
wasm-bindgen --target web --out-dir pkg --out-name edge_otp_futures_driver \
  "$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/edge_otp_futures_driver.wasm"
cp pkg/edge_otp_futures_driver_bg.wasm pkg/edge_otp_futures_driver_bg.no-opt.wasm
features=(--enable-bulk-memory --enable-reference-types --enable-nontrapping-float-to-int
  --enable-sign-ext --enable-multivalue --enable-mutable-globals)
"$root/node_modules/.bin/wasm-opt" -Oz --strip-debug --strip-producers "${features[@]}" \
  pkg/edge_otp_futures_driver_bg.wasm -o pkg/edge_otp_futures_driver_bg.wasm
# For the size comparison only: the edge-otp dependency also exports the package's
# synchronous `Engine` on wasm32 (src/wasm/), which this crate cannot leave out. This copy
# drops those exports and everything only they reach, so it holds the futures driver and
# the core alone. It is not loadable through the glue (which still names them).
for pattern in 'engine_*' '__wbg_engine_*'; do
  "$root/node_modules/.bin/wasm-opt" "${features[@]}" --remove-exports \
    --pass-arg="remove-exports@$pattern" "${src:-pkg/edge_otp_futures_driver_bg.wasm}" -o pkg/async-only.tmp.wasm
  src=pkg/async-only.tmp.wasm
done
"$root/node_modules/.bin/wasm-opt" -Oz --strip-debug --strip-producers "${features[@]}" \
  pkg/async-only.tmp.wasm -o pkg/edge_otp_futures_driver_bg.async-only.wasm
rm pkg/async-only.tmp.wasm
echo "built bench/futures-driver/pkg/: $(wc -c < pkg/edge_otp_futures_driver_bg.wasm) bytes of wasm" \
  "($(wc -c < pkg/edge_otp_futures_driver_bg.no-opt.wasm) before wasm-opt)"
