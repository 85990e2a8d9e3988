#!/usr/bin/env node
// ONNX Runtime reference outputs for a test case folder (layout: scripts/model_cases.py).
//
//   node scripts/ort_reference.js CASE_DIR [--model-dir DIR]
//
// Reads CASE_DIR/meta.json, runs the model (graph optimisations on, one thread, so results do
// not depend on the machine's core count) on every input set CASE_DIR/inputs/<set>/*.npy and
// writes CASE_DIR/expected/<set>/<output file>.npy. --model-dir is where a third-party model
// ("package" in meta.json) was fetched to. onnxruntime-node is resolved from NODE_PATH (see
// make_references.sh), so nothing is installed into the source tree.
'use strict';

const fs = require('fs');
const path = require('path');
const ort = require('onnxruntime-node');

// NumPy dtype strings <-> ONNX Runtime tensor types and typed arrays (ORT holds bool as bytes).
const DTYPES = {
  '<f4': {ort: 'float32', array: Float32Array},
  '<i8': {ort: 'int64', array: BigInt64Array},
  '<i4': {ort: 'int32', array: Int32Array},
  '|b1': {ort: 'bool', array: Uint8Array},
};

function fail(message) {
  process.stderr.write(`ort_reference: ${message}\n`);
  process.exit(1);
}

function readNpy(file) {
  const bytes = fs.readFileSync(file);
  if (bytes.toString('latin1', 0, 6) !== '\x93NUMPY') fail(`${file}: not a .npy file`);
  const major = bytes[6];
  const headerLengthSize = major === 1 ? 2 : 4;
  const headerLength = headerLengthSize === 2 ? bytes.readUInt16LE(8) : bytes.readUInt32LE(8);
  const dataOffset = 8 + headerLengthSize + headerLength;
  const header = bytes.toString('latin1', 8 + headerLengthSize, dataOffset);
  const descr = /'descr':\s*'([^']+)'/.exec(header);
  const order = /'fortran_order':\s*(True|False)/.exec(header);
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header);
  if (!descr || !order || !shape) fail(`${file}: cannot parse header ${header}`);
  if (order[1] !== 'False') fail(`${file}: Fortran order is not supported`);
  const dtype = DTYPES[descr[1]];
  if (!dtype) fail(`${file}: dtype ${descr[1]} is not supported`);
  const dims = shape[1].split(',').map((d) => d.trim()).filter((d) => d !== '').map(Number);
  const count = dims.reduce((a, b) => a * b, 1);
  const data = bytes.subarray(dataOffset);
  if (data.length !== count * dtype.array.BYTES_PER_ELEMENT) {
    fail(`${file}: ${data.length} data bytes for shape (${dims}) of ${descr[1]}`);
  }
  // Copy into a fresh buffer so the typed array is aligned for its element size.
  const aligned = new dtype.array(count);
  new Uint8Array(aligned.buffer).set(data);
  return new ort.Tensor(dtype.ort, aligned, dims);
}

function writeNpy(file, tensor) {
  const entry = Object.entries(DTYPES).find(([, d]) => d.ort === tensor.type);
  if (!entry) fail(`${file}: output type ${tensor.type} is not supported`);
  const [descr, dtype] = entry;
  const shape = tensor.dims.length === 1 ? `(${tensor.dims[0]},)` : `(${tensor.dims.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  // Pad with spaces so the data starts at a multiple of 64 bytes, ending with a newline.
  const unpadded = 10 + header.length + 1;
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const prefix = Buffer.alloc(10);
  prefix.write('\x93NUMPY', 0, 'latin1');
  prefix[6] = 1;
  prefix[7] = 0;
  prefix.writeUInt16LE(header.length, 8);
  const data = new dtype.array(tensor.data);
  fs.mkdirSync(path.dirname(file), {recursive: true});
  fs.writeFileSync(file, Buffer.concat([prefix, Buffer.from(header, 'latin1'),
                                        Buffer.from(data.buffer, data.byteOffset, data.byteLength)]));
}

async function main() {
  const args = process.argv.slice(2);
  const modelDirFlag = args.indexOf('--model-dir');
  const modelDir = modelDirFlag >= 0 ? args.splice(modelDirFlag, 2)[1] : null;
  if (args.length !== 1) fail('usage: ort_reference.js CASE_DIR [--model-dir DIR]');
  const caseDir = args[0];
  const meta = JSON.parse(fs.readFileSync(path.join(caseDir, 'meta.json'), 'utf8'));
  if (meta.package && !modelDir) fail(`${caseDir}: the model comes from package "${meta.package}": pass --model-dir`);
  const modelPath = path.join(meta.package ? modelDir : caseDir, meta.model);
  const session = await ort.InferenceSession.create(modelPath, {
    graphOptimizationLevel: 'all',
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
  });
  for (const set of meta.sets) {
    const feeds = {};
    for (const input of meta.inputs) {
      feeds[input.name] = readNpy(path.join(caseDir, 'inputs', set, input.file));
    }
    const results = await session.run(feeds);
    for (const output of meta.outputs) {
      if (!results[output.name]) fail(`${modelPath}: ONNX Runtime gave no output "${output.name}"`);
      writeNpy(path.join(caseDir, 'expected', set, output.file), results[output.name]);
    }
  }
  process.stdout.write(`${caseDir}: ${meta.sets.length} input set(s) through ONNX Runtime ${ort.env.versions.common}\n`);
}

main().catch((error) => fail(error.stack || String(error)));
