"""`python -m gpuxla script.py [args]`: run an unchanged JAX script on gpuxla.

The script runs as `__main__` with `sys.argv` set to ``[script.py, args...]`` after
`gpuxla.compat.install_jax_aliases()`, so its `import jax` (and the JAX libraries it imports)
get gpuxla. `python -m gpuxla -m module [args]` runs a module the same way.
"""
import runpy
import sys

from .compat import install_jax_aliases

USAGE = "usage: python -m gpuxla script.py [args ...]  |  python -m gpuxla -m module [args ...]"


def main(argv):
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE, file=sys.stderr if not argv else sys.stdout)
        return 2 if not argv else 0
    install_jax_aliases()
    if argv[0] == "-m":
        if len(argv) < 2:
            print(USAGE, file=sys.stderr)
            return 2
        sys.argv = argv[1:]
        runpy.run_module(argv[1], run_name="__main__", alter_sys=True)
        return 0
    sys.argv = list(argv)
    # The script's own folder first on the path, as `python script.py` puts it.
    import os
    sys.path.insert(0, os.path.dirname(os.path.abspath(argv[0])))
    runpy.run_path(argv[0], run_name="__main__")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
