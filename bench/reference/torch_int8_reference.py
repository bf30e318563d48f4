#!/usr/bin/python3
"""PyTorch int8 reference numbers for the fashion-cnn fixture.

    /usr/bin/python3 bench/reference/torch_int8_reference.py

Needs fixtures/fashion-cnn/{calib,eval}.npz and bench/reference/fashion-cnn.pt,
all produced by fixtures/fashion-cnn/train.py.

Does:
  (a) eager-mode static post-training quantization (QuantStub/DeQuantStub,
      conv+relu and linear+relu fused, default qconfig of the engine,
      calibrated on calib.npz) with the 'onednn' quantized engine when
      available;
  (b) times PyTorch fp32 and int8 inference at batch 256 and batch 1 with
      torch.set_num_threads(1) (warm-up excluded, median of many runs);
  (c) exports the quantized model to ONNX (fashion-cnn-torch-int8.onnx, QDQ
      form; the fused Linear+ReLU is split back into Linear + ReLU for the
      export because torch 1.13 cannot export quantized::linear_relu), checks
      it with onnx.checker, records which ops it contains, and evaluates it
      with the NumPy interpreter in fixtures/fashion-cnn/onnx_numpy_eval.py;
  (d) writes everything to torch-results.json.
"""
import os

os.environ.setdefault("OPENBLAS_CORETYPE", "SKYLAKEX")

import importlib.util
import json
import platform
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.ao.quantization as tq

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
FIXTURE = os.path.join(REPO, "fixtures", "fashion-cnn")
STATE_DICT = os.path.join(HERE, "fashion-cnn.pt")
ONNX_OUT = os.path.join(HERE, "fashion-cnn-torch-int8.onnx")
JSON_OUT = os.path.join(HERE, "torch-results.json")
SEED = 20240601

QCONFIG_USED = None
WARMUP = {256: 5, 1: 50}
RUNS = {256: 40, 1: 400}


def _load_fixture_module(name):
    spec = importlib.util.spec_from_file_location(
        name, os.path.join(FIXTURE, name + ".py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


train_mod = _load_fixture_module("train")  # shares the architecture definition
FashionCNN = train_mod.FashionCNN


class QuantFashionCNN(FashionCNN):
    """Same layers/parameter names as FashionCNN, plus quant/dequant stubs."""

    def __init__(self):
        super().__init__()
        self.quant = tq.QuantStub()
        self.dequant = tq.DeQuantStub()

    def forward(self, x):
        return self.dequant(super().forward(self.quant(x)))


def pick_engine():
    engines = list(torch.backends.quantized.supported_engines)
    print("torch.backends.quantized.supported_engines:", engines)
    for e in ("onednn", "x86", "fbgemm", "qnnpack"):
        if e in engines:
            if e != "onednn":
                print("WARNING: 'onednn' not available, using %r" % e)
            return e, engines
    raise SystemExit("no quantized engine available: %r" % engines)


@torch.inference_mode()
def accuracy(model, x, y, batch=500):
    correct = 0
    for i in range(0, len(x), batch):
        pred = model(torch.from_numpy(x[i:i + batch])).argmax(1).numpy()
        correct += int((pred == y[i:i + batch]).sum())
    return correct / len(x)


@torch.inference_mode()
def time_model(model, x, batch):
    xb = torch.from_numpy(np.ascontiguousarray(x[:batch]))
    for _ in range(WARMUP[batch]):
        model(xb)
    times = []
    for _ in range(RUNS[batch]):
        t0 = time.perf_counter()
        model(xb)
        times.append(time.perf_counter() - t0)
    return {"median_ms": statistics.median(times) * 1e3,
            "min_ms": min(times) * 1e3,
            "runs": len(times), "warmup": WARMUP[batch]}


def quantize(state_dict, calib, engine):
    torch.backends.quantized.engine = engine
    m = QuantFashionCNN()
    m.load_state_dict(state_dict)
    m.eval()
    m = tq.fuse_modules(m, [["conv1", "relu1"], ["conv2", "relu2"],
                            ["fc1", "relu3"]])
    m.qconfig = tq.get_default_qconfig(engine)
    global QCONFIG_USED
    QCONFIG_USED = str(m.qconfig)
    print("qconfig:", m.qconfig)
    tq.prepare(m, inplace=True)
    with torch.inference_mode():
        for i in range(0, len(calib), 128):
            m(torch.from_numpy(calib[i:i + 128]))
    tq.convert(m, inplace=True)
    return m


def unfuse_linear_relu_for_export(qmodel):
    """Copy of the converted model with each fused quantized LinearReLU
    replaced by quantized Linear + ReLU.

    torch 1.13 has no ONNX symbolic for quantized::linear_relu. Registering
    one with torch.onnx.register_custom_op_symbolic does not work either: the
    exporter's packed-weight unpacking only rewrites quantized::linear/conv*,
    so the custom symbolic is handed the opaque packed-params object instead
    of (weight, bias). The replacement keeps the same int8 weights, bias and
    output scale/zero point; ReLU on a quantized tensor is max(q, zero_point)
    in that same domain, which is what the fused kernel does when it
    requantizes. The caller checks the copy gives bit-identical outputs."""
    import copy
    try:
        import torch.ao.nn.intrinsic.quantized as nniq
        import torch.ao.nn.quantized as nnq
    except ImportError:  # torch < 2.0
        import torch.nn.intrinsic.quantized as nniq
        import torch.nn.quantized as nnq
    m = copy.deepcopy(qmodel)
    for name, relu_name in (("fc1", "relu3"),):
        mod = getattr(m, name)
        if not isinstance(mod, nniq.LinearReLU):
            continue
        lin = nnq.Linear(mod.in_features, mod.out_features, dtype=torch.qint8)
        lin.set_weight_bias(mod.weight(), mod.bias())
        lin.scale, lin.zero_point = float(mod.scale), int(mod.zero_point)
        setattr(m, name, lin)
        setattr(m, relu_name, nn.ReLU())  # fusion had turned it into Identity
    return m


def _check_standard_onnx(m):
    """Reject graphs with non-standard ops (e.g. ONNX_FALLTHROUGH leftovers,
    which onnx.checker does not flag)."""
    import onnx
    bad = sorted({"%s::%s" % (n.domain, n.op_type) for n in m.graph.node
                  if n.domain not in ("", "ai.onnx")
                  or not onnx.defs.has(n.op_type)})
    if bad:
        raise RuntimeError("graph contains non-standard ONNX ops: %s" % bad)


def export_int8_onnx(qmodel, sample, x_check):
    """Try the plain export first, then the fallback. Returns (info, model)."""
    import onnx
    dyn = {"input": {0: "N"}, "logits": {0: "N"}}

    attempts = [
        ("torch.onnx.export opset13 of the converted model", lambda: qmodel),
        ("torch.onnx.export opset13 after unfusing quantized LinearReLU "
         "into Linear + ReLU (bit-identical outputs checked)",
         lambda: unfuse_linear_relu_for_export(qmodel)),
    ]
    errors = []
    for label, make in attempts:
        try:
            model = make()
            if model is not qmodel:
                with torch.inference_mode():
                    x = torch.from_numpy(x_check)
                    if not torch.equal(model(x), qmodel(x)):
                        raise RuntimeError("rewritten model differs")
            if os.path.exists(ONNX_OUT):
                os.remove(ONNX_OUT)
            torch.onnx.export(model, sample, ONNX_OUT, input_names=["input"],
                              output_names=["logits"], opset_version=13,
                              do_constant_folding=True, dynamic_axes=dyn)
            m = onnx.load(ONNX_OUT)
            onnx.checker.check_model(m, full_check=True)
            _check_standard_onnx(m)
            ops = [n.op_type for n in m.graph.node]
            print("export OK via %s; ops: %s" % (label, ops))
            return {"ok": True, "method": label, "errors": errors,
                    "ops": ops}, m
        except Exception as e:  # record and try the next approach
            msg = "%s: %s: %s" % (label, type(e).__name__,
                                  str(e).splitlines()[0][:500])
            print("export FAILED:", msg)
            errors.append(msg)
    if os.path.exists(ONNX_OUT):
        os.remove(ONNX_OUT)
    return {"ok": False, "method": None, "errors": errors, "ops": []}, None


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()


def loaded_libraries(pattern):
    """Shared libraries matching `pattern` mapped into this process (Linux);
    tells which BLAS torch's fp32 Linear actually ran on."""
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if "/" in line}
    except OSError:
        return []
    return sorted(p for p in paths if pattern in os.path.basename(p).lower())


def bench_main(out_path, runs):
    """`--bench-json FILE [--runs N]`: the peer half of `./quantflow bench`'s Fashion-MNIST row. Same quantization,
    accuracy and timing code as main(), int8 at batch 256 only, no export, nothing written under bench/reference."""
    torch.manual_seed(SEED)
    engine, _ = pick_engine()
    with np.load(os.path.join(FIXTURE, "calib.npz")) as f:
        calib = f["input"]
    with np.load(os.path.join(FIXTURE, "eval.npz")) as f:
        x_eval, y_eval = f["input"], f["labels"]
    state_dict = torch.load(STATE_DICT)
    torch.set_num_threads(2)
    int8 = quantize(state_dict, calib, engine)
    int8_acc = accuracy(int8, x_eval, y_eval)
    torch.set_num_threads(1)
    RUNS[256] = runs
    t = time_model(int8, x_eval, 256)
    result = {"engine": engine, "torch_version": torch.__version__, "threads": 1,
              "int8_ms_b256": t["median_ms"], "int8_min_ms_b256": t["min_ms"], "runs": t["runs"],
              "int8_accuracy": int8_acc, "eval_images": int(len(y_eval))}
    with open(out_path, "w") as f:
        json.dump(result, f, indent=2)
    print("torch int8 b256: median %.3f ms over %d runs, top-1 %.4f" % (t["median_ms"], t["runs"], int8_acc))


def main():
    if "--bench-json" in sys.argv:
        args = sys.argv[1:]
        runs = int(args[args.index("--runs") + 1]) if "--runs" in args else 40
        bench_main(args[args.index("--bench-json") + 1], runs)
        return
    torch.manual_seed(SEED)
    engine, engines = pick_engine()

    with np.load(os.path.join(FIXTURE, "calib.npz")) as f:
        calib = f["input"]
    with np.load(os.path.join(FIXTURE, "eval.npz")) as f:
        x_eval, y_eval = f["input"], f["labels"]
    state_dict = torch.load(STATE_DICT)

    fp32 = FashionCNN()
    fp32.load_state_dict(state_dict)
    fp32.eval()

    # Calibration/convert with the training thread count; timing with 1.
    torch.set_num_threads(2)
    int8 = quantize(state_dict, calib, engine)
    print(int8)

    fp32_acc = accuracy(fp32, x_eval, y_eval)
    int8_acc = accuracy(int8, x_eval, y_eval)
    print("fp32 accuracy on eval.npz: %.4f" % fp32_acc)
    print("int8 accuracy on eval.npz: %.4f (engine %s)" % (int8_acc, engine))

    torch.set_num_threads(1)
    timings = {}
    for batch in (256, 1):
        for name, model in (("fp32", fp32), ("int8", int8)):
            t = time_model(model, x_eval, batch)
            timings["%s_b%d" % (name, batch)] = t
            print("%s batch %3d: median %.3f ms (min %.3f, %d runs)"
                  % (name, batch, t["median_ms"], t["min_ms"], t["runs"]),
                  flush=True)

    torch.set_num_threads(2)
    export, onnx_model = export_int8_onnx(int8, torch.from_numpy(x_eval[:1]),
                                          x_eval)

    onnx_check = None
    if onnx_model is not None:
        # Cross-check the exported graph with the NumPy interpreter.
        sys.path.insert(0, FIXTURE)
        try:
            import onnx_numpy_eval
            logits = onnx_numpy_eval.predict(onnx_model, x_eval)
            with torch.inference_mode():
                ref = int8(torch.from_numpy(x_eval)).numpy()
            onnx_check = {
                "onnx_int8_accuracy_numpy": float((logits.argmax(1) == y_eval).mean()),
                "argmax_agreement_with_torch_int8": float(
                    (logits.argmax(1) == ref.argmax(1)).mean()),
                "max_abs_logit_diff_vs_torch_int8": float(np.abs(logits - ref).max()),
            }
        except NotImplementedError as e:
            onnx_check = {"skipped": "NumPy interpreter: %s" % e}
        print("ONNX int8 cross-check:", onnx_check)

    results = {
        "engine": engine,
        "supported_engines": engines,
        "fp32_ms_b256": round(timings["fp32_b256"]["median_ms"], 4),
        "int8_ms_b256": round(timings["int8_b256"]["median_ms"], 4),
        "fp32_ms_b1": round(timings["fp32_b1"]["median_ms"], 4),
        "int8_ms_b1": round(timings["int8_b1"]["median_ms"], 4),
        "int8_accuracy": int8_acc,
        "fp32_accuracy": fp32_acc,
        "eval_images": int(len(y_eval)),
        "onnx_export_ok": export["ok"],
        "onnx_export_method": export["method"],
        "onnx_export_errors": export["errors"],
        "onnx_ops": sorted(set(export["ops"])),
        "onnx_node_ops": export["ops"],
        "onnx_file": os.path.basename(ONNX_OUT) if export["ok"] else None,
        "onnx_check": onnx_check,
        "torch_version": torch.__version__,
        "timing": {
            "threads": 1,
            "statistic": "median of runs, warm-up excluded (ms per batch)",
            "detail": timings,
            "cpu": cpu_model(),
            "load_average_at_end": list(os.getloadavg()),
            "blas_libraries_loaded": loaded_libraries("blas"),
            "dnnl_libraries_loaded": loaded_libraries("dnnl"),
            "note": "fp32 nn.Linear runs on whatever libblas.so.3 is "
                    "selected; with Debian's reference libblas3 it is slow, "
                    "which inflates fp32_ms_* (int8 uses oneDNN kernels).",
        },
        "qconfig": QCONFIG_USED,
        "fusion": ["conv1+relu1", "conv2+relu2", "fc1+relu3"],
        "calibration": "calib.npz, 512 images, batches of 128",
    }
    with open(JSON_OUT, "w") as f:
        json.dump(results, f, indent=2)
        f.write("\n")
    print("wrote", JSON_OUT)


if __name__ == "__main__":
    main()
