#!/usr/bin/env node
// The comparison point for cold_start.py: the HTTP function written the usual way, with
// onnxruntime-node. Same routes as http_function: POST /infer with a .npy body (one-input
// models) answers the first output as .npy; with a JSON body {"inputs": {NAME: nested arrays}}
// it answers {"outputs": {NAME: nested arrays}} for every output; GET /_/ready answers 200 once
// the session exists (the port opens only then, as in http_function).
//
//   PORT=8080 node ort_function.js MODEL.onnx        (onnxruntime-node resolved from NODE_PATH)
'use strict';

const http = require('http');
const ort = require('onnxruntime-node');

const NPY_DTYPES = {'<f4': {ort: 'float32', array: Float32Array}};

function parseNpy(bytes) {
  if (bytes.toString('latin1', 0, 6) !== '\x93NUMPY') throw new Error('not a .npy body');
  const headerLength = bytes.readUInt16LE(8);
  const header = bytes.toString('latin1', 10, 10 + headerLength);
  const descr = /'descr':\s*'([^']+)'/.exec(header);
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header);
  const dtype = descr && NPY_DTYPES[descr[1]];
  if (!dtype || !shape) throw new Error(`unsupported .npy header ${header}`);
  const dims = shape[1].split(',').map((d) => d.trim()).filter((d) => d !== '').map(Number);
  const data = new dtype.array(dims.reduce((a, b) => a * b, 1));
  new Uint8Array(data.buffer).set(bytes.subarray(10 + headerLength));
  return new ort.Tensor(dtype.ort, data, dims);
}

function formatNpy(tensor) {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${tensor.dims.join(', ')},), }`;
  header += ' '.repeat((64 - ((10 + header.length + 1) % 64)) % 64) + '\n';
  const prefix = Buffer.from('\x93NUMPY\x01\x00\x00\x00', 'latin1');
  prefix.writeUInt16LE(header.length, 8);
  const data = tensor.data;
  return Buffer.concat([prefix, Buffer.from(header, 'latin1'),
                        Buffer.from(data.buffer, data.byteOffset, data.byteLength)]);
}

const JSON_DTYPES = {
  float32: (values) => Float32Array.from(values),
  int32: (values) => Int32Array.from(values),
  int64: (values) => BigInt64Array.from(values, (v) => BigInt(v)),
};

// Nested arrays → [dims, flat values], checking the nesting is rectangular.
function flatten(nested) {
  const dims = [];
  for (let level = nested; Array.isArray(level); level = level[0]) dims.push(level.length);
  const values = nested.flat(dims.length);
  if (values.length !== dims.reduce((a, b) => a * b, 1)) throw new Error('ragged input array');
  return [dims, values];
}

function nest(data, dims) {
  if (dims.length === 0) return data[0];
  const stride = data.length / dims[0];
  return Array.from({length: dims[0]},
                    (_, i) => nest(data.slice(i * stride, (i + 1) * stride), dims.slice(1)));
}

function jsonFeeds(session, body) {
  const inputs = JSON.parse(body).inputs;
  const feeds = {};
  session.inputNames.forEach((name, i) => {
    const type = session.inputMetadata[i].type;
    if (!(name in inputs)) throw new Error(`missing input ${name}`);
    if (!(type in JSON_DTYPES)) throw new Error(`input ${name}: ${type} is not supported`);
    const [dims, values] = flatten(inputs[name]);
    feeds[name] = new ort.Tensor(type, JSON_DTYPES[type](values), dims);
  });
  return feeds;
}

function jsonOutputs(results, names) {
  const outputs = {};
  for (const name of names) {
    const tensor = results[name];
    outputs[name] = nest(Array.from(tensor.data, Number), tensor.dims);
  }
  return JSON.stringify({outputs});
}

async function main() {
  const session = await ort.InferenceSession.create(process.argv[2], {
    graphOptimizationLevel: 'all', intraOpNumThreads: 1, interOpNumThreads: 1});
  const server = http.createServer((request, response) => {
    if (request.method === 'GET' && (request.url === '/_/ready' || request.url === '/_/health')) {
      response.end('ok\n');
      return;
    }
    if (request.method !== 'POST' || request.url !== '/infer') {
      response.writeHead(404).end();
      return;
    }
    const chunks = [];
    request.on('data', (chunk) => chunks.push(chunk));
    request.on('end', async () => {
      try {
        const body = Buffer.concat(chunks);
        if ((request.headers['content-type'] || '').startsWith('application/json')) {
          const results = await session.run(jsonFeeds(session, body));
          response.writeHead(200, {'Content-Type': 'application/json'});
          response.end(jsonOutputs(results, session.outputNames));
          return;
        }
        const results = await session.run({[session.inputNames[0]]: parseNpy(body)});
        response.writeHead(200, {'Content-Type': 'application/x-npy'});
        response.end(formatNpy(results[session.outputNames[0]]));
      } catch (error) {
        response.writeHead(400).end(String(error));
      }
    });
  });
  server.listen(Number(process.env.PORT || 8080), '127.0.0.1');
}

main().catch((error) => {
  process.stderr.write(`${error.stack || error}\n`);
  process.exit(1);
});
