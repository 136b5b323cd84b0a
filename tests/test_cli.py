"""cli.run: a user's mistake (one of our error types) is one line; anything else is a bug and keeps its traceback."""

import pytest

from hdsr_tf import cli
from hdsr_tf.errors import InputError, MissingFileError, UsageError


@pytest.mark.parametrize("error", [UsageError("--epochs must be positive"), InputError("empty file"),
                                   MissingFileError("model file m.keras not found")])
def test_our_errors_print_one_line_and_exit_2(capsys, monkeypatch, error):
    monkeypatch.delenv("HDSR_DEBUG", raising=False)

    def main():
        raise error

    with pytest.raises(SystemExit) as stop:
        cli.run(main)
    assert stop.value.code == 2
    assert capsys.readouterr().err == f"error: {error}\n"


@pytest.mark.parametrize("bug", [ValueError("a shape mismatch"), OSError("a bug's own OSError"), KeyError("k")])
def test_any_other_error_is_a_bug_and_keeps_its_traceback(bug):
    def main():
        raise bug

    with pytest.raises(type(bug)):
        cli.run(main)


def test_an_output_folder_that_cannot_be_made_is_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("HDSR_DEBUG", raising=False)
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    with pytest.raises(SystemExit) as stop:
        cli.run(lambda: cli.output_dir(blocker / "reports"))
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: cannot make the output folder {blocker / 'reports'}") and err.count("\n") == 1
