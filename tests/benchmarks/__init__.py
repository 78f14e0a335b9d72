"""Benchmarks, run by hand (``python -m tests.benchmarks``), never by pytest.

No file here is named ``test_*.py``: they are measurements, not timed tests,
and print ratios against a peer (uvicorn) measured in the same run.
"""
