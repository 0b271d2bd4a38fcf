"""MaskGIT sampling: the masking schedule, the pure decoder and the guidance rules."""
