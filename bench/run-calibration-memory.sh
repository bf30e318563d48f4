#!/usr/bin/env bash
# Peak memory of a calibration run with N and 10×N samples, each in a fresh JVM (results: docs/benchmarks.md,
# "Calibration memory").
# Usage: bench/run-calibration-memory.sh [fixture-dir (fixtures/fashion-cnn)] [N (512)] [calibrators (minmax,entropy)]
# Needs libs/onnx, libs/quant-core and libs/runtime installed in the local Maven repository. Generated data goes to
# bench/target/calibration-memory/ (N × 3 KiB and 10·N × 3 KiB, uncompressed).
set -euo pipefail
cd "$(dirname "$0")/.."
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
export PATH="$JAVA_HOME/bin:$PATH"
mvn -q -pl bench compile
# exec:exec (not exec:java): the bench starts child JVMs and needs a plain java process with the project classpath.
mvn -q -pl bench org.codehaus.mojo:exec-maven-plugin:3.5.0:exec -Dexec.executable="$JAVA_HOME/bin/java" \
  -Dexec.args="--enable-native-access=ALL-UNNAMED -cp %classpath dev.quantflow.bench.CalibrationMemoryBench $*"
