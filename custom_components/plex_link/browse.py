"""The media browser of Plex Link's media players, and finding what they should play.

Every node of the browser has a content id of this form, parsed strictly
(anything else is refused before any request):

    plex_link://                                   the servers the account can read
    plex_link://<server>                           a server: continue watching, its libraries
    plex_link://<server>/ondeck                    what the account is in the middle of
    plex_link://<server>/library/<section>         a library: recently added, then its items
    plex_link://<server>/library/<section>/<a>-<b> items a+1 to b of a library
    plex_link://<server>/recent/<section>          a library's newest items
    plex_link://<server>/item/<key>                an item: played, or opened (a show's seasons)
    plex_link://<server>/item/<key>/<a>-<b>        what an item holds, a+1 to b
    plex_link://<server>/resume/<key>              an item, played from where it was left

<server> is the server's machine identifier, <section> and <key> the server's
section key and rating key (ASCII letters and digits), <a> and <b> positions.
A list longer than PAGE_SIZE shows ranges instead of items: at most FANOUT
ranges of PAGE_SIZE * FANOUT**k items each, so any item of a 100,000-item
library is three steps away and no step reads more than one page of items.

Artwork goes through the media player proxy: the browser's URL names the
item and the server's picture path, never a token, and Home Assistant fetches
the picture from the server with the token in a header.

play_media also takes JSON: `{"library": "Movies", "title": "A Film"}` (with
`"year"` where titles repeat), `{"library": "TV Shows", "show": "A Show",
"season": 1, "episode": 2}`, `{"library": "Music", "artist": "…", "album":
"…", "track": "…"}`, each with an optional `"server"` (name or machine
identifier; the player's own server otherwise) and `"resume"` (true: from
where it was left; false, the default: from the start).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
import json
import re
from typing import Final, Protocol
import unicodedata

from homeassistant.components.media_player import (
    BrowseError,
    BrowseMedia,
    MediaClass,
    MediaType,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.translation import async_get_translations

from .const import DOMAIN
from .coordinator import PlexLinkConfigEntry
from .plexserver import (
    ITEM_TYPES,
    PAGE_SIZE,
    LibraryItem,
    LibraryPage,
    LibrarySection,
    PlexServerClient,
    PlexServerError,
    PlexServerResponseError,
)

SCHEME: Final = "plex_link://"
FANOUT: Final = 20
MAX_CONTENT_ID_LENGTH: Final = 256
MAX_REQUEST_LENGTH: Final = 4096
MAX_TEXT_LENGTH: Final = 500
MAX_TITLE_LENGTH: Final = 200
MAX_CHILD_PAGES: Final = 20
BROWSE_IMAGE_SIZE: Final = 400
ROOT_TITLE: Final = "Plex"
DASH: Final = "\N{EN DASH}"
FOLDERS: Final = {"ondeck": "Continue watching", "recent": "Recently added"}

_KEY = r"[0-9A-Za-z]{1,32}"
_POSITION = r"0|[1-9][0-9]{0,8}"
_CONTENT_ID = re.compile(
    rf"plex_link://(?:(?P<server>[0-9A-Za-z][0-9A-Za-z-]{{0,63}})"
    rf"(?:/(?P<kind>[a-z]{{1,16}})(?:/(?P<key>{_KEY})"
    rf"(?:/(?P<start>{_POSITION})-(?P<end>{_POSITION}))?)?)?)?"
)
_IMAGE_PATH = re.compile(
    r"/library/(?:metadata|collections)/[0-9A-Za-z]{1,32}"
    r"/(?:thumb|art|banner|composite)(?:/[0-9]{1,20})?"
)
_KEYED = frozenset({"library", "recent", "item", "resume"})
_RANGED = frozenset({"library", "item"})
_KINDS = _KEYED | {"ondeck"}
_BLANKS = re.compile(r"\s+")

CLASSES: Final[dict[str, tuple[MediaClass, MediaType]]] = {
    "movie": (MediaClass.MOVIE, MediaType.MOVIE),
    "show": (MediaClass.TV_SHOW, MediaType.TVSHOW),
    "season": (MediaClass.SEASON, MediaType.SEASON),
    "episode": (MediaClass.EPISODE, MediaType.EPISODE),
    "artist": (MediaClass.ARTIST, MediaType.ARTIST),
    "album": (MediaClass.ALBUM, MediaType.ALBUM),
    "track": (MediaClass.TRACK, MediaType.TRACK),
    "photo": (MediaClass.IMAGE, MediaType.IMAGE),
    "clip": (MediaClass.VIDEO, MediaType.VIDEO),
}
DIRECTORY: Final = (MediaClass.DIRECTORY, "directory")
RECENT_TYPES: Final = {"show": ITEM_TYPES["episode"], "artist": ITEM_TYPES["album"]}
TOP_TYPES: Final = {
    "movie": ITEM_TYPES["movie"],
    "show": ITEM_TYPES["show"],
    "artist": ITEM_TYPES["artist"],
}
USER_ERRORS: Final = frozenset(
    {
        "invalid_media_id",
        "media_server_unknown",
        "library_not_found",
        "media_not_found",
        "media_ambiguous",
        "media_not_playable",
        "item_not_found",
    }
)

type ImageUrl = Callable[[str, str, str], str]


@dataclass(frozen=True, kw_only=True)
class ContentId:
    """A node of the browser: see the module's docstring for the form."""

    server: str | None = None
    kind: str | None = None
    key: str | None = None
    span: tuple[int, int] | None = None

    def __str__(self) -> str:
        """Return the id as the browser carries it."""
        parts = [part for part in (self.server, self.kind, self.key) if part]
        if self.span is not None:
            parts.append(f"{self.span[0]}-{self.span[1]}")
        return SCHEME + "/".join(parts)

    @classmethod
    def parse(cls, value: object) -> ContentId:
        """Return the node an id names; raise BrowseError for anything else."""
        found = (
            _CONTENT_ID.fullmatch(value)
            if isinstance(value, str) and len(value) <= MAX_CONTENT_ID_LENGTH
            else None
        )
        if found is None:
            raise _invalid()
        kind, key, start = found["kind"], found["key"], found["start"]
        span = (int(start), int(found["end"])) if start is not None else None
        if (
            (kind is not None and kind not in _KINDS)
            or (kind in _KEYED) != (key is not None)
            or (span is not None and (kind not in _RANGED or span[0] >= span[1]))
        ):
            raise _invalid()
        return cls(server=found["server"], kind=kind, key=key, span=span)


@dataclass(frozen=True, kw_only=True)
class PlayTarget:
    """What a player is asked to play: an item of a server, from its start or where it was left."""

    server: LibrarySource
    item: LibraryItem
    resume: bool


@dataclass(frozen=True, kw_only=True)
class PlayRequest:
    """What play_media's JSON describes: a library's item by its titles and numbers."""

    library: str
    server: str | None = None
    title: str | None = None
    year: int | None = None
    show: str | None = None
    season: int | None = None
    episode: int | None = None
    artist: str | None = None
    album: str | None = None
    track: str | int | None = None
    resume: bool = False

    @classmethod
    def from_json(cls, value: str) -> PlayRequest:
        """Read the JSON form; raise BrowseError for anything malformed or incomplete."""
        try:
            data = json.loads(value) if len(value) <= MAX_REQUEST_LENGTH else None
        except ValueError:
            data = None
        if (
            not isinstance(data, dict)
            or "library" not in data
            or not set(data) <= set(_REQUEST_FIELDS)
        ):
            raise _invalid()
        given = frozenset(data) - {"library", "server", "resume"}
        if given not in _REQUEST_FORMS or not all(
            _REQUEST_FIELDS[name](value) for name, value in data.items()
        ):
            raise _invalid()
        return cls(**data)

    @property
    def description(self) -> str:
        """Return the item as a person would name it, for an error message."""
        if self.show is not None:
            return f"{self.show} S{self.season:02d}E{self.episode:02d}"
        if self.artist is not None:
            return f"{self.artist} {DASH} {self.album} {DASH} {self.track}"
        if self.year is not None:
            return f"{self.title} ({self.year})"
        return str(self.title)


class LibrarySource(Protocol):
    """A server whose libraries Plex Link reads (libraries.PlexLinkLibraryCoordinator).

    Its client carries the server's current token and connections.
    """

    machine_identifier: str
    server_name: str
    client: PlexServerClient


class PlexLinkLibraryBrowser:
    """Browses the libraries of every server an entry's account can read, and finds items to play.

    Each server is read through the client the libraries code keeps for it
    (owned or shared, with the access token plex.tv gives for it, made anew
    when that token changes).
    """

    def __init__(self, hass: HomeAssistant, entry: PlexLinkConfigEntry) -> None:
        """Browse the servers of entry's account."""
        self._hass = hass
        self._entry = entry

    def servers(self) -> list[LibrarySource]:
        """Return the servers whose libraries the account can read."""
        return list(self._entry.runtime_data.libraries.values())

    def server(self, machine_identifier: str) -> LibrarySource:
        """Return a server the account can read; raise BrowseError for any other."""
        source = self._entry.runtime_data.libraries.get(machine_identifier)
        if source is None:
            raise BrowseError(
                translation_domain=DOMAIN,
                translation_key="media_server_unknown",
                translation_placeholders={"server": machine_identifier},
            )
        return source

    def server_named(self, name: str) -> LibrarySource:
        """Return the server of a name or machine identifier; raise BrowseError for none or several."""
        found = [
            source
            for source in self.servers()
            if source.machine_identifier == name or _same(source.server_name, name)
        ]
        if len(found) != 1:
            raise BrowseError(
                translation_domain=DOMAIN,
                translation_key="media_server_unknown",
                translation_placeholders={"server": _clean(name)},
            )
        return found[0]

    async def async_browse(
        self, content_id: str | None, own_server: str, image_url: ImageUrl
    ) -> BrowseMedia:
        """Return the node a content id names, with its children; None is the root."""
        node = ContentId.parse(content_id) if content_id else ContentId()
        if node.server is None:
            return await self._async_root(own_server)
        server = self.server(node.server)
        view = _View(self._hass, server, image_url)
        if node.kind is None:
            return await view.async_server()
        if node.key is None:
            return await view.async_on_deck()
        if node.kind == "library":
            return await view.async_library(node.key, node.span)
        if node.kind == "recent":
            return await view.async_recent(node.key)
        return await view.async_item(node.key, node.span, resume=node.kind == "resume")

    async def _async_root(self, own_server: str) -> BrowseMedia:
        """Return the root: the servers, the player's own first."""
        servers = sorted(
            self.servers(),
            key=lambda server: (
                server.machine_identifier != own_server,
                server.server_name.casefold(),
            ),
        )
        return BrowseMedia(
            media_class=MediaClass.DIRECTORY,
            media_content_id=SCHEME,
            media_content_type=DIRECTORY[1],
            title=ROOT_TITLE,
            can_play=False,
            can_expand=True,
            children=[
                _folder(
                    ContentId(server=server.machine_identifier),
                    _clean(server.server_name) or server.machine_identifier,
                )
                for server in servers
            ],
            children_media_class=MediaClass.DIRECTORY,
        )

    async def async_image(
        self, content_id: str, image_id: str | None
    ) -> tuple[bytes | None, str | None]:
        """Return the picture the browser asks for, fetched from its item's server."""
        try:
            node = ContentId.parse(content_id)
            server = self.server(node.server or "")
        except BrowseError:
            return None, None
        if image_id is None or not _IMAGE_PATH.fullmatch(image_id):
            return None, None
        try:
            return await server.client.get_image(
                image_id, width=BROWSE_IMAGE_SIZE, height=BROWSE_IMAGE_SIZE
            )
        except PlexServerError:
            return None, None

    async def async_find(self, media_id: str, own_server: str) -> PlayTarget:
        """Return what a content id or the JSON form names; raise BrowseError if nothing playable."""
        if media_id.lstrip().startswith("{"):
            return await self._async_find_described(
                PlayRequest.from_json(media_id), own_server
            )
        node = ContentId.parse(media_id)
        if (
            node.kind not in ("item", "resume")
            or node.span is not None
            or node.server is None
            or node.key is None
        ):
            raise _invalid()
        server = self.server(node.server)
        item = await _read(server, server.client.get_item(node.key))
        return self._target(server, item, resume=node.kind == "resume")

    async def _async_find_described(
        self, request: PlayRequest, own_server: str
    ) -> PlayTarget:
        """Return the one item of a library that the JSON form describes."""
        server = (
            self.server_named(request.server)
            if request.server is not None
            else self.server(own_server)
        )
        sections = await _read(server, server.client.get_sections())
        found = [s for s in sections if s.key == request.library] or [
            s for s in sections if _same(s.title, request.library)
        ]
        if len(found) != 1:
            raise BrowseError(
                translation_domain=DOMAIN,
                translation_key="library_not_found",
                translation_placeholders={
                    "server": _clean(server.server_name),
                    "library": _clean(request.library),
                },
            )
        library = found[0]
        finder = _Finder(server, library, request)
        return self._target(server, await finder.async_find(), request.resume)

    @staticmethod
    def _target(server: LibrarySource, item: LibraryItem, resume: bool) -> PlayTarget:
        """Return a play target; raise BrowseError if the item does not play by itself."""
        if not item.playable:
            raise BrowseError(
                translation_domain=DOMAIN,
                translation_key="media_not_playable",
                translation_placeholders={"title": title_of(item)},
            )
        return PlayTarget(server=server, item=item, resume=resume)


class _View:
    """Builds the nodes of one server for one browse."""

    def __init__(
        self, hass: HomeAssistant, server: LibrarySource, image_url: ImageUrl
    ) -> None:
        """Read server through its client."""
        self._hass = hass
        self._server = server
        self._client = server.client
        self._image_url = image_url

    async def async_server(self) -> BrowseMedia:
        """Return a server's node: continue watching, then its libraries."""
        sections = await _read(self._server, self._client.get_sections())
        labels = await self._async_labels()
        children = [
            _folder(self._id("ondeck"), labels["ondeck"]),
            *(
                _folder(self._id("library", section.key), _clean(section.title))
                for section in sections
            ),
        ]
        return _node(
            self._id(),
            _clean(self._server.server_name) or self._server.machine_identifier,
            children,
        )

    async def async_on_deck(self) -> BrowseMedia:
        """Return what the account is in the middle of: each plays from where it was left."""
        page = await _read(self._server, self._client.get_on_deck(size=PAGE_SIZE))
        labels = await self._async_labels()
        return _node(
            self._id("ondeck"),
            labels["ondeck"],
            [self._item(item, resume=True) for item in page.items],
        )

    async def async_library(
        self, key: str, span: tuple[int, int] | None
    ) -> BrowseMedia:
        """Return a library: recently added and its items, or one range of its items."""
        section = await self._async_section(key)
        title = _clean(section.title)
        if span is not None:
            return await self._async_range(
                self._id("library", key),
                title,
                span,
                lambda start, size: self._client.get_items(key, start=start, size=size),
            )
        page = await _read(
            self._server, self._client.get_items(key, start=0, size=PAGE_SIZE)
        )
        labels = await self._async_labels()
        recent = _folder(self._id("recent", key), labels["recent"])
        return _node(
            self._id("library", key),
            title,
            [recent, *self._listing(self._id("library", key), page)],
        )

    async def async_recent(self, key: str) -> BrowseMedia:
        """Return a library's newest items: episodes of a TV library, albums of a music one."""
        section = await self._async_section(key)
        page = await _read(
            self._server,
            self._client.get_items(
                key,
                size=PAGE_SIZE,
                sort="addedAt:desc",
                item_type=RECENT_TYPES.get(section.section_type),
            ),
        )
        labels = await self._async_labels()
        return _node(
            self._id("recent", key),
            f"{_clean(section.title)} {DASH} {labels['recent']}",
            [self._item(item) for item in page.items],
        )

    async def async_item(
        self, key: str, span: tuple[int, int] | None, *, resume: bool
    ) -> BrowseMedia:
        """Return an item: a playable one alone, any other with what it holds."""
        item = await _read(self._server, self._client.get_item(key))
        node = self._item(item, resume=resume)
        if item.playable:
            return node
        if span is not None:
            return await self._async_range(
                self._id("item", key),
                title_of(item),
                span,
                lambda start, size: self._client.get_children(
                    key, start=start, size=size
                ),
            )
        page = await _read(
            self._server, self._client.get_children(key, start=0, size=PAGE_SIZE)
        )
        return _node(
            node.media_content_id,
            node.title,
            self._listing(self._id("item", key), page, within=True),
            thumbnail=node.thumbnail,
            media=CLASSES.get(item.media_type or "", DIRECTORY),
        )

    async def _async_range(
        self,
        parent: ContentId,
        title: str,
        span: tuple[int, int],
        read: Callable[[int, int], Awaitable[LibraryPage]],
    ) -> BrowseMedia:
        """Return one range of a list: its items when it fits one page, else smaller ranges."""
        start, end = span
        node_id = ContentId(
            server=parent.server, kind=parent.kind, key=parent.key, span=span
        )
        label = f"{title} · {start + 1}{DASH}{end}"
        if end - start > PAGE_SIZE:
            return _node(node_id, label, _ranges(parent, start, end))
        page = await _read(self._server, read(start, end - start))
        within = parent.kind == "item"
        return _node(
            node_id, label, [self._item(item, within=within) for item in page.items]
        )

    def _listing(
        self, parent: ContentId, page: LibraryPage, *, within: bool = False
    ) -> list[BrowseMedia]:
        """Return a list's first page as items, or as ranges when it holds more."""
        if page.total <= PAGE_SIZE and page.offset == 0:
            return [self._item(item, within=within) for item in page.items]
        return _ranges(parent, 0, page.total)

    async def _async_section(self, key: str) -> LibrarySection:
        """Return one library of the server; raise BrowseError if it has none of that key."""
        sections = await _read(self._server, self._client.get_sections())
        for section in sections:
            if section.key == key:
                return section
        raise BrowseError(
            translation_domain=DOMAIN,
            translation_key="library_not_found",
            translation_placeholders={
                "server": _clean(self._server.server_name),
                "library": key,
            },
        )

    async def _async_labels(self) -> dict[str, str]:
        """Return the names of the browser's own folders, in Home Assistant's language."""
        hass = self._hass
        translations = await async_get_translations(
            hass, hass.config.language, "selector", {DOMAIN}
        )
        prefix = f"component.{DOMAIN}.selector.browse_folder.options."
        return {
            kind: translations.get(prefix + kind, english)
            for kind, english in FOLDERS.items()
        }

    def _id(self, kind: str | None = None, key: str | None = None) -> ContentId:
        """Return the id of a node of this server."""
        return ContentId(server=self._server.machine_identifier, kind=kind, key=key)

    def _item(
        self, item: LibraryItem, *, within: bool = False, resume: bool = False
    ) -> BrowseMedia:
        """Return an item's node: playable, or one that opens to what it holds."""
        media_class, media_type = CLASSES.get(item.media_type or "", DIRECTORY)
        playable = item.playable
        content_id = self._id(
            "resume" if resume and playable else "item", item.rating_key
        )
        poster = item.poster
        thumbnail = None
        if poster is not None and _IMAGE_PATH.fullmatch(poster):
            thumbnail = self._image_url(
                str(media_type), str(self._id("item", item.rating_key)), poster
            )
        return BrowseMedia(
            media_class=media_class,
            media_content_id=str(content_id),
            media_content_type=media_type,
            title=title_of(item, within=within),
            can_play=playable,
            can_expand=not playable,
            thumbnail=thumbnail,
        )


class _Finder:
    """Finds the one item of a library that a PlayRequest describes."""

    def __init__(
        self,
        server: LibrarySource,
        library: LibrarySection,
        request: PlayRequest,
    ) -> None:
        """Look in library of server for what request describes."""
        self._server = server
        self._client = server.client
        self._library = library
        self._request = request

    async def async_find(self) -> LibraryItem:
        """Return the described item; raise BrowseError when none or several match."""
        request = self._request
        if request.show is not None:
            show = await self._async_top(request.show, ITEM_TYPES["show"])
            season = await self._async_child(show, lambda i: i.index == request.season)
            return await self._async_child(season, lambda i: i.index == request.episode)
        if request.artist is not None and (album_title := request.album) is not None:
            artist = await self._async_top(request.artist, ITEM_TYPES["artist"])
            album = await self._async_child(
                artist, lambda i: _same(i.title, album_title)
            )
            track = request.track
            if isinstance(track, int):
                return await self._async_child(album, lambda i: i.index == track)
            return await self._async_child(album, lambda i: _same(i.title, str(track)))
        if request.title is None:
            raise _invalid()
        return await self._async_top(
            request.title,
            TOP_TYPES.get(self._library.section_type),
            year=request.year,
        )

    async def _async_top(
        self, title: str, item_type: int | None, *, year: int | None = None
    ) -> LibraryItem:
        """Return the library's one item of a title (and year), by the server's title filter."""
        page = await _read(
            self._server,
            self._client.get_items(self._library.key, item_type=item_type, title=title),
        )
        return self._only(
            [
                item
                for item in page.items
                if _same(item.title, title) and year in (None, item.year)
            ]
        )

    async def _async_child(
        self, parent: LibraryItem, matches: Callable[[LibraryItem], bool]
    ) -> LibraryItem:
        """Return the one child of an item that matches, reading its children page by page."""
        found: list[LibraryItem] = []
        start = 0
        for _ in range(MAX_CHILD_PAGES):
            page = await _read(
                self._server,
                self._client.get_children(
                    parent.rating_key, start=start, size=PAGE_SIZE
                ),
            )
            found += [item for item in page.items if matches(item)]
            start += len(page.items)
            if not page.items or start >= page.total:
                break
        return self._only(found)

    def _only(self, found: list[LibraryItem]) -> LibraryItem:
        """Return the one item found; raise BrowseError for none or several."""
        placeholders = {
            "server": _clean(self._server.server_name),
            "library": _clean(self._library.title),
            "title": _clean(self._request.description),
        }
        if len(found) > 1:
            raise BrowseError(
                translation_domain=DOMAIN,
                translation_key="media_ambiguous",
                translation_placeholders=placeholders,
            )
        if not found:
            raise BrowseError(
                translation_domain=DOMAIN,
                translation_key="media_not_found",
                translation_placeholders=placeholders,
            )
        return found[0]


def title_of(item: LibraryItem, *, within: bool = False) -> str:
    """Return what the browser calls an item.

    Within its season or album an episode or track is its number and title;
    elsewhere an episode names its show, season and number, a track or album
    its artist, and a film its year.
    """
    title = _clean(item.title) or f"#{item.rating_key}"
    kind = item.media_type
    if within and kind in ("episode", "track") and item.index is not None:
        return f"{item.index}. {title}"
    if kind == "episode":
        number = ""
        if item.parent_index is not None and item.index is not None:
            number = f"S{item.parent_index:02d}E{item.index:02d}"
        parts = [_clean(item.grandparent_title), number, title]
        return " · ".join(part for part in parts if part)
    if kind == "track" and (artist := _clean(item.artist)):
        return f"{artist} · {title}"
    if kind == "album" and not within and (artist := _clean(item.parent_title)):
        return f"{artist} · {title}"
    if kind == "movie" and item.year is not None:
        return f"{title} ({item.year})"
    return title


def _node(
    content_id: ContentId | str,
    title: str,
    children: list[BrowseMedia],
    *,
    thumbnail: str | None = None,
    media: tuple[MediaClass, str] = DIRECTORY,
) -> BrowseMedia:
    """Return a node that opens to children."""
    classes = {child.media_class for child in children}
    return BrowseMedia(
        media_class=media[0],
        media_content_id=str(content_id),
        media_content_type=media[1],
        title=title,
        can_play=False,
        can_expand=True,
        children=children,
        children_media_class=classes.pop()
        if len(classes) == 1
        else MediaClass.DIRECTORY,
        thumbnail=thumbnail,
    )


def _folder(content_id: ContentId, title: str) -> BrowseMedia:
    """Return a folder that opens when chosen."""
    return BrowseMedia(
        media_class=MediaClass.DIRECTORY,
        media_content_id=str(content_id),
        media_content_type=DIRECTORY[1],
        title=title,
        can_play=False,
        can_expand=True,
    )


def _ranges(parent: ContentId, start: int, end: int) -> list[BrowseMedia]:
    """Return at most FANOUT folders that split positions start..end into even ranges."""
    span = PAGE_SIZE
    while end - start > span * FANOUT:
        span *= FANOUT
    return [
        _folder(
            ContentId(
                server=parent.server,
                kind=parent.kind,
                key=parent.key,
                span=(first, min(first + span, end)),
            ),
            f"{first + 1}{DASH}{min(first + span, end)}",
        )
        for first in range(start, end, span)
    ]


async def _read[T](server: LibrarySource, request: Awaitable[T]) -> T:
    """Await a read of a server; its failure becomes a translated BrowseError."""
    try:
        return await request
    except PlexServerResponseError as err:
        if err.status == 404:
            raise BrowseError(
                translation_domain=DOMAIN,
                translation_key="item_not_found",
                translation_placeholders={"server": _clean(server.server_name)},
            ) from None
        raise _unavailable(server, err) from None
    except PlexServerError as err:
        raise _unavailable(server, err) from None


def _unavailable(server: LibrarySource, err: PlexServerError) -> BrowseError:
    """Return the error for a server whose libraries could not be read."""
    return BrowseError(
        translation_domain=DOMAIN,
        translation_key="library_unavailable",
        translation_placeholders={
            "server": _clean(server.server_name),
            "error": str(err),
        },
    )


def _invalid() -> BrowseError:
    """Return the error for an id or description Plex Link cannot read."""
    return BrowseError(translation_domain=DOMAIN, translation_key="invalid_media_id")


def _clean(text: str | None) -> str:
    """Return text fit to show: control characters gone, blanks folded, length capped."""
    if text is None:
        return ""
    printable = "".join(
        " " if unicodedata.category(char).startswith("C") else char for char in text
    )
    return _BLANKS.sub(" ", printable).strip()[:MAX_TITLE_LENGTH].strip()


def _same(found: str | None, wanted: str) -> bool:
    """Tell whether two titles are the same, ignoring case, blanks and Unicode forms."""
    if found is None:
        return False
    return _fold(found) == _fold(wanted)


def _fold(text: str) -> str:
    """Return a title in the form titles are compared in."""
    return _BLANKS.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


def _is_text(value: object) -> bool:
    """Tell whether a JSON value is a usable, non-empty title."""
    return (
        isinstance(value, str)
        and 0 < len(value) <= MAX_TEXT_LENGTH
        and bool(value.strip())
    )


def _is_number(value: object) -> bool:
    """Tell whether a JSON value is a whole number a season, episode or year can be."""
    return (
        isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 100_000
    )


def _is_track(value: object) -> bool:
    """Tell whether a JSON value names a track: by its title or its number."""
    return _is_text(value) or _is_number(value)


def _is_flag(value: object) -> bool:
    """Tell whether a JSON value is true or false."""
    return isinstance(value, bool)


_REQUEST_FIELDS: Final[dict[str, Callable[[object], bool]]] = {
    "library": _is_text,
    "server": _is_text,
    "title": _is_text,
    "year": _is_number,
    "show": _is_text,
    "season": _is_number,
    "episode": _is_number,
    "artist": _is_text,
    "album": _is_text,
    "track": _is_track,
    "resume": _is_flag,
}
_REQUEST_FORMS: Final = frozenset(
    {
        frozenset({"title"}),
        frozenset({"title", "year"}),
        frozenset({"show", "season", "episode"}),
        frozenset({"artist", "album", "track"}),
    }
)
