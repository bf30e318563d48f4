#!/usr/bin/env bash
# Static INT8 benchmark on the Fashion-MNIST CNN fixture (results: docs/benchmarks.md).
# Usage: bench/run-static-int8.sh [--profile | --isa] [fixture-dir (fixtures/fashion-cnn)] [reference-dir (bench/reference)]
#   --isa      the CPU-dependent recipe choices on this CPU: 7-bit vs 8-bit weights, u8 vs s8 activations (and fp32),
#              batch 256, 1 thread, latency and top-1 in one run, with the CPU model, flags and ONNX Runtime version
#   --profile  ONNX Runtime's per-node profile of fp32 and the INT8 models
# Builds bench/ and the libs it uses from this checkout (nothing needs to be installed in the local Maven repository).
set -euo pipefail
cd "$(dirname "$0")/.."
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
mvn -q -o -pl bench -am compile dependency:build-classpath -Dmdep.outputFile=target/classpath.txt -Dmdep.includeScope=runtime
exec "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -cp "bench/target/classes:$(cat bench/target/classpath.txt)" \
  dev.quantflow.bench.StaticInt8Bench "$@"
