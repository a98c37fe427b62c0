// Presets for the decoder embedders people use today (issue 25): Qwen3-Embedding, gte-Qwen2 and the
// LLM2Vec Llama-3 form, each read from its official code or model card (repository, files and commit in
// `origin`). Where the code and the issue disagree, the code wins and a note says so (`bellm-bench
// presets`). Template syntax: src/model/tokenize/template.ts. test/model/presets/embedder-presets.test.ts checks
// every preset's ids and pooled positions against goldens that scripts/goldens/preset_goldens.py computes
// by the official rules with the real tokenizers.
import { RECIPE_PRESETS } from './recipes.ts';
import type { Preset } from './settings.ts';

const QWEN3_EMBEDDING = { repository: 'QwenLM/Qwen3-Embedding', commit: 'f4ad0c434c0e3534494e26a4a6bdfd8ab1431968' };
/** The same commit as the llm2vec preset (recipes.ts): llm2vec/llm2vec.py is unchanged since. */
const LLM2VEC = { repository: RECIPE_PRESETS.llm2vec.origin![0].repository, commit: RECIPE_PRESETS.llm2vec.origin![0].commit };

/**
 * Qwen's <|endoftext|> (id 151643) written as text: the tokenizer turns the added token's string into its
 * id. It is not {eos}: the tokenizers' tokenizer_config.json name <|im_end|> as eos_token.
 */
const QWEN_EOT = '<|endoftext|>';

export const EMBEDDER_PRESETS: Record<string, Preset> = {
  'qwen3-embedding': {
    name: 'qwen3-embedding',
    preprocess: 'none',
    prompt: `Instruct: {instruction}\nQuery:{text}${QWEN_EOT}`,
    tokenize: 'whole',
    instruction: 'Retrieve semantically similar text',
    pooling: 'last',
    maxLength: 8192,
    mask: 'correct',
    source: 'Qwen3-Embedding (Zhang et al. 2025), QwenLM/Qwen3-Embedding evaluation (the MTEB run): run_mteb.sh '
      + '(instruction_template "Instruct: {}\\nQuery:", max_length 8192, pooler_type last, attn_type causal), '
      + 'qwen3_embedding_model.py (get_instruction: "Retrieve semantically similar text" for every STS task, the '
      + 'instruction prepended to the text, tokenizer(padding left, truncation, max_length), _pooling_last); README.md '
      + 'Transformers usage (get_detailed_instruct, last_token_pool); <|endoftext|> appended as the checkpoint\'s '
      + 'tokenizer appends it; causal attention',
    origin: [
      { ...QWEN3_EMBEDDING, files: ['evaluation/run_mteb.sh', 'evaluation/qwen3_embedding_model.py', 'README.md', 'examples/qwen3_embedding_transformers.py'] },
      { repository: 'huggingface.co/Qwen/Qwen3-Embedding-0.6B', files: ['tokenizer.json (post_processor)', 'https://github.com/QwenLM/Qwen3-Embedding/issues/54'], commit: null },
    ],
    notes: [
      'The code appends no EOS itself: tokenizer(...) does, through the post-processor of the Hugging Face checkpoints\' '
        + 'tokenizer.json (a TemplateProcessing "$A <|endoftext|>", added after release; issue 54: "an EOS token is '
        + 'automatically added"). The README at c470ae3 appended it by hand (cut to max_length - 2, then eod_id); e3815b5 '
        + '(2025-06-06) dropped that for the plain tokenizer call. Both give the same ids here. The base Qwen3 tokenizer '
        + 'appends nothing, so the template writes <|endoftext|> itself; it is not the tokenizer_config eos_token '
        + '(<|im_end|>), so it is not {eos}.',
      'The issue\'s form ("Instruct: {task}\\nQuery:{text}", EOS, last token) agrees with the code. The STS task is not '
        + 'read from task_prompts.json (a Git LFS pointer in the snapshot): get_instruction returns "Retrieve semantically '
        + 'similar text" (no period) for every task of type STS, both sentences of a pair included.',
      'Truncation differs only past 8,191 tokens: the tokenizer keeps room for its <|endoftext|>, while the whole-string '
        + 'rule cuts the written <|endoftext|> with the text (no STS sentence comes near). An empty --instruction gives '
        + '"Instruct: \\nQuery:{text}", while the code then drops the prefix: use --prompt "{text}<|endoftext|>" for that.',
    ],
  },
  'gte-qwen2': {
    name: 'gte-qwen2',
    preprocess: 'none',
    prompt: `Instruct: {instruction}\nQuery: {text}${QWEN_EOT}`,
    tokenize: 'whole',
    instruction: 'Retrieve semantically similar text',
    pooling: 'last',
    maxLength: 8192,
    mask: 'correct',
    billmStartIndex: { value: 0 },
    source: 'gte-Qwen2 (Li et al. 2023, Alibaba-NLP/gte-Qwen2-7B-instruct and -1.5B-instruct): model card Transformers usage '
      + '(get_detailed_instruct f"Instruct: {task}\\nQuery: {query}", tokenizer max_length 8192, last_token_pool), '
      + 'scripts/eval_mteb.py (STS task "Retrieve semantically similar text", the model run with is_causal=False), '
      + 'tokenizer_config.json add_eos_token with the remote-code tokenizer (<|endoftext|> appended); every layer bidirectional',
    sources: {
      billmStartIndex: 'eval_mteb.py passes is_causal=False (bidirectional attention, as the card says: "Integration of bidirectional '
        + 'attention mechanisms"); gte-Qwen2-1.5B-instruct\'s config.json sets is_causal false (HF commit 0d2ad8e)',
    },
    origin: [
      {
        repository: 'huggingface.co/Alibaba-NLP/gte-Qwen2-7B-instruct',
        files: ['README.md (model card)', 'scripts/eval_mteb.py (commits 2f9d4ff, 4492085)', 'tokenizer_config.json', 'tokenization_qwen.py'],
        commit: null,
      },
      {
        repository: 'huggingface.co/Alibaba-NLP/gte-Qwen2-1.5B-instruct',
        files: ['config.json (is_causal, commit 0d2ad8e)', 'modeling_qwen.py (attention mask fix, commit 42e43ef)'],
        commit: null,
      },
      { repository: 'vllm-project/vllm', files: ['https://github.com/vllm-project/vllm/pull/14609', 'https://github.com/vllm-project/vllm/pull/18683'], commit: null },
    ],
    notes: [
      'No GitHub repository holds gte-Qwen2\'s code: the model card, eval_mteb.py and the configs were read through the search '
        + 'index (page excerpts and commit diffs), so no single commit is recorded. The issue named no rule; this is the card\'s.',
      'The EOS comes from the tokenizer: tokenizer_config.json sets add_eos_token true, eos_token <|endoftext|>, and maps '
        + 'AutoTokenizer to the remote-code tokenization_qwen.py (read in copies of the config whose auto_map points to '
        + 'Alibaba-NLP/gte-Qwen2-7B-instruct), which appends it. eval_mteb.py\'s _tokenize appended eos_token_id by hand '
        + 'until commit 4492085 rewrote it (the same ids once). Without trust_remote_code the stock tokenizer appends nothing '
        + '(vLLM\'s docs say so); the template writes <|endoftext|> itself. "Query: " has a space, unlike Qwen3-Embedding\'s "Query:".',
      'Bidirectional: the card says so and eval_mteb.py runs the model with is_causal=False, so every layer is bidirectional '
        + '(billmStartIndex 0, as the llm2vec preset). For gte-Qwen2-1.5B-instruct the remote code ignored that and stayed causal '
        + 'until its attention mask was fixed in May 2025 (HF commit 42e43ef; vLLM PR 18683); earlier published 1.5B numbers '
        + 'were causal: pass --billm-start-index with the layer count to reproduce those.',
    ],
  },
  'llm2vec-llama3': {
    // llm2vec's settings (whole tokenization, its instruction and rule, mean over the span, 512, every layer bidirectional)
    ...RECIPE_PRESETS.llm2vec,
    name: 'llm2vec-llama3',
    prompt: '<|start_header_id|>user<|end_header_id|>\n\n{instruction} {(*}{text}<|eot_id|>{)}',
    source: 'LLM2Vec (BehnamGhader et al. 2024) on Meta-Llama-3-8B-Instruct (McGill-NLP/LLM2Vec-Meta-Llama-3-8B-Instruct-mntp '
      + 'and its -supervised / -unsup-simcse adapters): llm2vec.py prepare_for_tokenization (for config._name_or_path '
      + '"meta-llama/Meta-Llama-3-8B-Instruct": "<|start_header_id|>user<|end_header_id|>\\n\\n" + text.strip() + "<|eot_id|>"), '
      + 'encode/_convert_to_str/tokenize (one string, BOS added, max_length 512), get_pooling mean over the embed_mask (the '
      + 'sentence and <|eot_id|>), models/bidirectional_llama.py (every layer bidirectional); STS instruction from examples/sts.py '
      + 'and test_configs/mteb/task_to_instructions.json',
    origin: [{
      ...LLM2VEC,
      files: ['llm2vec/llm2vec.py', 'llm2vec/models/bidirectional_llama.py', 'README.md', 'examples/sts.py', 'test_configs/mteb/task_to_instructions.json'],
    }],
    notes: [
      'The chat header wraps the whole "{instruction} {text}" string, not the sentence alone, and <|eot_id|> ends it. tokenize() '
        + 'counts the pooled tokens as the part after its separator tokenized alone, the sentence with <|eot_id|>, so the mean '
        + 'covers <|eot_id|> too; the preset marks "{text}<|eot_id|>" pooled and counts it back from the end, as the code does '
        + '(the llm2vec preset\'s rule). BOS <|begin_of_text|> comes from the checkpoint\'s tokenizer (Meta-Llama-3\'s '
        + 'post-processor).',
      'Byte-level BPE gives no dummy-prefix space, so "text" alone and " text" inside the string can differ in token count; '
        + 'the code then pools one token too few or too many (on 4 of the 20 test sentences: \'café naïve 東京\' takes in the '
        + 'instruction\'s ":", \'"A quoted sentence."\' loses its opening \' "\'). The preset reproduces that, as the '
        + 'official numbers have it.',
      'prepare_for_tokenization strips the joined string, so trailing whitespace of a sentence is dropped there and not here '
        + '(SentEval\'s sentences have none). As in the llm2vec preset, the word-wise shortening of texts over 400 tokens is '
        + 'not reproduced. An empty --instruction gives the header, the sentence and <|eot_id|>, as _convert_to_str does.',
      'The wrapping applies only to that checkpoint (the code tests config._name_or_path); the issue named the form without its '
        + 'rule. The code and the issue do not disagree.',
    ],
  },
};
