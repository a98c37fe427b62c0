// Presets that reproduce other papers' recipes for turning a decoder into an encoder, each read from
// its official code (repository, files and commit in `origin`). Where the code and issue 15's table
// disagree, the code wins and a note says so (`bellm-bench presets`, README "Recipe presets").
// Template syntax: src/model/tokenize/template.ts. All of them run on the harness's one decoder and scorer.
import type { Preset } from './settings.ts';

const ECHO = { repository: 'jakespringer/echo-embeddings', commit: 'c752c4641d3e78378934e860ac76843f8a5d1880' };
const LLM2VEC = { repository: 'McGill-NLP/llm2vec', commit: '312adcfb578b4023bfc9d3bcc83b6b87448ab059' };
const TEVATRON = { repository: 'texttron/tevatron', commit: 'dd063104c81a76d6a77c845f667b46b9e5abd625' };
const SGPT = { repository: 'Muennighoff/sgpt', commit: '37c8bf090af8fe3d2d553b5281cf8ef7205e4d01' };
const ANGLE = { repository: 'SeanLee97/AnglE', commit: '5155458cfa6f7fbc7a8a19a66960cd86eadfd534' };
/** microsoft/unilm: e5/utils.py's newest commit (get_task_def_by_task_name_and_type, get_detailed_instruct). */
const E5 = { repository: 'microsoft/unilm', commit: '59d0483d235a338fcd57a1f90d4a199a39e0f401' };

const ECHO_PARSER_RULE = "echo_embeddings.py's EchoParser: BOS written as an id, every piece tokenized on its own "
  + '(SentencePiece gives each piece its leading space, so templates put no spaces at piece boundaries) and cut to '
  + 'max_length tokens on its own (example.py: 300)';

export const RECIPE_PRESETS: Record<string, Preset> = {
  echo: {
    name: 'echo',
    preprocess: 'none',
    prompt: '{bos}Rewrite the following paragraph:{(}{text}.{)}The rewritten paragraph:{text*}',
    tokenize: 'pieces',
    pooling: 'avg',
    maxLength: 300,
    mask: 'correct',
    source: 'Springer et al. 2024, zero-shot echo embeddings: the template its author confirmed in jakespringer/echo-embeddings issue 8, '
      + `mean over the second {text} only; tokenized by ${ECHO_PARSER_RULE}`,
    origin: [{ ...ECHO, files: ['https://github.com/jakespringer/echo-embeddings/issues/8', 'echo_embeddings.py', 'example.py'] }],
    notes: [
      'The form confirmed in issue 8 is "Rewrite the following paragraph: S. The rewritten paragraph: S": a period follows the first '
        + 'sentence, which the issue table left out. The repository wins: the period is in the template, tokenized with the first sentence.',
      'The repository has no code for the zero-shot form; the preset tokenizes it with the repository\'s EchoParser rule (pieces), '
        + 'which gives the same ids as the whole string on every STS-B test sentence (a test checks all 2,551).',
    ],
  },
  'echo-instruct': {
    name: 'echo-instruct',
    preprocess: 'none',
    prompt: '{bos}Instruct:{(}{instruction},{)}\nQuery:{text}\nQuery again:{text*}{eos*}',
    tokenize: 'pieces',
    instruction: 'Retrieve semantically similar text',
    pooling: 'avg',
    maxLength: 300,
    mask: 'correct',
    source: 'echo-embeddings (Springer et al. 2024), trained checkpoints: the query template of example.py / README.md, '
      + `${ECHO_PARSER_RULE}; EchoPooling over the unmasked pieces (second {text} and </s>): mean for the *-meantoken `
      + 'checkpoints, --pooling last (the </s>) for *-lasttoken',
    origin: [{ ...ECHO, files: ['echo_embeddings.py', 'example.py', 'README.md'] }],
    notes: [
      'The repository\'s template is <s>Instruct:{!%%prompt%%,}\\nQuery:{!%%text%%}\\nQuery again:{%%text%%}{</s>}: a comma follows the '
        + 'instruction, inside the instruction\'s piece. The issue table had no comma. The repository wins.',
      'The repository gives no STS instruction. The default is E5-mistral\'s STS task definition without its final period (the '
        + 'template adds the comma); set another with --instruction.',
    ],
  },
  llm2vec: {
    name: 'llm2vec',
    preprocess: 'none',
    prompt: '{instruction} {text*}',
    tokenize: 'whole',
    instruction: 'Retrieve semantically similar text:',
    instructionRule: 'llm2vec',
    pooling: 'avg',
    maxLength: 512,
    mask: 'correct',
    billmStartIndex: { value: 0 },
    source: 'LLM2Vec (BehnamGhader et al. 2024): llm2vec.py encode/_convert_to_str/tokenize (the string "{instruction} {text}", '
      + 'BOS added, max_length 512), get_pooling mean over the embed_mask (the sentence\'s tokens only), '
      + 'models/bidirectional_llama.py (every layer bidirectional, padding masked); STS instruction from examples/sts.py and '
      + 'test_configs/mteb/task_to_instructions.json',
    origin: [{
      ...LLM2VEC,
      files: ['llm2vec/llm2vec.py', 'llm2vec/models/bidirectional_llama.py', 'examples/sts.py', 'test_configs/mteb/task_to_instructions.json'],
    }],
    notes: [
      'llm2vec.py does not tokenize the pieces separately: it tokenizes "{instruction} {text}" as one string and pools its last n '
        + 'tokens, n = the sentence\'s token count when tokenized alone (tokenize, embed_mask). The issue said each piece is '
        + 'tokenized on its own; the repository wins: whole tokenization, the span counted back from the end.',
      'For meta-llama/Llama-2-7b-chat-hf and Mistral-7B-Instruct-v0.2 prepare_for_tokenization wraps the input as '
        + '"[INST] {instruction} {text} [/INST]" and " [/INST]" is pooled with the sentence: --prompt "[INST] {instruction} {(*}{text} [/INST]{)}". '
        + 'The preset is the base-model form.',
      'Not reproduced: _convert_to_str shortens texts over doc_max_length (400 tokens) word by word (no STS sentence comes '
        + 'near it); over max_length llm2vec.py masks the last n positions of the cut sequence, bellm-bench pools what is left '
        + 'of the sentence and counts the input as truncated.',
    ],
  },
  e5: {
    name: 'e5',
    preprocess: 'none',
    prompt: 'Instruct: {instruction}\nQuery: {text}{eos}',
    tokenize: 'whole',
    instruction: 'Retrieve semantically similar text.',
    pooling: 'last',
    maxLength: 4096,
    mask: 'correct',
    source: 'E5-mistral (Wang et al. 2024), model card of intfloat/e5-mistral-7b-instruct (Transformers usage): '
      + 'get_detailed_instruct, tokenizer(max_length=4096 - 1, truncation) then eos_token_id appended, last_token_pool; '
      + 'STS task definition from microsoft/unilm e5/utils.py get_task_def_by_task_name_and_type (task_type STS: every STS task, '
      + 'STS12-16, STSBenchmark and SICK-R) and get_detailed_instruct (\'Instruct: {}\\nQuery: \')',
    origin: [
      { repository: 'huggingface.co/intfloat/e5-mistral-7b-instruct', files: ['README.md (model card)'], commit: null },
      { ...E5, files: ['e5/utils.py', 'e5/mteb_except_retrieval_eval.py'] },
    ],
    notes: [
      'The model card was read through the search index, not a fetched snapshot: no commit recorded for it. microsoft/unilm was '
        + 'read at 59d0483 (2024-04-23), the newest commit of e5/utils.py: its STS task definition and template are the preset\'s, '
        + 'character for character, and the card and the issue table agree.',
      'At that commit create_batch_dict no longer appends EOS itself (commit "simplify batch creation for e5-mistral"; before, '
        + 'always_add_eos appended eos_token_id for last-token pooling, as the model card does) and the MTEB script tokenizes with '
        + 'max_length 512. The preset keeps the card\'s rule (EOS appended, 4096); STS sentences are far shorter than 512 tokens.',
      'mteb_except_retrieval_eval.py L2-normalizes STS embeddings; cosine scores do not change (embed --normalize writes them so).',
    ],
  },
  repllama: {
    name: 'repllama',
    preprocess: 'none',
    prompt: 'query: {text}{eos}',
    tokenize: 'whole',
    pooling: 'last',
    maxLength: 511,
    mask: 'correct',
    source: 'RepLLaMA (Ma et al. 2023), tevatron examples/repllama: data.py QueryPreProcessor (encode("query: " + text, '
      + 'no special tokens, max_length = query_max_len - 3) and EncodeDataset (prepare_for_model(ids + [eos]) adds BOS), '
      + 'repllama.py (last non-padding token, L2-normalized), README.md (query_max_len 512); both STS sentences as queries',
    origin: [{ ...TEVATRON, files: ['examples/repllama/data.py', 'examples/repllama/repllama.py', 'examples/repllama/encode.py', 'examples/repllama/README.md'] }],
    notes: [
      'tevatron cuts the string\'s tokens to query_max_len - 3 (509 with the README\'s 512) before BOS and EOS are added, so '
        + 'an input is at most 511 tokens: maxLength 511 with the whole-string rule (BOS + text cut to maxLength - 1, then EOS) '
        + 'is that rule.',
    ],
  },
  sgpt: {
    name: 'sgpt',
    preprocess: 'none',
    prompt: '{text}',
    tokenize: 'whole',
    pooling: 'weighted',
    maxLength: 512,
    mask: 'correct',
    source: 'SGPT (Muennighoff 2022), symmetric bi-encoder: README.md "Symmetric Semantic Search BE" (raw text, weights '
      + 'arange(1, seq_len + 1) times the attention mask) and the sentence-transformers fork\'s models/Pooling.py '
      + '(pooling_mode_weightedmean_tokens)',
    origin: [{ ...SGPT, files: ['README.md', 'biencoder/nli_msmarco/sentence-transformers/sentence_transformers/models/Pooling.py'] }],
    notes: [
      'SGPT\'s models (GPT-Neo, GPT-J, BLOOM) have no BOS; on LLaMA the tokenizer adds one and it takes weight 1, as SGPT\'s '
        + 'code does with any tokenizer that adds it. The README truncates at the tokenizer\'s model_max_length; the preset uses 512.',
    ],
  },
  angle: {
    name: 'angle',
    preprocess: 'bellm-degrade',
    prompt: 'Summarize sentence "{text}" in one word:"',
    tokenize: 'whole',
    pooling: 'last',
    maxLength: 512,
    mask: 'correct',
    source: 'AnglE (Li & Li 2023), LLM models (angle-llama-7b-nli-v2): angle_emb/angle.py Prompts.A, AnglE.encode '
      + '(prompt.format(text=...), tokenizer(max_length=512, truncation), BOS added), utils.py get_pooling "last" '
      + '(last non-padding token); README.md table (Prompts.A, last token); the STS table\'s preprocessing from '
      + 'examples/NLI/eval_nli.py batcher ("." appended unless the text ends in . ? " \', " turned into \', a final ? becomes .)',
    origin: [
      { ...ANGLE, files: ['angle_emb/angle.py', 'angle_emb/utils.py', 'README.md'] },
      { repository: 'SeanLee97/AnglE', files: ['examples/NLI/eval_nli.py'], commit: '3d006eec43c59a040ae6879d9a39541b24926c1b' },
    ],
    notes: [
      'Same prompt and preprocessing as bellm-degrade, without its 64-token cut. AnglE.encode itself does not preprocess; '
        + 'the published STS numbers come from eval_nli.py, which does (the rule above), so the preset follows the script.',
    ],
  },
};
