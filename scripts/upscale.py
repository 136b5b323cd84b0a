#!/usr/bin/env python
"""Super-resolve image files by 2x or 4x with the shipped generators: digits, numbers, form fields, lines.

Examples:
  python scripts/upscale.py scan.png                      # 4x, into upscaled/scan.x4.png
  python scripts/upscale.py --scale 2 --out big/ folder/  # every image under folder/, 2x
  python scripts/upscale.py --bicubic field.jpg           # also field.x4.bicubic.png, to compare

Dark ink on light paper is found from the border (--ink to choose); colour images keep their
colour (the luminance is super-resolved, the chroma enlarged bicubically). Large images go through
in tiles of --tile pixels with --overlap pixels of context each side, so memory stays bounded; the
result equals the untiled one away from tile seams. Output is PNG, one file per input, under
--out with the input's path below the folder it was found in. A bad file gets one error line and
the others are still written; the exit code is 1 if any file failed.
"""

import sys
from pathlib import Path

from hdsr_tf import cli

GENERATORS = {2: "saved_models/esrgan_x2/generator_psnr.keras", 4: "saved_models/esrgan_x4_blind/generator_psnr.keras"}


def targets(paths, files, out: Path, scale: int) -> list[Path]:
    """Where each file's result goes: ``out/<path below the folder named>.x<scale>.png`` (a file named on
    the command line: ``out/<its name>``)."""
    roots = [Path(p) for p in paths if Path(p).is_dir()]
    result = []
    for f in files:
        root = next((r for r in roots if r in f.parents), None)
        relative = f.relative_to(root.parent) if root else Path(f.name)
        result.append(out / relative.with_name(f"{relative.stem}.x{scale}.png"))
    return result


def main():
    parser = cli.parser(__doc__)
    parser.add_argument("paths", nargs="+", metavar="PATH", help="image files or folders (PNG, JPEG, BMP, GIF, WebP)")
    parser.add_argument("--scale", type=int, choices=(2, 4), default=4, help="enlargement factor")
    parser.add_argument("--generator", help="a generator .keras to use instead (its own factor must be --scale); "
                                            "defaults: " + ", ".join(f"{k}x {v}" for k, v in GENERATORS.items()))
    parser.add_argument("--out", default="upscaled", help="output folder")
    parser.add_argument("--ink", choices=("auto", "dark", "light"), default="auto",
                        help="dark: dark ink on light paper; light: light ink on dark; auto: from the border")
    parser.add_argument("--tile", type=int, default=128, help="tile side in input pixels (0: whole images at once)")
    parser.add_argument("--overlap", type=int, default=16, help="context pixels around each tile")
    parser.add_argument("--bicubic", action="store_true", help="also write a bicubic enlargement (.bicubic.png)")
    args = parser.parse_args()
    if args.tile < 0 or args.overlap < 0:
        cli.fail("--tile and --overlap must not be negative")

    from hdsr_tf.reading.files import find_images, passing_headers

    files, problems = find_images(args.paths)
    files, refused = passing_headers(files)  # before the generator loads
    problems += refused
    for p in problems:
        print(f"{p['path']}\terror: {p['error']}")
    if not files:
        if not problems:
            cli.fail("no image files found in the given paths")
        return 1

    import cv2

    from hdsr_tf.reading.files import load_image
    from hdsr_tf.reading.png_stream import write_png
    from hdsr_tf.reading.upscaling import UpscaleError, Upscaler

    upscaler = Upscaler(args.generator or GENERATORS[args.scale])
    if upscaler.scale != args.scale:
        cli.fail(f"{args.generator} enlarges by {upscaler.scale}, not by --scale {args.scale}")
    failed = len(problems)
    show = sys.stderr.isatty()

    def progress(name):
        def update(done, total):
            if total > 1:
                print(f"\r{name}: tile {done}/{total}", end="\n" if done == total else "", file=sys.stderr, flush=True)
        return update if show else None

    for f, target in zip(files, targets(args.paths, files, Path(args.out), args.scale)):
        try:
            image = load_image(f)
            height, width = image.shape[0] * args.scale, image.shape[1] * args.scale
            target.parent.mkdir(parents=True, exist_ok=True)
            write_png(target, width, height, upscaler.bands(image, args.ink, args.tile, args.overlap,
                                                            progress=progress(f.name)))
            if args.bicubic:
                cv2.imwrite(str(target.with_name(target.stem + ".bicubic.png")), upscaler.bicubic(image))
        except (ValueError, UpscaleError, OSError, cv2.error) as e:
            print(f"{f}\terror: {e}")
            failed += 1
            continue
        print(f"{f}\t{target}\t{width}x{height}")
    return 1 if failed else 0


if __name__ == "__main__":
    cli.run(main)
