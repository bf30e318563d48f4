#!/usr/bin/env bash
# QAT benchmark on the Fashion-MNIST CNN fixture: fine-tuning steps/s of the Java engine (libs/qat) vs PyTorch eager
# QAT (bench/qat/torch_qat.py), same recipe, data, batch size and thread count (1), interleaved in one run; then
# the accuracy run (fp32 / PTQ / QAT top-1 and the exported QDQ model in ONNX Runtime).
# Usage: bench/run-qat.sh [--throughput-only] [steps (60)] [batch (64)] [bits (4)] [accuracy steps (300)]
# Needs: /usr/bin/python3 with torch; libs/onnx, libs/quant-core, libs/runtime in the local Maven repository.
# The Java bench main lives in libs/qat's test sources (QatFashionBench) until bench/ depends on quantflow-qat.
set -euo pipefail
cd "$(dirname "$0")/.."
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
THROUGHPUT_ONLY=false
if [[ "${1:-}" == "--throughput-only" ]]; then THROUGHPUT_ONLY=true; shift; fi
STEPS="${1:-60}"
BATCH="${2:-64}"
BITS="${3:-4}"
ACC_STEPS="${4:-300}"
mvn -q -o -f libs/qat/pom.xml test-compile
mvn -q -o -f libs/qat/pom.xml dependency:build-classpath -Dmdep.outputFile=target/cp.txt -Dmdep.includeScope=test
CP="libs/qat/target/classes:libs/qat/target/test-classes:$(cat libs/qat/target/cp.txt)"
JAVA=("$JAVA_HOME/bin/java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -cp "$CP")
MAIN=dev.quantflow.qat.QatFashionBench

# Each prints its result line on stderr (for the log) and the steps/s on stdout.
java_sps() {
  local line
  line=$("${JAVA[@]}" "$MAIN" steps="$STEPS" batch="$BATCH" bits="$BITS" throughputOnly=true 2>/dev/null)
  echo "$line" >&2
  sed -n 's/.*steps_per_s=\([0-9.]*\).*/\1/p' <<<"$line"
}
torch_sps() {
  local line
  line=$(/usr/bin/python3 bench/qat/torch_qat.py --steps "$STEPS" --batch "$BATCH" --bits "$BITS" --threads 1 \
    --throughput-only)
  echo "$line" >&2
  sed -n 's/.*steps_per_s=\([0-9.]*\).*/\1/p' <<<"$line"
}

echo "== throughput: W${BITS}A8 per-tensor LSQ, batch $BATCH, $STEPS timed steps after 10 warm-up steps, 1 thread" >&2
J1=$(java_sps); T1=$(torch_sps); J2=$(java_sps); T2=$(torch_sps)
python3 - "$J1" "$J2" "$T1" "$T2" <<'PY'
import sys
j1, j2, t1, t2 = map(float, sys.argv[1:])
j, t = max(j1, j2), max(t1, t2)
print(f"java  steps/s: {j1:.3f}, {j2:.3f} (best {j:.3f})")
print(f"torch steps/s: {t1:.3f}, {t2:.3f} (best {t:.3f})")
print(f"java / torch = {j / t:.2f}  (torch is {t / j:.2f}x java)")
PY
if [[ "$THROUGHPUT_ONLY" == true ]]; then exit 0; fi
echo "== accuracy: W${BITS}A8 per-tensor, $ACC_STEPS steps" >&2
"${JAVA[@]}" "$MAIN" steps="$ACC_STEPS" batch="$BATCH" bits="$BITS" 2>/dev/null
/usr/bin/python3 bench/qat/torch_qat.py --steps "$ACC_STEPS" --batch "$BATCH" --bits "$BITS" --threads 1
