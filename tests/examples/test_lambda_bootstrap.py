"""The Lambda bootstrap against a Runtime API server written for this test (stdlib http.server
on 127.0.0.1) that follows AWS's documented endpoints and headers:

  GET  /2018-06-01/runtime/invocation/next           → the event, with Lambda-Runtime-Aws-
       Request-Id, Lambda-Runtime-Deadline-Ms, Lambda-Runtime-Invoked-Function-Arn and
       Lambda-Runtime-Trace-Id headers
  POST /2018-06-01/runtime/invocation/{id}/response  → 202
  POST /2018-06-01/runtime/invocation/{id}/error     → 202
  POST /2018-06-01/runtime/init/error                → 202

It drives a good invocation, failing ones (an event that does not fit the model, an event that
is not JSON, an event whose deadline is closer than the bootstrap's margin), a good one after
them (the loop survives failures), and an init error (a missing model), then checks what the
server received.

Usage: test_lambda_bootstrap.py BOOTSTRAP DIGITS.thaw tests/models/digits
       test_lambda_bootstrap.py --check-zip PACKAGE.zip DIGITS.thaw
"""
import http.server
import json
import os
import queue
import subprocess
import sys
import threading
import time
import zipfile

import numpy as np

RTOL, ATOL = 1e-3, 1e-4
PREFIX = "/2018-06-01/runtime"


class RuntimeApi(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, events):
        super().__init__(("127.0.0.1", 0), RuntimeApiHandler)
        self.events = queue.Queue()
        for event in events:
            self.events.put(event if len(event) == 3 else event + (3000,))
        self.received = []  # (path, headers, body) of every POST
        self.all_answered = threading.Event()
        self.expected_answers = len(events)

    @property
    def address(self):
        return f"127.0.0.1:{self.server_address[1]}"


class RuntimeApiHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *arguments):
        pass

    def reply(self, status, body=b"", headers=()):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path != PREFIX + "/invocation/next":
            return self.reply(404)
        # Like Lambda, block until there is an event; the test ends the bootstrap meanwhile.
        request_id, body, time_left_ms = self.server.events.get()
        deadline_ms = int(time.time() * 1000) + time_left_ms
        self.reply(200, body, [
            ("Lambda-Runtime-Aws-Request-Id", request_id),
            ("Lambda-Runtime-Deadline-Ms", str(deadline_ms)),
            ("Lambda-Runtime-Invoked-Function-Arn",
             "arn:aws:lambda:us-east-1:123456789012:function:digits"),
            ("Lambda-Runtime-Trace-Id", "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Sampled=1"),
            ("Content-Type", "application/json"),
        ])

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.received.append((self.path, dict(self.headers), body))
        known = (self.path == PREFIX + "/init/error" or
                 (self.path.startswith(PREFIX + "/invocation/") and
                  self.path.endswith(("/response", "/error"))))
        self.reply(202 if known else 404, b'{"status":"OK"}')
        if len(self.server.received) >= self.server.expected_answers:
            self.server.all_answered.set()


def check_close(what, actual, expected):
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    tolerance = ATOL * max(1.0, np.abs(expected).max()) + RTOL * np.abs(expected)
    assert np.all(np.abs(actual - expected) <= tolerance), f"{what}: {actual} != {expected}"


def run_bootstrap(bootstrap, model, events, wait_for_exit):
    server = RuntimeApi(events)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    environment = dict(os.environ, AWS_LAMBDA_RUNTIME_API=server.address, THAW_MODEL=model,
                       LAMBDA_TASK_ROOT="/nonexistent")
    process = subprocess.Popen([bootstrap], env=environment, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    if wait_for_exit:
        process.wait(timeout=10)
    else:
        server.all_answered.wait(timeout=10)
        process.terminate()
        process.wait(timeout=10)
    server.shutdown()
    output = process.stdout.read()
    assert output == "", f"the bootstrap wrote on stdout: {output!r}"
    return server.received, process.returncode, process.stderr.read()


def check_invocations(bootstrap, model, digits):
    samples = {"good-7": "digit_7", "good-3": "digit_3"}
    image = {request_id: np.load(os.path.join(digits, "inputs", sample, "image.npy"))
             for request_id, sample in samples.items()}
    events = [
        ("good-7", json.dumps({"inputs": {"image": image["good-7"].tolist()}}).encode()),
        ("bad-shape", b'{"inputs": {"image": [[1, 2]]}}'),
        ("not-json", b"hello"),
        # Inside the default 200 ms margin: the run stops before its first node.
        ("too-late", json.dumps({"inputs": {"image": image["good-7"].tolist()}}).encode(), 50),
        ("good-3", json.dumps({"inputs": {"image": image["good-3"].tolist()},
                               "requestContext": {"note": "skipped"}}).encode()),
    ]
    received, _, log = run_bootstrap(bootstrap, model, events, wait_for_exit=False)
    paths = [path for path, _, _ in received]
    assert paths == [PREFIX + "/invocation/good-7/response",
                     PREFIX + "/invocation/bad-shape/error",
                     PREFIX + "/invocation/not-json/error",
                     PREFIX + "/invocation/too-late/error",
                     PREFIX + "/invocation/good-3/response"], paths
    for path, headers, body in received:
        request_id = path.split("/")[-2]
        answer = json.loads(body)
        if request_id in samples:
            expected = np.load(os.path.join(digits, "expected", samples[request_id],
                                            "probabilities.npy"))
            check_close(request_id, answer["outputs"]["probabilities"], expected)
            print(f"ok   {request_id}: response matches ONNX Runtime")
        else:
            expected_type = "DeadlineExceeded" if request_id == "too-late" else "InvalidInput"
            assert answer["errorType"] == expected_type, answer
            assert headers.get("Lambda-Runtime-Function-Error-Type") == expected_type, headers
            if request_id == "too-late":
                assert "stopped before node 0" in answer["errorMessage"], answer
            print(f"ok   {request_id}: error {answer['errorType']}: {answer['errorMessage']}")
    assert "before the deadline" in log and "good-7" in log, log
    print("ok   the log names each request and its time to the deadline")


def check_init_error(bootstrap):
    received, status, log = run_bootstrap(bootstrap, "/nonexistent/model.thaw", [],
                                          wait_for_exit=True)
    assert status != 0, f"bootstrap exited {status} without a model"
    assert len(received) == 1, received
    path, headers, body = received[0]
    answer = json.loads(body)
    assert path == PREFIX + "/init/error", path
    assert answer["errorType"] == "Runtime.InitError", answer
    assert "/nonexistent/model.thaw" in answer["errorMessage"], answer
    assert headers.get("Lambda-Runtime-Function-Error-Type") == "Runtime.InitError", headers
    print(f"ok   init error: {answer['errorMessage']}")


def check_zip(package, model):
    with zipfile.ZipFile(package) as archive:
        names = sorted(archive.namelist())
        assert names == ["bootstrap", "model.thaw"], names
        mode = archive.getinfo("bootstrap").external_attr >> 16
        assert mode & 0o111, f"bootstrap is not executable in the zip (mode {mode:o})"
        with open(model, "rb") as original:
            assert archive.read("model.thaw") == original.read(), "model.thaw differs"
    print(f"ok   {os.path.basename(package)}: bootstrap (mode {mode & 0o777:o}) + model.thaw")


def main():
    if sys.argv[1] == "--check-zip":
        check_zip(sys.argv[2], sys.argv[3])
        return
    bootstrap, model, digits = sys.argv[1:4]
    check_invocations(bootstrap, model, digits)
    check_init_error(bootstrap)


if __name__ == "__main__":
    main()
