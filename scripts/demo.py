#!/usr/bin/env python
"""Start a local web page to try hdsr_tf: draw or drop a digit, a number or a form field, or upscale an image.

  pip install -e .[demo]        # once: Gradio, kept out of the core install
  python scripts/demo.py        # prints the address to open, e.g. http://127.0.0.1:7861

The shipped models are loaded in-process (no TF Serving needed) and nothing is fetched from the
network: the page's scripts, styles and fonts come from the installed Gradio package.
"""

import os
import socket
import sys

from hdsr_tf import cli


def free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def main():
    parser = cli.parser(__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to serve on (0.0.0.0: every interface)")
    parser.add_argument("--port", type=int, default=0, help="port (0: a free one, printed on start)")
    parser.add_argument("--models", default="saved_models", help="the folder of shipped models")
    parser.add_argument("--max-file-size", default="50mb", help="largest upload the page accepts")
    args = parser.parse_args()
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no telemetry: this machine may be offline
    try:
        import gradio  # noqa: F401
    except ImportError:
        cli.fail("the demo needs Gradio: pip install -e .[demo]")
    from hdsr_tf.demo.examples import HERE
    from hdsr_tf.demo.page import build
    from hdsr_tf.demo.readers import DemoModels

    port = args.port or free_port(args.host)
    page = build(DemoModels(args.models))
    page.launch(server_name=args.host, server_port=port, prevent_thread_lock=True, quiet=True, show_error=False,
                allowed_paths=[str(HERE)], max_file_size=args.max_file_size, footer_links=[])
    print(f"demo: http://{args.host}:{port}", flush=True)
    try:
        page.block_thread()
    except KeyboardInterrupt:
        page.close()
    return 0


if __name__ == "__main__":
    cli.run(main)
    sys.exit(0)
