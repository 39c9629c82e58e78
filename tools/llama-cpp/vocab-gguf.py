#!/usr/bin/env python3
"""Writes a vocabulary-only GGUF (no tensors) of Llama 3's 128,256-token or Qwen2's 151,665-token
byte-level BPE vocabulary from the tokenizer files in ../shared/models/tokenizers, with the same
special tokens as argon-bench's GrammarMaskBench, so that llama.cpp (loaded with vocab_only) and
Argon mask over the same vocabulary. Usage: vocab-gguf.py llama3|qwen2 TOKENIZERS_DIR OUT.gguf"""
import json, os, struct, sys

U32, I32, F32, STR, ARR = 4, 5, 6, 8, 9
NORMAL, CONTROL, USER_DEFINED = 1, 3, 4


def s(x):
    b = x.encode('utf-8')
    return struct.pack('<Q', len(b)) + b


def kv(key, t, v):
    out = s(key) + struct.pack('<I', t)
    if t == STR:
        return out + s(v)
    if t == ARR:
        et, items = v
        out += struct.pack('<IQ', et, len(items))
        if et == STR:
            return out + b''.join(s(i) for i in items)
        return out + struct.pack('<%di' % len(items), *items)
    return out + struct.pack({U32: '<I', I32: '<i', F32: '<f'}[t], v)


def merges(path):
    with open(path, encoding='utf-8') as f:
        return [line.rstrip('\n') for line in f if line.strip() and not line.startswith('#version')]


def main(name, tokdir, out):
    if name == 'llama3':
        d = os.path.join(tokdir, 'llama3.2')
        enc = json.load(open(os.path.join(d, 'encoder.json'), encoding='utf-8'))
        named = ['<|begin_of_text|>', '<|end_of_text|>', '<|reserved_special_token_0|>', '<|reserved_special_token_1|>',
                 '<|finetune_right_pad_id|>', '<|reserved_special_token_2|>', '<|start_header_id|>', '<|end_header_id|>',
                 '<|eom_id|>', '<|eot_id|>', '<|python_tag|>']
        added = [(128000 + i, named[i] if i < len(named) else '<|reserved_special_token_%d|>' % (i - len(named) + 3), True)
                 for i in range(256)]
        pre, bos, eos, m = 'llama-bpe', 128000, 128009, merges(os.path.join(d, 'vocab.bpe'))
    elif name == 'qwen2':
        d = os.path.join(tokdir, 'qwen2')
        enc = json.load(open(os.path.join(d, 'vocab.json'), encoding='utf-8'))
        names = ['<|endoftext|>', '<|im_start|>', '<|im_end|>', '<|object_ref_start|>', '<|object_ref_end|>', '<|box_start|>',
                 '<|box_end|>', '<|quad_start|>', '<|quad_end|>', '<|vision_start|>', '<|vision_end|>', '<|vision_pad|>',
                 '<|image_pad|>', '<|video_pad|>', '<tool_call>', '</tool_call>', '<|fim_prefix|>', '<|fim_middle|>',
                 '<|fim_suffix|>', '<|fim_pad|>', '<|repo_name|>', '<|file_sep|>']
        added = [(151643 + i, n, 'tool_call' not in n) for i, n in enumerate(names)]
        pre, bos, eos, m = 'qwen2', 151643, 151645, merges(os.path.join(d, 'merges.txt'))
    else:
        sys.exit('vocab-gguf.py: vocabulary %r (expected llama3 or qwen2)' % name)
    n = len(enc) + len(added)
    tokens, types = [None] * n, [NORMAL] * n
    for t, i in enc.items():
        tokens[i] = t
    for i, t, control in added:
        tokens[i], types[i] = t, CONTROL if control else USER_DEFINED
    if any(t is None for t in tokens):
        sys.exit('vocab-gguf.py: ids are not contiguous')
    kvs = [kv('general.architecture', STR, 'llama'), kv('general.name', STR, name + '-vocab'),
           kv('llama.context_length', U32, 4096), kv('llama.embedding_length', U32, 64), kv('llama.block_count', U32, 1),
           kv('llama.feed_forward_length', U32, 128), kv('llama.attention.head_count', U32, 1),
           kv('llama.attention.layer_norm_rms_epsilon', F32, 1e-5),
           kv('tokenizer.ggml.model', STR, 'gpt2'), kv('tokenizer.ggml.pre', STR, pre),
           kv('tokenizer.ggml.tokens', ARR, (STR, tokens)), kv('tokenizer.ggml.token_type', ARR, (I32, types)),
           kv('tokenizer.ggml.merges', ARR, (STR, m)),
           kv('tokenizer.ggml.bos_token_id', U32, bos), kv('tokenizer.ggml.eos_token_id', U32, eos)]
    data = b'GGUF' + struct.pack('<IQQ', 3, 0, len(kvs)) + b''.join(kvs)
    tmp = out + '.tmp'
    with open(tmp, 'wb') as f:
        f.write(data)
    os.replace(tmp, out)
    print('%s: %d tokens, %d merges' % (out, n, len(m)))


if __name__ == '__main__':
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
