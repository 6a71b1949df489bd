"""Pages of the Compression chapter: claims and exercises, one module per notebook."""
