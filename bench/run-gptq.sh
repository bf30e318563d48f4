#!/usr/bin/env bash
# GPTQ: quantflow's Java GptqQuantizer vs a PyTorch transcription of the published algorithm
# (bench/gptq/gptq_reference.py) on the same layers and the same Hessians, one thread each, side by side in one run:
# time per layer (warm-up excluded) and layer reconstruction error tr((W-Q)^T H (W-Q)) / tr(W^T H W).
# Usage: bench/run-gptq.sh [--random | --model FILE --stats FILE] [--bits 4] [--group 128] [--sym] [--act-order]
#                          [--percdamp 0.01] [--rows 2048] [--work DIR] [--json FILE] [--python /usr/bin/python3]
# Needs libs/onnx, libs/runtime and libs/quant-core installed in the local Maven repository, and a Python with
# torch and numpy (default /usr/bin/python3).
set -euo pipefail
cd "$(dirname "$0")/.."
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
mvn -q -f bench/pom.xml compile dependency:build-classpath -Dmdep.outputFile=target/classpath.txt
# a private copy of the compiled classes: the run takes minutes and bench/target is shared with other builds
classes="$(mktemp -d)"
trap 'rm -rf "$classes"' EXIT
cp -r bench/target/classes/. "$classes"
"$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -Xss16m -Xmx4g \
  -cp "$classes:$(cat bench/target/classpath.txt)" dev.quantflow.bench.gptq.GptqBench "$@"
