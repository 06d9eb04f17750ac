"""One module per export format; each registers a :class:`yolopose.export.Format` by name."""
