"""Function cold start: spawn the HTTP function → first 200 from /_/ready → first 200 from
POST /infer, for thaw's http_function and the same function on onnxruntime-node
(ort_function.js), alternating between them, page cache warm (one unmeasured start each
first). Then wrk for 3 s at 1 and 2 connections against each, on loopback.

  /usr/bin/python3 cold_start.py HTTP_FUNCTION MODEL.thaw MODEL.onnx INPUT.npy [--runs N]
  /usr/bin/python3 cold_start.py HTTP_FUNCTION MODEL.thaw MODEL.onnx NAME=INPUT.npy... [--runs N]

One INPUT.npy is sent as a .npy body; NAME=INPUT.npy pairs (a model with several inputs, such
as an encoder's input_ids and attention_mask) as one JSON body {"inputs": {NAME: ...}}, which
both functions answer with every output as JSON.

onnxruntime-node comes from NODE_PATH (default ~/.cache/thaw-node/node_modules). Medians of N
runs (default 9) are printed; the machine is shared, so repeat before quoting a figure.
"""
import argparse
import http.client
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def free_loopback_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def content_type(body):
    return "application/x-npy" if body.startswith(b"\x93NUMPY") else "application/json"


def request(port, method, path, body=None):
    """HTTP status, or None while nothing listens yet."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request(method, path, body=body,
                           headers={"Content-Type": content_type(body)} if body else {})
        response = connection.getresponse()
        response.read()
        return response.status
    except ConnectionRefusedError:
        return None
    finally:
        connection.close()


def start(command, environment):
    return subprocess.Popen(command, env=environment, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def stop(process):
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def cold_start(command, environment, body):
    """(ms to the first 200 from /_/ready, ms to the first 200 from POST /infer)."""
    port = free_loopback_port()
    environment = dict(environment, PORT=str(port))
    started = time.monotonic()
    process = start(command, environment)
    try:
        while request(port, "GET", "/_/ready") != 200:
            if process.poll() is not None:
                raise RuntimeError(f"{command[0]} exited with status {process.returncode}")
            time.sleep(0.0005)
        ready = time.monotonic()
        status = request(port, "POST", "/infer", body)
        inferred = time.monotonic()
        if status != 200:
            raise RuntimeError(f"{command[0]}: POST /infer answered {status}")
    finally:
        stop(process)
    return (ready - started) * 1e3, (inferred - started) * 1e3


def throughput(command, environment, body, connections):
    port = free_loopback_port()
    process = start(command, dict(environment, PORT=str(port)))
    try:
        while request(port, "GET", "/_/ready") != 200:
            time.sleep(0.001)
        with tempfile.NamedTemporaryFile("wb") as body_file, \
                tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
            body_file.write(body)
            body_file.flush()
            script.write('wrk.method = "POST"\n'
                         f'wrk.headers["Content-Type"] = "{content_type(body)}"\n'
                         f'wrk.body = io.open("{body_file.name}", "rb"):read("*a")\n')
            script.flush()
            output = subprocess.run(
                ["wrk", f"-t{connections}", f"-c{connections}", "-d3s", "--latency",
                 "-s", script.name, f"http://127.0.0.1:{port}/infer"],
                capture_output=True, text=True, check=True).stdout
    finally:
        stop(process)
    requests = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    p99 = re.search(r"^\s+99%\s+(\S+)$", output, re.MULTILINE).group(1)
    return requests, p99


def request_body(inputs):
    if len(inputs) == 1 and "=" not in inputs[0]:
        with open(inputs[0], "rb") as source:
            return source.read()
    import numpy as np
    named = dict(spec.split("=", 1) for spec in inputs)
    return json.dumps({"inputs": {name: np.load(path).tolist()
                                  for name, path in named.items()}}).encode()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("http_function")
    parser.add_argument("thaw_model")
    parser.add_argument("onnx_model")
    parser.add_argument("inputs", nargs="+", metavar="INPUT.npy | NAME=INPUT.npy")
    parser.add_argument("--runs", type=int, default=9)
    options = parser.parse_args()
    body = request_body(options.inputs)

    node_path = os.environ.get("NODE_PATH",
                               os.path.expanduser("~/.cache/thaw-node/node_modules"))
    functions = {
        "thaw": ([options.http_function],
                 dict(os.environ, HOST="127.0.0.1", THAW_MODEL=options.thaw_model,
                      THAW_WORKERS="1")),
        "onnxruntime-node": (["node", os.path.join(HERE, "ort_function.js"),
                              options.onnx_model],
                             dict(os.environ, NODE_PATH=node_path)),
    }
    samples = {name: [] for name in functions}
    for name, (command, environment) in functions.items():
        cold_start(command, environment, body)  # warm the page cache
    for _ in range(options.runs):
        for name, (command, environment) in functions.items():
            samples[name].append(cold_start(command, environment, body))

    print(f"spawn -> first 200, median of {options.runs} runs (page cache warm):")
    medians = {}
    for name, runs in samples.items():
        ready = statistics.median(r for r, _ in runs)
        inferred = statistics.median(i for _, i in runs)
        medians[name] = (ready, inferred)
        print(f"  {name:17s} /_/ready {ready:8.1f} ms   first POST /infer {inferred:8.1f} ms")
    thaw, ort = medians["thaw"], medians["onnxruntime-node"]
    print(f"  thaw / onnxruntime-node: ready {thaw[0] / ort[0]:.3f}, "
          f"first inference {thaw[1] / ort[1]:.3f}")

    for connections in (1, 2):
        for name, (command, environment) in functions.items():
            requests, p99 = throughput(command, dict(environment, THAW_WORKERS=str(connections)),
                                       body, connections)
            print(f"wrk 3 s, {connections} connection(s), {name}: {requests:.1f} requests/s, "
                  f"p99 {p99}")


if __name__ == "__main__":
    main()
