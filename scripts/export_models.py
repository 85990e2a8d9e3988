#!/usr/bin/python3
"""Export the models thaw is tested and benchmarked on, as ONNX, with seeded random weights.

    /usr/bin/python3 scripts/export_models.py --out DIR --set small|all

Every model goes to DIR/<name>/ as a test case (scripts/model_cases.py): the ONNX file, seeded
inputs under inputs/<set>/ and meta.json; ort_reference.js then adds ONNX Runtime's outputs.

  small  what the test suite commits (a few MB in all): an MLP 784-512-512-10, two reduced CNNs
         (ResNet-ish and MobileNet-ish, 1x3x32x32), a 2-layer BERT-style encoder at opsets 13
         and 17, the quick-start sample: a small CNN trained here on scikit-learn's bundled
         8x8 digits to >95 % test accuracy, and the recurrent cases below.
  recurrent  only the recurrent cases (a few KB each): streaming LSTM and GRU cells with
         explicit state inputs and outputs (the sequence axis dynamic, so the tests convert
         them whole and one step at a time), and 2-layer bidirectional batch-first LSTM and
         GRU classifiers.
  all    small, plus torchvision SqueezeNet 1.1, MobileNetV2, ResNet-18 (224x224) and a
         MiniLM-L6-shaped encoder at opsets 13 and 17, for the benchmarks (not committed).

Needs Debian's python3-torch (1.13), python3-torchvision, python3-onnx and python3-sklearn.
"""

import argparse
import math
import os
import sys
import time

import numpy as np
import onnx
import torch
from torch import nn

sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model_cases import write_case  # noqa: E402

SEED = 20240501


class MultiLayerPerceptron(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Flatten(), nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(),
            nn.Linear(512, 10))

    def forward(self, image):
        return self.layers(image)


def conv_bn(in_channels, out_channels, kernel, stride=1, groups=1):
    return [nn.Conv2d(in_channels, out_channels, kernel, stride, kernel // 2, groups=groups,
                      bias=False),
            nn.BatchNorm2d(out_channels)]


class BasicBlock(nn.Module):
    """ResNet's two 3x3 convolutions with a residual add (projected when the shape changes)."""

    def __init__(self, in_channels, out_channels, stride):
        super().__init__()
        self.body = nn.Sequential(*conv_bn(in_channels, out_channels, 3, stride), nn.ReLU(),
                                  *conv_bn(out_channels, out_channels, 3))
        self.shortcut = (nn.Identity() if stride == 1 and in_channels == out_channels
                         else nn.Sequential(*conv_bn(in_channels, out_channels, 1, stride)))
        self.relu = nn.ReLU()

    def forward(self, x):
        return self.relu(self.body(x) + self.shortcut(x))


class TinyResNet(nn.Module):
    """Stem conv+BN+ReLU, max pool, three basic blocks, global average pool, flatten, gemm."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            *conv_bn(3, 16, 3), nn.ReLU(), nn.MaxPool2d(3, 2, 1),
            BasicBlock(16, 16, 1), BasicBlock(16, 32, 2), BasicBlock(32, 48, 2),
            nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.classifier = nn.Linear(48, 10)

    def forward(self, image):
        return self.classifier(self.features(image))


class InvertedResidual(nn.Module):
    """MobileNetV2's expand 1x1 -> depthwise 3x3 -> project 1x1, residual when shapes allow."""

    def __init__(self, in_channels, out_channels, stride, expansion, activation):
        super().__init__()
        hidden = in_channels * expansion
        self.body = nn.Sequential(
            *conv_bn(in_channels, hidden, 1), activation(),
            *conv_bn(hidden, hidden, 3, stride, groups=hidden), activation(),
            *conv_bn(hidden, out_channels, 1))
        self.residual = stride == 1 and in_channels == out_channels

    def forward(self, x):
        y = self.body(x)
        return x + y if self.residual else y


class TinyMobileNet(nn.Module):
    """Strided stem, inverted residuals with ReLU6 and HardSwish, an average pool, a 1x1 head,
    global average pool, flatten and a classifier with a dropout the converter drops."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            *conv_bn(3, 16, 3, 2), nn.ReLU6(),
            InvertedResidual(16, 16, 1, 2, nn.ReLU6), InvertedResidual(16, 24, 2, 4, nn.ReLU6),
            InvertedResidual(24, 24, 1, 4, nn.Hardswish), nn.AvgPool2d(2),
            InvertedResidual(24, 40, 1, 4, nn.Hardswish),
            *conv_bn(40, 128, 1), nn.Hardswish(), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(128, 10))

    def forward(self, image):
        return self.classifier(self.features(image))


class SelfAttention(nn.Module):
    def __init__(self, hidden, heads):
        super().__init__()
        self.heads = heads
        self.head_size = hidden // heads
        self.query = nn.Linear(hidden, hidden)
        self.key = nn.Linear(hidden, hidden)
        self.value = nn.Linear(hidden, hidden)
        self.output = nn.Linear(hidden, hidden)

    def split_heads(self, x):
        batch, sequence, _ = x.shape
        return x.view(batch, sequence, self.heads, self.head_size).permute(0, 2, 1, 3)

    def forward(self, x, mask_bias):
        query = self.split_heads(self.query(x))
        key = self.split_heads(self.key(x))
        value = self.split_heads(self.value(x))
        scores = torch.matmul(query, key.transpose(-1, -2)) / math.sqrt(self.head_size)
        probabilities = torch.softmax(scores + mask_bias, dim=-1)
        context = torch.matmul(probabilities, value).permute(0, 2, 1, 3)
        batch, sequence = context.shape[0], context.shape[1]
        return self.output(context.reshape(batch, sequence, self.heads * self.head_size))


class EncoderLayer(nn.Module):
    """Post-norm BERT layer: attention + residual + LayerNorm, GELU FFN + residual + LayerNorm."""

    def __init__(self, hidden, heads, ffn):
        super().__init__()
        self.attention = SelfAttention(hidden, heads)
        self.attention_norm = nn.LayerNorm(hidden, eps=1e-12)
        self.ffn = nn.Sequential(nn.Linear(hidden, ffn), nn.GELU(), nn.Linear(ffn, hidden))
        self.ffn_norm = nn.LayerNorm(hidden, eps=1e-12)

    def forward(self, x, mask_bias):
        x = self.attention_norm(x + self.attention(x, mask_bias))
        return self.ffn_norm(x + self.ffn(x))


class Encoder(nn.Module):
    """A BERT-style encoder from plain torch modules, shaped like the Hugging Face exports:
    token ids and an attention mask (int64) in, the last hidden state and a tanh pooler out."""

    def __init__(self, layers, hidden, heads, ffn, vocab, max_positions):
        super().__init__()
        self.token_embedding = nn.Embedding(vocab, hidden)
        self.position_embedding = nn.Embedding(max_positions, hidden)
        self.register_buffer("position_ids", torch.arange(max_positions).unsqueeze(0))
        self.embedding_norm = nn.LayerNorm(hidden, eps=1e-12)
        self.layers = nn.ModuleList(EncoderLayer(hidden, heads, ffn) for _ in range(layers))
        self.pooler = nn.Linear(hidden, hidden)

    def forward(self, input_ids, attention_mask):
        sequence = input_ids.shape[1]
        positions = self.position_ids[:, :sequence]
        x = self.embedding_norm(self.token_embedding(input_ids) +
                                self.position_embedding(positions))
        mask = attention_mask[:, None, None, :].to(x.dtype)
        mask_bias = (1.0 - mask) * -10000.0
        for layer in self.layers:
            x = layer(x, mask_bias)
        return x, torch.tanh(self.pooler(x[:, 0]))


class DigitsClassifier(nn.Module):
    """The quick-start sample: 8x8 grey digits (pixel values 0..16, as scikit-learn ships them)
    in, class probabilities out."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(),
            nn.MaxPool2d(2), nn.Flatten())
        self.classifier = nn.Linear(32 * 4 * 4, 10)

    def forward(self, image):
        return torch.softmax(self.classifier(self.features(image / 16.0)), dim=1)


class StreamingCell(nn.Module):
    """One recurrent layer with its state as explicit inputs and outputs, as streaming exports
    (voice activity detection, keyword spotting) have it."""

    def __init__(self, cell):
        super().__init__()
        self.cell = cell

    def forward(self, x, *state):
        y, state = self.cell(x, state if isinstance(self.cell, nn.LSTM) else state[0])
        return (y, *state) if isinstance(state, tuple) else (y, state)


class SequenceClassifier(nn.Module):
    """A 2-layer bidirectional batch-first recurrent encoder and a linear head on every step."""

    def __init__(self, cell_type):
        super().__init__()
        self.encoder = cell_type(10, 8, num_layers=2, bidirectional=True, batch_first=True)
        self.head = nn.Linear(16, 4)

    def forward(self, x):
        return self.head(self.encoder(x)[0])


def preserve_variance(module, generator):
    """PyTorch's default init shrinks activations layer after layer, so the outputs of a random
    network barely depend on its input and a wrong early layer could go unnoticed. He init
    keeps the signal alive through every layer."""
    for layer in module.modules():
        if isinstance(layer, (nn.Conv2d, nn.Linear)):
            fan_in = layer.weight[0].numel()
            layer.weight.data.copy_(torch.randn(layer.weight.shape, generator=generator) *
                                    math.sqrt(2.0 / fan_in))
            if layer.bias is not None:
                layer.bias.data.copy_(torch.randn(layer.bias.shape, generator=generator) * 0.1)


def randomize_batch_norm(module, generator):
    """Fresh BatchNorm layers are the identity; give them statistics so folding is exercised."""
    for layer in module.modules():
        if isinstance(layer, nn.BatchNorm2d):
            channels = layer.num_features
            layer.running_mean.copy_(torch.randn(channels, generator=generator) * 0.1)
            layer.running_var.copy_(torch.rand(channels, generator=generator) * 0.5 + 0.5)
            layer.weight.data.copy_(torch.rand(channels, generator=generator) * 0.5 + 0.75)
            layer.bias.data.copy_(torch.randn(channels, generator=generator) * 0.1)


def image_sets(shape, rng, count=2):
    return {str(index): {"image": rng.uniform(-1.0, 1.0, shape).astype(np.float32)}
            for index in range(count)}


def encoder_sets(sequence, vocab, rng):
    """Two sets: every token attended, then the last quarter padded out by the mask."""
    sets = {}
    for index, padding in enumerate((0, sequence // 4)):
        mask = np.ones((1, sequence), dtype=np.int64)
        mask[:, sequence - padding:] = 0
        sets[str(index)] = {"input_ids": rng.integers(1, vocab, (1, sequence), dtype=np.int64),
                            "attention_mask": mask}
    return sets


def export(model, out_dir, name, opset, input_sets, outputs, dynamic_axes=None,
           model_file="model.onnx", labels=None):
    """Export `model` in eval mode to out_dir/name/model_file, with the first input set as the
    example, and write the case's inputs and meta.json (scripts/model_cases.py)."""
    model.eval()
    folder = os.path.join(out_dir, name)
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, model_file)
    first = next(iter(input_sets.values()))
    started = time.monotonic()
    with torch.no_grad():
        torch.onnx.export(model, tuple(torch.from_numpy(array) for array in first.values()),
                          path, opset_version=opset, input_names=list(first),
                          output_names=outputs, dynamic_axes=dynamic_axes,
                          do_constant_folding=True)
    onnx.checker.check_model(onnx.load(path))
    write_case(folder, model_file, list(first), outputs, input_sets, labels=labels)
    print(f"{name}: {os.path.getsize(path) / 1e6:.2f} MB, {time.monotonic() - started:.1f} s",
          flush=True)


def train_digits_classifier(generator):
    """Train for a few seconds on 80 % of scikit-learn's digits; returns the model and one
    held-out image of each of a few classes, with its label."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    images = digits.images.astype(np.float32)[:, None, :, :]
    train_x, test_x, train_y, test_y = train_test_split(
        images, digits.target, test_size=0.2, random_state=0, stratify=digits.target)
    train_x, test_x = torch.from_numpy(train_x), torch.from_numpy(test_x)
    train_y, test_y = torch.from_numpy(train_y), torch.from_numpy(test_y)

    model = DigitsClassifier()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(30):
        order = torch.randperm(len(train_x), generator=generator)
        for batch in order.split(64):
            optimizer.zero_grad()
            probabilities = model(train_x[batch])
            loss = nn.functional.nll_loss(torch.log(probabilities + 1e-9), train_y[batch])
            loss.backward()
            optimizer.step()
    model.eval()
    with torch.no_grad():
        accuracy = (model(test_x).argmax(1) == test_y).float().mean().item()
    if accuracy < 0.95:
        sys.exit(f"digits classifier reached only {accuracy:.3f} test accuracy (needs > 0.95)")
    print(f"digits: test accuracy {accuracy:.3f} on {len(test_y)} held-out images", flush=True)
    labels = (0, 3, 5, 7, 9)
    samples = [int(np.flatnonzero(test_y.numpy() == label)[0]) for label in labels]
    return model, test_x[samples].numpy(), list(labels)


def export_digits(out_dir, generator):
    model, images, labels = train_digits_classifier(generator)
    input_sets = {f"digit_{label}": {"image": image[None]} for label, image in zip(labels, images)}
    export(model, out_dir, "digits", 13, input_sets, ["probabilities"],
           model_file="digits.onnx", labels=labels)


def export_encoder(encoder, out_dir, name, opset, sequence, vocab, rng):
    """Batch and sequence are dynamic, as in Hugging Face exports; the test pins them."""
    axes = {"input_ids": {0: "batch", 1: "sequence"},
            "attention_mask": {0: "batch", 1: "sequence"},
            "last_hidden_state": {0: "batch", 1: "sequence"}, "pooler_output": {0: "batch"}}
    export(encoder, out_dir, name, opset, encoder_sets(sequence, vocab, rng),
           ["last_hidden_state", "pooler_output"], dynamic_axes=axes)


def export_recurrent(out_dir):
    """Seeded on their own, so `--set recurrent` regenerates exactly what `--set small` does."""
    torch.manual_seed(SEED)
    rng = np.random.default_rng(SEED)

    def state(*shape):
        return rng.uniform(-0.5, 0.5, shape).astype(np.float32)

    def sequence(*shape):
        return rng.standard_normal(shape).astype(np.float32)

    steps = {0: "steps"}
    lstm_sets = {str(i): {"x": sequence(6, 1, 12), "h0": state(1, 1, 20), "c0": state(1, 1, 20)}
                 for i in range(2)}
    export(StreamingCell(nn.LSTM(12, 20)), out_dir, "lstm_stream", 13, lstm_sets,
           ["y", "hn", "cn"], dynamic_axes={"x": steps, "y": steps})
    gru_sets = {str(i): {"x": sequence(6, 1, 12), "h0": state(1, 1, 16)} for i in range(2)}
    export(StreamingCell(nn.GRU(12, 16)), out_dir, "gru_stream", 13, gru_sets, ["y", "hn"],
           dynamic_axes={"x": steps, "y": steps})
    for name, cell_type in (("lstm_bidirectional", nn.LSTM), ("gru_bidirectional", nn.GRU)):
        sets = {str(i): {"x": sequence(3, 7, 10)} for i in range(2)}
        export(SequenceClassifier(cell_type), out_dir, name, 14, sets, ["scores"])


def export_small(out_dir, generator, rng):
    torch.manual_seed(SEED)
    mlp = MultiLayerPerceptron()
    preserve_variance(mlp, generator)
    export(mlp, out_dir, "mlp", 13, image_sets((1, 784), rng), ["logits"],
           dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}})
    for name, model in (("tiny_resnet", TinyResNet()), ("tiny_mobilenet", TinyMobileNet())):
        preserve_variance(model, generator)
        randomize_batch_norm(model, generator)
        export(model, out_dir, name, 13, image_sets((1, 3, 32, 32), rng), ["logits"])
    encoder = Encoder(layers=2, hidden=64, heads=4, ffn=128, vocab=1000, max_positions=64)
    for opset in (13, 17):
        export_encoder(encoder, out_dir, f"encoder_tiny_opset{opset}", opset, 16, 1000, rng)
    export_digits(out_dir, generator)
    export_recurrent(out_dir)


def export_large(out_dir, generator, rng):
    import torchvision

    torch.manual_seed(SEED)
    for name in ("squeezenet1_1", "mobilenet_v2", "resnet18"):
        model = getattr(torchvision.models, name)(weights=None)
        preserve_variance(model, generator)
        randomize_batch_norm(model, generator)
        export(model, out_dir, name, 13, image_sets((1, 3, 224, 224), rng, count=1), ["logits"])
    encoder = Encoder(layers=6, hidden=384, heads=12, ffn=1536, vocab=30522, max_positions=512)
    for opset in (13, 17):
        export_encoder(encoder, out_dir, f"minilm_l6_opset{opset}", opset, 128, 30522, rng)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="folder to write the case folders into")
    parser.add_argument("--set", choices=("small", "all", "recurrent"), default="small")
    arguments = parser.parse_args()
    torch.set_num_threads(2)
    generator = torch.Generator().manual_seed(SEED)
    rng = np.random.default_rng(SEED)
    if arguments.set == "recurrent":
        export_recurrent(arguments.out)
        return
    export_small(arguments.out, generator, rng)
    if arguments.set == "all":
        export_large(arguments.out, generator, rng)


if __name__ == "__main__":
    main()
