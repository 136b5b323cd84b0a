"""Keras models: the digit recognizer, the RRDB generator, the discriminator and the hybrid chain."""
