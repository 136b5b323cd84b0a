"""The served hybrid's signature names, shared by the exporter and the clients (a leaf: no TensorFlow here).

Every signature that draws ``sr_image`` has a reading twin (exports since version 5) with the same inputs and
the same outputs less ``sr_image``; exports made with ``--bfloat16`` add each reading twin once more, computed
in bfloat16.
"""

READING = {"serving_default": "read", "predict_image_bytes": "read_image_bytes",
           "predict_image_bytes_options": "read_image_bytes_options"}
DRAWING = {reading: drawing for drawing, reading in READING.items()}
BFLOAT16 = "_bfloat16"


def reading(drawing: str, bfloat16: bool = False) -> str:
    """The reading twin of a drawing signature (``predict_image_bytes`` -> ``read_image_bytes``)."""
    return READING[drawing] + (BFLOAT16 if bfloat16 else "")


def drawing(name: str) -> str:
    """The drawing signature a reading one stands in for; older exports have only these."""
    return DRAWING.get(name.removesuffix(BFLOAT16), name)


def choose(available, name: str, draw: bool = False, bfloat16: bool = False) -> str:
    """Which of ``available`` (a version's signature names) to call for ``name``: its reading twin (the
    bfloat16 one with ``bfloat16``) unless ``draw``, where the version has it; else ``name`` itself."""
    wanted = name if draw else reading(name, bfloat16)
    return wanted if wanted in available else name
