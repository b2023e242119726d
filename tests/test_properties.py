"""Property tests: whatever text or bytes arrive, only ytqa's own errors come out."""

import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

# First calls import stopword lists and the like; timing is not what these test.
settings.register_profile("ytqa", deadline=None)
settings.load_profile("ytqa")

import ytqa
from ytqa import ChunkSettings, InvalidLink, TranscriptFileError, chunk_transcript, parse_subtitles, video_id

ID_CHARS = string.ascii_letters + string.digits + "-_"
ids = st.text(alphabet=ID_CHARS, min_size=11, max_size=11)
hosts = st.sampled_from(["youtube.com", "www.youtube.com", "m.youtube.com", "youtu.be", "YOUTUBE.COM",
                         "youtube-nocookie.com", "evil.example", "youtube.com.evil.example", ""])
paths = st.sampled_from(["/watch?v=", "/", "/shorts/", "/embed/", "/live/", "/v/", "/playlist?list=", "/@x/"])


@given(st.text())
def test_any_text_gives_an_id_or_an_invalid_link_error(text):
    try:
        result = video_id(text)
    except InvalidLink as error:
        assert str(error)
    else:
        assert len(result) == 11 and set(result) <= set(ID_CHARS)


@given(st.sampled_from(["", "https://", "http://", "//"]), hosts, paths, ids, st.text(max_size=20))
def test_link_shaped_text_gives_an_id_or_an_invalid_link_error(scheme, host, path, vid, tail):
    link = f"{scheme}{host}{path}{vid}{tail}"
    try:
        result = video_id(link)
    except InvalidLink:
        return
    assert result == vid or len(result) == 11


@given(ids, st.sampled_from(["&t=42", "&list=PLx", "#t=1m", "&si=abc", ""]))
def test_real_watch_links_always_give_their_id(vid, extra):
    assert video_id(f"https://www.youtube.com/watch?v={vid}{extra}") == vid
    assert video_id(f"https://youtu.be/{vid}?si=x") == vid


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000), st.sampled_from(["a.srt", "a.vtt", "a.json", "a.txt"]))
def test_any_bytes_give_a_transcript_or_a_file_error(data, name):
    try:
        transcript = parse_subtitles(data, name, "dQw4w9WgXcQ")
    except TranscriptFileError as error:
        assert name in str(error)
        return
    try:
        chunk_transcript(transcript, ChunkSettings())
    except ytqa.EmptyTranscript:
        pass


cue_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60)
times = st.floats(min_value=0, max_value=50_000, allow_nan=False)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(cue_text, times, times), max_size=30), st.sampled_from(["srt", "vtt"]))
def test_subtitle_shaped_text_gives_a_transcript_or_a_file_error(cues, kind):
    def stamp(seconds):
        h, rest = divmod(int(seconds), 3600)
        m, s = divmod(rest, 60)
        sep = "," if kind == "srt" else "."
        return f"{h:02d}:{m:02d}:{s:02d}{sep}{int((seconds % 1) * 1000):03d}"

    blocks = [f"{i + 1}\n{stamp(a)} --> {stamp(b)}\n{text}" for i, (text, a, b) in enumerate(cues)]
    body = ("WEBVTT\n\n" if kind == "vtt" else "") + "\n\n".join(blocks)
    try:
        transcript = parse_subtitles(body.encode(), f"x.{kind}", "dQw4w9WgXcQ")
    except TranscriptFileError:
        return
    starts = [line.start for line in transcript.lines]
    assert starts == sorted(starts)
    try:
        chunking = chunk_transcript(transcript)
    except ytqa.EmptyTranscript:
        return
    assert all(c.start <= c.end for c in chunking.chunks)


@settings(max_examples=200)
@given(st.lists(st.fixed_dictionaries({"text": st.one_of(st.text(max_size=40), st.integers(), st.none()),
                                       "start": st.one_of(st.floats(), st.text(max_size=5), st.integers()),
                                       "duration": st.one_of(st.floats(), st.none(), st.integers())}),
                max_size=10))
def test_json_shaped_input_gives_a_transcript_or_a_file_error(entries):
    import json

    try:
        data = json.dumps(entries).encode()
    except ValueError:
        return
    try:
        transcript = parse_subtitles(data, "x.json", "dQw4w9WgXcQ")
    except TranscriptFileError:
        return
    assert all(line.start >= 0 and line.duration >= 0 for line in transcript.lines)
