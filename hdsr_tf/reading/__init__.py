"""The application layer: files in (one loader), digits and numbers out (the SavedModel in-process or TF
Serving over REST), form structure out of the way, pictures upscaled."""
