"""Plain numpy forward pass of the imported BERT weights: the reference the f32 path must match.

Reads JSON lines {"ids": [content token ids, no <s>/</s>]} on stdin and writes one JSON array
(the L2-normalised embedding) per line. Long inputs are windowed as sufler documents: windows
of max_positions-2 content tokens, each run as <s> window </s>, mean-pooled, averaged with
weights = content tokens, normalised.

    python3 numpy_forward.py MODEL_DIR < ids.jsonl > embeddings.jsonl
"""
import json
import struct
import sys

import numpy as np


def load_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + n)
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", name
        start, end = info["data_offsets"]
        tensors[name.removeprefix("bert.")] = np.frombuffer(data[start:end], dtype="<f4").reshape(info["shape"])
    return tensors


def erf(x):
    # Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7); numpy itself has no erf.
    sign = np.sign(x)
    x = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * x)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return sign * (1.0 - poly * np.exp(-x * x))


def layer_norm(x, w, b, eps):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * w + b


def forward(W, cfg, ids):
    h, heads = cfg["hidden_size"], cfg["num_attention_heads"]
    d = h // heads
    eps = cfg["layer_norm_eps"]
    n = len(ids)
    x = W["embeddings.word_embeddings.weight"][ids] + W["embeddings.position_embeddings.weight"][:n]
    x = x + W["embeddings.token_type_embeddings.weight"][0]
    x = layer_norm(x, W["embeddings.LayerNorm.weight"], W["embeddings.LayerNorm.bias"], eps)
    lin = lambda x, p: x @ W[p + ".weight"].T + W[p + ".bias"]
    for i in range(cfg["num_hidden_layers"]):
        p = f"encoder.layer.{i}."
        q = lin(x, p + "attention.self.query").reshape(n, heads, d).transpose(1, 0, 2)
        k = lin(x, p + "attention.self.key").reshape(n, heads, d).transpose(1, 0, 2)
        v = lin(x, p + "attention.self.value").reshape(n, heads, d).transpose(1, 0, 2)
        s = q @ k.transpose(0, 2, 1) / np.sqrt(d)
        s = np.exp(s - s.max(-1, keepdims=True))
        s /= s.sum(-1, keepdims=True)
        ctx = (s @ v).transpose(1, 0, 2).reshape(n, h)
        x = layer_norm(lin(ctx, p + "attention.output.dense") + x,
                       W[p + "attention.output.LayerNorm.weight"], W[p + "attention.output.LayerNorm.bias"], eps)
        a = lin(x, p + "intermediate.dense")
        a = 0.5 * a * (1.0 + erf(a / np.sqrt(2.0)))
        x = layer_norm(lin(a, p + "output.dense") + x,
                       W[p + "output.LayerNorm.weight"], W[p + "output.LayerNorm.bias"], eps)
    return x.mean(0)


def main():
    model_dir = sys.argv[1]
    cfg = json.load(open(f"{model_dir}/config.json"))
    W = load_safetensors(f"{model_dir}/model.safetensors")
    bos, eos = 0, 2
    per_window = cfg["max_position_embeddings"] - 2
    for line in sys.stdin:
        content = json.loads(line)["ids"]
        windows = [content[i:i + per_window] for i in range(0, len(content), per_window)] or [[]]
        total = np.zeros(cfg["hidden_size"], dtype=np.float64)
        weight = 0.0
        for w in windows:
            pooled = forward(W, cfg, np.array([bos] + w + [eos]))
            total += max(len(w), 1) * pooled
            weight += max(len(w), 1)
        v = total / weight
        v /= np.linalg.norm(v)
        print(json.dumps([float(f) for f in v]))


if __name__ == "__main__":
    main()
