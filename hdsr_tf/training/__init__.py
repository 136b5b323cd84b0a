"""Training loops, losses, callbacks and distribution helpers."""
