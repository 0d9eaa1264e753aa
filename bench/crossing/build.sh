#!/usr/bin/env bash
# Builds the crossing measurement crate into bench/crossing/pkg/ (see
# bench/wasm-crate.sh). Runnable from anywhere: bash bench/crossing/build.sh
exec bash "$(dirname "$0")/../wasm-crate.sh" crossing
