#!/usr/bin/python3
"""torch.ao dynamic INT8 on the weights of fixtures/lstm/model.onnx, side by side with quantflow's numbers.

Loads the ONNX initializers into Embedding → torch.nn.LSTM → Linear (ONNX gate order i,o,f,c → torch i,f,g,o;
ONNX B = [Wb | Rb]), checks fp32 top-1 on fixtures/lstm/eval.npz, then applies
torch.ao.quantization.quantize_dynamic({nn.LSTM, nn.Linear}, qint8) (the default dynamic qconfig of the
installed engine: per-tensor weights; embeddings stay fp32, as quantize_dynamic leaves them) and prints both top-1s.
Also quantizes the embedding as well (float_qparams per-row, torch's embedding scheme) as an extra row.

Usage: /usr/bin/python3 bench/reference/lstm_torch_ao.py [--json OUT]   (Debian python3-torch 1.13, python3-onnx)
"""
import json
import os
import sys

os.environ.setdefault("OPENBLAS_CORETYPE", "SKYLAKEX")

import numpy as np
import onnx
import torch
import torch.nn as nn
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE = os.path.join(HERE, "..", "..", "fixtures", "lstm")


class VerseLstm(nn.Module):
    def __init__(self, vocab, embed, hidden, classes):
        super().__init__()
        self.embedding = nn.Embedding(vocab, embed, padding_idx=0)
        self.lstm = nn.LSTM(embed, hidden, batch_first=True)
        self.classifier = nn.Linear(hidden, classes)

    def forward(self, input_ids):
        out, _ = self.lstm(self.embedding(input_ids))
        return self.classifier(out[:, -1, :])


def load_from_onnx(path):
    m = onnx.load(path)
    init = {i.name: numpy_helper.to_array(i).copy() for i in m.graph.initializer}
    lstm = next(n for n in m.graph.node if n.op_type == "LSTM")
    gather = next(n for n in m.graph.node if n.op_type == "Gather" and n.input[0] in init)
    gemm = next(n for n in m.graph.node if n.op_type == "Gemm")
    w, r, b = init[lstm.input[1]][0], init[lstm.input[2]][0], init[lstm.input[3]][0]
    hidden = r.shape[1]
    emb = init[gather.input[0]]
    cw, cb = init[gemm.input[1]], init[gemm.input[2]]
    model = VerseLstm(emb.shape[0], emb.shape[1], hidden, cw.shape[0])

    def reorder(t):  # ONNX gates i,o,f,c → torch i,f,g(c),o along axis 0
        i, o, f, c = np.split(t, 4, axis=0)
        return np.concatenate([i, f, c, o], axis=0)

    with torch.no_grad():
        model.embedding.weight.copy_(torch.from_numpy(emb))
        model.lstm.weight_ih_l0.copy_(torch.from_numpy(reorder(w)))
        model.lstm.weight_hh_l0.copy_(torch.from_numpy(reorder(r)))
        model.lstm.bias_ih_l0.copy_(torch.from_numpy(reorder(b[:4 * hidden])))
        model.lstm.bias_hh_l0.copy_(torch.from_numpy(reorder(b[4 * hidden:])))
        model.classifier.weight.copy_(torch.from_numpy(cw))
        model.classifier.bias.copy_(torch.from_numpy(cb))
    return model.eval()


def top1(model, x, y):
    with torch.no_grad():
        pred = torch.cat([model(x[i:i + 512]).argmax(1) for i in range(0, len(x), 512)])
    return (pred == y).float().mean().item(), pred


def main():
    torch.set_num_threads(1)
    data = np.load(os.path.join(FIXTURE, "eval.npz"))
    x, y = torch.from_numpy(data["input_ids"]), torch.from_numpy(data["labels"])
    fp32 = load_from_onnx(os.path.join(FIXTURE, "model.onnx"))
    acc_fp32, p_fp32 = top1(fp32, x, y)
    q = torch.ao.quantization.quantize_dynamic(load_from_onnx(os.path.join(FIXTURE, "model.onnx")),
                                               {nn.LSTM, nn.Linear}, dtype=torch.qint8)
    acc_q, p_q = top1(q, x, y)
    # Embedding too: torch's weight-only embedding scheme (per-row float qparams, quint8).
    qe = load_from_onnx(os.path.join(FIXTURE, "model.onnx"))
    qe.embedding.qconfig = torch.ao.quantization.float_qparams_weight_only_qconfig
    qe = torch.ao.quantization.quantize_dynamic(qe, {nn.LSTM: torch.ao.quantization.default_dynamic_qconfig,
                                                     nn.Linear: torch.ao.quantization.default_dynamic_qconfig,
                                                     nn.Embedding: torch.ao.quantization.float_qparams_weight_only_qconfig},
                                                dtype=torch.qint8)
    acc_qe, p_qe = top1(qe, x, y)
    res = {
        "torch": torch.__version__, "engine": torch.backends.quantized.engine, "samples": len(y),
        "fp32_top1": acc_fp32, "int8_top1": acc_q, "drop_points": 100 * (acc_fp32 - acc_q),
        "int8_with_embedding_top1": acc_qe, "drop_with_embedding_points": 100 * (acc_fp32 - acc_qe),
        "predictions_changed": int((p_fp32 != p_q).sum()),
        "predictions_changed_with_embedding": int((p_fp32 != p_qe).sum()),
    }
    print(f"torch {res['torch']} engine {res['engine']}, {len(y)} eval verses")
    print(f"  fp32                                  top-1 {100 * acc_fp32:.2f}%")
    print(f"  torch.ao dynamic qint8 (LSTM, Linear) top-1 {100 * acc_q:.2f}%  drop {res['drop_points']:+.2f} points"
          f"  ({res['predictions_changed']} predictions changed)")
    print(f"  ... + embedding (per-row quint8)      top-1 {100 * acc_qe:.2f}%  drop "
          f"{res['drop_with_embedding_points']:+.2f} points  ({res['predictions_changed_with_embedding']} predictions changed)")
    if "--json" in sys.argv:
        with open(sys.argv[sys.argv.index("--json") + 1], "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
