"""Subtitle files: the formats people have, and clear errors for what they are not."""

import json

import pytest

import ytqa
from ytqa import TranscriptFileError, load_transcript_file, parse_subtitles
from conftest import shared

VIDEO = "XpxTrDDcpPE"

SRT = """1
00:00:01,000 --> 00:00:04,500
Hello and welcome
to the talk.

2
00:00:05,000 --> 00:00:07,250
<i>Today</i> we look at <b>pattern matching</b>.

"""

VTT = """WEBVTT
Kind: captions
Language: en

STYLE
::cue { color: yellow }

NOTE a comment that is not a cue

intro
00:00:01.000 --> 00:00:04.500 position:10% align:start size:80%
<v Brandt>Hello and welcome</v>
to the <c.yellow>talk</c>.

00:05.000 --> 00:07.250
[Music]

00:00:07.300 --> 00:00:09.000
Tom &amp; Jerry<00:00:08.100><c> say</c> hi
"""


def lines(transcript):
    return [(line.text, line.start, round(line.duration, 3)) for line in transcript.lines]


def test_srt_with_multi_line_cues_and_styling():
    transcript = parse_subtitles(SRT.encode(), "talk.srt", VIDEO)
    assert lines(transcript) == [
        ("Hello and welcome to the talk.", 1.0, 3.5),
        ("Today we look at pattern matching.", 5.0, 2.25),
    ]
    assert transcript.source == "talk.srt"


def test_srt_with_bom_and_crlf():
    data = b"\xef\xbb\xbf" + SRT.replace("\n", "\r\n").encode()
    assert lines(parse_subtitles(data, "talk.srt", VIDEO))[0] == ("Hello and welcome to the talk.", 1.0, 3.5)


def test_vtt_with_header_style_notes_positions_voices_and_inline_times():
    transcript = parse_subtitles(VTT.encode(), "talk.vtt", VIDEO)
    assert lines(transcript) == [
        ("Hello and welcome to the talk.", 1.0, 3.5),
        ("[Music]", 5.0, 2.25),
        ("Tom & Jerry say hi", 7.3, 1.7),
    ]


def test_music_tags_are_cleaned_before_indexing():
    transcript = parse_subtitles(VTT.encode(), "talk.vtt", VIDEO)
    assert [line.text for line in ytqa.clean_lines(transcript.lines)] == [
        "Hello and welcome to the talk.", "Tom & Jerry say hi",
    ]


def test_youtube_transcript_api_json():
    data = json.dumps([{"text": "hi there", "start": 0.5, "duration": 2}]).encode()
    assert lines(parse_subtitles(data, "x.json", VIDEO)) == [("hi there", 0.5, 2.0)]


def test_real_transcript_file_reads_every_line():
    transcript = load_transcript_file(shared("transcripts", "XpxTrDDcpPE.json"), VIDEO)
    assert len(transcript.lines) == 403
    assert transcript.duration == pytest.approx(1450, abs=1)


def test_cues_out_of_order_are_put_in_order():
    data = json.dumps([
        {"text": "second", "start": 5, "duration": 1},
        {"text": "first", "start": 1, "duration": 1},
    ]).encode()
    assert [l.text for l in parse_subtitles(data, "x.json", VIDEO).lines] == ["first", "second"]


def test_a_cut_off_last_cue_is_dropped_and_the_rest_kept():
    data = (SRT + "3\n00:00:08,000 --> 00:0").encode()
    assert len(parse_subtitles(data, "talk.srt", VIDEO).lines) == 2


def test_windows_1252_text_is_read():
    data = "1\n00:00:01,000 --> 00:00:02,000\nCafé crème\n".encode("cp1252")
    assert parse_subtitles(data, "fr.srt", VIDEO).lines[0].text == "Café crème"


@pytest.mark.parametrize("data, name, problem", [
    (b"", "empty.srt", "the file is empty"),
    (b"   \n\n", "blank.vtt", "the file is empty"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "picture.srt", "binary file"),
    (b"just some words\nwith no timings\n", "notes.srt", "no subtitle cues found"),
    (b'[{"text": "a", "start": 1', "cut.json", "not valid JSON"),
    (b'[{"text": "a", "duration": 1}]', "x.json", "entry 0 (line 1) has no start"),
    (b'[{"text": "a", "start": "soon", "duration": 1}]', "x.json", "non-numeric start"),
    (b'[{"text": "a", "start": -3, "duration": 1}]', "x.json", "invalid start"),
    (b'[{"text": "a", "start": NaN, "duration": 1}]', "x.json", "invalid start"),
    (b'[{"text": 5, "start": 1, "duration": 1}]', "x.json", "not a string"),
    (b'{"hello": "world"}', "x.json", "expected a JSON list"),
    (b"[]", "x.json", "no entries"),
])
def test_a_bad_file_names_the_file_and_the_problem(data, name, problem):
    with pytest.raises(TranscriptFileError) as caught:
        parse_subtitles(data, name, VIDEO)
    assert name in str(caught.value)
    assert problem in str(caught.value)


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(TranscriptFileError) as caught:
        load_transcript_file(tmp_path / "nope.srt", VIDEO)
    assert "nope.srt" in str(caught.value) and "no such file" in str(caught.value)


def test_a_folder_is_not_a_file(tmp_path):
    with pytest.raises(TranscriptFileError, match="folder"):
        load_transcript_file(tmp_path, VIDEO)


def json_lines(*starts):
    """A JSON transcript with one entry a line, so a message can name the line."""
    rows = [f'  {{"text": "line {i}", "start": {start}, "duration": 1}}' for i, start in enumerate(starts)]
    return ("[\n" + ",\n".join(rows) + "\n]\n").encode()


@pytest.mark.parametrize("start, problem", [
    ("1e308", "1e+308 is past 24 hours"),
    ("Infinity", "inf is not a number of seconds"),
    ("1" * 5000, "a 5,000-digit number is not a number of seconds"),
    ("1e15", "past 24 hours"),
    ('"1e999"', "is not a number of seconds"),
])
def test_absurd_times_in_json_are_refused_with_the_entry_and_its_line(start, problem):
    with pytest.raises(TranscriptFileError) as caught:
        parse_subtitles(json_lines(0, 2, start), "talk.json", VIDEO)
    assert "entry 2 (line 4) has an invalid start" in str(caught.value)
    assert problem in str(caught.value)


def test_an_end_past_any_video_is_refused():
    data = b'[{"text": "a", "start": 86000, "duration": 1e9}]'
    with pytest.raises(TranscriptFileError, match="entry 0 .*invalid"):
        parse_subtitles(data, "x.json", VIDEO)


@pytest.mark.parametrize("hours", ["9" * 400, "9" * 5000, "999"])
def test_an_srt_hour_field_longer_than_any_video_is_refused_with_its_line(hours):
    data = (SRT + f"3\n{hours}:00:01,000 --> {hours}:00:02,000\nlate\n").encode()
    with pytest.raises(TranscriptFileError) as caught:
        parse_subtitles(data, "talk.srt", VIDEO)
    assert "line 11 has a time" in str(caught.value) and "longer than any video" in str(caught.value)


def test_json_subtitle_text_keeps_angle_brackets_as_written():
    data = json.dumps([{"text": "Map<String, Integer> counts", "start": 0, "duration": 2},
                       {"text": "x<y and y>z", "start": 2, "duration": 2}]).encode()
    assert [l.text for l in parse_subtitles(data, "x.json", VIDEO).lines] == [
        "Map<String, Integer> counts", "x<y and y>z"]


def test_srt_styling_tags_are_stripped_but_comparisons_kept():
    data = b"1\n00:00:01,000 --> 00:00:02,000\nif x < 10 and y > 5 then <i>stop</i>\n"
    assert parse_subtitles(data, "x.srt", VIDEO).lines[0].text == "if x < 10 and y > 5 then stop"


TERMINAL_TRICKS = "\x1b]0;pwned\x07Hello \x1b[2Jthere\x1b]52;c;ZWNobyBoaQ==\x07 \x9b31mfriend\x07\x00"


@pytest.mark.parametrize("name, data", [
    ("x.json", json.dumps([{"text": TERMINAL_TRICKS, "start": 0, "duration": 1}]).encode()),
    ("x.srt", f"1\n00:00:00,000 --> 00:00:01,000\n{TERMINAL_TRICKS[:-1]}\n".encode()),
    ("x.vtt", f"WEBVTT\n\n00:00.000 --> 00:01.000\n{TERMINAL_TRICKS[:-1]}\n".encode()),
])
def test_terminal_control_sequences_are_stripped_from_caption_text(name, data):
    assert parse_subtitles(data, name, VIDEO).lines[0].text == "Hello there friend"


def test_a_lone_surrogate_in_json_text_is_named_with_its_entry():
    data = b'[\n{"text": "fine", "start": 0, "duration": 1},\n{"text": "bad \\ud800", "start": 1, "duration": 1}\n]'
    with pytest.raises(TranscriptFileError, match=r"entry 1 \(line 3\) has a text with a lone surrogate"):
        parse_subtitles(data, "x.json", VIDEO)
