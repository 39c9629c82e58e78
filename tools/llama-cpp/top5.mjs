// Prints llama.cpp's top-5 next-token log-probabilities (full-vocabulary softmax, temperature 1)
// after each given prompt (token ids), through node-llama-cpp. Used to produce reference data.
import {getLlama} from "node-llama-cpp";
const [modelPath, promptsJson] = process.argv.slice(2);
const prompts = JSON.parse(promptsJson);
const llama = await getLlama({gpu: false, build: "never"});
const model = await llama.loadModel({modelPath});
const context = await model.createContext({contextSize: 256, threads: 2, flashAttention: false, sequences: prompts.length});
const cases = [];
for (const ids of prompts) {
  const seq = context.getSequence();
  const input = ids.map((t, i) => i === ids.length - 1 ? [t, {generateNext: {probabilities: true, options: {temperature: 1, topK: 0, topP: 1, minP: 0}}}] : t);
  const out = await seq.controlledEvaluate(input);
  const probs = out[ids.length - 1].next.probabilities;
  const top5 = [...probs.entries()].sort((a, b) => b[1] - a[1]).slice(0, 5).map(([t, p]) => [t, Math.log(p)]);
  cases.push({prompt_token_ids: ids, top5});
}
console.log(JSON.stringify({engine: "llama.cpp via node-llama-cpp 3.21.1, CPU, 2 threads, flash attention off, F16 KV cache", cases}, null, 1));
process.exit(0);
