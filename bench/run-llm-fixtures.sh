#!/usr/bin/env bash
# Issue 16: 4-bit weight-only RTN vs GPTQ vs AWQ (block 128) on every causal-LM fixture (fixtures/gpt, gpt-tied,
# gpt-deep), held-out perplexity, one table with the CPU model and ISA flags. Exits 1 if GPTQ > 0.3x or AWQ > 0.4x
# of RTN's perplexity increase on a fixture. Results: docs/benchmarks.md, "4-bit LLM quantization on three fixtures".
# Usage: bench/run-llm-fixtures.sh [--fixtures gpt,gpt-tied,gpt-deep] [--bits 4] [--block 128]
# Builds bench and the libraries it needs through the reactor (no install). Main class: dev.quantflow.bench.LlmFixturesBench
set -euo pipefail
cd "$(dirname "$0")/.."
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
mvn -q -B -ntp -o -pl bench -am compile -DskipTests
mvn -q -B -ntp -o -pl bench dependency:build-classpath -Dmdep.outputFile=target/classpath.txt >/dev/null
cp=""
for m in libs/onnx libs/quant-core libs/runtime libs/contracts; do cp="$cp:$m/target/classes"; done
exec nice -n 10 "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -Xss16m -Xmx4g \
  -cp "bench/target/classes$cp:$(cat bench/target/classpath.txt)" dev.quantflow.bench.LlmFixturesBench "$@"
