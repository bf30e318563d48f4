#!/usr/bin/env bash
# Static INT8 benchmark on the Fashion-MNIST CNN fixture (results: docs/benchmarks.md).
# Usage: bench/run-static-int8.sh [--profile] [fixture-dir (fixtures/fashion-cnn)] [reference-dir (bench/reference)]
# Needs libs/onnx, libs/quant-core and libs/runtime installed in the local Maven repository.
set -euo pipefail
cd "$(dirname "$0")/.."
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
export MAVEN_OPTS="${MAVEN_OPTS:-} --enable-native-access=ALL-UNNAMED"
mvn -q -pl bench compile
mvn -q -pl bench org.codehaus.mojo:exec-maven-plugin:3.5.0:java -Dexec.args="$*"
