"""Pages of the Inference chapter: claims and exercises, one module per notebook."""
