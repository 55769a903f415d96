"""The libraries of the Plex Media Server stand-in: sections, their items, and their JSON.

A section holds real entries (films; shows with seasons and episodes; artists
with albums and tracks) and may also hold a number of synthesized ones that
exist only as a count: their JSON is made on demand from their position, so a
section of 100,000 films costs no more memory than an empty one. Everything
here is plain data; tests/standin/server.py serves it.

Synthesized entries have rating keys of the form
`<section key> * 10**9 + <type number> * 10**7 + <position> + 1`, so any of them
can be found again from its rating key alone. Each synthesized show has one
season of ten episodes; each synthesized artist two albums of ten tracks.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
import hashlib
import itertools
from typing import Any, Literal

SectionType = Literal["movie", "show", "artist", "photo"]

TYPE_NUMBERS = {
    "movie": 1,
    "show": 2,
    "season": 3,
    "episode": 4,
    "artist": 8,
    "album": 9,
    "track": 10,
    "photo": 13,
}
TYPE_NAMES = {number: name for name, number in TYPE_NUMBERS.items()}
# The item types each kind of section holds, top level first: (type, parent type).
SECTION_LEVELS: dict[str, tuple[tuple[str, str | None], ...]] = {
    "movie": (("movie", None),),
    "show": (("show", None), ("season", "show"), ("episode", "season")),
    "artist": (("artist", None), ("album", "artist"), ("track", "album")),
    "photo": (("photo", None),),
}
# How many synthesized children each synthesized parent has.
SYNTHETIC_CHILDREN = {"season": 1, "episode": 10, "album": 2, "track": 10}
PLAYABLE = frozenset({"movie", "episode", "track", "photo"})
LIBRARY_IDENTIFIER = "com.plexapp.plugins.library"
_SYNTHETIC_BASE = 10**9
_TYPE_BASE = 10**7
_SYNTHETIC_ADDED = 1_500_000_000  # synthesized entries are older than any real one
_ARTICLES = ("the ", "a ", "an ")


@dataclass(kw_only=True)
class StandInSection:
    """One library section: its real entries live in the library, its synthesized ones nowhere.

    content_changed_at is a counter that grows with every change of content,
    as Plex's `contentChangedAt` does; updated_at is when it last changed
    (epoch seconds).
    """

    key: str
    title: str
    type: SectionType
    uuid: str
    updated_at: int
    content_changed_at: int
    synthetic: int = 0
    scanned_at: int = 0

    def synthetic_count(self, item_type: str) -> int:
        """Return how many synthesized entries of a type the section holds."""
        count = self.synthetic
        for name, _ in SECTION_LEVELS[self.type]:
            count *= SYNTHETIC_CHILDREN.get(name, 1)
            if name == item_type:
                return count
        return 0

    def to_json(self, server_uuid: str) -> dict[str, Any]:
        """Return the section as `/library/sections` lists it (`Directory`)."""
        agent, scanner = {
            "movie": ("tv.plex.agents.movie", "Plex Movie"),
            "show": ("tv.plex.agents.series", "Plex TV Series"),
            "artist": ("tv.plex.agents.music", "Plex Music"),
            "photo": ("com.plexapp.agents.none", "Plex Photo Scanner"),
        }[self.type]
        return {
            "allowSync": True,
            "art": f"/:/resources/{self.type}-fanart.jpg",
            "composite": f"/library/sections/{self.key}/composite/{self.updated_at}",
            "filters": True,
            "refreshing": False,
            "thumb": f"/:/resources/{self.type}.png",
            "key": self.key,
            "type": self.type,
            "title": self.title,
            "agent": agent,
            "scanner": scanner,
            "language": "en-US",
            "uuid": self.uuid,
            "updatedAt": self.updated_at,
            "createdAt": 1_600_000_000,
            "scannedAt": self.scanned_at or self.updated_at,
            "content": True,
            "directory": True,
            "contentChangedAt": self.content_changed_at,
            "hidden": 0,
            "Location": [
                {"id": int(self.key), "path": f"/data/{self.title}".replace("//", "/")}
            ],
            "machineIdentifier": server_uuid,
        }


@dataclass(kw_only=True)
class LibraryEntry:
    """One film, show, season, episode, artist, album, track or photo of a section.

    parent is the rating key of the season, show, album or artist above it.
    view_offset (ms) marks an entry in progress: on deck, continue watching.
    """

    rating_key: str
    section: str
    type: str
    title: str
    parent: str | None = None
    index: int | None = None
    year: int | None = None
    studio: str | None = None
    content_rating: str | None = None
    rating: float | None = None
    audience_rating: float | None = None
    summary: str | None = None
    genres: tuple[str, ...] = ()
    duration: int | None = None
    originally_available_at: str | None = None
    added_at: int = 1_760_000_000
    updated_at: int = 1_760_000_000
    view_offset: int | None = None
    last_viewed_at: int | None = None
    synthetic: bool = False

    @property
    def playable(self) -> bool:
        """Tell whether the entry plays by itself."""
        return self.type in PLAYABLE

    @property
    def title_sort(self) -> str:
        """Return the title as Plex sorts it: without a leading article, case folded."""
        folded = self.title.casefold()
        for article in _ARTICLES:
            if folded.startswith(article) and len(folded) > len(article):
                return folded[len(article) :]
        return folded


@dataclass(kw_only=True)
class Library:
    """Every section of one server and their real entries, with a counter for new keys."""

    server_uuid: str
    server_name: str
    sections: dict[str, StandInSection] = field(default_factory=dict)
    entries: dict[str, LibraryEntry] = field(default_factory=dict)
    _keys: Iterator[int] = field(default_factory=lambda: itertools.count(101))

    # -- Building ----------------------------------------------------------------

    def add_section(
        self,
        title: str,
        section_type: SectionType,
        *,
        count: int = 0,
        key: str | None = None,
    ) -> StandInSection:
        """Add a section; count top-level entries of it exist only as a count."""
        if section_type not in SECTION_LEVELS:
            raise ValueError(f"Unknown section type {section_type}")
        key = key or str(max((int(k) for k in self.sections), default=0) + 1)
        if not key.isdigit() or int(key) > 999 or key in self.sections:
            raise ValueError(f"Section key {key!r} is taken or not a number to 999")
        most = max(SYNTHETIC_CHILDREN.get(n, 1) for n, _ in SECTION_LEVELS["artist"])
        if not 0 <= count * most * 2 < _TYPE_BASE:
            raise ValueError("count is out of range")
        digest = hashlib.sha256(f"{self.server_uuid}/{key}".encode()).hexdigest()
        section = StandInSection(
            key=key,
            title=title,
            type=section_type,
            uuid=f"{digest[:8]}-{digest[8:12]}-4{digest[13:16]}-8{digest[17:20]}-{digest[20:32]}",
            updated_at=1_760_000_000,
            content_changed_at=1000 + int(key),
            synthetic=count,
        )
        self.sections[key] = section
        return section

    def new_entry(self, **fields: Any) -> LibraryEntry:
        """Store a new real entry with the next rating key."""
        entry = LibraryEntry(rating_key=str(next(self._keys)), **fields)
        self.entries[entry.rating_key] = entry
        return entry

    def section_named(self, name: str) -> StandInSection:
        """Return a section by key or title."""
        if name in self.sections:
            return self.sections[name]
        for section in self.sections.values():
            if section.title == name:
                return section
        raise KeyError(f"No section {name!r}")

    def changed(self, section: StandInSection, at: int) -> None:
        """Note a change of a section's content: contentChangedAt grows."""
        section.content_changed_at += 1
        section.updated_at = max(at, section.updated_at)
        section.scanned_at = section.updated_at

    def newest_added(self) -> int:
        """Return the latest addedAt of any real entry (0 without any)."""
        return max((entry.added_at for entry in self.entries.values()), default=0)

    # -- Finding -----------------------------------------------------------------

    def get(self, rating_key: str) -> LibraryEntry | None:
        """Return a real or synthesized entry by its rating key."""
        if rating_key in self.entries:
            return self.entries[rating_key]
        if not rating_key.isascii() or not rating_key.isdigit() or len(rating_key) > 12:
            return None
        number = int(rating_key)
        section = self.sections.get(str(number // _SYNTHETIC_BASE))
        type_name = TYPE_NAMES.get(number % _SYNTHETIC_BASE // _TYPE_BASE)
        position = number % _TYPE_BASE - 1
        if section is None or type_name is None or position < 0:
            return None
        if position >= section.synthetic_count(type_name):
            return None
        return self.synthetic_entry(section, type_name, position)

    def children(self, entry: LibraryEntry) -> list[LibraryEntry] | range:
        """Return the entries right below one (a range of positions when synthesized)."""
        if entry.synthetic:
            section = self.sections[entry.section]
            levels = [name for name, _ in SECTION_LEVELS[section.type]]
            if entry.type not in levels or entry.type == levels[-1]:
                return []
            below = levels[levels.index(entry.type) + 1]
            per = SYNTHETIC_CHILDREN[below]
            position = int(entry.rating_key) % _TYPE_BASE - 1
            return range(position * per, (position + 1) * per)
        return sorted(
            (e for e in self.entries.values() if e.parent == entry.rating_key),
            key=lambda e: (e.index or 0, e.title_sort),
        )

    def leaves(self, entry: LibraryEntry) -> list[LibraryEntry]:
        """Return the playable entries under one (itself when it plays)."""
        if entry.playable:
            return [entry]
        found = self.children(entry)
        below: list[LibraryEntry] = []
        if isinstance(found, range):
            section = self.sections[entry.section]
            levels = [name for name, _ in SECTION_LEVELS[section.type]]
            child_type = levels[levels.index(entry.type) + 1]
            found = [self.synthetic_entry(section, child_type, p) for p in found]
        for child in found:
            below += self.leaves(child)
        return below

    def leaf_count(self, entry: LibraryEntry) -> int:
        """Return how many playable entries are under a show, season, artist or album."""
        if entry.synthetic:
            count = 1
            levels = [
                name for name, _ in SECTION_LEVELS[self.sections[entry.section].type]
            ]
            for name in levels[levels.index(entry.type) + 1 :]:
                count *= SYNTHETIC_CHILDREN.get(name, 1)
            return count
        return len(self.leaves(entry))

    def parent_of(self, entry: LibraryEntry) -> LibraryEntry | None:
        """Return the entry above one, if any."""
        return self.get(entry.parent) if entry.parent is not None else None

    def synthetic_entry(
        self, section: StandInSection, type_name: str, position: int
    ) -> LibraryEntry:
        """Make the synthesized entry at a position (0-based) of a type in a section."""
        number = (
            int(section.key) * _SYNTHETIC_BASE
            + TYPE_NUMBERS[type_name] * _TYPE_BASE
            + position
            + 1
        )
        levels = dict(SECTION_LEVELS[section.type])
        parent: str | None = None
        index: int | None = None
        if (parent_type := levels.get(type_name)) is not None:
            per = SYNTHETIC_CHILDREN[type_name]
            parent = str(
                int(section.key) * _SYNTHETIC_BASE
                + TYPE_NUMBERS[parent_type] * _TYPE_BASE
                + position // per
                + 1
            )
            index = position % per + 1
        added = _SYNTHETIC_ADDED + position * 60
        playable = type_name in PLAYABLE
        return LibraryEntry(
            rating_key=str(number),
            section=section.key,
            type=type_name,
            title=f"{section.title} {type_name} {position + 1:07d}",
            parent=parent,
            index=index,
            year=1950 + position % 70,
            summary=f"Number {position + 1} of the {section.title} library.",
            duration={"movie": 6_000_000, "episode": 1_800_000, "track": 200_000}.get(
                type_name
            )
            if playable
            else None,
            added_at=added,
            updated_at=added,
            synthetic=True,
        )

    # -- Listing -----------------------------------------------------------------

    def listing(
        self,
        section: StandInSection,
        type_name: str,
        sort: tuple[str, bool] = ("titleSort", False),
    ) -> tuple[int, Sequence[LibraryEntry] | None]:
        """Return the total of a type in a section and its real entries in order.

        The synthesized entries follow the real ones (they were added long
        before any real one, so this is their place by addedAt descending,
        and by title the stand-in simply puts them last), or come first for
        addedAt ascending. None for the entries when the sort is unknown.
        """
        real = [
            e
            for e in self.entries.values()
            if e.section == section.key and e.type == type_name
        ]
        ordered = order(real, sort)
        if ordered is None:
            return 0, None
        return len(real) + section.synthetic_count(type_name), ordered

    def page(
        self,
        section: StandInSection,
        type_name: str,
        real: Sequence[LibraryEntry],
        sort: tuple[str, bool],
        start: int,
        size: int,
    ) -> list[LibraryEntry]:
        """Return entries start..start+size of the ordered real entries and the synthesized ones."""
        synthetic = section.synthetic_count(type_name)
        total = len(real) + synthetic
        end = min(start + size, total)
        synthetic_first = sort == ("addedAt", False)
        found: list[LibraryEntry] = []
        for position in range(start, end):
            if synthetic_first:
                if position < synthetic:
                    found.append(self.synthetic_entry(section, type_name, position))
                else:
                    found.append(real[position - synthetic])
            elif position < len(real):
                found.append(real[position])
            else:
                offset = position - len(real)
                if sort[1]:  # descending: newest (the highest position) first
                    offset = synthetic - 1 - offset
                found.append(self.synthetic_entry(section, type_name, offset))
        return found


_SORTS = {
    "titleSort": lambda e: (e.title_sort, int(e.rating_key)),
    "title": lambda e: (e.title.casefold(), int(e.rating_key)),
    "addedAt": lambda e: (e.added_at, int(e.rating_key)),
    "updatedAt": lambda e: (e.updated_at, int(e.rating_key)),
    "originallyAvailableAt": lambda e: (
        e.originally_available_at or "",
        int(e.rating_key),
    ),
    "year": lambda e: (e.year or 0, int(e.rating_key)),
    "rating": lambda e: (e.rating or 0.0, int(e.rating_key)),
    "lastViewedAt": lambda e: (e.last_viewed_at or 0, int(e.rating_key)),
}


def parse_sort(value: str | None) -> tuple[str, bool] | None:
    """Read `sort=field[:asc|:desc]`; None for a field Plex would not know."""
    if not value:
        return ("titleSort", False)
    name, _, direction = value.partition(":")
    if name not in _SORTS or direction not in ("", "asc", "desc"):
        return None
    return (name, direction == "desc")


def order(
    entries: Sequence[LibraryEntry], sort: tuple[str, bool]
) -> list[LibraryEntry] | None:
    """Return entries in a sort's order, None for an unknown field."""
    key = _SORTS.get(sort[0])
    if key is None:
        return None
    return sorted(entries, key=key, reverse=sort[1])


def thumb_path(entry: LibraryEntry, kind: str = "thumb") -> str:
    """Return the path of an entry's artwork, as the server names it."""
    return f"/library/metadata/{entry.rating_key}/{kind}/{entry.updated_at}"


def entry_json(library: Library, entry: LibraryEntry) -> dict[str, Any]:
    """Return an entry as the server's JSON `Metadata` carries it."""
    section = library.sections[entry.section]
    data: dict[str, Any] = {
        "ratingKey": entry.rating_key,
        "key": f"/library/metadata/{entry.rating_key}"
        + ("" if entry.playable else "/children"),
        "guid": f"plex://{entry.type}/{int(entry.rating_key):024x}",
        "type": entry.type,
        "title": entry.title,
        "librarySectionID": int(section.key),
        "librarySectionTitle": section.title,
        "librarySectionKey": f"/library/sections/{section.key}",
        "summary": entry.summary or "",
        "thumb": thumb_path(entry),
        "art": thumb_path(entry, "art"),
        "addedAt": entry.added_at,
        "updatedAt": entry.updated_at,
    }
    if entry.title_sort != entry.title.casefold():
        data["titleSort"] = entry.title[len(entry.title) - len(entry.title_sort) :]
    optional = {
        "index": entry.index,
        "year": entry.year,
        "studio": entry.studio,
        "contentRating": entry.content_rating,
        "rating": entry.rating,
        "audienceRating": entry.audience_rating,
        "duration": entry.duration,
        "originallyAvailableAt": entry.originally_available_at,
        "viewOffset": entry.view_offset,
        "lastViewedAt": entry.last_viewed_at,
    }
    data |= {name: value for name, value in optional.items() if value is not None}
    if entry.rating is not None:
        data["ratingImage"] = "rottentomatoes://image.rating.ripe"
    if entry.audience_rating is not None:
        data["audienceRatingImage"] = "rottentomatoes://image.rating.upright"
    if entry.genres:
        data["Genre"] = [{"tag": genre} for genre in entry.genres]
    parent = library.parent_of(entry)
    grandparent = library.parent_of(parent) if parent is not None else None
    if parent is not None:
        data |= {
            "parentRatingKey": parent.rating_key,
            "parentKey": f"/library/metadata/{parent.rating_key}",
            "parentTitle": parent.title,
            "parentThumb": thumb_path(parent),
        }
        if parent.index is not None:
            data["parentIndex"] = parent.index
        if entry.type in ("season", "album"):
            data["parentArt"] = thumb_path(parent, "art")
            data["art"] = thumb_path(parent, "art")
    if grandparent is not None:
        data |= {
            "grandparentRatingKey": grandparent.rating_key,
            "grandparentKey": f"/library/metadata/{grandparent.rating_key}",
            "grandparentTitle": grandparent.title,
            "grandparentThumb": thumb_path(grandparent),
            "grandparentArt": thumb_path(grandparent, "art"),
        }
        data["art"] = thumb_path(grandparent, "art")
    if entry.type == "track" and parent is not None:
        data["thumb"] = thumb_path(parent)
    if not entry.playable:
        leaves = library.leaf_count(entry)
        children = library.children(entry)
        data |= {"leafCount": leaves, "viewedLeafCount": 0, "childCount": len(children)}
    else:
        data["Media"] = [_media(entry)]
    return data


def _media(entry: LibraryEntry) -> dict[str, Any]:
    """Return a playable entry's one Media element."""
    number = int(entry.rating_key)
    media: dict[str, Any] = {
        "id": number + 10_000,
        "duration": entry.duration or 0,
        "container": "flac" if entry.type == "track" else "mkv",
    }
    if entry.type == "track":
        media |= {"audioCodec": "flac", "bitrate": 1000, "audioChannels": 2}
    elif entry.type == "photo":
        media |= {"container": "jpeg", "width": 4032, "height": 3024}
    else:
        media |= {
            "videoResolution": "1080",
            "videoCodec": "h264",
            "audioCodec": "aac",
            "bitrate": 8000,
            "width": 1920,
            "height": 1080,
        }
    media["Part"] = [
        {
            "id": number + 20_000,
            "key": f"/library/parts/{number + 20_000}/{entry.updated_at}/file",
            "duration": entry.duration or 0,
            "size": 1_000_000 + number,
        }
    ]
    return media


def default_library(server_uuid: str, server_name: str) -> Library:
    """Return the three small sections every stand-in server starts with.

    Movies (key 1), TV Shows (key 2) and Music (key 3), as `_LIBRARIES` of the
    sessions names them; one film and one episode are in progress (on deck).
    """
    library = Library(server_uuid=server_uuid, server_name=server_name)
    movies = library.add_section("Movies", "movie")
    shows = library.add_section("TV Shows", "show")
    music = library.add_section("Music", "artist")
    day = 86_400
    base = 1_760_000_000
    films = (
        ("A Film", 2008, "Stand-in Pictures", "PG-13", 7.4, 8.1, ("Drama",), 5_400_000),
        (
            "The Big Picture",
            2019,
            "Loopback Studios",
            "R",
            8.8,
            9.0,
            ("Thriller", "Drama"),
            7_260_000,
        ),
        (
            "Amélie à Montréal",
            2001,
            "Studio Ø",
            "R",
            8.9,
            9.3,
            ("Comedy", "Romance"),
            7_320_000,
        ),
        (
            "千と千尋の神隠し",
            2001,
            "Studio Ghibli",
            "PG",
            9.7,
            9.6,
            ("Animation", "Fantasy"),
            7_500_000,
        ),
        ("An Old Film", 1954, "Archive Films", "NR", 6.1, 7.2, ("Western",), 6_000_000),
    )
    for number, (
        title,
        year,
        studio,
        rated,
        rating,
        audience,
        genres,
        duration,
    ) in enumerate(films):
        library.new_entry(
            section=movies.key,
            type="movie",
            title=title,
            year=year,
            studio=studio,
            content_rating=rated,
            rating=rating,
            audience_rating=audience,
            summary=f"{title}: a film of the stand-in's library.",
            genres=genres,
            duration=duration,
            originally_available_at=f"{year}-0{number % 9 + 1}-1{number}",
            added_at=base + 2 * number * day,
            updated_at=base + 2 * number * day + 500,
        )
    series = (
        (
            "A Show",
            "Stand-in Television",
            ("Drama",),
            (
                (("Pilot", 1), ("The Second Episode", 3), ("The Third Episode", 5)),
                (("Return", 9), ("Another Return", 10)),
            ),
        ),
        (
            "Another Show",
            "Loopback Network",
            ("Comedy",),
            ((("Beginnings", 7), ("Ends", 11)),),
        ),
    )
    # Films were added on even days, episodes on the days given, albums in between.
    for show_number, (title, studio, genres, seasons) in enumerate(series):
        added = base + seasons[0][0][1] * day
        show = library.new_entry(
            section=shows.key,
            type="show",
            title=title,
            year=2020 + show_number,
            studio=studio,
            content_rating="TV-14",
            audience_rating=8.0 + show_number / 2,
            summary=f"{title}: a show of the stand-in's library.",
            genres=genres,
            duration=2_700_000,
            originally_available_at=f"{2020 + show_number}-09-0{show_number + 1}",
            added_at=added,
            updated_at=added + 500,
        )
        for season_index, episodes in enumerate(seasons, 1):
            season = library.new_entry(
                section=shows.key,
                type="season",
                title=f"Season {season_index}",
                parent=show.rating_key,
                index=season_index,
                added_at=added,
                updated_at=added + 500,
            )
            for episode_index, (episode_title, added_day) in enumerate(episodes, 1):
                aired = base + added_day * day
                library.new_entry(
                    section=shows.key,
                    type="episode",
                    title=episode_title,
                    parent=season.rating_key,
                    index=episode_index,
                    year=2020 + show_number + season_index - 1,
                    content_rating="TV-14",
                    summary=f"{title} S{season_index:02d}E{episode_index:02d}.",
                    duration=2_700_000,
                    originally_available_at=f"{2020 + show_number + season_index - 1}-10-{episode_index:02d}",
                    added_at=aired,
                    updated_at=aired + 500,
                )
    albums = (
        ("An Artist", "An Album", ("A Song", "Another Song", "A Third Song")),
        ("Ünïcödé Ärtist", "Sønger", ("Ä Tune",)),
    )
    for artist_number, (artist_title, album_title, tracks) in enumerate(albums):
        added = base + artist_number * 6 * day + day // 2
        artist = library.new_entry(
            section=music.key,
            type="artist",
            title=artist_title,
            summary=f"{artist_title}: an artist of the stand-in's library.",
            genres=("Rock",),
            added_at=added,
            updated_at=added + 500,
        )
        album = library.new_entry(
            section=music.key,
            type="album",
            title=album_title,
            parent=artist.rating_key,
            index=1,
            year=2015 + artist_number,
            studio="Stand-in Records",
            originally_available_at=f"{2015 + artist_number}-05-01",
            genres=("Rock",),
            added_at=added,
            updated_at=added + 500,
        )
        for track_index, track_title in enumerate(tracks, 1):
            library.new_entry(
                section=music.key,
                type="track",
                title=track_title,
                parent=album.rating_key,
                index=track_index,
                duration=240_000,
                added_at=added,
                updated_at=added + 500,
            )
    # In progress: a film and the first show's second episode.
    film = next(e for e in library.entries.values() if e.title == "The Big Picture")
    film.view_offset, film.last_viewed_at = 1_800_000, base + 10 * day
    episode = next(
        e for e in library.entries.values() if e.title == "The Second Episode"
    )
    episode.view_offset, episode.last_viewed_at = 600_000, base + 11 * day
    return library
