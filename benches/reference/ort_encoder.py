"""ONNX Runtime on the same multilingual-e5-small weights as sufler, for benches/compare_encoder.sh.

    ort_encoder.py prepare MODEL_DIR OUT_DIR
        Builds the BERT graph from MODEL_DIR/model.safetensors + config.json (the weights sufler
        loads) with plain ONNX ops, the way a PyTorch export spells BERT, so that ONNX Runtime's
        BERT fusions (onnxruntime.transformers.optimizer, model_type "bert") find Attention,
        SkipLayerNormalization and BiasGelu; then quantises it dynamically to int8 (per channel,
        MatMul and Attention except layer 0's, activations u8 per tensor at run time). Writes OUT_DIR/e5-f32.onnx,
        e5-opt.onnx and e5-int8.onnx; reuses them while they are newer than the weights and
        this script.
    ort_encoder.py bench MODEL.onnx MODEL_DIR CORPUS THREADS
        Times it the way `sufler bench encoder` times sufler (src/bench.rs): 5 warm-up texts, then
        each text alone (tokenize, run, mean-pool, normalise; p50 and p95 by nearest rank), then
        the whole corpus as one call (sorted by length, padded batches of at most 4096 tokens, as
        sufler's encoder groups them). Prints one JSON line.
    ort_encoder.py embed MODEL.onnx MODEL_DIR CORPUS
        One JSON array (the L2-normalised embedding) per corpus text, like `sufler embed`.
    ort_encoder.py cosine A.jsonl B.jsonl
        Per-line cosine of two embedding files: prints {"min", "mean", "below_0.99", "texts"}.

Texts are the corpus's non-empty lines with trailing white space removed (src/bench.rs
corpus_lines), prefixed with "query: ", tokenized with the model's tokenizer.json (the XLM-R
unigram tokenizer sufler implements; tests/parity checks they agree). Texts over 512 tokens are
truncated here, where sufler windows them; chat messages are far shorter.
"""
import importlib
import json
import math
import os
import subprocess
import sys
import time


def need(*modules):
    """Imports the modules, pip-installing the missing ones first (quietly, once)."""
    packages = {"onnx": "onnx", "onnxruntime": "onnxruntime", "tokenizers": "tokenizers", "numpy": "numpy",
                "safetensors": "safetensors"}
    missing = []
    for m in modules:
        try:
            importlib.import_module(m)
        except ImportError:
            missing.append(packages[m.split(".")[0]])
    if missing:
        print(f"ort_encoder: pip install {' '.join(missing)}", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", *missing], check=True)
        importlib.invalidate_caches()
    return [importlib.import_module(m) for m in modules]


# --- the graph -------------------------------------------------------------------------------

def build_graph(model_dir, path):
    onnx, np, safetensors_numpy = need("onnx", "numpy", "safetensors.numpy")
    from onnx import TensorProto, helper, numpy_helper

    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    h, heads, layers = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_hidden_layers"]
    d, eps = h // heads, cfg["layer_norm_eps"]
    raw = safetensors_numpy.load_file(os.path.join(model_dir, "model.safetensors"))
    W = {k.removeprefix("bert."): v.astype(np.float32) for k, v in raw.items()}

    nodes, inits = [], []
    counter = [0]

    def name(prefix):
        counter[0] += 1
        return f"{prefix}_{counter[0]}"

    def const(value, prefix="c"):
        n = name(prefix)
        inits.append(numpy_helper.from_array(np.asarray(value), n))
        return n

    def node(op, inputs, **attrs):
        out = name(op.lower())
        nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
        return out

    def weight(key, transpose=False):
        w = W[key]
        return const(np.ascontiguousarray(w.T) if transpose else w, key.replace(".", "_"))

    def linear(x, prefix):
        return node("Add", [node("MatMul", [x, weight(prefix + ".weight", transpose=True)]), weight(prefix + ".bias")])

    def layer_norm(x, prefix):
        return node("LayerNormalization", [x, weight(prefix + ".weight"), weight(prefix + ".bias")], axis=-1,
                    epsilon=eps)

    # Embeddings: word + position (0..S) + token type 0, then layer norm.
    seq = node("Gather", [node("Shape", ["input_ids"]), const(np.int64(1))], axis=0)
    positions = node("Unsqueeze", [node("Range", [const(np.int64(0)), seq, const(np.int64(1))]),
                                   const(np.array([0], dtype=np.int64))])
    x = node("Add", [node("Gather", [weight("embeddings.word_embeddings.weight"), "input_ids"]),
                     node("Gather", [weight("embeddings.position_embeddings.weight"), positions])])
    x = node("Add", [x, node("Gather", [weight("embeddings.token_type_embeddings.weight"), "token_type_ids"])])
    x = layer_norm(x, "embeddings.LayerNorm")

    # The additive mask as transformers builds it: (1 − mask)·−10000, shape [B, 1, 1, S].
    m = node("Unsqueeze", [node("Unsqueeze", ["attention_mask", const(np.array([1], dtype=np.int64))]),
                           const(np.array([2], dtype=np.int64))])
    m = node("Cast", [m], to=TensorProto.FLOAT)
    mask = node("Mul", [node("Sub", [const(np.float32(1.0)), m]), const(np.float32(-10000.0))])

    split_shape = const(np.array([0, 0, heads, d], dtype=np.int64))
    merge_shape = const(np.array([0, 0, h], dtype=np.int64))
    for i in range(layers):
        p = f"encoder.layer.{i}."

        def split(t, perm):
            return node("Transpose", [node("Reshape", [t, split_shape])], perm=perm)

        q = split(linear(x, p + "attention.self.query"), [0, 2, 1, 3])
        k = split(linear(x, p + "attention.self.key"), [0, 2, 3, 1])
        v = split(linear(x, p + "attention.self.value"), [0, 2, 1, 3])
        scores = node("Div", [node("MatMul", [q, k]), const(np.float32(np.sqrt(d)))])
        probs = node("Softmax", [node("Add", [scores, mask])], axis=-1)
        ctx = node("Reshape", [node("Transpose", [node("MatMul", [probs, v])], perm=[0, 2, 1, 3]), merge_shape])
        attn = linear(ctx, p + "attention.output.dense")
        x = layer_norm(node("Add", [attn, x]), p + "attention.output.LayerNorm")
        # Exact GELU as PyTorch exports it: x·0.5·(1 + erf(x/√2)).
        u = linear(x, p + "intermediate.dense")
        g = node("Add", [node("Erf", [node("Div", [u, const(np.float32(np.sqrt(2.0)))])]), const(np.float32(1.0))])
        g = node("Mul", [node("Mul", [u, g]), const(np.float32(0.5))])
        out = linear(g, p + "output.dense")
        x = layer_norm(node("Add", [out, x]), p + "output.LayerNorm")

    nodes.append(helper.make_node("Identity", [x], ["last_hidden_state"], name="output"))
    ids = lambda n: helper.make_tensor_value_info(n, TensorProto.INT64, ["batch", "sequence"])
    graph = helper.make_graph(nodes, "multilingual-e5-small", [ids("input_ids"), ids("attention_mask"),
                                                              ids("token_type_ids")],
                              [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT,
                                                             ["batch", "sequence", h])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="sufler")
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return cfg


def prepare(model_dir, out_dir):
    os.makedirs(out_dir, exist_ok=True)
    weights = os.path.join(model_dir, "model.safetensors")
    f32, opt, int8 = (os.path.join(out_dir, f) for f in ("e5-f32.onnx", "e5-opt.onnx", "e5-int8.onnx"))
    # Rebuilt when the weights or this script (the graph it builds) are newer.
    newest = max(os.path.getmtime(weights), os.path.getmtime(__file__))
    fresh = lambda p: os.path.exists(p) and os.path.getmtime(p) >= newest
    if fresh(int8) and fresh(opt):
        print(f"ort_encoder: reusing {int8}", file=sys.stderr)
        return
    onnx, _ = need("onnx", "onnxruntime")
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers import optimizer

    if not fresh(opt):
        cfg = build_graph(model_dir, f32)
        model = optimizer.optimize_model(f32, model_type="bert", num_heads=cfg["num_attention_heads"],
                                         hidden_size=cfg["hidden_size"], opt_level=0)
        fused = {k: v for k, v in model.get_fused_operator_statistics().items() if v}
        print(f"ort_encoder: BERT fusions: {json.dumps(fused)}", file=sys.stderr)
        model.save_model_to_file(opt)
        os.remove(f32)
    # The first layer's Attention (its QKV projection) stays f32, as sufler keeps layer 0's QKV
    # in f32 (src/encoder/native.rs): int8 activations lose too much there. Quantised as well,
    # the worst corpus text ("👍🏻") falls to cosine 0.9885 against ORT's own f32 model.
    graph = onnx.load(opt, load_external_data=False).graph
    producer = {o: n for n in graph.node for o in n.output}
    first = [n.name for n in graph.node if n.op_type == "Attention" and n.input[0] in producer
             and producer[n.input[0]].op_type in ("EmbedLayerNormalization", "LayerNormalization")]
    # The fused contrib ops (Attention, SkipLayerNormalization, …) defeat ONNX shape inference,
    # so the quantiser is told that untyped tensors are f32.
    quantize_dynamic(opt, int8, per_channel=True, weight_type=QuantType.QInt8,
                     op_types_to_quantize=["MatMul", "Attention"], nodes_to_exclude=first,
                     extra_options={"MatMulConstBOnly": True, "DefaultTensorType": onnx.TensorProto.FLOAT})
    print(f"ort_encoder: wrote {int8}", file=sys.stderr)


# --- running it ------------------------------------------------------------------------------

def corpus_lines(path):
    with open(path, encoding="utf-8") as f:
        return [line.rstrip() for line in f.read().split("\n") if line.strip()]


def simd_level():
    """The int8 GEMM level MLAS (ONNX Runtime's kernels) dispatches to on this CPU, from the
    CPU flags it checks; MLAS has no switch to force another one."""
    flags = set()
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                break
    except OSError:
        return "unknown"
    if {"avx512bw", "avx512vl", "avx512_vnni"} <= flags:
        return "avx512-vnni"
    if {"avx512bw", "avx512vl"} <= flags:
        return "avx512"
    if {"avx2", "avx_vnni"} <= flags:
        return "avx2-vnni"
    if "avx2" in flags:
        return "avx2"
    return "sse4.1" if "sse4_1" in flags else "scalar"


class Engine:
    """Tokenizer + ONNX Runtime session + mean pooling + L2 normalisation."""

    BATCH_TOKENS = 4096  # sufler's EncoderOptions::batch_tokens default

    def __init__(self, model, model_dir, threads):
        ort, tokenizers, np = need("onnxruntime", "tokenizers", "numpy")
        self.np = np
        self.tokenizer = tokenizers.Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
        self.tokenizer.enable_truncation(512)
        self.tokenizer.no_padding()
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])

    def ids(self, texts):
        return [e.ids for e in self.tokenizer.encode_batch([f"query: {t}" for t in texts])]

    def run(self, seqs):
        """Pooled, normalised vectors of token sequences, one padded batch."""
        np = self.np
        n = max(len(s) for s in seqs)
        ids = np.ones((len(seqs), n), dtype=np.int64)  # XLM-R's pad id is 1
        mask = np.zeros((len(seqs), n), dtype=np.int64)
        for i, s in enumerate(seqs):
            ids[i, :len(s)] = s
            mask[i, :len(s)] = 1
        (hidden,) = self.session.run(None, {"input_ids": ids, "attention_mask": mask,
                                            "token_type_ids": np.zeros_like(ids)})
        m = mask[:, :, None].astype(np.float32)
        pooled = (hidden * m).sum(1) / m.sum(1)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)

    def embed(self, texts):
        """Sorted by length and grouped into padded batches of at most BATCH_TOKENS tokens."""
        seqs = self.ids(texts)
        order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]))
        out = [None] * len(seqs)
        start = 0
        while start < len(order):
            end, longest = start + 1, len(seqs[order[start]])
            while end < len(order) and max(longest, len(seqs[order[end]])) * (end + 1 - start) <= self.BATCH_TOKENS:
                longest = max(longest, len(seqs[order[end]]))
                end += 1
            for i, v in zip(order[start:end], self.run([seqs[i] for i in order[start:end]])):
                out[i] = v
            start = end
        return out


def percentile(sorted_values, q):
    """Nearest rank, as src/bench.rs."""
    rank = min(max(math.ceil(q * len(sorted_values)), 1), len(sorted_values))
    return sorted_values[rank - 1]


def bench(model, model_dir, corpus, threads):
    texts = corpus_lines(corpus)
    engine = Engine(model, model_dir, threads)
    for t in texts[:5]:
        engine.embed([t])
    latencies = []
    for t in texts:
        start = time.perf_counter()
        engine.embed([t])
        latencies.append((time.perf_counter() - start) * 1e3)
    latencies.sort()
    start = time.perf_counter()
    engine.embed(texts)
    batch_seconds = time.perf_counter() - start
    tokens = sum(len(s) for s in engine.ids(texts))
    print(json.dumps({
        "p50_ms": percentile(latencies, 0.50),
        "p95_ms": percentile(latencies, 0.95),
        "batch_texts_per_s": len(texts) / batch_seconds,
        "threads": threads,
        "weights": "int8-dynamic",
        "simd": simd_level(),
        "texts": len(texts),
        "mean_tokens": tokens / len(texts),
    }))


def embed(model, model_dir, corpus):
    engine = Engine(model, model_dir, 1)
    out = sys.stdout
    for v in engine.embed(corpus_lines(corpus)):
        out.write(json.dumps([round(float(x), 7) for x in v]) + "\n")


def cosine(a_path, b_path):
    (np,) = need("numpy")
    a = np.array([json.loads(line) for line in open(a_path)], dtype=np.float64)
    b = np.array([json.loads(line) for line in open(b_path)], dtype=np.float64)
    if a.shape != b.shape:
        sys.exit(f"ort_encoder: {a_path} is {a.shape}, {b_path} is {b.shape}")
    c = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    print(json.dumps({"min": float(c.min()), "mean": float(c.mean()), "below_0.99": int((c < 0.99).sum()),
                      "texts": len(c)}))


def main(argv):
    commands = {"prepare": (prepare, 2), "bench": (bench, 4), "embed": (embed, 3), "cosine": (cosine, 2)}
    if len(argv) < 2 or argv[1] not in commands or len(argv) - 2 != commands[argv[1]][1]:
        sys.exit(__doc__)
    f, _ = commands[argv[1]]
    args = argv[2:]
    if f is bench:
        args[3] = int(args[3])
    f(*args)


if __name__ == "__main__":
    main(sys.argv)
