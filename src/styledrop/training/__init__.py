"""Adapter training: masking, the loop, and atomic checkpoints with exact resume."""
