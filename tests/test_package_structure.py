"""The import rules between gpuxla's packages (structure-review §8.1), checked on the source:
every import statement, at module level or inside a function, of every module.

  core      imports nothing above it: a primitive's facts and the graph need no ops or runtime
            (it reaches the runtime through core.graph.runtime, installed by backends);
  compiler  imports core only;
  backends  import core and compiler;
  lax       never imports backends or numpy: rules are written with lax ops.
config, errors and tree_util are leaf modules anyone may import.
"""
import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent / "gpuxla"
LEAVES = {"config", "errors", "tree_util"}
MAY_IMPORT = {
    "core": {"core"},
    "compiler": {"core", "compiler"},
    "backends": {"core", "compiler", "backends"},
}
NEVER = {"lax": {"backends", "numpy"}}

# Edges that break the rules today, each with the reason it stays (module, imported package): none.
ALLOWED = set()


def _package_of(module, node):
    """The gpuxla package (first component below gpuxla) an ImportFrom/Import names, or None."""
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names if a.name.startswith("gpuxla.")]
        return [n.split(".")[1] for n in names]
    if node.level == 0:
        mod = node.module or ""
        if not mod.startswith("gpuxla"):
            return []
        parts = mod.split(".")[1:]
    else:
        base = module.split(".")[:len(module.split(".")) - node.level]
        parts = base + (node.module.split(".") if node.module else [])
    if parts:
        return [parts[0]]
    return [a.name for a in node.names]        # from .. import lax, numpy


def _edges():
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT).with_suffix("")
        parts = list(rel.parts)
        is_pkg = parts[-1] == "__init__"
        if is_pkg:
            parts = parts[:-1]
        module = ".".join(parts)
        # A relative import resolves against the package: a module's own name counts, a package's does not.
        anchor = module + ".__init__" if is_pkg else module
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for target in _package_of(anchor, node):
                    yield module, target


def _violations():
    bad = set()
    for module, target in _edges():
        src = module.split(".")[0]
        if not module or target in LEAVES or target == src:
            continue
        allowed = MAY_IMPORT.get(src)
        if (allowed is not None and target not in allowed) or target in NEVER.get(src, ()):
            bad.add((module, target))
    return bad


def test_packages_import_only_below_them():
    bad = _violations() - ALLOWED
    assert not bad, "imports that break the package rules: " + ", ".join(f"{m} -> {t}" for m, t in sorted(bad))


def test_allowed_exceptions_still_exist():
    # An exception that no longer occurs is removed from ALLOWED, so the rule tightens with it.
    assert ALLOWED <= _violations(), f"no longer needed: {sorted(ALLOWED - _violations())}"
