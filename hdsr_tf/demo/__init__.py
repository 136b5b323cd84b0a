"""A local web page to try hdsr_tf: ``python scripts/demo.py`` (needs ``pip install -e .[demo]``)."""
