#!/usr/bin/env bash
# PaddleOCR cls/det as a job takes them (preparation, calibration, static INT8), side by side with fp32
# (results: docs/benchmarks.md). Fetches the models and renders the data if needed. Needs libs/onnx, libs/quant-core
# and libs/runtime installed in the local Maven repository (mvn -q -DskipTests install).
#   bench/run-paddleocr.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
models="$(fixtures/paddleocr/fetch.sh | tail -n 1)"
data="$(fixtures/paddleocr/render.sh | tail -n 1)"
mvn -q -pl bench compile dependency:build-classpath -Dmdep.outputFile=target/classpath-paddleocr.txt
exec "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -Xmx6g \
  -cp "bench/target/classes:$(cat bench/target/classpath-paddleocr.txt)" dev.quantflow.bench.PaddleOcrBench "$models" "$data"
