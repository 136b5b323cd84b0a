"""The application layer's reading side: files in, form structure out of the way, numbers read."""
