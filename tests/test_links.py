import pytest

from ytqa import InvalidLink, embed_url, format_timestamp, video_id, watch_url

ID = "dQw4w9WgXcQ"


@pytest.mark.parametrize("link", [
    f"https://www.youtube.com/watch?v={ID}",
    f"https://youtube.com/watch?v={ID}",
    f"https://m.youtube.com/watch?v={ID}",
    f"https://music.youtube.com/watch?v={ID}&feature=share",
    f"https://www.youtube.com/watch?feature=youtu.be&t=42&v={ID}",
    f"https://www.youtube.com/watch?v={ID}&list=PL590L5WQmH8fJ54F369BLDSqIwcs-TCfs&index=2",
    f"https://www.youtube.com/watch?v={ID}&t=1m30s#comments",
    f"https://www.youtube.com/watch?v={ID}&si=AbCdEfGh",
    f"https://youtu.be/{ID}",
    f"https://youtu.be/{ID}?si=xyz123&t=42",
    f"https://www.youtube.com/shorts/{ID}",
    f"https://www.youtube.com/embed/{ID}?start=10",
    f"https://www.youtube-nocookie.com/embed/{ID}",
    f"https://www.youtube.com/live/{ID}?feature=share",
    f"https://www.youtube.com/v/{ID}",
    f"youtube.com/watch?v={ID}",
    f"www.youtube.com/watch?v={ID}",
    f"youtu.be/{ID}",
    f"http://www.youtube.com/watch?v={ID}",
    f"  https://www.youtube.com/watch?v={ID}  \n",
    f"HTTPS://WWW.YOUTUBE.COM/watch?v={ID}",
    ID,
    f"  {ID} ",
])
def test_every_common_link_form_gives_the_video_id(link):
    assert video_id(link) == ID


@pytest.mark.parametrize("bare", ["-abcdefghij", "_abcdefghij", "nTgKbiWg-YY"])
def test_bare_ids_may_start_with_dash_or_underscore(bare):
    assert video_id(bare) == bare


@pytest.mark.parametrize("link, reason", [
    ("", "empty"),
    ("   ", "empty"),
    ("how do I cook rice", "no spaces"),
    ("https://vimeo.com/123456789", "not a YouTube address"),
    (f"https://youtube.com.evil.example/watch?v={ID}", "not a YouTube address"),
    (f"https://notyoutube.com/watch?v={ID}", "not a YouTube address"),
    (f"https://evil.example/?u=https://www.youtube.com/watch?v={ID}", "not a YouTube address"),
    ("https://www.youtube.com/playlist?list=PL590L5WQmH8fJ54F369BLDSqIwcs-TCfs", "playlist"),
    ("https://www.youtube.com/@veritasium", "channel"),
    ("https://www.youtube.com/channel/UCHnyfMqiRRG1u-2MsSQLbXA", "channel"),
    ("https://www.youtube.com/watch?v=tooshort", "not a video id"),
    ("https://www.youtube.com/watch?v=waytoolongvideoid", "not a video id"),
    ("https://youtu.be/", "no video id"),
    ("dQw4w9WgXc", "not a video id"),  # 10 characters
    ("dQw4w9WgXcQQ", "not a video id"),  # 12 characters
    (f"javascript:alert('{ID}')", "http and https"),
    ("https://www.youtube.com/", "does not point to a video"),
])
def test_what_is_not_a_video_link_is_refused_with_the_reason(link, reason):
    with pytest.raises(InvalidLink) as caught:
        video_id(link)
    message = str(caught.value)
    assert "Not a YouTube video link" in message
    assert reason in message


def test_watch_link_starts_at_the_second():
    assert watch_url(ID, 87.9) == f"https://www.youtube.com/watch?v={ID}&t=87s"
    assert watch_url(ID, 0) == f"https://www.youtube.com/watch?v={ID}"


def test_embed_link_starts_at_the_second():
    assert embed_url(ID, 3725.2) == f"https://www.youtube-nocookie.com/embed/{ID}?start=3725"


@pytest.mark.parametrize("seconds, shown", [(0, "0:00"), (59.9, "0:59"), (61, "1:01"), (3725, "1:02:05")])
def test_timestamps_read_as_youtube_shows_them(seconds, shown):
    assert format_timestamp(seconds) == shown
