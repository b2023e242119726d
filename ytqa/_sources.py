"""Where a transcript comes from: the stored copy, a subtitle file, or YouTube.

The stored copy wins when it fits what was asked (no language asked, or its language;
auto-generated when that was asked for); a file or an upload is read and kept; else
YouTube is asked and its answer kept, so re-indexing with another model needs no network.
"""

from __future__ import annotations

import os
from typing import Sequence

from ._errors import StoredVideoDamaged
from ._files import load_transcript_file, parse_subtitles
from ._store import Store
from ._transcript import Track, Transcript


class TranscriptSources:
    def __init__(self, store: Store, proxy=None, cookies: str | None = None):
        self.store = store
        self.proxy = proxy
        self.cookies = cookies

    def _youtube(self):
        from ._youtube import YouTube

        return YouTube(self.proxy, self.cookies)

    def stored(self, video_id: str) -> Transcript | None:
        """The stored copy; None when there is none or it is damaged (then it is read again)."""
        try:
            return self.store.transcript(video_id)
        except StoredVideoDamaged:
            return None

    def keep(self, transcript: Transcript) -> Transcript:
        if self.stored(transcript.video_id) != transcript:
            self.store.save_transcript(transcript)
        return transcript

    def get(self, video_id: str, transcript_file: str | os.PathLike | None = None,
            languages: Sequence[str] = (), refresh: bool = False,
            prefer_generated: bool = False, keep: bool = True) -> Transcript:
        """``keep=False``: read or fetched, not stored (the library stores it once it is indexed)."""
        if transcript_file is not None:
            transcript = load_transcript_file(transcript_file, video_id)
            return self.keep(transcript) if keep else transcript
        stored = None if refresh else self.stored(video_id)
        if stored is not None and (not languages or stored.language_code in languages) and (
                not prefer_generated or stored.is_generated):
            return stored
        fetched = self._youtube().fetch(video_id, languages, prefer_generated)
        return self.keep(fetched) if keep else fetched

    def upload(self, video_id: str, data: bytes, name: str, keep: bool = True) -> Transcript:
        transcript = parse_subtitles(data, name, video_id)
        return self.keep(transcript) if keep else transcript

    def tracks(self, video_id: str) -> list[Track]:
        return self._youtube().tracks(video_id)
