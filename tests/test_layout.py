"""The package's layout keeps data flowing one way: no import cycles, lower layers stay lower."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "augmix_bench"
#: Layers usable as a library: they never import Hydra, the CLI, config building, training or evaluation.
LOWER_LAYERS = ("augment", "models", "data", "corrupt", "files", "errors", "lazy", "schema", "held_out")
HIGHER = ("augmix_bench.cli", "augmix_bench.commands", "augmix_bench.config", "augmix_bench.training",
          "augmix_bench.evaluation", "augmix_bench.distributed", "augmix_bench.report", "hydra", "omegaconf")
#: Packages that receive built objects: they never turn config into objects themselves.
BUILT_OBJECT_LAYERS = ("training", "evaluation", "distributed")
#: What only the composition root (and the entry points above it) may import.
COMPOSITION = ("augmix_bench.commands", "augmix_bench.config", "augmix_bench.cli", "hydra", "omegaconf")


def module_of(path: Path) -> str:
    parts = ["augmix_bench", *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, modules: set[str]) -> set[str]:
    """The package modules ``path`` imports (at any depth of the file), resolved to module names."""
    name = module_of(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            stem = ".".join([*base, node.module] if node.module else base)
            targets = [stem, *(f"{stem}.{alias.name}" for alias in node.names)]
        else:
            continue
        found.update(t for t in targets if t in modules or any(t.startswith(h) for h in HIGHER[-2:]))
    return found


def import_graph() -> dict[str, set[str]]:
    files = {module_of(p): p for p in PACKAGE.rglob("*.py")}
    modules = set(files)
    return {name: imported_modules(path, modules) - {name} for name, path in files.items()}


def test_no_import_cycles() -> None:
    full = import_graph()
    # Package modules only, and not a module's own parent packages (importing a submodule runs them).
    graph = {k: {t for t in v if t in full and not k.startswith(t + ".")} for k, v in full.items()}
    state: dict[str, str] = {}
    cycles: list[list[str]] = []

    def visit(node: str, trail: list[str]) -> None:
        state[node] = "open"
        for target in sorted(graph[node]):
            if state.get(target) == "open":
                cycles.append([*trail[trail.index(target):], target])
            elif target not in state:
                visit(target, [*trail, target])
        state[node] = "done"

    for start in sorted(graph):
        if start not in state:
            visit(start, [start])
    assert cycles == []


def test_lower_layers_import_no_higher_layer() -> None:
    graph = import_graph()
    offences = [
        f"{module} imports {target}"
        for module, targets in graph.items()
        if module.split(".")[1:2] and module.split(".")[1] in LOWER_LAYERS
        for target in targets
        if _under(target, HIGHER)
    ]
    assert offences == []


def _under(target: str, prefixes: tuple[str, ...]) -> bool:
    return any(target == p or target.startswith(p + ".") for p in prefixes)


def test_packages_of_built_objects_never_import_config_or_commands() -> None:
    """training/, evaluation/ and distributed/ import nothing from config/, commands/, cli/, Hydra or
    OmegaConf, at module or function level (the walk covers every import statement of a file)."""
    graph = import_graph()
    offences = [
        f"{module} imports {target}"
        for module, targets in graph.items()
        if module.split(".")[1:2] and module.split(".")[1] in BUILT_OBJECT_LAYERS
        for target in targets
        if _under(target, COMPOSITION)
    ]
    assert offences == []


def test_only_the_entry_points_and_the_api_import_the_composition_root() -> None:
    graph = import_graph()
    allowed = ("augmix_bench.cli", "augmix_bench.commands", "augmix_bench.api")
    offences = [
        f"{module} imports {target}"
        for module, targets in graph.items()
        if not _under(module, allowed)
        for target in targets
        if _under(target, ("augmix_bench.commands",))
    ]
    assert offences == []


def test_evaluation_and_download_do_not_import_the_training_loop() -> None:
    graph = import_graph()

    def reachable(start: str) -> set[str]:
        seen, todo = set(), [start]
        while todo:
            module = todo.pop()
            if module in seen or module not in graph:
                continue
            seen.add(module)
            todo.extend(graph[module])
        return seen

    assert "augmix_bench.training.loop" not in reachable("augmix_bench.commands.evaluate")
    assert "augmix_bench.training.loop" not in reachable("augmix_bench.commands.build")


def test_the_top_level_reads_as_the_pipeline() -> None:
    folders = sorted(p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").is_file())
    assert {"augment", "config", "data", "distributed", "evaluation", "models", "training"} <= set(folders)
    modules = sorted(p.stem for p in PACKAGE.glob("*.py"))
    assert len(modules) <= 13, modules
