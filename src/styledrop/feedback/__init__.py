"""Iterative training with feedback (paper section 3.3): pool -> score -> select -> train."""
