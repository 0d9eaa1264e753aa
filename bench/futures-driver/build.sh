#!/usr/bin/env bash
# Builds the futures-driver measurement crate into bench/futures-driver/pkg/ (see
# bench/wasm-crate.sh). Runnable from anywhere: bash bench/futures-driver/build.sh
exec bash "$(dirname "$0")/../wasm-crate.sh" futures-driver
