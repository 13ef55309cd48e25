// ONNX Runtime's side of bench/torch/compare.py: cnn_infer (the seed's CNN, exported from
// PyTorch by twin.py --export-onnx) at batch 256, timed as strata bench and twin.py time it:
// 10 warm-up runs, then 3 repetitions of STEPS runs, median samples/s.
//
// usage: node bench/torch/ort/bench.js MODEL.onnx THREADS STEPS
'use strict';
const ort = require('onnxruntime-node');

async function main() {
  const [model, threads = '2', steps = '20'] = process.argv.slice(2);
  if (!model) throw new Error('usage: node bench.js MODEL.onnx THREADS STEPS');
  const session = await ort.InferenceSession.create(model, {
    intraOpNumThreads: Number(threads), interOpNumThreads: 1,
    executionMode: 'sequential', graphOptimizationLevel: 'all',
  });
  const batch = 256;
  const data = new Float32Array(batch * 28 * 28);
  for (let i = 0; i < data.length; i++) data[i] = Math.random();
  const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', data, [batch, 1, 28, 28]) };
  for (let i = 0; i < 10; i++) await session.run(feeds);
  const reps = [];
  for (let r = 0; r < 3; r++) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < Number(steps); i++) await session.run(feeds);
    reps.push(Number(process.hrtime.bigint() - t) / 1e9 / Number(steps));
  }
  reps.sort((a, b) => a - b);
  console.log(JSON.stringify({
    workload: 'cnn_infer', samples_per_sec: batch / reps[1], threads: Number(threads),
    system: 'onnxruntime-node', version: require('onnxruntime-node/package.json').version,
  }));
}

main().catch((e) => { console.error(e.message); process.exit(1); });
