"""Property tests: whatever text or bytes arrive, only ytqa's own errors come out."""

import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

# A deadline catches unbounded work (a parser that loops or grows with a number it was
# given); it is generous because the machine is shared. First calls import stopword
# lists and the like, so they are made once here, before any example is timed.
settings.register_profile("ytqa", deadline=5000, max_examples=100)
settings.load_profile("ytqa")

import ytqa
from ytqa import ChunkSettings, InvalidLink, TranscriptFileError, chunk_transcript, parse_subtitles, video_id

parse_subtitles(b"1\n00:00:01,000 --> 00:00:02,000\nwarm up\n", "warm.srt", "dQw4w9WgXcQ")

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


# --- every parser: any input, a result or its own error --------------------------------

from ytqa._files import MAX_SECONDS

CONTROL = set(chr(c) for c in range(0x20)) | set(chr(c) for c in range(0x7F, 0xA0))
numbers = st.one_of(st.floats(), st.integers(), st.integers(min_value=10**20, max_value=10**400),
                    st.text(alphabet="0123456789.e-+infINFaN", max_size=12), st.none(), st.booleans())
json_text = st.text(max_size=40)  # surrogates included: json.dumps escapes them as \udXXX


def check_lines(transcript):
    for line in transcript.lines:
        assert 0 <= line.start <= MAX_SECONDS and 0 <= line.duration <= MAX_SECONDS
        assert not set(line.text) & CONTROL, repr(line.text)
        line.text.encode("utf-8")  # storable


@given(st.lists(st.fixed_dictionaries({"text": json_text, "start": numbers, "duration": numbers}), max_size=8))
def test_json_with_any_numbers_and_text_gives_bounded_times_and_clean_text_or_a_file_error(entries):
    import json

    data = json.dumps(entries).encode()
    try:
        transcript = parse_subtitles(data, "x.json", "dQw4w9WgXcQ")
    except TranscriptFileError as error:
        assert "x.json" in str(error) and len(str(error)) < 1000
        return
    check_lines(transcript)


stamp_part = st.one_of(st.integers(0, 99).map(str), st.text(alphabet="0123456789", min_size=1, max_size=500))


@given(st.lists(st.tuples(stamp_part, stamp_part, st.text(max_size=30)), min_size=1, max_size=6),
       st.sampled_from(["srt", "vtt"]))
def test_cues_with_any_hour_field_and_text_give_bounded_times_and_clean_text_or_a_file_error(cues, kind):
    sep = "," if kind == "srt" else "."
    blocks = [f"{i + 1}\n{a}:00:01{sep}000 --> {b}:00:02{sep}500\n{text}" for i, (a, b, text) in enumerate(cues)]
    body = ("WEBVTT\n\n" if kind == "vtt" else "") + "\n\n".join(blocks)
    try:
        transcript = parse_subtitles(body.encode("utf-8", "surrogatepass"), f"x.{kind}", "dQw4w9WgXcQ")
    except TranscriptFileError as error:
        assert f"x.{kind}" in str(error) and len(str(error)) < 1000
        return
    check_lines(transcript)


@given(st.binary(max_size=3000))
def test_any_bytes_as_an_eval_file_give_questions_or_one_message(tmp_path_factory, data):
    from ytqa._eval import Question, load_questions

    path = tmp_path_factory.mktemp("eval") / "q.jsonl"
    path.write_bytes(data)
    try:
        questions = load_questions(path)
    except ytqa.YtqaError as error:
        assert "\n" not in str(error) and len(str(error)) < 2000
        return
    assert all(isinstance(q, Question) and 0 <= q.answer_start < q.answer_end for q in questions)


question_rows = st.fixed_dictionaries({
    "id": st.one_of(st.text(max_size=5), st.integers(), st.none()),
    "video_id": st.one_of(st.text(max_size=15), st.none(), st.lists(st.text(max_size=3), max_size=2)),
    "question": st.one_of(st.text(max_size=20), st.none(), st.integers()),
    "answer_start": numbers, "answer_end": numbers})


@given(st.lists(question_rows, min_size=0, max_size=5))
def test_question_shaped_eval_lines_give_questions_or_a_message_naming_the_line(tmp_path_factory, rows):
    import json

    from ytqa._eval import load_questions

    path = tmp_path_factory.mktemp("eval") / "q.jsonl"
    path.write_text("\n".join(json.dumps(row) for row in rows) + "\n")
    try:
        questions = load_questions(path)
    except ytqa.YtqaError as error:
        assert "Line " in str(error) or "has no questions" in str(error)
        return
    assert len(questions) == len(rows)


@given(st.text(max_size=300))
def test_any_text_as_a_link_gives_a_link_or_a_short_invalid_link_error(text):
    try:
        link = ytqa.parse_link(text)
    except InvalidLink as error:
        assert len(str(error)) < 900
        return
    assert link.kind in ("video", "playlist", "channel")


@given(st.text(max_size=60), st.text(alphabet=string.ascii_letters + string.digits, min_size=6, max_size=12))
def test_any_proxy_url_is_accepted_or_named_as_malformed_and_its_password_never_shown(text, secret):
    url = f"http://user:{secret}@{text}"
    try:
        ytqa.ProxySettings(http_url=url, https_url=url).check()
    except ytqa.YtqaError as error:
        assert f"user:{secret}@" not in str(error)
