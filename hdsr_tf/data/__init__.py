"""Data sources (MNIST, DIDA folders), HR->LR degradation and tf.data pipelines."""
