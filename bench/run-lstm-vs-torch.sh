#!/usr/bin/env bash
# LSTM fixture, dynamic INT8: torch.ao quantize_dynamic (Debian python3-torch) vs quantflow's DynamicQuantizer on the
# same weights (fixtures/lstm/model.onnx), top-1 and changed predictions on the 3182 eval verses
# (results: docs/benchmarks.md, "LSTM dynamic INT8 vs torch.ao").
# Usage: bench/run-lstm-vs-torch.sh   (needs /usr/bin/python3 with torch and onnx; Maven offline repo)
set -euo pipefail
cd "$(dirname "$0")/.."
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
if /usr/bin/python3 -c 'import torch, onnx' 2>/dev/null; then
  /usr/bin/python3 bench/reference/lstm_torch_ao.py --json bench/reference/lstm-torch-results.json 2>&1 | grep -v Warning
else
  echo "torch/onnx not installed for /usr/bin/python3: torch.ao side skipped (recorded: bench/reference/lstm-torch-results.json)"
fi
mvn -q -B -ntp -o test -pl libs/runtime -am -Dtest='LstmDynamicQuantizationTest' -Dsurefire.failIfNoSpecifiedTests=false \
  2>&1 | grep -E 'lstm dynamic|Tests run|FAIL|ERROR'
