"""The ``audiokit`` command line, installed as ``audiokit.cli``.

Thin by design: each command parses its options, calls the Python API and
prints. Command modules import only click at module level so that
``audiokit --help`` stays fast; the API is imported inside each command.
"""
