#!/usr/bin/env bash
# Dynamic INT8 on all-MiniLM-L6-v2: fp32 vs ONNX Runtime's quantize_dynamic output vs quantflow's DynamicQuantizer,
# one process, one thread, batch 1 (results: docs/benchmarks.md, "Dynamic INT8 on all-MiniLM-L6-v2").
# Usage: bench/run-minilm-dynamic.sh [--candidates] [--out DIR]
#   --candidates  also measure the other graph forms (ORT contrib ops, QDQ) and recipe switches
#   --out DIR     write the quantized models to DIR
# Needs libs/onnx and libs/quant-core installed in the local Maven repository; sentences from
# fixtures/text/sentences.txt when present.
set -euo pipefail
cd "$(dirname "$0")/.."
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
mvn -q -pl bench compile dependency:build-classpath -Dmdep.outputFile=target/classpath.txt
exec "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -Xmx4g \
  -cp "bench/target/classes:$(cat bench/target/classpath.txt)" dev.quantflow.bench.MiniLmDynamicBench "$@"
