// Runs ONNX models through ONNX Runtime (onnxruntime-node) for the Go
// tests and benchmarks of the onnx package.
//
//   node run.js MANIFEST.json
//
// MANIFEST is a list of {model, input, shape, output, threads, repeat}:
// input is a raw little-endian float32 file of the given shape; the first
// output of the model is written to output as raw float32, with its shape
// in output + ".json". With repeat > 0 the model also runs that many more
// times (after a warm-up, best of three rounds) and the mean milliseconds
// per run are added to the .json.
const fs = require('fs');
const ort = require('onnxruntime-node');

async function main() {
  const jobs = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  for (const job of jobs) {
    const session = await ort.InferenceSession.create(job.model, {
      intraOpNumThreads: job.threads || 1,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
    const buf = fs.readFileSync(job.input);
    const data = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
    const feeds = {};
    feeds[session.inputNames[0]] = new ort.Tensor('float32', data, job.shape);
    let out = await session.run(feeds);
    const y = out[session.outputNames[0]];
    const info = {shape: y.dims};
    if (job.repeat > 0) { // warm-up, then the best of three rounds
      const per = Math.max(1, Math.floor(job.repeat / 3));
      for (let i = 0; i < Math.max(3, Math.floor(job.repeat / 10)); i++) {
        out = await session.run(feeds);
      }
      for (let r = 0; r < 3; r++) {
        const t0 = process.hrtime.bigint();
        for (let i = 0; i < per; i++) {
          out = await session.run(feeds);
        }
        const ms = Number(process.hrtime.bigint() - t0) / 1e6 / per;
        info.ms = r === 0 ? ms : Math.min(info.ms, ms);
      }
    }
    fs.writeFileSync(job.output, Buffer.from(y.data.buffer, y.data.byteOffset, y.data.byteLength));
    fs.writeFileSync(job.output + '.json', JSON.stringify(info));
  }
}

main().catch((e) => {
  console.error(e.message || e);
  process.exit(1);
});
