#!/usr/bin/env python3
"""What CPython's random.Random gives, for tests/tasks/py_random_test.cc (tasks/py_random.h).

For a few integer seeds (one 32-bit word, two, zero), one generator each and, in this order on it:
getrandbits of every width 0..32, _randbelow of assorted bounds, and sample(range(n), k) over both
of Python's sampling branches (a shrinking list for small n, rejection against a set for large n;
the boundary is 21 for k <= 5, 21 + 4 ** ceil(log(3k, 4)) above). One JSON object:
  {"python": VERSION, "cases": [{"seed": S, "ops": [{"op", "arg", "value"}, ...]}, ...]}
Usage (any CPython 3.x; nothing to install):
  python3 tests/oracle/python_random_reference.py > tests/data/tasks/python_random.json
"""
import json
import platform
import random

SEEDS = [1234, 0, 42, 2**32 + 5, 2**63 + 11]
SAMPLES = [(1, 1), (5, 0), (5, 5), (21, 5), (22, 5), (30, 5), (85, 6), (86, 6), (100, 6),
           (277, 22), (278, 22), (1319, 5), (7473, 5), (7473, 6), (1000, 30), (5, 2)]
BELOW = [1, 2, 3, 5, 7, 64, 65, 1000, 7473, 2**31 - 1, 2**31, 2**32 - 1]


def main():
    cases = []
    for seed in SEEDS:
        rnd = random.Random(seed)
        ops = [{"op": "getrandbits", "arg": [k], "value": rnd.getrandbits(k)} for k in range(33)]
        ops += [{"op": "randbelow", "arg": [n], "value": rnd._randbelow(n)} for n in BELOW]
        ops += [{"op": "sample", "arg": [n, k], "value": rnd.sample(range(n), k)} for n, k in SAMPLES]
        cases.append({"seed": seed, "ops": ops})
    print(json.dumps({"python": platform.python_version(), "cases": cases}))


if __name__ == "__main__":
    main()
