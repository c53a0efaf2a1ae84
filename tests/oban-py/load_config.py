"""Loads an oban.toml the way `oban start` does and builds its pruner; prints what happened.

oban-py 0.7: `Config.load` (oban/_config.py) passes every top-level key to the `Config`
dataclass as a keyword argument, so a key it does not declare raises TypeError there; the
`[pruner]` table is later passed whole to `Pruner(**config)` (oban/_pruner.py,
`build_pruner`), whose keyword-only signature refuses any key but max_age, interval, limit.
"""

import sys

from oban._config import Config
from oban._pruner import Pruner


def check(path: str) -> str:
    try:
        conf = Config.load(path)
    except TypeError as e:
        return f"config refused: {e}"
    try:
        Pruner(query=None, leader=None, **(conf.pruner or {}))
    except TypeError as e:
        return f"pruner refused: {e}"
    return "ok"


if __name__ == "__main__":
    print(check(sys.argv[1]))
