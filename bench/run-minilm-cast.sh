#!/usr/bin/env bash
# FP16 and BF16 on all-MiniLM-L6-v2: fp32 vs CastQuantizer's FP16 / BF16 (and two FP16 block-list variants), one
# process, one thread, batch 1: file size, latency, cosine of sentence embeddings to fp32
# (results: docs/benchmarks.md, "FP16 / BF16 on all-MiniLM-L6-v2").
# Usage: bench/run-minilm-cast.sh [--out DIR]   (--out writes the converted models to DIR)
# Needs libs/onnx and libs/quant-core installed in the local Maven repository; sentences from
# fixtures/text/sentences.txt when present.
set -euo pipefail
cd "$(dirname "$0")/.."
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
mvn -q -pl bench compile dependency:build-classpath -Dmdep.outputFile=target/classpath-cast.txt
exec "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -Xmx4g \
  -cp "bench/target/classes:$(cat bench/target/classpath-cast.txt)" dev.quantflow.bench.MiniLmCastBench "$@"
