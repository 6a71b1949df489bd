"""Pages of the Mixture-of-experts chapter: claims and exercises, one module per notebook."""
