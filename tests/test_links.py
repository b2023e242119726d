import pytest

from ytqa import InvalidLink, embed_url, format_timestamp, parse_link, video_id, watch_url

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


# --- playlists and channels ---------------------------------------------------------

from ytqa import Link, collection_link, parse_link  # noqa: E402

PL = "PL590L5WQmH8fJ54F369BLDSqIwcs-TCfs"
UC = "UCHnyfMqiRRG1u-2MsSQLbXA"


@pytest.mark.parametrize("link", [
    f"https://www.youtube.com/playlist?list={PL}",
    f"https://youtube.com/playlist?list={PL}&si=AbCdEf",
    f"https://m.youtube.com/playlist?list={PL}",
    f"https://music.youtube.com/playlist?list={PL}",
    f"www.youtube.com/playlist?list={PL}",
    f"https://www.youtube.com/embed/videoseries?list={PL}",
    f"https://www.youtube-nocookie.com/embed/videoseries?list={PL}",
    f"https://www.youtube.com/watch?list={PL}",
    f"  {PL} ",
])
def test_every_playlist_link_form_names_the_playlist(link):
    found = parse_link(link)
    assert (found.kind, found.id, found.video_id) == ("playlist", PL, None)
    assert found.url == f"https://www.youtube.com/playlist?list={PL}"


@pytest.mark.parametrize("link", [
    f"https://www.youtube.com/watch?v={ID}&list={PL}&index=2",
    f"https://m.youtube.com/watch?list={PL}&v={ID}",
    f"https://youtu.be/{ID}?list={PL}&t=42",
    f"https://www.youtube.com/embed/{ID}?list={PL}",
])
def test_a_watch_link_that_carries_a_list_names_the_playlist_and_its_video(link):
    found = parse_link(link)
    assert (found.kind, found.id, found.video_id) == ("playlist", PL, ID)
    assert video_id(link) == ID  # the single-video flow still opens the video


@pytest.mark.parametrize("link, channel, tab", [
    ("https://www.youtube.com/@veritasium", "@veritasium", None),
    ("https://www.youtube.com/@veritasium/videos", "@veritasium", "videos"),
    ("https://www.youtube.com/@veritasium/streams?view=0", "@veritasium", "streams"),
    ("https://www.youtube.com/@veritasium/shorts", "@veritasium", "shorts"),
    ("https://www.youtube.com/@veritasium/featured", "@veritasium", None),
    ("https://m.youtube.com/@veritasium", "@veritasium", None),
    ("youtube.com/@veritasium", "@veritasium", None),
    ("@veritasium", "@veritasium", None),
    ("https://www.youtube.com/@Caf%C3%A9Olé", "@CaféOlé", None),
    (f"https://www.youtube.com/channel/{UC}", UC, None),
    (f"https://www.youtube.com/channel/{UC}/videos", UC, "videos"),
    (f"https://www.youtube.com/channel/{UC}/streams", UC, "streams"),
    ("https://www.youtube.com/c/veritasium", "c/veritasium", None),
    ("https://www.youtube.com/c/veritasium/videos", "c/veritasium", "videos"),
    ("https://www.youtube.com/user/1veritasium", "user/1veritasium", None),
    ("https://www.youtube.com/user/1veritasium/videos?sort=p", "user/1veritasium", "videos"),
])
def test_every_channel_link_form_names_the_channel_and_its_tab(link, channel, tab):
    found = parse_link(link)
    assert (found.kind, found.id, found.tab) == ("channel", channel, tab)


@pytest.mark.parametrize("channel, tab, url", [
    ("@veritasium", None, "https://www.youtube.com/@veritasium"),
    ("@veritasium", "streams", "https://www.youtube.com/@veritasium/streams"),
    (UC, "videos", f"https://www.youtube.com/channel/{UC}/videos"),
    ("c/veritasium", None, "https://www.youtube.com/c/veritasium"),
])
def test_a_channel_is_listed_from_its_canonical_link(channel, tab, url):
    assert Link("channel", channel, tab=tab).url == url


@pytest.mark.parametrize("link", [f"https://www.youtube.com/watch?v={ID}", f"https://youtu.be/{ID}",
                                  f"https://www.youtube.com/shorts/{ID}", ID])
def test_a_video_link_names_a_video(link):
    found = parse_link(link)
    assert (found.kind, found.id) == ("video", ID)


@pytest.mark.parametrize("link", [f"https://www.youtube.com/watch?v={ID}&list=RD{ID}&start_radio=1",
                                  f"https://www.youtube.com/watch?v={ID}&list=WL"])
def test_a_video_opened_from_a_mix_or_watch_later_names_the_video(link):
    assert parse_link(link).kind == "video"


@pytest.mark.parametrize("link, reason", [
    (f"https://www.youtube.com/playlist?list=RD{ID}", "mix"),
    ("https://www.youtube.com/playlist?list=WL", "your own lists"),
    ("https://www.youtube.com/playlist?list=nonsense", "not a playlist id"),
    ("https://www.youtube.com/playlist", "no list="),
    ("https://www.youtube.com/@veritasium/community", "lists no videos"),
    ("https://www.youtube.com/@veritasium/playlists", "lists no videos"),
    ("https://www.youtube.com/@veritasium/live", "whatever is live right now"),
    ("https://www.youtube.com/channel/UCshort", "not a channel id"),
    ("https://www.youtube.com/c/", "no channel name"),
    (f"https://youtube.com.evil.example/playlist?list={PL}", "not a YouTube address"),
    ("https://notyoutube.com/@veritasium", "not a YouTube address"),
    (f"https://evil.example/?u=https://www.youtube.com/playlist?list={PL}", "not a YouTube address"),
    ("https://www.youtube.com/feed/trending", "not point to a video, a playlist or a channel"),
])
def test_what_is_not_a_playlist_or_channel_is_refused_with_the_reason(link, reason):
    with pytest.raises(InvalidLink) as caught:
        collection_link(link)
    assert reason in str(caught.value)
    assert "Not a YouTube" in str(caught.value)


def test_adding_a_single_video_is_refused_with_what_to_do_instead():
    with pytest.raises(InvalidLink) as caught:
        collection_link(f"https://youtu.be/{ID}")
    assert "single video" in str(caught.value) and "ytqa index" in str(caught.value)


def test_a_playlist_given_where_a_video_goes_says_how_to_add_it():
    with pytest.raises(InvalidLink) as caught:
        video_id(f"https://www.youtube.com/playlist?list={PL}")
    assert "ytqa add" in str(caught.value)


@pytest.mark.parametrize("link", [
    "https://www.youtube.com/watch?v=" + "a" * 100_000,
    "https://" + "x" * 100_000 + ".example/watch?v=dQw4w9WgXcQ",
    "a" * 100_000,
    "https://www.youtube.com/@" + "x" * 100_000,
    "https://www.youtube.com/playlist?list=PL" + "%" * 100_000,
    "https://www.youtube.com/channel/" + "U" * 100_000,
])
def test_a_100000_character_link_gives_a_short_error(link):
    with pytest.raises(InvalidLink) as caught:
        parse_link(link)
    assert len(str(caught.value)) < 600
