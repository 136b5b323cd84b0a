"""What every script shares: quiet TensorFlow logs, --help with defaults, clear errors instead of tracebacks."""

from __future__ import annotations

import argparse
import importlib.machinery
import os
import sys
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TF's C++ INFO/WARNING chatter off the console

from hdsr_tf.errors import HdsrError, OutputError, TrainingStopped  # noqa: E402

# Keras warns that fit(shuffle=True) is ignored for tf.data; our pipelines shuffle themselves.
warnings.filterwarnings("ignore", message=".*`shuffle=True` was passed.*")


class _QuietTensorFlowImport:
    """Silences file descriptor 2 while ``tensorflow`` itself is imported, whenever a script first imports it.

    TensorFlow's C++ libraries print start-up notices as they load (absl's "All log messages before
    absl::InitializeLog() is called...", oneDNN's "custom operations are on", twice) whatever
    TF_CPP_MIN_LOG_LEVEL says. A user should see the answer and real errors only: an error raised by
    the import still shows (after the descriptor is restored); HDSR_DEBUG=1 keeps everything."""

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow":
            return None
        sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return spec
        run = spec.loader.exec_module

        def exec_module(module):
            saved, null = os.dup(2), os.open(os.devnull, os.O_WRONLY)
            sys.stderr.flush()
            os.dup2(null, 2)
            try:
                run(module)
            finally:
                os.dup2(saved, 2)
                os.close(saved)
                os.close(null)

        spec.loader.exec_module = exec_module
        return spec


if not os.environ.get("HDSR_DEBUG") and "tensorflow" not in sys.modules:
    sys.meta_path.insert(0, _QuietTensorFlowImport())


class HelpFormatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """The script's docstring as written, and every option's default in its help line."""


def parser(doc: str) -> argparse.ArgumentParser:
    return argparse.ArgumentParser(description=doc, formatter_class=HelpFormatter)


def parse_config(cls, doc: str):
    """--help from the script's docstring, one flag per field of the job's config dataclass."""
    from hdsr_tf.config import add_arguments, from_args

    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(p, cls)  # each field's help already names its default
    return from_args(cls, p.parse_args())


def fail(message: str, code: int = 2):
    print(f"error: {message}", file=sys.stderr)
    sys.exit(code)


def output_dir(path):
    """``path`` made (with its parents) for a script's results; a folder that cannot be made is a user's
    error, said in one line."""
    from pathlib import Path

    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(f"cannot make the output folder {path}: {e.strerror or e}") from None
    return path


def run(main) -> None:
    """Calls ``main()``; known failures print one clear line and exit non-zero
    (set HDSR_DEBUG=1 to see the traceback instead)."""
    try:
        code = main()
    except KeyboardInterrupt:
        print("\ninterrupted: finished epochs are checkpointed; rerun the same command to resume",
              file=sys.stderr)
        sys.exit(130)
    except TrainingStopped as e:
        print(f"stopped: {e}", file=sys.stderr)
        sys.exit(3)
    except HdsrError as e:  # only our own errors: anything else is a bug and shows its traceback
        if os.environ.get("HDSR_DEBUG"):  # developers: the full traceback
            raise
        fail(str(e))
    sys.exit(code or 0)


def machine() -> str:
    """This machine in one line: every speed figure names the CPU it was measured on."""
    import os
    import platform
    from pathlib import Path

    import tensorflow as tf

    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpu = "a GPU" if tf.config.list_physical_devices("GPU") else "no GPU"
    return (f"{os.cpu_count()} cores ({cpu}), {platform.system()} {platform.machine()}, Python "
            f"{platform.python_version()}, TensorFlow {tf.__version__}, {gpu}")
