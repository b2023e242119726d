"""The app served by streamlit with YouTube answering from real recorded responses: only the
network is mocked (``responses``, at requests' transport), in this process, then streamlit
runs here as ``streamlit run`` would.

    python tests/recorded_app.py RECORDED_FOLDER [streamlit run's options...]
    python tests/recorded_app.py --listing LISTING.json [streamlit run's options...]

RECORDED_FOLDER is the shared youtube_responses folder. YouTube answers for the two videos
recorded there (GJLlxj_dtq8, nine caption tracks; eF8Qqp7rjDg, one auto-generated track):
its watch page, its player response and its captions. Any other video, and any other host,
is unreachable, as on a server without internet.

With ``--listing``, YouTube answers as it does for tests/recorded_cli.py: yt-dlp's YoutubeDL
with the recorded flat listing (tests/fixtures), YouTube's HTTP for any video from the
recorded responses (fakes.RecordedYouTube). Each time a playlist is listed, the file that
``EXTRA_ENTRY_FILE`` names is read: where it holds ``id,title,seconds``, that video is one
more in the listing (a playlist that grew while the server ran).
"""

import json
import os
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import requests
import responses
from streamlit.web import cli

ROOT = Path(__file__).resolve().parents[1]
WATCH = "https://www.youtube.com/watch"
PLAYER = "https://www.youtube.com/youtubei/v1/player"
TIMEDTEXT = "https://www.youtube.com/api/timedtext"
#: Each recorded video: its watch page, its player response, its captions (one file for every track).
VIDEOS = {
    "GJLlxj_dtq8": ("youtube.html.static", "youtube.innertube.json.static", "transcript.xml.static"),
    "eF8Qqp7rjDg": ("dart_port_fixtures_eF8Qqp7rjDg/youtube_page.html",
                    "dart_port_fixtures_eF8Qqp7rjDg/innertube_response.json",
                    "dart_port_fixtures_eF8Qqp7rjDg/transcript.xml"),
}


def recorded(folder: Path, which: int, content_type: str):
    """A callback answering with the asked video's recorded file ``which`` (0 page, 1 player, 2 captions)."""

    def answer(request):
        if request.method == "POST":
            video = json.loads(request.body or b"{}").get("videoId")
        else:
            video = parse_qs(urlsplit(request.url).query).get("v", [None])[0]
        if video not in VIDEOS:
            return requests.ConnectionError(f"no route to www.youtube.com (not recorded: {video})")
        return 200, {"Content-Type": content_type}, (folder / VIDEOS[video][which]).read_text(encoding="utf-8")

    return answer


def serve(mock: responses.RequestsMock, folder: Path) -> None:
    mock.add_callback(responses.GET, WATCH, callback=recorded(folder, 0, "text/html"))
    mock.add_callback(responses.POST, PLAYER, callback=recorded(folder, 1, "application/json"))
    mock.add_callback(responses.GET, TIMEDTEXT, callback=recorded(folder, 2, "text/xml"))


def listed(name: str, extra_file: str | None):
    """A YoutubeDL factory answering the listing ``name``, grown by what ``extra_file`` holds now."""
    from fakes import FakeYoutubeDL, grown

    def factory(params):
        extra = Path(extra_file).read_text(encoding="utf-8") if extra_file and Path(extra_file).exists() else None
        return FakeYoutubeDL(grown(name, extra), params, [])

    return factory


def main(folder: str, options: list[str]) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        if folder == "--listing":
            import yt_dlp
            from fakes import RecordedYouTube

            yt_dlp.YoutubeDL = listed(options.pop(0), os.environ.get("EXTRA_ENTRY_FILE"))
            RecordedYouTube(mock)
        else:
            serve(mock, Path(folder))
        sys.argv = ["streamlit", "run", str(ROOT / "app.py"), *options]
        cli.main()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
