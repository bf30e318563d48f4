#!/usr/bin/env bash
# Issue 4 probe: 4-bit com.microsoft.MatMulNBits (block 32/16, accuracy_level 4/0) against the int8 dynamic GEMM
# (com.microsoft.DynamicQuantizeMatMul) and fp32 at all-MiniLM-L6-v2's projection shapes, one thread, interleaved
# medians (dev.quantflow.bench.MiniLmNBitsProbe).
# Usage: bench/run-minilm-nbits.sh [TOKENS]   (rows of the activation, default 35 = mean sentence length)
set -euo pipefail
cd "$(dirname "$0")/.."
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
mvn -q -o -pl bench compile dependency:build-classpath -Dmdep.outputFile=target/classpath.txt
exec "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -Xmx2g \
  -cp "bench/target/classes:$(cat bench/target/classpath.txt)" dev.quantflow.bench.MiniLmNBitsProbe "$@"
