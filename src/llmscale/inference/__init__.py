"""What serving a model costs: `kv_cache` (bytes of cached keys and values) and `decode` (the
decode step's weight reads, arithmetic intensity and the batch at the ridge point).

Arithmetic, no torch.
"""
