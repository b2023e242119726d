"""Chunks keep time, fit the model, and carry no caption noise."""

import pytest

import ytqa
from ytqa import ChunkSettings, Line, Transcript, chunk_transcript, clean_lines
from conftest import shared


def transcript_of(lines, video="XpxTrDDcpPE"):
    return Transcript(video, tuple(Line(t, s, d) for t, s, d in lines))


def spoken(n, seconds=4.0, words=10):
    return [(f"Sentence number {i} " + "word " * (words - 4) + "ends.", i * seconds, seconds) for i in range(n)]


def test_chunks_cover_every_line_in_order_with_start_and_end():
    chunking = chunk_transcript(transcript_of(spoken(60)), ChunkSettings(window_seconds=30, stride_seconds=10))
    covered = set()
    for chunk in chunking.chunks:
        covered.update(range(chunk.first_sentence, chunk.last_sentence))
        assert chunk.start == chunking.sentences[chunk.first_sentence].start
        assert chunk.end == chunking.sentences[chunk.last_sentence - 1].end
        assert chunk.end - chunk.start <= 30 + 4
    assert covered == set(range(len(chunking.sentences)))
    starts = [c.start for c in chunking.chunks]
    assert starts == sorted(starts)


def test_consecutive_chunks_overlap():
    chunks = chunk_transcript(transcript_of(spoken(60)), ChunkSettings(window_seconds=30, stride_seconds=10)).chunks
    assert all(b.start < a.end for a, b in zip(chunks, chunks[1:]))


def test_chunks_are_cut_at_caption_boundaries():
    lines = spoken(40)
    chunking = chunk_transcript(transcript_of(lines))
    line_starts = {s for _, s, _ in lines}
    assert all(c.start in line_starts for c in chunking.chunks)
    line_ends = {s + d for _, s, d in lines}
    assert all(c.end in line_ends for c in chunking.chunks)


def test_chunks_prefer_to_end_where_a_sentence_ends():
    lines = []
    t = 0.0
    for i in range(30):
        lines.append((f"this is part one of thought {i} and", t, 3))
        lines.append((f"this closes thought {i}.", t + 3, 3))
        t += 6
    chunking = chunk_transcript(transcript_of(lines), ChunkSettings(window_seconds=20, stride_seconds=6))
    assert all(c.text.endswith(".") for c in chunking.chunks)


def test_no_chunk_exceeds_the_models_token_limit(embedder):
    lines = [(" ".join(["extraordinarily"] * 30), i * 5.0, 5.0) for i in range(40)]
    chunking = chunk_transcript(transcript_of(lines), ChunkSettings(window_seconds=120, stride_seconds=30),
                                count_tokens=embedder.count_tokens, model_max_tokens=embedder.max_tokens)
    assert embedder.max_tokens == 256
    assert all(embedder.count_tokens(c.text) <= 254 for c in chunking.chunks)


def test_a_one_megabyte_line_is_split_into_searchable_pieces(embedder):
    words = [f"w{i}" for i in range(150_000)]
    chunking = chunk_transcript(transcript_of([(" ".join(words), 0.0, 600.0)]),
                                count_tokens=embedder.count_tokens, model_max_tokens=256)
    assert len(chunking.chunks) > 100
    assert all(embedder.count_tokens(c.text) <= 254 for c in chunking.chunks)
    assert chunking.chunks[-1].end == pytest.approx(600.0)


def test_auto_caption_noise_is_removed():
    lines = [
        ("[Music]", 0.0, 3.0),
        (">> so today we are going", 3.0, 2.0),
        ("we are going to talk about", 4.0, 2.0),
        ("to talk about caching", 5.0, 2.0),
        ("", 7.0, 1.0),
        (">> GUEST: right", 8.0, 1.0),
    ]
    cleaned = clean_lines([Line(*l) for l in lines])
    assert " ".join(l.text for l in cleaned) == "so today we are going to talk about caching GUEST: right"
    assert all(a.end <= b.start for a, b in zip(cleaned, cleaned[1:]))


def test_a_transcript_of_only_music_is_refused_clearly():
    with pytest.raises(ytqa.EmptyTranscript, match="nothing to search"):
        chunk_transcript(transcript_of([("[Music]", 0, 5), ("[Applause]", 5, 5), ("", 10, 1)]))


def test_real_auto_generated_captions_chunk_without_repeats():
    import json
    data = json.loads(shared("transcripts", "eF8Qqp7rjDg.json").read_text())
    transcript = transcript_of([(d["text"], d["start"], d["duration"]) for d in data], "eF8Qqp7rjDg")
    chunking = chunk_transcript(transcript)
    joined = " ".join(s.text for s in chunking.sentences)
    assert joined.startswith("citizens of the world welcome to this Halloween Azure infrastructure update")
    assert chunking.chunks[-1].end == pytest.approx(403.2, abs=1)


def test_sentences_inside_a_line_get_their_own_start_time():
    chunking = chunk_transcript(transcript_of([("First point here. Second point starts now.", 10.0, 8.0)]))
    assert [s.text for s in chunking.sentences] == ["First point here.", "Second point starts now."]
    assert chunking.sentences[1].start == pytest.approx(10.0 + 8.0 * 3 / 7)


def test_settings_key_changes_with_every_setting():
    keys = {ChunkSettings().key(), ChunkSettings(window_seconds=45).key(),
            ChunkSettings(stride_seconds=5).key(), ChunkSettings(max_tokens=128).key()}
    assert len(keys) == 4
