"""ytqa's CLI in a process of its own, with YouTube mocked only at its boundaries: yt-dlp's
YoutubeDL answers with a recorded flat listing (tests/fixtures) and YouTube's HTTP with the
recorded responses (fakes.RecordedYouTube, ``responses`` at requests' transport).

    python tests/recorded_cli.py LISTING.json [ytqa's arguments...]

Its exit status is the CLI's; ``EXTRA_ENTRY=id,title,seconds`` adds one video to the listing
(a playlist that grew since another process listed it).
"""

import os
import sys
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parent)]  # this ytqa

import responses  # noqa: E402
import yt_dlp  # noqa: E402

from fakes import RecordedYouTube, grown, youtube_dl  # noqa: E402


def main(listing_name: str, argv: list[str]) -> int:
    from ytqa.cli import main as ytqa

    yt_dlp.YoutubeDL = youtube_dl(grown(listing_name, os.environ.get("EXTRA_ENTRY")))
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        RecordedYouTube(mock)
        return ytqa(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2:]))
