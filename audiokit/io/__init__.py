"""Audio I/O: decode, stream, write, probe and resample."""
