"""Adapters: small trainable modules attached to a frozen UVit2DModel by module name.

- ``styledrop`` (the paper's): residual bottleneck after cross-attention and after the MLP of
  every transformer layer; ``styledrop.py``.
- ``lora`` (the usual alternative, a baseline): peft LoRA on the attention projections; ``lora.py``.
- ``adain``: learned per-channel statistics for the queries and keys of every self-attention
  (AdaIN, after StyleAligned); ``adain.py``.
- ``full``: a full fine-tune of the transformer, NOT an adapter: the upper reference; ``full.py``.
- shared attention to a style image (StyleAligned; training-free, no kind and no file):
  ``shared_attention.py``.

All expose the same interface (`Adapter` in ``base.py``), including a per-row gate so that one
batched forward pass can run some rows with the adapter and others without (``gates.py``).
"""
