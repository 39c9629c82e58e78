// Benchmark driver for `argon bench --vs-llama-cpp`: loads MODEL in llama.cpp (node-llama-cpp,
// CPU) with THREADS threads, prints "ready", then answers one line per command read from stdin:
//   pp N   -> evaluate a prompt of N random tokens (BOS first) in a fresh sequence; prints seconds
//   tg N   -> decode N random tokens one at a time after BOS in a fresh sequence; prints seconds
//   quit
// Model loading is outside the timings, as in llama-bench.
import {getLlama} from "node-llama-cpp";
import readline from "node:readline";

const [modelPath, threadsArg, vocabArg, ctxArg] = process.argv.slice(2);
const threads = Number(threadsArg);
const contextSize = Number(ctxArg ?? 1024);
const llama = await getLlama({gpu: false, build: "never", logLevel: "error"});
const model = await llama.loadModel({modelPath});
const context = await model.createContext({contextSize, batchSize: contextSize, threads: {ideal: threads, min: threads},
  flashAttention: false, batching: {dispatchSchedule: (dispatch) => setImmediate(dispatch)}});
const seq = context.getSequence();
const nVocab = Number(vocabArg);
let seed = 1234;
const rand = () => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed; };
const bos = model.tokens.bos ?? 1;
console.log("ready");
const rl = readline.createInterface({input: process.stdin});
for await (const line of rl) {
  const [cmd, nArg] = line.trim().split(/\s+/);
  if (cmd === "quit") break;
  const n = Number(nArg);
  await seq.clearHistory();
  if (cmd === "pp") {
    const tokens = [bos];
    while (tokens.length < n) tokens.push(rand() % Number(nVocab));
    const t0 = process.hrtime.bigint();
    await seq.evaluateWithoutGeneratingNewTokens(tokens);
    console.log(Number(process.hrtime.bigint() - t0) / 1e9);
  } else if (cmd === "tg") {
    // Greedy generation inside llama.cpp's own loop (one decode per token), after BOS.
    let i = 0;
    const t0 = process.hrtime.bigint();
    for await (const token of seq.evaluate([bos], {temperature: 0})) {
      if (++i >= n) break;
    }
    console.log(Number(process.hrtime.bigint() - t0) / 1e9);
  } else {
    console.log("error unknown command " + cmd);
  }
}
process.exit(0);
