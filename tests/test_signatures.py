"""Which signature a client calls: the reading twin where the version has it, else the drawing one."""

from hdsr_tf.signatures import choose

VERSION_4 = {"serving_default", "predict_image_bytes", "predict_image_bytes_options"}
VERSION_5 = VERSION_4 | {"read", "read_image_bytes", "read_image_bytes_options", "read_bfloat16",
                         "read_image_bytes_bfloat16", "read_image_bytes_options_bfloat16"}


def test_a_reader_gets_the_reading_twin_where_there_is_one():
    assert choose(VERSION_5, "serving_default") == "read"
    assert choose(VERSION_5, "predict_image_bytes_options") == "read_image_bytes_options"
    assert choose(VERSION_5, "serving_default", bfloat16=True) == "read_bfloat16"


def test_an_older_version_and_a_drawing_client_get_the_drawing_signature():
    assert choose(VERSION_4, "serving_default") == "serving_default"
    assert choose(VERSION_4, "predict_image_bytes", bfloat16=True) == "predict_image_bytes"
    assert choose(VERSION_5, "serving_default", draw=True) == "serving_default"
    assert choose(VERSION_5, "predict_image_bytes", draw=True, bfloat16=True) == "predict_image_bytes"
