#!/usr/bin/env node
// ONNX Runtime's side of the end-to-end benchmark (scripts/bench_e2e.py drives it): the same
// function as bench/e2e/thaw_e2e.c, on onnxruntime-node.
//
//   node scripts/bench_ort.js MODEL [--ort-format] [--input NAME=DTYPE:D0xD1x...]...
//                             [--threads N] [--warmup N] [--runs N] [--output FILE]
//   node scripts/bench_ort.js MODEL.onnx --save-ort OUT.ort [--threads N]
//
// The first form loads ONNX Runtime, creates a session (graph optimisation on), fills the
// inputs, runs once, writes the first output's bytes to --output (default /dev/null), then does
// --warmup untimed and --runs timed runs, and prints one JSON line: CLOCK_MONOTONIC timestamps
// in ns (process.hrtime reads that clock on Linux; so do thaw_e2e and bench_e2e_launch), the
// phase times in ms, every run time, VmHWM and /proc/self/smaps_rollup.
// --ort-format takes a pre-optimised .ort file (made by the second form, which saves it through
// sessionOptions.optimizedModelFilePath) and loads it on ONNX Runtime's fastest path: the file's
// bytes are read into one buffer that the session uses in place, initializers included
// (session.use_ort_model_bytes_directly=1, session.use_ort_model_bytes_for_initializers=1), and
// weights are not repacked (session.disable_prepacking=1). Reading the file is counted in the create time, as ORT would
// read it itself when given a path.
// Inputs are filled like thaw_e2e fills them: floats cycle through [-1, 1), integers are 1.
'use strict';

const mainNs = process.hrtime.bigint();
const fs = require('fs');

function fail(message) {
  process.stderr.write(`bench_ort: ${message}\n`);
  process.exit(1);
}

const ARRAYS = {float32: Float32Array, int64: BigInt64Array, int32: Int32Array, bool: Uint8Array};

function parseArguments(argv) {
  const parsed = {inputs: [], threads: 1, warmup: 0, runs: 0, output: '/dev/null',
                  ortFormat: false, saveOrt: null, model: null};
  for (let i = 0; i < argv.length; i++) {
    const value = () => {
      if (i + 1 >= argv.length) fail(`${argv[i]} needs a value`);
      return argv[++i];
    };
    const count = () => {
      const text = value();
      if (!/^\d+$/.test(text)) fail(`not a count: ${text}`);
      return Number(text);
    };
    switch (argv[i]) {
      case '--ort-format': parsed.ortFormat = true; break;
      case '--threads': parsed.threads = count(); break;
      case '--warmup': parsed.warmup = count(); break;
      case '--runs': parsed.runs = count(); break;
      case '--output': parsed.output = value(); break;
      case '--save-ort': parsed.saveOrt = value(); break;
      case '--input': {
        const match = /^([^=]+)=(float32|int64|int32|bool):(\d+(?:x\d+)*)$/.exec(value());
        if (!match) fail(`--input wants NAME=DTYPE:D0xD1x..., got ${argv[i]}`);
        const dims = match[3].split('x').map(Number);
        parsed.inputs.push({name: match[1], dtype: match[2], dims});
        break;
      }
      default:
        if (argv[i].startsWith('-') || parsed.model !== null) {
          fail(`unexpected argument ${argv[i]}`);
        }
        parsed.model = argv[i];
    }
  }
  if (parsed.model === null) fail('no model given');
  if (parsed.threads < 1) fail('--threads must be at least 1');
  return parsed;
}

function makeTensor(ort, input) {
  const count = input.dims.reduce((a, b) => a * b, 1);
  const values = new ARRAYS[input.dtype](count);
  for (let i = 0; i < count; i++) {
    if (input.dtype === 'float32') values[i] = (i % 64) / 32 - 1;
    else values[i] = input.dtype === 'int64' ? 1n : 1;
  }
  return new ort.Tensor(input.dtype, values, input.dims);
}

// The "Key: value kB" lines of a /proc file, as numbers of kB.
function readKilobytes(file) {
  const figures = {};
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const match = /^(\w+):\s+(\d+) kB$/.exec(line);
    if (match) figures[match[1]] = Number(match[2]);
  }
  return figures;
}

function memoryFigures() {
  const rollup = readKilobytes('/proc/self/smaps_rollup');
  return {rss_kb: rollup.Rss, anonymous_kb: rollup.Anonymous,
          file_backed_kb: rollup.Rss - rollup.Anonymous,
          shared_clean_kb: rollup.Shared_Clean, shared_dirty_kb: rollup.Shared_Dirty,
          private_clean_kb: rollup.Private_Clean, private_dirty_kb: rollup.Private_Dirty};
}

const elapsedMs = (from, to) => Number(to - from) / 1e6;

async function main() {
  const options = parseArguments(process.argv.slice(2));
  const ort = require('onnxruntime-node');
  const loadedNs = process.hrtime.bigint();
  const sessionOptions = {graphOptimizationLevel: 'all', intraOpNumThreads: options.threads,
                          interOpNumThreads: 1};
  if (options.saveOrt !== null) {
    await ort.InferenceSession.create(options.model,
                                      {...sessionOptions, optimizedModelFilePath: options.saveOrt});
    return;
  }
  if (options.ortFormat) {
    sessionOptions.extra = {session: {use_ort_model_bytes_directly: '1',
                                      use_ort_model_bytes_for_initializers: '1',
                                      disable_prepacking: '1'}};
  }
  const createNs = process.hrtime.bigint();
  const source = options.ortFormat ? fs.readFileSync(options.model) : options.model;
  const session = await ort.InferenceSession.create(source, sessionOptions);
  const readyNs = process.hrtime.bigint();
  const memoryReady = memoryFigures();

  const feeds = {};
  for (const input of options.inputs) feeds[input.name] = makeTensor(ort, input);
  for (const name of session.inputNames) {
    if (!(name in feeds)) fail(`${options.model}: no --input for model input "${name}"`);
  }
  const runNs = process.hrtime.bigint();
  const results = await session.run(feeds);
  const ranNs = process.hrtime.bigint();
  const first = results[session.outputNames[0]].data;
  fs.writeFileSync(options.output,
                   new Uint8Array(first.buffer, first.byteOffset, first.byteLength));
  const firstResultNs = process.hrtime.bigint();

  for (let i = 0; i < options.warmup; i++) await session.run(feeds);
  const runsMs = [];
  for (let i = 0; i < options.runs; i++) {
    const start = process.hrtime.bigint();
    await session.run(feeds);
    runsMs.push(elapsedMs(start, process.hrtime.bigint()));
  }
  const memoryEnd = memoryFigures();
  process.stdout.write(JSON.stringify({
    runtime: options.ortFormat ? 'ort_format' : 'ort', threads: options.threads,
    version: ort.env.versions.common,
    main_ns: Number(mainNs), ready_ns: Number(readyNs), first_result_ns: Number(firstResultNs),
    load_runtime_ms: elapsedMs(mainNs, loadedNs), model_ready_ms: elapsedMs(createNs, readyNs),
    first_run_ms: elapsedMs(runNs, ranNs),
    runs_ms: runsMs, peak_rss_kb: readKilobytes('/proc/self/status').VmHWM,
    memory_ready: memoryReady, memory_end: memoryEnd,
  }) + '\n');
}

main().catch((error) => fail(error.stack || String(error)));
