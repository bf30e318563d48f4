#!/usr/bin/env bash
# 4-bit weight-only quantization of the tiny GPT fixture: fp32 vs RTN vs GPTQ vs AWQ in one process — held-out
# perplexity, size, batch-1 greedy decode tokens/s (one ONNX Runtime thread). Results: docs/benchmarks.md,
# "4-bit LLM weight-only quantization".
# Usage: bench/run-llm-4bit.sh [--bits N] [--block N] [--out DIR] [--json FILE]
# Needs libs/onnx, libs/quant-core and libs/runtime installed in the local Maven repository (./quantflow builds them).
set -euo pipefail
cd "$(dirname "$0")/.."
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
mvn -q -pl bench compile dependency:build-classpath -Dmdep.outputFile=target/classpath.txt
exec "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -Xss16m -Xmx4g \
  -cp "bench/target/classes:$(cat bench/target/classpath.txt)" dev.quantflow.bench.LlmFourBitBench "$@"
