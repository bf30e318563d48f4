#!/usr/bin/env bash
# BN kept vs BN folded at export: the Fashion-MNIST CNN of fixtures/legacy through preparation + static INT8, side by
# side (results: docs/benchmarks.md). Needs libs/onnx, libs/quant-core and libs/runtime installed in the local Maven
# repository (mvn -q -DskipTests install) and fixtures/legacy/cnn_bn_folded_opset13.onnx (export_legacy.py).
set -euo pipefail
cd "$(dirname "$0")/.."
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
mvn -q -pl bench compile dependency:build-classpath -Dmdep.outputFile=target/classpath-bn-kept.txt
exec "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -Xmx2g \
  -cp "bench/target/classes:$(cat bench/target/classpath-bn-kept.txt)" dev.quantflow.bench.BnKeptBench "$@"
