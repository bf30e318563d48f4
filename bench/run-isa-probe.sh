#!/usr/bin/env bash
# Issue 15 probe: ONNX Runtime's CPU kernels for each int8 / bf16 / fp16 graph form of one GEMM on this CPU
# (dev.quantflow.bench.IsaKernelProbe): fp32, QDQ u8/s8 → QLinearMatMul, MatMulInteger u8·s8 / s8·s8 / u8·u8,
# DynamicQuantizeMatMul, bf16 and fp16 MatMul; one thread, interleaved medians minus the JNI call.
# Usage: bench/run-isa-probe.sh [ROUNDS (10)]
set -euo pipefail
cd "$(dirname "$0")/.."
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
mvn -q -o -pl bench -am compile dependency:build-classpath -Dmdep.outputFile=target/classpath.txt -Dmdep.includeScope=runtime
exec "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -Xmx2g \
  -cp "bench/target/classes:$(cat bench/target/classpath.txt)" dev.quantflow.bench.IsaKernelProbe "$@"
