#!/usr/bin/env python3
"""Writes the small GGUF seed files of GgufFuzzTest (versions 1-3, every value type, tensors,
tiny SentencePiece / byte-level BPE / WordPiece vocabularies). Usage: gguf_seeds.py OUT_DIR"""
import os, struct, sys

U8, I8, U16, I16, U32, I32, F32, BOOL, STR, ARR, U64, I64, F64 = range(13)
FMT = {U8: '<B', I8: '<b', U16: '<H', I16: '<h', U32: '<I', I32: '<i', F32: '<f', BOOL: '<?',
       U64: '<Q', I64: '<q', F64: '<d'}


def gguf(version, kvs, tensors=(), alignment=32):
    cnt = '<I' if version == 1 else '<Q'

    def s(x):
        b = x.encode('utf-8')
        return struct.pack(cnt, len(b)) + b

    def val(t, v):
        if t == STR:
            return s(v)
        if t == ARR:
            et, items = v
            return struct.pack('<I', et) + struct.pack(cnt, len(items)) + b''.join(val(et, i) for i in items)
        return struct.pack(FMT[t], v)

    out = b'GGUF' + struct.pack('<I', version) + struct.pack(cnt, len(tensors)) + struct.pack(cnt, len(kvs))
    for k, t, v in kvs:
        out += s(k) + struct.pack('<I', t) + val(t, v)
    data, offs = b'', []
    for name, ttype, shape, raw in tensors:
        data += b'\0' * (-len(data) % alignment)
        offs.append(len(data))
        data += raw
    for (name, ttype, shape, raw), off in zip(tensors, offs):
        out += s(name) + struct.pack('<I', len(shape))
        out += b''.join(struct.pack('<I' if version == 1 else '<Q', d) for d in shape)
        out += struct.pack('<I', ttype) + struct.pack('<Q', off)
    if tensors:
        out += b'\0' * (-len(out) % alignment) + data
    return out


def bytes_to_unicode():
    bs = list(range(ord('!'), ord('~') + 1)) + list(range(ord('¡'), ord('¬') + 1)) + list(range(ord('®'), ord('ÿ') + 1))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b); cs.append(256 + n); n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


def main(out):
    os.makedirs(out, exist_ok=True)
    every = [('general.architecture', STR, 'llama'), ('u8', U8, 200), ('i8', I8, -5), ('u16', U16, 65000),
             ('i16', I16, -300), ('u32', U32, 4000000000), ('i32', I32, -7), ('f32', F32, 1.5), ('b', BOOL, True),
             ('s', STR, 'héllo'), ('u64', U64, 1 << 40), ('i64', I64, -(1 << 40)), ('f64', F64, 2.25),
             ('nested', ARR, (ARR, [(I32, [1, -2]), (STR, ['a', 'é'])])), ('floats', ARR, (F32, [0.5, -1.0])),
             ('general.alignment', U32, 32)]
    tensors = [('a', 0, [4], struct.pack('<4f', 1, 2, 3, 4)),          # F32
               ('b', 1, [2, 2], struct.pack('<4e', 1, 2, 3, 4)),        # F16
               ('q', 8, [32, 1], struct.pack('<e', 0.5) + bytes(range(32)))]  # Q8_0
    for v in (1, 2, 3):
        open(os.path.join(out, f'every-type-v{v}.gguf'), 'wb').write(gguf(v, every, tensors))
    open(os.path.join(out, 'empty-v3.gguf'), 'wb').write(gguf(3, []))

    spm = ['<unk>', '<s>', '</s>'] + [f'<0x{b:02X}>' for b in range(256)] + ['▁', 'a', 'b', '▁a', 'ab', '▁ab', '<|im_start|>']
    types = [2, 3, 3] + [6] * 256 + [1] * 6 + [4]
    open(os.path.join(out, 'vocab-spm.gguf'), 'wb').write(gguf(3, [
        ('tokenizer.ggml.model', STR, 'llama'), ('tokenizer.ggml.tokens', ARR, (STR, spm)),
        ('tokenizer.ggml.scores', ARR, (F32, [0.0] * 259 + [-1.0, -2.0, -3.0, -4.0, -5.0, -6.0, 0.0])),
        ('tokenizer.ggml.token_type', ARR, (I32, types)),
        ('tokenizer.ggml.bos_token_id', U32, 1), ('tokenizer.ggml.eos_token_id', U32, 2),
        ('tokenizer.ggml.unknown_token_id', U32, 0),
        ('tokenizer.chat_template', STR, "{% for m in messages %}{{ m['role'] + ': ' + m['content'] }}{% endfor %}")]))

    bu = bytes_to_unicode()
    base = [bu[b] for b in range(256)]
    merges = ['Ġ a', 'a b', 'Ġa b']
    bpe = base + ['Ġa', 'ab', 'Ġab', '<|endoftext|>']
    for pre in ('gpt-2', 'llama-bpe', 'qwen2'):
        open(os.path.join(out, f'vocab-bpe-{pre}.gguf'), 'wb').write(gguf(3, [
            ('tokenizer.ggml.model', STR, 'gpt2'), ('tokenizer.ggml.pre', STR, pre),
            ('tokenizer.ggml.tokens', ARR, (STR, bpe)),
            ('tokenizer.ggml.token_type', ARR, (I32, [1] * 259 + [3])),
            ('tokenizer.ggml.merges', ARR, (STR, merges)),
            ('tokenizer.ggml.bos_token_id', U32, 259), ('tokenizer.ggml.eos_token_id', U32, 259)]))

    wp = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'a', 'b', '##b', 'ab', ',', '.']
    open(os.path.join(out, 'vocab-bert.gguf'), 'wb').write(gguf(3, [
        ('tokenizer.ggml.model', STR, 'bert'), ('tokenizer.ggml.tokens', ARR, (STR, wp)),
        ('tokenizer.ggml.token_type', ARR, (I32, [3, 2, 3, 3, 3] + [1] * 6)),
        ('tokenizer.ggml.bos_token_id', U32, 2), ('tokenizer.ggml.seperator_token_id', U32, 3),
        ('tokenizer.ggml.unknown_token_id', U32, 1), ('tokenizer.ggml.padding_token_id', U32, 0)]))


if __name__ == '__main__':
    main(sys.argv[1])
