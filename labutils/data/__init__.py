"""Datasets: the bundled Shapes generator, real-data downloads, loaders for VOC and COCO."""

from labutils.data.shapes import CocoSplit, ShapesConfig, ShapesPaths, ensure_shapes, generate

__all__ = ["CocoSplit", "ShapesConfig", "ShapesPaths", "ensure_shapes", "generate"]
