"""Dependencies run one way: data -> models -> training -> export, evaluation on top, scripts above all.

Parses every module's imports (module-level and inside functions) and fails on
an edge that runs back up the layers or on any cycle between modules.
"""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "hdsr_tf"

# Lower numbers are lower layers; a module may import only from its own layer or below.
LAYERS = {"errors": 0, "io": 0, "signatures": 0, "image_metrics": 0, "config": 0, "data": 1, "models": 2, "training": 3,
          "export": 4, "reading": 5,
          "evaluation": 6, "cli": 7, "demo": 7}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("hdsr_tf")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("hdsr_tf"):
            # "from hdsr_tf.models import consistency" imports the submodule when there is one
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if (PACKAGE.parent / Path(*sub.split("."))).with_suffix(".py").exists()
                          else node.module)
    return found


def graph() -> dict[str, set[str]]:
    return {module_name(p): imports(p) for p in PACKAGE.rglob("*.py")}


def layer(module: str) -> int:
    top = module.split(".")[1] if "." in module else ""
    return LAYERS[top] if top else -1


def test_every_module_has_a_layer():
    for module in graph():
        if module != "hdsr_tf":
            assert layer(module) >= 0, f"{module} is in no layer: add it to LAYERS"


def test_no_import_runs_back_up_the_layers():
    upward = [f"{m} (layer {layer(m)}) imports {t} (layer {layer(t)})" for m, targets in graph().items()
              for t in targets if t != "hdsr_tf" and layer(t) > layer(m)]
    assert not upward, "\n".join(upward)


def test_no_import_cycle():
    edges = graph()
    state: dict[str, int] = {}  # 1 visiting, 2 done

    def visit(node, path):
        state[node] = 1
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                raise AssertionError("import cycle: " + " -> ".join(path + [node, nxt]))
            if nxt in edges and state.get(nxt) is None:
                visit(nxt, path + [node])
        state[node] = 2

    for module in sorted(edges):
        if state.get(module) is None:
            visit(module, [])


def test_the_checker_sees_an_upward_import(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from hdsr_tf.evaluation.classification import predict_labels\n")
    assert imports(module) == {"hdsr_tf.evaluation.classification"}
    assert layer("hdsr_tf.evaluation.classification") > layer("hdsr_tf.training.runner")
