"""Job functions for test_frameworks.py's RQ workload (RQ imports them by
module path in the worker)."""


def square(x):
    return x * x


def fails():
    raise ValueError("this job fails on purpose")
