"""``python -m labutils.data shapes [--out DIR]`` and ``python -m labutils.data download ...``."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m labutils.data", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    shapes = sub.add_parser("shapes", help="generate the bundled Shapes dataset")
    shapes.add_argument("--out", type=Path, default=None,
                        help="output folder (default: <data root>/shapes)")
    shapes.add_argument("--seed", type=int, default=None)
    shapes.add_argument("--force", action="store_true", help="regenerate even if up to date")
    dl = sub.add_parser("download", help="download a real dataset into the data root")
    dl.add_argument("name", choices=["voc", "coco-val-subset", "coco-panoptic-val"])
    dl.add_argument("--root", type=Path, default=None, help="data root (default: LAB_DATA_DIR)")
    args = parser.parse_args(argv)

    if args.command == "shapes":
        from labutils.data.shapes import ShapesConfig, ensure_shapes, generate
        from labutils.paths import data_root

        cfg = ShapesConfig() if args.seed is None else ShapesConfig(seed=args.seed)
        out = args.out if args.out is not None else data_root() / "shapes"
        start = time.perf_counter()
        paths = generate(out, cfg) if args.force or args.out is not None else ensure_shapes(out, cfg)
        print(f"Shapes ready in {paths.root} ({time.perf_counter() - start:.1f} s)")
        return 0

    from labutils.data import real
    from labutils.paths import data_root

    root = args.root or data_root()
    fetch = {"voc": real.download_voc, "coco-val-subset": real.download_coco_subset,
             "coco-panoptic-val": real.download_coco_panoptic}[args.name]
    print(f"Ready: {fetch(root)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
