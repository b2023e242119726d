"""ytqa: ask a YouTube video a question, get the moments that answer it.

    >>> import ytqa
    >>> library = ytqa.Library("data")
    >>> for moment in library.ask("https://youtu.be/XpxTrDDcpPE", "who asked him to help?"):
    ...     print(moment.timestamp, moment.url, moment.sentence)

Flow: link -> video id -> transcript -> chunks -> vectors -> index -> moments.
"""

from ._chunking import Chunk, Chunking, ChunkSettings, Sentence, chunk_transcript, clean_lines
from ._config import Config
from ._embeddings import DEFAULT_MODEL, KNOWN_MODELS, Embedder, allowed_model, resolve_model, weak_match, without_paths
from ._errors import (
    AgeRestricted,
    AnswerUnavailable,
    ChatContextTooLong,
    ChatKeyRefused,
    ChatModelMissing,
    ChatNotRunning,
    ChatRateLimited,
    ChatTimeout,
    UnknownChatModel,
    BadSetting,
    CannotWrite,
    CollectionBlocked,
    CollectionUnavailable,
    DeletedWhileIndexing,
    DeleteIncomplete,
    EmptyTranscript,
    IndexingStopped,
    InvalidLink,
    InvalidProxy,
    ListingFailed,
    LockTimeout,
    InvalidQuestion,
    ModelUnavailable,
    NoNetwork,
    NotText,
    NoTranscriptInLanguage,
    NotIndexed,
    NotStored,
    NothingIndexed,
    PoTokenRequired,
    StoreDamaged,
    StoreUnavailable,
    StoredVideoDamaged,
    TranscriptFileError,
    TranscriptTooLong,
    TranscriptsDisabled,
    TranscriptUnavailable,
    UnknownCollection,
    VideoBusy,
    VideoUnavailable,
    VideoUnplayable,
    YouTubeBlocked,
    YouTubeRequestFailed,
    YtqaError,
    mask_credentials,
    mask_secret,
)
from ._answer import AnswerStream, Answerer, ChatModelSpec, WrittenAnswer, parse_chat_model
from ._collections import (
    CollectionStore,
    Collections,
    Progress,
    RunReport,
    SavedCollection,
    SavedVideo,
    collection_key,
    request_delay,
)
from ._files import load_transcript_file, parse_subtitles
from ._library import Library, VideoInfo
from ._links import Link, collection_link, embed_url, format_timestamp, parse_link, video_id, watch_url
from ._search import Moment, SearchSettings, VideoIndex
from ._transcript import Line, Track, Transcript
from ._youtube import ProxySettings, YouTube
from ._webapp import (
    Answer,
    History,
    Job,
    Jobs,
    app_words,
    check_model_choice,
    in_words,
    markdown_export,
    new_token,
    unreachable_model,
    valid_token,
)
from ._ytdlp import Collection, CollectionVideo, list_collection

__version__ = "0.1.0"

__all__ = [name for name in dir() if not name.startswith("_")]
