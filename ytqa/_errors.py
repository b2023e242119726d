"""Every failure a user can meet, each with its cause and what to do about it.

ytqa code raises only these for problems in the user's input or in YouTube's
answer, so the CLI and the app can show ``str(error)`` and never a traceback.
"""

from __future__ import annotations

from typing import Iterable, Sequence

PROXY_SETTINGS = (
    "Set a proxy with --proxy URL (or the YTQA_PROXY environment variable), or a "
    "Webshare rotating residential proxy with --webshare-username/--webshare-password "
    "(YTQA_WEBSHARE_USERNAME/YTQA_WEBSHARE_PASSWORD)."
)
PROXY_HELP = PROXY_SETTINGS + (
    " Or download the subtitles "
    "yourself and pass the file with --transcript (in the app: upload it)."
)


def mask_credentials(text: str) -> str:
    """``scheme://user:SECRET@host`` -> ``scheme://user:***@host``, wherever it occurs in
    ``text``: a proxy or database URL may be quoted by any message."""
    import re

    return re.sub(r"(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@]*):[^@\s]*@", r"\1:***@", text)


class YtqaError(Exception):
    """Base class: the message is complete and meant for the user.

    A password in a URL it quotes (a proxy's, a database's) is masked: ``user:***@``.
    """

    def __init__(self, *args):
        super().__init__(*(mask_credentials(a) if isinstance(a, str) else a for a in args))


class InvalidProxy(YtqaError, ValueError):
    """A proxy URL that cannot be one; says what is wrong, never its password."""

    def __init__(self, url: str, problem: str, setting: str = "--proxy (or YTQA_PROXY)"):
        shown = mask_credentials(url)
        shown = shown if len(shown) <= 80 else shown[:77] + "..."
        super().__init__(
            f"The proxy URL {shown!r} is malformed: {problem}. Give it to {setting} as "
            "http://host:port (or https://, socks5://), with user:password@ before the host "
            "if the proxy needs them."
        )


_LINK_EXAMPLES = {
    "video": ("video link", "Paste a link such as https://www.youtube.com/watch?v=dQw4w9WgXcQ, "
              "https://youtu.be/dQw4w9WgXcQ or the 11-character video id."),
    "collection": ("playlist or channel link", "Paste a link such as "
                   "https://www.youtube.com/playlist?list=PL..., https://www.youtube.com/@handle "
                   "or https://www.youtube.com/channel/UC..."),
    "any": ("link", "Paste a video link such as https://www.youtube.com/watch?v=dQw4w9WgXcQ, "
            "a playlist link such as https://www.youtube.com/playlist?list=PL... or a channel "
            "link such as https://www.youtube.com/@handle."),
}


class InvalidLink(YtqaError, ValueError):
    """``accepts``: what was asked for: "video", "collection" (playlist or channel) or "any"."""

    def __init__(self, text: str, reason: str, accepts: str = "video"):
        self.text = text
        self.reason = reason
        self.accepts = accepts
        shown = text if len(text) <= 80 else text[:77] + "..."
        reason = reason if len(reason) <= 400 else reason[:397] + "..."
        what, examples = _LINK_EXAMPLES[accepts]
        super().__init__(f"Not a YouTube {what}: {shown!r}. {reason} {examples}")


class TranscriptFileError(YtqaError):
    """A subtitle file that cannot be read; names the file and the problem."""

    def __init__(self, path: str, problem: str):
        self.path = path
        self.problem = problem
        super().__init__(
            f"Cannot read subtitles from {path}: {problem}. "
            "Use a .srt or .vtt file, or youtube-transcript-api JSON "
            '([{"text": ..., "start": ..., "duration": ...}]).'
        )


class EmptyTranscript(YtqaError):
    summary = "no spoken text in the captions"

    def __init__(self, video_id: str):
        self.video_id = video_id
        super().__init__(
            f"The transcript of {video_id} has no spoken text (only empty lines or "
            "tags such as [Music]), so there is nothing to search. Try another "
            "language track or another subtitle file."
        )


class InvalidQuestion(YtqaError, ValueError):
    pass


class NotText(YtqaError, ValueError):
    """Text given to ytqa (a question, a link, a flag's value) with bytes that are not UTF-8."""

    def __init__(self, what: str, value: str):
        self.what = what
        raw = value.encode("utf-8", "surrogateescape")
        bad = next((b for b in value if "\udc80" <= b <= "\udcff"), None)
        byte = f" (the byte 0x{ord(bad) - 0xDC00:02x})" if bad else ""
        shown = raw.decode("utf-8", "replace")
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        super().__init__(
            f"{what} is not UTF-8 text{byte}: {shown!r}. Set your terminal to UTF-8 "
            "(for example export LANG=C.UTF-8) and type it again."
        )


class BadSetting(YtqaError, ValueError):
    """An environment variable whose value ytqa cannot use; names it and its choices."""

    def __init__(self, variable: str, value: str, expected: str):
        self.variable = variable
        shown = value if len(value) <= 60 else value[:57] + "..."
        super().__init__(f"{variable} is set to {shown!r}, which is not {expected}. "
                         f"Set it to {expected}, or unset it.")


class CannotWrite(YtqaError, OSError):
    """The disk said no: full, read-only, not ours to write. Nothing half-written is kept
    (every write is a temporary file renamed into place)."""

    def __init__(self, where: str, cause: str, remedy: str):
        self.where = where
        self.cause = cause
        super().__init__(f"Cannot write {where}: {cause}. Nothing half-written was kept. {remedy}")

    @classmethod
    def from_os_error(cls, error: OSError, what: str = "in the library",
                      remedy: str | None = None) -> "CannotWrite":
        import errno as codes

        if isinstance(error, CannotWrite):
            return error  # said already
        where = what + (f" ({error.filename})" if getattr(error, "filename", None) else "")
        number = getattr(error, "errno", None)
        text = str(error)
        if number in (codes.ENOSPC, getattr(codes, "EDQUOT", -1)) or (
                "requested and" in text and "written" in text):  # FAISS's short write
            cause = "no space left on the device"
            fix = "Free some space, or choose a folder on another disk"
        elif number == codes.EROFS:
            cause = "it is on a read-only file system"
            fix = "Make it writable, or choose a writable folder"
        elif number in (codes.EACCES, codes.EPERM):
            cause = "permission denied"
            fix = "Make it writable for this user, or choose a folder of your own"
        else:
            cause = (getattr(error, "strerror", None) or text or type(error).__name__).rstrip(".")
            fix = "Check the folder, or choose another one"
        return cls(where, cause, remedy or f"{fix} with --data-dir (or YTQA_DATA_DIR), "
                   "and run the command again.")


class ModelUnavailable(YtqaError):
    DEFAULT_REMEDY = ("Use the packaged default (--model minilm, works offline), a local folder "
                      "with a sentence-transformers model, or connect to the internet once so the "
                      "model can be downloaded from the Hugging Face Hub.")

    def __init__(self, name: str, detail: str, remedy: str | None = None):
        self.name = name
        self.detail = detail
        super().__init__(f"Cannot load the embedding model {name!r}: {detail}. "
                         + (remedy or self.DEFAULT_REMEDY))


class NotIndexed(YtqaError):
    def __init__(self, video_id: str):
        self.video_id = video_id
        super().__init__(
            f"No transcript of {video_id} is stored yet and none was given. Run "
            f"'ytqa index {video_id}' (it fetches from YouTube), or pass a subtitle "
            "file with --transcript."
        )


# --- YouTube ---------------------------------------------------------------


class TranscriptUnavailable(YtqaError):
    """YouTube did not give us a transcript; subclasses say why.

    ``summary`` is the cause in a few words, as a collection's list of videos shows it.
    """

    summary = "no transcript"

    def __init__(self, video_id: str, message: str):
        self.video_id = video_id
        super().__init__(message)


class TranscriptsDisabled(TranscriptUnavailable):
    summary = "captions are turned off"

    def __init__(self, video_id: str):
        super().__init__(
            video_id,
            f"Captions are turned off for video {video_id}, so YouTube has no "
            "transcript to give. If you have a subtitle file for it, pass it with "
            "--transcript (in the app: upload it).",
        )


class NoTranscriptInLanguage(TranscriptUnavailable):
    def __init__(
        self,
        video_id: str,
        requested: Sequence[str],
        available: Iterable[str],
        translatable_to: Iterable[str] = (),
    ):
        self.requested = list(requested)
        self.available = list(available)
        self.translatable_to = list(translatable_to)
        offer = ", ".join(self.available) or "none"
        message = (
            f"Video {video_id} has no transcript in {', '.join(self.requested)}. "
            f"Tracks it has: {offer}."
        )
        if self.translatable_to:
            message += (
                " YouTube can translate into: "
                + ", ".join(self.translatable_to[:30])
                + ("..." if len(self.translatable_to) > 30 else "")
                + "."
            )
        message += " Ask for one of these with --lang."
        super().__init__(video_id, message)
        self.summary = f"no transcript in {', '.join(self.requested) or 'that language'}"


class VideoUnavailable(TranscriptUnavailable):
    summary = "unavailable (removed or private)"

    def __init__(self, video_id: str):
        super().__init__(
            video_id,
            f"Video {video_id} is unavailable: it was removed, made private, or the "
            "id is wrong. Check the link in a browser.",
        )


class AgeRestricted(TranscriptUnavailable):
    summary = "age-restricted (captions need a signed-in user)"

    def __init__(self, video_id: str):
        super().__init__(
            video_id,
            f"Video {video_id} is age-restricted and YouTube only shows its captions "
            "to signed-in users. Download its subtitles while signed in and pass the "
            "file with --transcript (in the app: upload it).",
        )


class VideoUnplayable(TranscriptUnavailable):
    def __init__(self, video_id: str, reason: str | None, details: Sequence[str] = ()):
        why = reason or "no reason given"
        self.reason = reason
        self.summary = ("members-only" if "members" in (reason or "").lower()
                        else f"unplayable: {reason or 'no reason given'}")
        if details:
            why += " (" + "; ".join(d for d in details if d) + ")"
        super().__init__(
            video_id,
            f"YouTube will not play video {video_id}: {why}. If it plays in your "
            "browser, download its subtitles there and pass the file with --transcript.",
        )


class YouTubeBlocked(TranscriptUnavailable):
    summary = "blocked by YouTube"

    def __init__(self, video_id: str, with_proxy: bool = False, tried: str | None = None):
        if with_proxy:
            cause = (
                f"YouTube refused the request for {video_id} even through the "
                "configured proxy (it asks to confirm you are not a bot). Use a "
                "rotating residential proxy rather than a datacenter one, or wait "
                "and try again."
            )
        else:
            cause = (
                f"YouTube blocked the request for {video_id} (it asks to confirm you "
                "are not a bot, or says too many requests). This happens on most "
                "cloud hosts (AWS, GCP, Azure, ...), whose IP addresses YouTube "
                "blocks, and after many requests. "
            )
            cause += PROXY_HELP
        super().__init__(video_id, cause + _tried(tried))


class PoTokenRequired(TranscriptUnavailable):
    summary = "YouTube asks for a PO token"

    def __init__(self, video_id: str, tried: str | None = None):
        super().__init__(
            video_id,
            f"YouTube now asks for a proof-of-origin (PO) token to give the captions "
            f"of {video_id}, which ytqa cannot provide. Upgrade youtube-transcript-api "
            "(pip install -U youtube-transcript-api), try again later, or download the "
            "subtitles in a browser and pass the file with --transcript." + _tried(tried),
        )


def _tried(tried: str | None) -> str:
    """What was tried, and what else may get through (for a refusal both ways failed)."""
    if not tried:
        return ""
    return (f" Tried: {tried}. A cookies file of a signed-in browser (--cookies FILE or YTQA_COOKIES, "
            "Netscape cookies.txt) or a PO-token provider plug-in for yt-dlp "
            "(bgutil-ytdlp-pot-provider) may get through.")


class YouTubeRequestFailed(TranscriptUnavailable):
    summary = "the request failed"

    def __init__(self, video_id: str, detail: str):
        super().__init__(
            video_id,
            f"The request to YouTube for {video_id} failed: {detail}. Try again in a "
            "moment; if it keeps failing, YouTube may have changed its pages: upgrade "
            "youtube-transcript-api, or pass a subtitle file with --transcript.",
        )


class TranscriptTooLong(TranscriptUnavailable):
    summary = "too long to index"

    def __init__(self, video_id: str, problem: str):
        super().__init__(
            video_id,
            f"The transcript of {video_id} is too long to index: {problem}. ytqa indexes "
            "videos of up to 24 hours; download the subtitles and pass a part of them with "
            "--transcript (in the app: upload it).",
        )


class NoNetwork(TranscriptUnavailable):
    summary = "no network"

    def __init__(self, video_id: str, detail: str = ""):
        super().__init__(
            video_id,
            f"Cannot reach YouTube to fetch the transcript of {video_id}"
            + (f" ({detail})" if detail else "")
            + ". Check your internet connection and proxy settings, or pass a "
            "subtitle file with --transcript (in the app: upload it) to work offline.",
        )


# --- the library's store -------------------------------------------------------


class StoreUnavailable(YtqaError):
    """The library's store cannot be used; names the store, the cause and the remedy."""

    def __init__(self, where: str, cause: str, remedy: str | None = None):
        self.where = where
        self.cause = cause
        super().__init__(
            f"Cannot use the library at {where}: {cause}. "
            + (remedy or "Check the URL given with --store (or YTQA_STORE): any PostgreSQL 13 "
               "or newer with the vector extension (pgvector 0.7 or newer) will do; to try one locally, "
               "'ytqa postgres start DIR' starts a server in a folder and prints its URL.")
        )


class DatabaseWentAway(StoreUnavailable):
    """The server closed the connection or could not be reached in the middle of a command."""

    def __init__(self, where: str, cause: str):
        super().__init__(where, f"the database went away ({cause})",
                         "Nothing was lost (what was being stored is stored whole or not at all): "
                         "once the server is up, run it again.")


class ForeignTable(StoreUnavailable):
    """A table ytqa needs is there, but is not one ytqa made."""

    def __init__(self, where: str, table: str, missing: Sequence[str]):
        super().__init__(where, f"a table named {table} is there but it is not ytqa's (it has no "
                                f"{', '.join(missing)} column)",
                         "Nothing was lost: rename or drop that table, or keep this library in another "
                         "database, then run it again.")


# --- playlists and channels ------------------------------------------------


class CollectionUnavailable(YtqaError):
    """YouTube has no such playlist or channel, or will not show it."""

    def __init__(self, link: str, detail: str):
        self.link = link
        super().__init__(
            f"YouTube has no playlist or channel to list at {link}: {detail}. Check the "
            "link in a browser; a private playlist cannot be listed (make it unlisted)."
        )


class CollectionBlocked(YtqaError):
    def __init__(self, link: str, with_proxy: bool = False):
        self.link = link
        if with_proxy:
            remedy = ("Use a rotating residential proxy rather than a datacenter one, or "
                      "wait and try again later.")
        else:
            remedy = PROXY_SETTINGS + " Or wait and try again later."
        super().__init__(
            f"YouTube refused to list {link} (it asks to confirm you are not a bot, or "
            f"says too many requests{', even through the configured proxy' if with_proxy else ''}). "
            + remedy
        )


class ListingFailed(YtqaError):
    def __init__(self, link: str, detail: str, remedy: str | None = None):
        self.link = link
        super().__init__(
            f"Cannot list the videos of {link}: {detail}. "
            + (remedy or "Try again in a moment; if it keeps failing, YouTube may have "
               "changed its pages: upgrade yt-dlp (pip install -U yt-dlp).")
        )


class UnknownCollection(YtqaError):
    def __init__(self, name: str, known: Sequence[str] = ()):
        self.name = name
        added = f" Added: {', '.join(known)}." if known else " None is added yet."
        super().__init__(
            f"No playlist or channel {name!r} is added.{added} Add one with 'ytqa add LINK' "
            "(in the app: paste its link), then name it by its key or its link."
        )


class NothingIndexed(YtqaError):
    def __init__(self, title: str, key: str):
        self.key = key
        super().__init__(
            f"No video of {title} is indexed yet, so there is nothing to search. Index "
            f"them with 'ytqa sync {key}' (in the app: Index all)."
        )


class IndexingStopped(YtqaError):
    """A collection's run stopped because YouTube said no; everything indexed is kept."""

    def __init__(self, title: str, key: str, cause: YtqaError, tries: int,
                 indexed: int, total: int, with_proxy: bool = False):
        self.key = key
        self.cause = cause
        self.tries = tries
        self.indexed = indexed
        self.total = total
        kept = (f"{indexed} of {total} videos are indexed and kept; "
                f"'ytqa sync {key}' (in the app: Index all) continues where this run stopped.")
        if isinstance(cause, NoNetwork):
            super().__init__(
                f"Stopped indexing {title}: YouTube cannot be reached. {kept} Check your "
                "internet connection and proxy settings."
            )
            return
        summary = getattr(cause, "summary", "refused")
        if with_proxy:
            remedy = ("Use a rotating residential proxy rather than a datacenter one, or "
                      "retry later.")
        else:
            remedy = PROXY_SETTINGS + " Or retry later; a longer --delay (YTQA_REQUEST_DELAY) asks less often."
        super().__init__(
            f"Stopped indexing {title}: YouTube refused {tries} requests in a row "
            f"({summary}), so ytqa stopped rather than keep asking. {kept} {remedy}"
        )


class TooManyBuilds(YtqaError):
    """One person has as many builds waiting or running in the shared queue as one may."""

    def __init__(self, bound: int):
        self.bound = bound
        super().__init__(
            f"You are opening {bound} videos already, as many as one visitor may at a time (so the "
            "server stays quick for everyone). Open this one again once one of them is ready.")


class QueueDamaged(YtqaError):
    """The queue of builds in the store cannot be read as one: named, never taken as empty."""

    def __init__(self, where: str, problem: str):
        super().__init__(f"The queue of background builds at {where} is damaged ({problem}). "
                         "Remove it: ytqa starts an empty one (builds waiting in it are asked for again "
                         "when their pages ask).")


# --- what is stored: damage, absence, other processes ----------------------------------


class StoredVideoDamaged(YtqaError):
    """A video's stored transcript (or its record) cannot be used: named, never guessed around."""

    summary = "damaged"

    def __init__(self, video_id: str, reason: str):
        self.video_id = video_id
        self.reason = reason
        super().__init__(
            f"The stored transcript of {video_id} is damaged ({reason}), so it cannot be "
            f"searched. Index it again: 'ytqa index {video_id}' fetches it from YouTube again "
            f"(or give the subtitle file with --transcript; in the app: paste the link or upload "
            f"the file again), or remove it with 'ytqa delete {video_id}' (in the app: Delete)."
        )


class NotStored(YtqaError):
    def __init__(self, video_id: str, where: str):
        self.video_id = video_id
        super().__init__(
            f"No video {video_id} is stored in {where}, so nothing was deleted. 'ytqa list' shows "
            "what is stored there (check --data-dir or --store if you expected it there)."
        )


class DeleteIncomplete(YtqaError):
    def __init__(self, video_id: str, leftovers: str, cause: str):
        self.video_id = video_id
        super().__init__(
            f"{video_id} is no longer in the library, but some of its files could not be removed "
            f"({cause}): {leftovers}. Remove that folder by hand; ytqa also tries again on the "
            "next delete."
        )


class VideoBusy(YtqaError):
    """Another process holds the video's lock: who, and what to do."""

    def __init__(self, video_id: str, holder: str, action: str = "delete"):
        self.video_id = video_id
        self.holder = holder
        super().__init__(
            f"{video_id} is being indexed right now ({holder}), so it cannot be {action}d yet. "
            f"Try again when that finishes (ytqa {action} {video_id}; in the app: Delete again)."
        )


class PrivateSubtitles(YtqaError):
    """A person asked for a video another person added from their own subtitle file, kept private."""

    def __init__(self, video_id: str, person: str):
        self.video_id, self.person = video_id, person
        super().__init__(
            f"{person} cannot open {video_id}: another person added it from their own subtitle file and "
            "keeps it private. Ask them to share it (ytqa share, or Shared with everyone in the app's "
            "library), or an administrator named in YTQA_ADMINS."
        )


class NotYours(YtqaError):
    """A person asked for what only a video's holders (or an administrator) may do."""

    def __init__(self, video_id: str, person: str, action: str):
        self.video_id, self.person, self.action = video_id, person, action
        super().__init__(
            f"{person} cannot {action} {video_id}: it is not in their library (it is shared with them, "
            "or was stored before people were named). Only a person who added it, or an administrator "
            "named in YTQA_ADMINS, may; ask one of them."
        )


class EveryonesAlready(YtqaError):
    def __init__(self, video_id: str):
        self.video_id = video_id
        super().__init__(
            f"{video_id} is everyone's already (nobody holds it: it was stored before people were "
            "named), so there is nothing to share or unshare. To make it someone's, an administrator "
            f"transfers it: ytqa transfer {video_id} PERSON."
        )


class NotAdministrator(YtqaError):
    def __init__(self, person: str, action: str):
        self.person, self.action = person, action
        super().__init__(
            f"{person} cannot {action}: only an administrator may. Add them to YTQA_ADMINS "
            "(names separated by commas) where the store is served, or ask an administrator."
        )


class UnknownGroup(YtqaError, ValueError):
    """A video shared with a group the server's configuration does not name."""

    def __init__(self, group: str, known: Sequence[str] = ()):
        self.group, self.known = group, tuple(known)
        named = (f"the groups are {', '.join(self.known)}" if self.known
                 else "this server names no groups")
        super().__init__(
            f"There is no group called {group!r:.80} ({named}). Share it with one of those, or with "
            "everyone; an administrator names groups in YTQA_GROUPS (physics=ana@x.org,bob@x.org;lab=carol)."
        )


class InvalidGroups(YtqaError, ValueError):
    """YTQA_GROUPS cannot be read as groups."""

    def __init__(self, part: str, why: str):
        self.part, self.why = part, why
        super().__init__(
            f"YTQA_GROUPS cannot be read: {part!r:.80} {why}. Write it as NAME=person,person;NAME=person "
            "(a name of letters, digits, '-', '_' or '.'; e.g. physics=ana@x.org,bob@x.org;lab=carol)."
        )


class InvalidPerson(YtqaError, ValueError):
    def __init__(self, name: str):
        self.name = name
        super().__init__(
            f"{name!r:.80} is not a person's name: give one of 1 to 200 printable characters, "
            "no commas, not only spaces (--user NAME, or YTQA_USER)."
        )


class LockTimeout(YtqaError):
    def __init__(self, video_id: str, holder: str, waited: float, stopped: bool = False):
        self.video_id = video_id
        self.holder = holder
        if stopped:
            remedy = ("That process is stopped (suspended): resume it (kill -CONT, or fg in its "
                      "terminal) or end it, then try again.")
        else:
            remedy = ("If that process is hung, end it, then try again; otherwise try again "
                      "when it finishes.")
        super().__init__(
            f"Gave up after {waited:.0f} s waiting for {video_id}: {holder} holds its lock. {remedy}"
        )


class DeletedWhileIndexing(YtqaError):
    def __init__(self, video_id: str):
        self.video_id = video_id
        super().__init__(
            f"{video_id} was deleted while it was being opened or indexed, so nothing of it was "
            f"kept. Index it again if you want it back: 'ytqa index {video_id}' (in the app: paste "
            "its link)."
        )


class RecordDamaged(YtqaError):
    """A stored record (a collection, a history) that cannot be read; the others are untouched."""

    def __init__(self, where: str, problem: str):
        self.where = where
        super().__init__(f"Cannot read {where}: {problem}. Fix or delete it (the next change "
                         "writes it anew); nothing else stored is affected.")


class CollectionNotYours(YtqaError):
    """A person asked for what only a collection's owner (or an administrator) may do."""

    def __init__(self, title: str, key: str, person: str, action: str):
        self.key, self.person, self.action = key, person, action
        super().__init__(
            f"{person} cannot {action} {title} ({key}): another person added it. Only the person who "
            "added it, or an administrator named in YTQA_ADMINS, may; ask one of them."
        )


class CollectionEveryones(YtqaError):
    def __init__(self, title: str, key: str):
        self.key = key
        super().__init__(
            f"{title} ({key}) is everyone's already (it was added with no person named), so there is "
            "nothing to share or unshare."
        )


class StoreDamaged(YtqaError):
    """Something in the data folder is not what ytqa keeps there (a file where a folder goes...)."""

    def __init__(self, path: str, problem: str, remedy: str):
        self.path = path
        super().__init__(f"Cannot use {path}: {problem}. {remedy}")


# --- plug-ins ---------------------------------------------------------------


class UnknownPlugin(YtqaError, LookupError):
    """No plug-in of that kind is registered under that name; names the ones that are."""

    def __init__(self, kind: str, name: str, known: Sequence[str], register: str):
        self.kind, self.name, self.known = kind, name, tuple(known)
        shown = name if len(name) <= 60 else name[:57] + "..."
        super().__init__(f"There is no {kind} named {shown!r}. Choose one of {', '.join(known) or 'none'}, "
                         f"or register one of your own with {register}.")
# --- answers in words (a chat model) --------------------------------------------


class AnswerUnavailable(YtqaError):
    """The chat model wrote no answer. ``CAUSE_MESSAGE`` says why and what to do ({detail}
    is filled in); the moments are still ytqa's answer, so every message says they stand.
    A key given to ytqa is never shown (``secret`` is masked, as are keys in URLs)."""

    CAUSE_MESSAGE = "it failed ({detail}). Ask again; if it keeps failing, choose another model"

    def __init__(self, model: str, detail: str = "", secret: str | None = None):
        self.model = model
        self.detail = mask_secret(detail, secret)
        super().__init__(f"No answer in words from {model}: "
                         + self.CAUSE_MESSAGE.format(detail=self.detail)
                         + ". The moments below are the answer as usual.")


class ChatModelMissing(AnswerUnavailable):
    CAUSE_MESSAGE = ("its provider's package is not installed ({detail}). Install it with "
                     "pip install 'ytqa[llm]' (a GGUF file run in ytqa: pip install 'ytqa[llm-local]')")


class UnknownChatModel(AnswerUnavailable):
    CAUSE_MESSAGE = ("there is no such model ({detail}). Name one as provider:model, such as "
                     "ollama:llama3.2 (pulled first: ollama pull llama3.2), openai:gpt-4o-mini or "
                     "llamacpp:/path/model.gguf, with --chat-model (or YTQA_CHAT_MODEL)")


class ChatNotRunning(AnswerUnavailable):
    CAUSE_MESSAGE = ("its server cannot be reached ({detail}). For Ollama: start it (ollama serve); "
                     "for an OpenAI-compatible server: start it, and check its address in YTQA_CHAT_BASE_URL")


class ChatKeyRefused(AnswerUnavailable):
    CAUSE_MESSAGE = ("the server refused the API key ({detail}). Set a valid key in YTQA_CHAT_API_KEY "
                     "(for OpenAI also OPENAI_API_KEY)")


class ChatRateLimited(AnswerUnavailable):
    CAUSE_MESSAGE = ("the provider says too many requests ({detail}). Wait a minute and ask again, "
                     "or check your plan's quota")


class ChatTimeout(AnswerUnavailable):
    CAUSE_MESSAGE = ("no answer within {detail}. Ask again, choose a smaller or faster model, "
                     "or allow longer with YTQA_CHAT_TIMEOUT (seconds)")


class ChatContextTooLong(AnswerUnavailable):
    CAUSE_MESSAGE = ("even one moment is more than the model can read at once ({detail}). "
                     "Choose a model with a longer context")


def mask_secret(text: str, secret: str | None = None) -> str:
    """``text`` without ``secret`` (a key ytqa was given), nor anything shaped like an API
    key (sk-..., Bearer ..., api_key=...), nor a password in a URL."""
    import re

    if secret:
        text = text.replace(secret, "***")
    text = re.sub(r"\b(sk|pk|rk|gsk|xai)-[A-Za-z0-9_\-*]{8,}", r"\1-***", text)
    text = re.sub(r"(?i)\b(bearer\s+)[^\s\"',]+", r"\1***", text)
    text = re.sub(r"(?i)\b(api[_-]?key[\"']?\s*[:=]\s*[\"']?)[^\s\"'&,]+", r"\1***", text)
    return mask_credentials(text)
