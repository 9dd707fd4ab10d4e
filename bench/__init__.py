"""Benchmarks: each figure beside its raw-SQL baseline from the same run (`make bench`)."""
