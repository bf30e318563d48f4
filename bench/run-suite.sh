#!/usr/bin/env bash
# ./quantflow bench [--quick] [--no-docs] [--only ROW,ROW] [--doc FILE]: issue 15's outcome rows, each with its peer
# in the same run, one intra-op thread (dev.quantflow.bench.BenchSuite); prints the table with the CPU model, ISA flags,
# ONNX Runtime version and thread count, and rewrites the 'outcomes' region of docs/benchmarks.md.
# Rows: fashion mobilenet minilm bge gpt4 gptq calibmem pipeline. PyTorch peers need /usr/bin/python3 with torch.
# Builds bench/ and the libs it uses from this checkout (nothing is installed into the local Maven repository).
set -euo pipefail
cd "$(dirname "$0")/.."
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
build=(-q -B -ntp -pl bench -am compile dependency:build-classpath -Dmdep.outputFile=target/classpath.txt
  -Dmdep.includeScope=runtime)
# offline first (fast, no network); online once when a bench dependency is not in the local repository yet
mvn -o "${build[@]}" >/dev/null 2>&1 || mvn "${build[@]}"
exec "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -Xss16m -Xmx4g \
  -cp "bench/target/classes:$(cat bench/target/classpath.txt)" dev.quantflow.bench.BenchSuite "$@"
