"""Pretraining the emoji-world base (`styledrop pretrain`): pretrain.py (tokenizer fit, masked-token
training, export), starting_point.py (a tokenizer or base to start from, checkpoints of older layouts),
base_contents.json (the CPU recipe's 128 contents)."""
