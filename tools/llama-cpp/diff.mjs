// llama.cpp's greedy decoding with per-step top-5 log-probabilities, through node-llama-cpp (CPU),
// for differential tests of Argon. Usage:
//   node diff.mjs MODEL.gguf '[[1, 2, 3], [1, 7]]' [STEPS=32] [KV=f32|f16]
// For each prompt (token ids) it evaluates the prompt, then STEPS times: takes llama.cpp's full
// softmax (temperature 1, no truncation) of the next-token distribution, records its 5 most likely
// tokens with natural-log probabilities, and feeds the most likely one back (greedy). Prints JSON:
//   {engine, kv_cache, steps, cases: [{prompt_token_ids, generated_token_ids, top5: [[[id, logprob] x5] x STEPS]}]}
// Flash attention is off and the KV cache is F32 by default (KV=f16 gives llama.cpp's default).
import {getLlama} from "node-llama-cpp";

const [modelPath, promptsJson, stepsArg, kvArg] = process.argv.slice(2);
if (!modelPath || !promptsJson) {
  console.error("usage: node diff.mjs MODEL.gguf '[[ids...], ...]' [STEPS] [f32|f16]");
  process.exit(2);
}
const prompts = JSON.parse(promptsJson);
const steps = Number(stepsArg ?? 32);
const kv = (kvArg ?? "f32").toUpperCase();
const llama = await getLlama({gpu: false, build: "never", logLevel: "error"});
const model = await llama.loadModel({modelPath});
const longest = Math.max(...prompts.map((p) => p.length));
const context = await model.createContext({
  contextSize: Math.max(64, longest + steps + 8), threads: 2, flashAttention: false, sequences: 1,
  experimentalKvCacheKeyType: kv, experimentalKvCacheValueType: kv});
const sampling = {generateNext: {probabilities: true, options: {temperature: 1, topK: 0, topP: 1, minP: 0}}};

function top(probs, k) {
  return [...probs.entries()].sort((a, b) => b[1] - a[1]).slice(0, k).map(([t, p]) => [t, Math.log(p)]);
}

const seq = context.getSequence();
const cases = [];
for (const ids of prompts) {
  await seq.clearHistory();
  const generated = [];
  const top5 = [];
  let out = await seq.controlledEvaluate(ids.map((t, i) => i === ids.length - 1 ? [t, sampling] : t));
  let probs = out[ids.length - 1].next.probabilities;
  for (let step = 0; step < steps; step++) {
    const best = top(probs, 5);
    top5.push(best);
    const next = best[0][0];
    generated.push(next);
    if (step + 1 < steps) {
      out = await seq.controlledEvaluate([[next, sampling]]);
      probs = out[0].next.probabilities;
    }
  }
  cases.push({prompt_token_ids: ids, generated_token_ids: generated, top5});
}
console.log(JSON.stringify({engine: "llama.cpp via node-llama-cpp 3.21.1, CPU, 2 threads, flash attention off",
  kv_cache: kv, steps, cases}));
process.exit(0);
