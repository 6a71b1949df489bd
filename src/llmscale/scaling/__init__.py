"""The Scaling chapter's arithmetic: `laws` (Chinchilla and Kaplan laws, compute-optimal
allocation), `fitting` (fitting a law to runs), `lifetime` (training versus serving compute),
`mixtures` (data mixtures and repeated data) and `repetition` (a live run of repeated data).

Every module but `repetition` is arithmetic: NumPy and SciPy, no torch.
"""
