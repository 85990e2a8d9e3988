"""The HTTP function end to end: started on a free loopback port with the digits model, driven
with real curl requests (good and bad) whose answers are checked against the committed ONNX
Runtime outputs, then loaded with wrk for 3 s at 1 and 2 connections, then stopped with SIGTERM.
Then the same with the tiny encoder (two i64 inputs, two outputs) for the JSON integer paths.

Usage: test_http_function.py HTTP_FUNCTION DIGITS.thaw tests/models/digits
                             ENCODER.thaw tests/models/encoder_tiny_opset13
"""
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time

import numpy as np

# Small enough that a 10 kB body crosses it, large enough for every valid digits request.
MAX_BODY_BYTES = 8192
RTOL, ATOL = 1e-3, 1e-4


def free_loopback_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def curl(url, *arguments):
    """(HTTP status, body bytes) of one curl request."""
    result = subprocess.run(
        ["curl", "-sS", "-o", "-", "-w", "\n%{http_code}", *arguments, url],
        capture_output=True, check=True, timeout=30)
    body, _, status = result.stdout.rpartition(b"\n")
    return int(status), body


def check_close(what, actual, expected):
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    tolerance = ATOL * max(1.0, np.abs(expected).max()) + RTOL * np.abs(expected)
    worst = np.argmax(np.abs(actual - expected) - tolerance)
    assert np.all(np.abs(actual - expected) <= tolerance), (
        f"{what}: element {worst} is {actual.flat[worst]}, expected {expected.flat[worst]}")


class Failures:
    def __init__(self):
        self.count = 0

    def expect(self, name, condition, detail):
        print(f"{'ok  ' if condition else 'FAIL'} {name}" + ("" if condition else f": {detail}"))
        self.count += not condition


def run_wrk(url, body_path, connections, scratch):
    script = os.path.join(scratch, "post_npy.lua")
    with open(script, "w") as lua:
        lua.write('wrk.method = "POST"\n'
                  'wrk.headers["Content-Type"] = "application/x-npy"\n'
                  f'wrk.body = io.open("{body_path}", "rb"):read("*a")\n')
    result = subprocess.run(
        ["wrk", f"-t{connections}", f"-c{connections}", "-d3s", "--latency", "-s", script, url],
        capture_output=True, text=True, check=True, timeout=60)
    output = result.stdout
    requests = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    percentiles = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", output, re.MULTILINE))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return requests, percentiles, int(non_2xx.group(1)) if non_2xx else 0


@contextlib.contextmanager
def serving(binary, model, failures, scratch):
    """The function on a free loopback port for the `with` block; stopped with SIGTERM."""
    port = free_loopback_port()
    base = f"http://127.0.0.1:{port}"
    environment = dict(os.environ, PORT=str(port), HOST="127.0.0.1", THAW_MODEL=model,
                       THAW_WORKERS="2", THAW_MAX_BODY_BYTES=str(MAX_BODY_BYTES))
    log_path = os.path.join(scratch, os.path.basename(model) + ".log")
    with open(log_path, "w") as log:
        started = time.monotonic()
        server = subprocess.Popen([binary], env=environment, stderr=log)
        try:
            ready = False
            while not ready and time.monotonic() - started < 10:
                try:
                    ready = curl(base + "/_/ready")[0] == 200
                except subprocess.CalledProcessError:
                    time.sleep(0.01)
            failures.expect("ready", ready, "no 200 from /_/ready within 10 s")
            print(f"spawn -> first 200: {(time.monotonic() - started) * 1e3:.1f} ms")
            yield base
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                status = server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                status = None
    failures.expect("SIGTERM stops it cleanly", status == 0, f"exit status {status}")
    if failures.count:
        print(open(log_path).read())


def main():
    binary, digits_model, digits, encoder_model, encoder = sys.argv[1:6]
    failures = Failures()
    with tempfile.TemporaryDirectory() as scratch:
        with serving(binary, digits_model, failures, scratch) as base:
            run_requests(base, digits, scratch, failures)
            for connections in (1, 2):
                image = os.path.join(digits, "inputs", "digit_7", "image.npy")
                requests, percentiles, non_2xx = run_wrk(base + "/infer", image, connections,
                                                         scratch)
                print(f"wrk 3 s, {connections} connection(s): {requests:.0f} requests/s, "
                      f"latency p50 {percentiles.get('50')} p99 {percentiles.get('99')}")
                failures.expect(f"wrk {connections} connection(s): all 200", non_2xx == 0,
                                f"{non_2xx} non-2xx responses")
        with serving(binary, encoder_model, failures, scratch) as base:
            run_encoder_requests(base, encoder, failures)
    sys.exit(1 if failures.count else 0)


def run_encoder_requests(base, encoder, failures):
    """Two i64 inputs, two outputs: JSON only, integers checked."""
    expect = failures.expect
    inputs = {name: np.load(os.path.join(encoder, "inputs", "0", name + ".npy"))
              for name in ("input_ids", "attention_mask")}
    request = {"inputs": {name: value.tolist() for name, value in inputs.items()}}
    status, body = curl(base + "/infer", "-d", json.dumps(request))
    expect("encoder: POST /infer JSON", status == 200, f"{status} {body[:200]!r}")
    if status == 200:
        outputs = json.loads(body)["outputs"]
        for name in ("last_hidden_state", "pooler_output"):
            check_close(name, outputs[name],
                        np.load(os.path.join(encoder, "expected", "0", name + ".npy")))

    def with_first_id(value):
        ids = inputs["input_ids"].tolist()
        ids[0][0] = value
        return json.dumps({"inputs": {"input_ids": ids,
                                      "attention_mask": inputs["attention_mask"].tolist()}})

    npy_path = os.path.join(encoder, "inputs", "0", "input_ids.npy")
    cases = [
        ("encoder: fraction in an i64 input -> 422", ["-d", with_first_id(1.5)], 422, b"i64"),
        ("encoder: i64 overflow -> 422", ["-d", with_first_id(2**63)], 422, b"integer"),
        ("encoder: string element -> 400", ["-d", with_first_id("7")], 400, b"number"),
        ("encoder: .npy for two inputs -> 422", ["--data-binary", "@" + npy_path], 422,
         b"several"),
    ]
    for name, arguments, wanted_status, wanted_text in cases:
        status, body = curl(base + "/infer", *arguments)
        expect(name, status == wanted_status and wanted_text in body, f"{status} {body!r}")


def run_requests(base, digits, scratch, failures):
    expect = failures.expect
    status, body = curl(base + "/_/health")
    expect("GET /_/health", status == 200 and body == b"ok\n", f"{status} {body!r}")

    # .npy in, .npy out, for every committed sample.
    for sample in sorted(os.listdir(os.path.join(digits, "inputs"))):
        image = os.path.join(digits, "inputs", sample, "image.npy")
        expected = np.load(os.path.join(digits, "expected", sample, "probabilities.npy"))
        result = os.path.join(scratch, sample + ".npy")
        status, body = curl(base + "/infer", "--data-binary", "@" + image,
                            "-H", "Content-Type: application/x-npy")
        with open(result, "wb") as out:
            out.write(body)
        expect(f"POST /infer .npy {sample}", status == 200, f"{status} {body[:200]!r}")
        if status == 200:
            check_close(sample, np.load(result), expected)

    # JSON in, JSON out.
    image = np.load(os.path.join(digits, "inputs", "digit_3", "image.npy"))
    expected = np.load(os.path.join(digits, "expected", "digit_3", "probabilities.npy"))
    status, body = curl(base + "/infer", "-H", "Content-Type: application/json",
                        "-d", json.dumps({"inputs": {"image": image.tolist()}}))
    expect("POST /infer JSON", status == 200, f"{status} {body[:200]!r}")
    if status == 200:
        check_close("JSON digit_3", json.loads(body)["outputs"]["probabilities"], expected)

    # ?output= picks the output; an unknown one is a 404.
    image_path = os.path.join(digits, "inputs", "digit_0", "image.npy")
    status, _ = curl(base + "/infer?output=probabilities", "--data-binary", "@" + image_path)
    expect("?output=probabilities", status == 200, str(status))
    status, body = curl(base + "/infer?output=logits", "--data-binary", "@" + image_path)
    expect("?output=logits -> 404", status == 404 and b"logits" in body, f"{status} {body!r}")

    bad_npy = os.path.join(scratch, "truncated.npy")
    with open(image_path, "rb") as source, open(bad_npy, "wb") as out:
        out.write(source.read()[:200])
    wrong_shape = os.path.join(scratch, "wrong_shape.npy")
    np.save(wrong_shape, np.zeros((1, 1, 4, 4), np.float32))
    wrong_dtype = os.path.join(scratch, "wrong_dtype.npy")
    np.save(wrong_dtype, np.zeros((1, 1, 8, 8), np.int64))
    too_large = os.path.join(scratch, "too_large.bin")
    with open(too_large, "wb") as out:
        out.write(b"{" + b" " * 10000 + b"}")
    cases = [
        ("truncated .npy -> 400", ["--data-binary", "@" + bad_npy], 400, b"npy"),
        ("wrong shape .npy -> 422", ["--data-binary", "@" + wrong_shape], 422, b"[1,1,4,4]"),
        ("wrong dtype .npy -> 422", ["--data-binary", "@" + wrong_dtype], 422, b"i64"),
        ("JSON syntax -> 400", ["-d", '{"inputs": {"image": [[['], 400, b"invalid JSON"),
        ("JSON wrong shape -> 422", ["-d", '{"inputs": {"image": [[1, 2]]}}'], 422, b"rank 4"),
        ("JSON unknown input -> 422",
         ["-d", json.dumps({"inputs": {"image": image.tolist(), "mask": [1]}})], 422,
         b"no input \\\"mask\\\""),
        ("JSON missing input -> 422", ["-d", '{"inputs": {}}'], 422, b"missing"),
        ("JSON without inputs -> 400", ["-d", '{"image": 1}'], 400, b"inputs"),
        ("empty body -> 400", ["-X", "POST"], 400, b"empty body"),
        ("body over the limit -> 413", ["--data-binary", "@" + too_large], 413, b"limit"),
        ("chunked body over the limit -> 413",
         ["-H", "Transfer-Encoding: chunked", "--data-binary", "@" + too_large], 413, b"limit"),
    ]
    for name, arguments, wanted_status, wanted_text in cases:
        status, body = curl(base + "/infer", *arguments)
        expect(name, status == wanted_status and wanted_text in body, f"{status} {body!r}")
    status, body = curl(base + "/predict")
    expect("unknown route -> 404", status == 404 and b"/predict" in body, f"{status} {body!r}")
    status, body = curl(base + "/infer")
    expect("GET /infer -> 405", status == 405, f"{status} {body!r}")


if __name__ == "__main__":
    main()
