#!/usr/bin/env bash
# SmoothQuant-style smoothing before quantflow's dynamic INT8 on all-MiniLM-L6-v2 (issue 4 probe):
# calibration on the first 100 sentences, cosine on all and on the held-out rest, size and latency vs the reference.
# Usage: bench/run-minilm-smoothquant.sh [--sweep] [--rounds N] [--only TEXT]
#   --rounds N   interleaved latency rounds of 10 sentences per variant (default 30)
#   --only TEXT  keep only the smoothing variants whose name contains TEXT
#   --sweep  accuracy only, for a grid of α and smoothed MatMul sets
# Needs libs/onnx and libs/quant-core installed in the local Maven repository.
set -euo pipefail
cd "$(dirname "$0")/.."
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
mvn -q -o -pl bench compile dependency:build-classpath -Dmdep.outputFile=target/classpath.txt
exec "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -Xmx4g -Xss16m \
  -cp "bench/target/classes:$(cat bench/target/classpath.txt)" dev.quantflow.bench.MiniLmSmoothQuantProbe "$@"
