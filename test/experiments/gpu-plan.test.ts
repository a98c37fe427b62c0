import test from 'ava';
import { UserError } from '../../src/errors.ts';
import { activationBytesPerToken, planGpuMemory } from '../../src/experiments/run/gpu-plan.ts';
import type { LlamaConfig } from '../../src/model/arch/types.ts';
import { llamaArch } from '../../src/model/formats/config.ts';

const llama2_7b: LlamaConfig = {
  model_type: 'llama', hidden_size: 4096, intermediate_size: 11008, num_hidden_layers: 32, num_attention_heads: 32,
  num_key_value_heads: 32, head_dim: 128, rms_norm_eps: 1e-5, rope_theta: 10000, vocab_size: 32000,
  max_position_embeddings: 4096, torch_dtype: 'float16', bos_token_id: 1, pad_token_id: null, arch: llamaArch(32, 128),
};

test('LLaMA-2-7B on an 80 GB H100: 13.2 GB of bf16 weights (6.61B parameters without lm_head), 16k-token batches', (t) => {
  const p = planGpuMemory(llama2_7b, 79e9);
  // 32000*4096 + 32 * (4*4096^2 + 3*4096*11008 + 2*4096) + 4096 = 6,607,343,616 parameters.
  t.is(p.weightBytes, 6_607_343_616 * 2);
  t.is(p.batchTokens, 16384);
  // Per token: (4*4096 + 3*4096 + 4096 + 3*11008) values of 2 bytes.
  t.is(activationBytesPerToken(llama2_7b, 2), (8 * 4096 + 3 * 11008) * 2);
});

test('a 16 GB card takes smaller batches; an 8 GB card is refused with a clear message', (t) => {
  const p = planGpuMemory(llama2_7b, 16e9);
  t.true(p.batchTokens < 16384 && p.batchTokens >= 512);
  t.throws(() => planGpuMemory(llama2_7b, 8e9), { instanceOf: UserError, message: /does not fit on the GPU: weights take 13\.2 GB.*8\.0 GB is free/ });
});
