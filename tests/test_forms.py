"""Numbers on forms: printed structure found and taken away, cells used, labels and dropout colours left out,
and the one image loader that every entry point reads files with."""

import json

import cv2
import numpy as np
import pytest
from conftest import run_script

from hdsr_tf.data.form_layouts import FormStyle, draw_field, make_fields
from hdsr_tf.data.framing import crop_to_ink, to_ink
from hdsr_tf.reading import fields, files, form_structure

INK, PAPER = (30, 30, 30), (245, 245, 245)


def digit_glyph(char: str) -> np.ndarray:
    """A digit-like glyph, white on black, 28x28 like MNIST (a font's digit: the structure step never reads)."""
    canvas = np.zeros((28, 28), np.uint8)
    cv2.putText(canvas, char, (6, 23), cv2.FONT_HERSHEY_SIMPLEX, 0.8, 255, 2, cv2.LINE_AA)
    return canvas


def comb(cells: int = 5, filled=(0, 1, 2, 3, 4), cell=40, height=56, tick=22, wall=2, angle=0.0,
         colour=INK, ink=INK, glyph=(30, 36)) -> np.ndarray:
    """A BGR comb field: a baseline with a tick between cells, a digit glyph in each ``filled`` cell."""
    w, h = cells * cell + 40, height + 30
    image = np.full((h, w, 3), PAPER, np.uint8)
    base = height + 10
    cv2.line(image, (20, base), (20 + cells * cell, base), colour, wall)
    for i in range(cells + 1):
        cv2.line(image, (20 + i * cell, base), (20 + i * cell, base - tick), colour, wall)
    for i in filled:
        g = cv2.resize(digit_glyph(str(i + 1)), glyph)
        x, y = 20 + i * cell + 5, base - glyph[1] - 6
        image[y:y + glyph[1], x:x + glyph[0]][g > 100] = ink
    if angle:
        m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
        image = cv2.warpAffine(image, m, (w, h), borderValue=PAPER)
    return image


def test_a_comb_gives_one_cell_per_digit_and_its_ticks_are_removed():
    f = form_structure.find(comb())
    assert len(f.cells) == 5
    pieces = f.cell_inks()
    assert all(p is not None for p in pieces)
    # no tick is left: every column between the cells' digits is empty in the cleaned ink
    for (a, b), (_, box) in zip(f.cells, pieces):
        assert a <= box[0] + box[2] / 2 < b
    assert f.structure.any()
    assert f.ink[:, :20].max() < 0.3  # the comb's first tick (at x = 20) is gone


def test_a_small_comb_with_thick_ticks_is_found():
    # under 64 rows the field is worked on enlarged, where a 3 px tick is as wide as its 3 px baseline makes it
    image = comb(cell=30, height=26, tick=10, wall=3, glyph=(20, 24))
    assert image.shape[0] < form_structure.WORK_HEIGHT
    f = form_structure.find(image)
    assert len(f.cells) == 5
    assert all(p is not None for p in f.cell_inks())


def test_a_digit_touching_the_last_tick_keeps_the_comb_and_its_stroke():
    image = comb()
    x, base = 20 + 5 * 40, 56 + 10
    cv2.line(image, (x, base - 22), (x - 6, base - 44), INK, 3)  # a stroke of the last digit runs into the tick
    f = form_structure.find(image)
    assert len(f.cells) == 5
    assert f.ink[base - 42:base - 30, x - 7:x + 1].max() > 0.5  # the stroke above the tick's length stays


def test_short_strokes_hanging_from_a_bar_over_tall_writing_are_no_comb():
    # the bar of touching 5s and 7s with the tops of their strokes below it looks like an upside-down comb,
    # but its "ticks" are a small share of the writing's height; a comb's are a good share of it
    image = np.full((70, 220), 245, np.uint8)
    cv2.line(image, (20, 10), (180, 10), 30, 3)
    for x in range(20, 181, 40):
        cv2.line(image, (x, 10), (x, 17), 30, 3)
    for x in range(40, 180, 40):
        cv2.line(image, (x, 14), (x - 6, 60), 30, 3)  # the digits' bodies, between the strokes
    f = form_structure.find(image)
    assert f.cells == []


def test_an_empty_cell_is_no_digit():
    f = form_structure.find(comb(filled=(0, 1, 3, 4)))
    assert len(f.cells) == 5
    assert [p is None for p in f.cell_inks()] == [False, False, True, False, False]


def test_a_stroke_crossing_a_rule_keeps_its_ink():
    image = np.full((60, 240), 245, np.uint8)
    cv2.line(image, (10, 40), (230, 40), 30, 2)  # the rule
    cv2.line(image, (120, 10), (120, 55), 30, 3)  # a stroke through it
    cv2.line(image, (60, 15), (60, 38), 30, 3)  # a stroke that ends on it
    f = form_structure.find(image)
    assert f.structure[40, 30] and f.structure[40, 200]  # the rule was found...
    assert f.ink[40, 30] < 0.2 and f.ink[40, 200] < 0.2  # ...and taken away
    assert f.ink[38:43, 119:122].min() > 0.3  # the crossing stroke is whole where it crossed


def test_a_digit_touching_a_box_wall_stays_whole_in_its_cell():
    image = np.full((80, 300, 3), PAPER, np.uint8)
    for i in range(5):
        cv2.rectangle(image, (10 + i * 56, 10), (10 + i * 56 + 48, 70), INK, 2)
    g = cv2.resize(crop_to_ink(digit_glyph("4"), 100), (30, 44))
    wall = 10 + 2 * 56 + 48  # the third box's right wall
    x = wall - 25  # the 4 runs through it, 5 px past
    image[18:62, x:x + 30][g > 100] = INK
    f = form_structure.find(image)
    assert len(f.cells) == 5
    pieces = f.cell_inks()
    assert [p is not None for p in pieces] == [False, False, True, False, False]
    ink, box = pieces[2]
    assert box[0] <= x + 2 and box[0] + box[2] >= wall + 3  # the part beyond the wall belongs to it
    assert ink[:, -3:].max() > 0.5


def test_a_box_whose_side_is_too_faint_to_find_is_still_a_cell():
    image = np.full((80, 300, 3), PAPER, np.uint8)
    for i in range(5):
        cv2.rectangle(image, (10 + i * 56, 10), (10 + i * 56 + 48, 70), INK, 2)
        g = cv2.resize(digit_glyph(str(i + 1)), (30, 40))
        image[20:60, 19 + i * 56:49 + i * 56][g > 100] = INK
    right = 10 + 4 * 56 + 48
    image[12:69, right - 1:right + 2] = (200, 200, 200)  # the last box's right side, faint and apart from its edges
    f = form_structure.find(image)
    assert len(f.cells) == 5  # the boxes' top and bottom edges say where the last box ends
    assert all(p is not None for p in f.cell_inks())


def test_a_row_of_thick_boxes_shrunk_small_is_still_found():
    # at about 10 px, the walls and the digits just under a box's top edge fill every column beside it on
    # the inside; the side without is empty, and that marks the edge as printed
    image = np.full((90, 330, 3), PAPER, np.uint8)
    for i in range(5):
        x = 10 + i * 56
        cv2.rectangle(image, (x, 10), (x + 50, 78), INK, 5)
        g = cv2.resize(crop_to_ink(digit_glyph(str(i + 2)), 100), (30, 50))
        image[18:68, x + 10:x + 40][g > 100] = INK
    small = cv2.resize(image, None, fx=0.3, fy=0.3, interpolation=cv2.INTER_AREA)
    f = form_structure.find(small)
    assert len(f.cells) == 5
    assert all(p is not None for p in f.cell_inks())


def test_a_dotted_guide_is_found_and_removed():
    image = np.full((60, 260), 245, np.uint8)
    for x in range(10, 250, 6):
        cv2.circle(image, (x, 45), 1, 30, -1)
    for i, c in enumerate("2468"):
        g = cv2.resize(digit_glyph(c), (26, 32))
        image[10:42, 30 + i * 50:56 + i * 50][g > 100] = 30
    f = form_structure.find(image)
    assert f.structure[44:47].any()
    assert f.ink[43:48, 5:25].max() < 0.3  # dots left of the digits are gone


def test_a_dropout_red_grid_under_blue_ink_is_dropped_by_colour():
    image = comb(colour=(90, 90, 235), ink=(170, 50, 20))  # red comb (BGR), blue pen
    gray = form_structure.dropout_gray(image)
    assert gray[66, 25] > 230  # the red baseline is paper now
    assert gray[image[..., 0] == 170].max() < 120  # the blue ink is still dark
    ink = to_ink(gray)
    assert ink[66, 20:220].max() < 0.3


def test_a_light_blue_comb_half_in_shade_is_still_found_as_a_comb():
    """A photo's shade darkens part of a light-blue form below what the colour step drops: the comb comes
    out broken, neither structure nor digits, and is then found in the plain gray image instead."""
    image = comb(colour=(215, 165, 105)).astype(np.float32)  # light blue (BGR), dark pen
    image = np.clip(image * np.linspace(1.0, 0.85, image.shape[1])[None, :, None], 0, 255).astype(np.uint8)
    gray = form_structure.dropout_gray(image)
    dropped = gray[66, 20:220] > 0.9 * gray[5, 5]
    assert 0.1 < dropped.mean() < 0.9  # the colour step took the lit part of the baseline only
    f = form_structure.find(image)
    assert len(f.cells) == 5
    for (a, b), (_, box) in zip(f.cells, f.cell_inks()):
        assert a <= box[0] + box[2] / 2 < b


def test_a_blue_pens_rim_is_no_dropout_form_and_gets_no_second_look(monkeypatch):
    """The colour step also takes a few pixels of a blue pen's anti-aliased rim; that is no dropout form,
    so a field in blue ink where it took under DROPOUT_SHARE is searched once (a second search for every
    such field made find 40% slower), and one where it took more, twice."""
    digits = [cv2.resize(digit_glyph(str(i)), (28, 28)) for i in (3, 5, 7, 2, 9)]
    calls = []
    real = form_structure._field
    monkeypatch.setattr(form_structure, "_field", lambda g: calls.append(1) or real(g))
    rims = 0
    for seed in range(8):
        image = draw_field(digits, FormStyle("underline", "blue", "full"), np.random.default_rng(seed))
        share = np.mean(form_structure.dropout_gray(image) != cv2.cvtColor(image, cv2.COLOR_BGR2GRAY))
        rims += 0 < share < form_structure.DROPOUT_SHARE
        calls.clear()
        assert not form_structure.find(image).cells  # a rule makes no cells
        assert len(calls) == (1 if share < form_structure.DROPOUT_SHARE else 2), (seed, share)
    assert rims >= 3  # the case is there to be tested


def test_a_field_rotated_by_four_degrees_is_straightened():
    f = form_structure.find(comb(angle=4.0))
    assert abs(abs(f.angle) - 4.0) <= 0.5
    assert len(f.cells) == 5
    box = f.to_input([f.cells[0][0], f.rows[0], f.cells[0][1] - f.cells[0][0], f.rows[1] - f.rows[0]])
    assert 0 <= box[0] < 60 and box[2] > 20  # mapped back to the input's pixels


def test_plain_numbers_pass_through_unchanged(mnist_ready):
    """No structure is found in the numbers evaluation's own lines: their ink is exactly framing.to_ink's."""
    from hdsr_tf.data import mnist
    from hdsr_tf.evaluation import numbers as ev

    x, y = mnist.load_arrays("test")
    for condition in (ev.NumberCondition("separated", "full"), ev.NumberCondition("touching", "full"),
                      ev.NumberCondition("touching", "7px", "light_on_dark")):
        images, _ = ev.make_set(x, y, condition, 30, seed=5)
        for image in images:
            f = form_structure.find(image)
            assert not f.structure.any() and not f.cells
            np.testing.assert_array_equal(f.ink, to_ink(image))


def test_a_label_before_the_digits_is_left_out():
    """ "ZIP" printed small before five digits: erased before reading; the digits stay."""
    image = np.full((70, 360), 245, np.uint8)
    cv2.putText(image, "ZIP", (8, 48), cv2.FONT_HERSHEY_PLAIN, 1.6, 30, 2, cv2.LINE_AA)
    for i, c in enumerate("13579"):
        g = cv2.resize(digit_glyph(c), (30, 40))
        image[15:55, 110 + i * 46:140 + i * 46][g > 100] = 30
    ink = to_ink(image)

    def refusing(indices):
        def reader(crops):  # the pieces of the asked words come in order: the label's first
            digit = np.zeros(len(crops), int)
            digit[[i for i in indices if i < len(crops)]] = -1
            return {"probabilities": np.full((len(crops), 10), 0.1, np.float32), "digit": digit}
        return reader

    kept = fields.drop_labels([ink], refusing([0]))[0]  # the Z refused; 1, 3, 5, 7, 9 are digits
    assert kept[:, :90].max() == 0 and kept[:, 100:].max() > 0.9  # a small word: one refusal is enough
    assert fields.drop_labels([ink], refusing([]))[0][:, :90].max() > 0.9  # nothing refused: kept

    same_height = np.full((70, 360), 245, np.uint8)
    cv2.putText(same_height, "ZIP", (8, 55), cv2.FONT_HERSHEY_PLAIN, 3.0, 30, 3, cv2.LINE_AA)
    same_height[:, 100:] = image[:, 100:]
    tall = to_ink(same_height)
    assert fields.drop_labels([tall], refusing([0]))[0][:, :90].max() > 0.9  # as tall: one refusal is not enough
    assert fields.drop_labels([tall], refusing([0, 1, 2]))[0][:, :90].max() == 0  # most refused: a label


def test_the_form_layouts_are_seeded_and_drawn_in_colour():
    digits = np.stack([digit_glyph(str(d)) for d in range(10)])
    labels = np.arange(10)
    a, ta = make_fields(digits, labels, FormStyle("dropout", "blue", "photo"), 3, seed=7)
    b, tb = make_fields(digits, labels, FormStyle("dropout", "blue", "photo"), 3, seed=7)
    assert ta == tb and all(np.array_equal(p, q) for p, q in zip(a, b))
    assert a[0].ndim == 3 and a[0].dtype == np.uint8
    small = draw_field([digits[1]] * 5, FormStyle("comb", "dark", "10px"), np.random.default_rng(0))
    assert 8 <= small.shape[0] <= 30


# ---------------------------------------------------------------- the one loader
def test_the_loader_refuses_a_huge_png_from_its_header(tmp_path):
    from hdsr_tf.data.headers import blank_png

    path = tmp_path / "huge.png"
    path.write_bytes(blank_png(13000, 13000))
    with pytest.raises(files.ImageFileError, match="13000x13000 = 169000000 pixels is over"):
        files.load_image(path)
    with pytest.raises(files.ImageFileError, match="pixels is over"):
        files.read_image_bytes(path)


def test_the_loader_keeps_colour_and_reads_gray_as_gray(tmp_path):
    colour = np.zeros((10, 12, 3), np.uint8)
    colour[..., 2] = 200  # red, BGR
    cv2.imwrite(str(tmp_path / "c.png"), colour)
    cv2.imwrite(str(tmp_path / "g.png"), np.full((10, 12), 77, np.uint8))
    got = files.load_image(tmp_path / "c.png")
    assert got.shape == (10, 12, 3) and got[0, 0, 2] == 200 and got[0, 0, 0] == 0
    assert files.load_image(tmp_path / "g.png").shape == (10, 12)
    (tmp_path / "t.txt").write_text("not an image")
    with pytest.raises(files.ImageFileError, match="unknown image format"):
        files.load_image(tmp_path / "t.txt")


def test_refused_files_keep_each_modes_schema_and_load_no_model(tmp_path):
    """Only refused files: answered from their headers alone (the model path does not even exist), each
    record with the keys of its mode."""
    (tmp_path / "a.png").write_text("not an image")
    number = run_script("predict.py", "--number", "--format", "json", "--model", tmp_path / "none", tmp_path / "a.png")
    digit = run_script("predict.py", "--format", "json", "--model", tmp_path / "none", tmp_path / "a.png")
    assert number.returncode == digit.returncode == 1, number.stderr + digit.stderr
    assert set(json.loads(number.stdout)[0]) == {"path", "number", "confidence", "digits", "error"}
    assert set(json.loads(digit.stdout)[0]) == {"path", "digit", "confidence", "answer", "error"}


@pytest.mark.slow
def test_predict_number_refuses_a_huge_png_with_its_own_line(tmp_path, number_folder):
    """The 13000 x 13000 PNG through --number: its own error line, the other files read."""
    from hdsr_tf.data.headers import blank_png

    (tmp_path / "huge.png").write_bytes(blank_png(13000, 13000, 8, 3))
    good = sorted(number_folder.glob("n*.png"))[0]
    result = run_script("predict.py", "--number", "--format", "json", str(tmp_path / "huge.png"), str(good),
                        timeout=300)
    assert result.returncode == 1, result.stderr
    rows = {r["path"]: r for r in json.loads(result.stdout)}
    assert "13000x13000" in rows[str(tmp_path / "huge.png")]["error"]
    assert rows[str(good)]["number"] == good.stem.split("_")[1]


@pytest.mark.slow
def test_fields_are_read_with_the_shipped_models(mnist_ready):
    """Shipped hybrid and line reader on form fields of MNIST test digits: each layout's fields read
    right far more often with the form step than without it."""
    from hdsr_tf.data import mnist
    from hdsr_tf.reading.line_reading import LineReader
    from hdsr_tf.reading.predictor import Predictor

    x, y = mnist.load_arrays("test")
    hybrid = Predictor("saved_models/hybrid").read
    reader = LineReader("saved_models/line_reader/line_reader.keras")
    for layout in ("comb", "boxes", "label", "dropout"):
        images, truth = make_fields(x, y, FormStyle(layout, "blue", "full"), 12, seed=11)
        now, found = fields.read_fields(images, hybrid, reader)
        before, _ = fields.read_fields(images, hybrid, reader, structure=False)
        right = sum(r.number == t for r, t in zip(now, truth))
        assert right >= 10, (layout, [r.number for r in now], truth)
        assert right > sum(r.number == t for r, t in zip(before, truth)), layout
        for r, image in zip(now, images):  # boxes are in the input's pixels
            assert all(0 <= d.box[0] < image.shape[1] and 0 <= d.box[1] < image.shape[0] for d in r.digits)


@pytest.mark.slow
def test_evaluate_numbers_forms_end_to_end_on_a_tiny_seeded_set(tmp_path, mnist_ready):
    out = tmp_path / "report"
    run_script("evaluate_numbers.py", "--only-forms", "--n", "2", "--layouts", "comb,label", "--looks", "full,photo",
               "--out", out, check=True, timeout=900)
    data = json.loads((out / "forms.json").read_text())
    assert len(data["rows"]) == 8 and data["meta"]["digits"] == "MNIST test split"
    assert {(r["layout"], r["look"]) for r in data["rows"]} == {(a, b) for a in ("comb", "label")
                                                               for b in ("full", "photo")}
    assert all(r["n"] == 2 and 0 <= r["string_accuracy"] <= 1 and "before_string_accuracy" in r
               for r in data["rows"])
    md = (out / "forms.md").read_text()
    assert "| comb | dark | full | 2 |" in md and "| photo | 4 |" in md  # every row, then each look's mean
    assert len(list((out / "examples").glob("form*.png"))) == 8
    bad = run_script("evaluate_numbers.py", "--only-forms", "--layouts", "circles", timeout=120)
    assert bad.returncode == 2 and "--layouts takes some of comb" in bad.stderr


@pytest.mark.slow
def test_predict_prints_the_answer_and_no_tensorflow_chatter(tmp_path):
    cv2.imwrite(str(tmp_path / "f.png"), comb())
    for extra in ((), ("--number",)):
        result = run_script("predict.py", *extra, tmp_path / "f.png", timeout=300)
        assert result.returncode == 0, result.stderr
        assert result.stderr == "", result.stderr  # no absl / oneDNN start-up notices
        assert len(result.stdout.strip().splitlines()) == 1


def test_a_label_spelled_in_small_digits_at_the_start_is_left_out():
    from hdsr_tf.reading.cut_reader import DigitRead, NumberRead

    def read(boxes):
        digits = [DigitRead(k % 10, 0.9, box) for k, box in enumerate(boxes)]
        return NumberRead("".join(str(d.digit) for d in digits), 0.9 ** len(digits), digits)

    blank = np.zeros((30, 160), np.float32)  # no ink between the boxes
    label = [[0, 10, 8, 12], [10, 10, 8, 12]]  # two small glyphs
    number = [[40 + 22 * k, 4, 16, 24] for k in range(5)]  # five digits, 6 px apart
    got = fields._without_small_ends(read(label + number), blank)
    assert got.number == "23456" and got.confidence == pytest.approx(0.9 ** 5)
    assert fields._without_small_ends(read(number), blank).number == "01234"  # nothing small: unchanged
    close = [[28, 10, 8, 12], [38, 10, 8, 12]]  # small, but as close as the digits are to each other
    assert fields._without_small_ends(read(close + number), blank).number == "0123456"


def test_a_label_beside_a_number_on_a_rule_in_a_small_field_is_left_out():
    """Shrunk to 10 px digits, a rule is left in the ink for the line reader (``Field.guide`` says where);
    the label is still found: without the rule the digits are pieces of their own, not one with it, and
    the label's letters, run together into one small piece, are a word the reader refuses."""
    big = np.full((80, 420), 245, np.uint8)
    cv2.putText(big, "Ref", (6, 56), cv2.FONT_HERSHEY_PLAIN, 1.4, 30, 2, cv2.LINE_AA)
    cv2.line(big, (100, 66), (410, 66), 30, 3)
    for i, c in enumerate("13579"):
        g = cv2.resize(digit_glyph(c), (30, 40))
        big[28:68, 115 + i * 58:145 + i * 58][g > 100] = 30
    small = cv2.resize(big, (105, 20), interpolation=cv2.INTER_AREA)
    field = form_structure.find(small)
    assert not field.structure.any() and field.guide is not None and field.guide[16:18].any()
    assert np.array_equal(field.ink, to_ink(small))  # the rule stays in the ink

    def refuse_first(crops):  # the label's piece comes first
        digit = np.zeros(len(crops), int)
        digit[0] = -1
        return {"probabilities": np.full((len(crops), 10), 0.1, np.float32), "digit": digit}

    kept = fields.drop_labels([field.ink], refuse_first, [field.guide])[0]
    assert kept[:, :22].max() == 0 and kept[:, 28:].max() > 0.9  # the label gone; digits and rule stay
    words = [fields._words(field.ink, guide)[1] for guide in (field.guide, None)]
    assert [len(w) for w in words[0][1:]] == [1] * 5  # five digits, each a piece of its own
    labels = fields._words(field.ink, field.guide)[0]
    digit = words[0][1]  # a digit standing on the rule is as tall as the rule's rows under it make it
    assert fields._word_height(labels, digit, field.guide) > fields._word_height(labels, digit)
    assert not fields._run_together(labels, digit[0]) and fields._run_together(labels, words[0][0][0])
    assert len(words[1]) == 2 and len(words[1][1]) == 1  # without the guide: one piece, digits and rule


def test_a_dropped_label_takes_its_dots_and_small_letters_with_it():
    def refuse_all(crops):
        return {"probabilities": np.full((len(crops), 10), 0.1, np.float32), "digit": np.full(len(crops), -1)}

    ink = np.zeros((40, 200), np.float32)
    ink[10:30, 5:15] = ink[10:30, 20:30] = 1.0  # two letters of a label
    ink[26:28, 16:19] = 1.0  # a dot between them: too small to count as a piece of the word
    ink[5:35, 100:180] = 1.0  # the number
    out = fields.drop_labels([ink], refuse_all)[0]
    assert out[:, :32].max() == 0.0  # the letters and the dot are gone
    assert out[5:35, 100:180].min() == 1.0  # the number is untouched


def test_the_line_readers_digits_fit_the_cells_only_where_the_cell_step_may_have_lost_one():
    from hdsr_tf.reading.cut_reader import DigitRead, NumberRead

    def read(lefts, heights=None):
        heights = heights or [24] * len(lefts)
        digits = [DigitRead(k % 10, 0.9, [x, 4, 16, h]) for k, (x, h) in enumerate(zip(lefts, heights))]
        return NumberRead("".join(str(d.digit) for d in digits), 0.9, digits)

    cells = [(40 * k, 40 * k + 32) for k in range(5)]  # five boxes, 8 px apart
    one_each = read([8 + 40 * k for k in range(5)])
    assert fields._fits_cells(one_each, cells, [True] * 5)
    assert fields._fits_cells(one_each, cells, [True, True, False, True, True])  # a digit the cells lost
    assert not fields._fits_cells(read([8, 48, 60, 88, 128, 168]), cells, [True] * 5)  # two in one cell
    assert not fields._fits_cells(read([8, 26, 48, 88, 128, 168]), cells, [True] * 5)  # one in a gap: a wall
    assert fields._fits_cells(one_each, cells[:4], [True] * 4)  # a box missed past the end
    small_last = read([8 + 40 * k for k in range(5)], [24, 24, 24, 24, 12])
    assert not fields._fits_cells(small_last, cells[:4], [True] * 4)  # ...but not a small glyph (a label's)
    assert fields._fits_cells(read([8, 120]), cells[:2], [True, True])  # two cells say nothing


def test_one_small_digit_with_unread_letters_beside_it_is_left_out():
    """The O of "Amount" read as a 0, its other letters as no digit: the 0 is a label's, not the number's."""
    from hdsr_tf.reading.cut_reader import DigitRead, NumberRead

    def read(boxes):
        digits = [DigitRead(k % 10, 0.9, box) for k, box in enumerate(boxes)]
        return NumberRead("".join(str(d.digit) for d in digits), 0.9 ** len(digits), digits)

    boxes = [[0, 10, 8, 12]] + [[40 + 22 * k, 4, 16, 24] for k in range(5)]  # one small glyph, then the number
    letters = np.zeros((30, 160), np.float32)
    letters[12:22, 10:38] = 1.0  # "unt": ink that no digit was read from, wider than a digit is high
    assert fields._without_small_ends(read(boxes), letters).number == "12345"
    mark = np.zeros((30, 160), np.float32)
    mark[12:22, 20:30] = 1.0  # one stray mark, narrower than a digit is high: the small digit stays
    assert fields._without_small_ends(read(boxes), mark).number == "012345"
    blank = np.zeros((30, 160), np.float32)
    assert fields._without_small_ends(read(boxes), blank).number == "012345"  # one small digit alone stays


def test_the_loader_reads_headers_as_the_served_model_does():
    """Every bytes case of the export tests: format, width and height from files.inspect equal the
    graph's (data/headers.py), so an entry point refuses exactly what the served model refuses."""
    import tensorflow as tf
    from test_export import BYTES_CASES

    from hdsr_tf.data import headers

    names = (None, "PNG", "JPEG", "GIF", "BMP", "WebP")
    for name, (make, *_) in BYTES_CASES.items():
        data = make()
        fmt, width, height = headers.inspect(tf.constant(data))
        assert files.inspect(data) == (names[int(fmt)], int(width), int(height)), name
