"""Pages of the Scaling chapter: claims and exercises, one module per notebook."""
