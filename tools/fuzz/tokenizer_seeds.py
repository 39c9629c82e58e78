#!/usr/bin/env python3
"""Writes seed inputs of TokenizerFuzzTest#encode: the llama.cpp tokenizer test strings and special
token texts, each followed by the bytes Jazzer's FuzzedDataProvider takes from the end
(add_special, parse_special, tokenizer index). Usage: tokenizer_seeds.py INP_FILE OUT_DIR"""
import os, sys

inp, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
texts = open(inp, encoding='utf-8').read().split('\n__ggml_vocab_test__\n')
texts += ['<s>hi</s>', '<|im_start|>user\nhi<|im_end|>', '<|endoftext|>x', '[CLS] a [SEP]', '\u2581a\u2581',
          '\u00e9\u0301 \ud55c\uad6d\uc5b4 \U0001f600 \u0000 \r\n\t']
n = 11  # tokenizers in TokenizerFuzzTest.SUBJECTS
for i, t in enumerate(texts):
    b = t.encode('utf-8', 'surrogatepass')
    with open(os.path.join(out, f'seed-{i:02d}'), 'wb') as f:
        f.write(b + bytes([i % 2, (i // 2) % 2, i % n]))
