"""Scale-out memory: N http_function processes serving one model, each after one inference
(so every weight page has been read), against one process. The model is mapped read-only from
the page cache, so its pages are shared between the processes and only the arena and the
program's own pages are private.

  /usr/bin/python3 shared_memory.py HTTP_FUNCTION MODEL.thaw INPUT.npy [--processes 4]

Figures come from /proc/PID/smaps_rollup, summed over the processes, in MiB: PSS (each page
counted once across the processes that map it: the memory they take together), private dirty
(memory no other process can share: heap, arena, written data) and RSS. A file page mapped by a
single process counts as "private" in smaps, so Private_Clean says nothing about sharing: the
ratio printed is of PSS.
"""
import argparse
import http.client
import os
import signal
import socket
import time


def free_loopback_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def post(port, path, body):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        connection.request("POST", path, body=body)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def wait_ready(port, deadline):
    while time.monotonic() < deadline:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            connection.request("GET", "/_/ready")
            if connection.getresponse().status == 200:
                return
        except ConnectionRefusedError:
            time.sleep(0.01)
        finally:
            connection.close()
    raise RuntimeError(f"no function ready on port {port}")


def memory_kib(pid):
    fields = {}
    with open(f"/proc/{pid}/smaps_rollup") as rollup:
        for line in rollup:
            parts = line.split()
            if len(parts) == 3 and parts[2] == "kB":
                fields[parts[0].rstrip(":")] = int(parts[1])
    return fields["Pss"], fields["Private_Dirty"], fields["Rss"]


def serve(binary, model, body, count):
    """Start `count` functions, one inference each; [(pss, private dirty, rss)] per process."""
    processes = []
    try:
        for _ in range(count):
            port = free_loopback_port()
            environment = dict(os.environ, PORT=str(port), HOST="127.0.0.1", THAW_MODEL=model,
                               THAW_WORKERS="1")
            pid = os.spawnve(os.P_NOWAIT, binary, [binary], environment)
            processes.append((pid, port))
        for pid, port in processes:
            wait_ready(port, time.monotonic() + 30)
            if post(port, "/infer", body) != 200:
                raise RuntimeError("POST /infer failed")
        return [memory_kib(pid) for pid, _ in processes]
    finally:
        for pid, _ in processes:
            os.kill(pid, signal.SIGTERM)
            os.waitpid(pid, 0)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("http_function")
    parser.add_argument("model")
    parser.add_argument("input_npy")
    parser.add_argument("--processes", type=int, default=4)
    options = parser.parse_args()
    with open(options.input_npy, "rb") as source:
        body = source.read()
    mib = 1024.0
    print(f"model {os.path.getsize(options.model) / 2**20:.1f} MiB")
    for count in (1, options.processes):
        usage = serve(options.http_function, options.model, body, count)
        pss = sum(p for p, _, _ in usage)
        private_dirty = sum(d for _, d, _ in usage)
        rss = sum(r for _, _, r in usage)
        print(f"{count} process(es): PSS {pss / mib:.1f} MiB, private dirty "
              f"{private_dirty / mib:.1f} MiB, RSS {rss / mib:.1f} MiB")
        if count == 1:
            single_pss = pss
    print(f"memory (PSS), {options.processes} processes / 1: {pss / single_pss:.2f}x")


if __name__ == "__main__":
    main()
