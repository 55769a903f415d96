"""What the libraries of the account's servers hold: counts, and what was added last.

Each server plex.tv lists with an access token, owned or shared with the
account, gets one coordinator. A shared server's token reads only the
libraries shared with the account. A refresh reads `/library/sections` (one
request) and then only the libraries whose change mark (`contentChangedAt`)
moved since the last read, or that a `library.new` webhook post or the
server's own notification named: their counts, from the server's totals
(`X-Plex-Container-Size=0`, never a page of items), and their newest items.
An idle server therefore costs one request per safety poll, every 30
minutes: two requests an hour. A post or a notification reads the server
within a second (debounced to one read a second).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import timedelta

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.debounce import Debouncer
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity import Entity, EntityDescription
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed

from .activity import library_signal
from .client import create_server_client
from .const import CONF_RECENTLY_ADDED, DEFAULT_RECENTLY_ADDED, DOMAIN, LOGGER
from .coordinator import PlexLinkConfigEntry
from .entity import PlexLinkServerFeedEntity
from .library_images import PlexLinkImageCache
from .plexserver import (
    ITEM_TYPES,
    LibraryChange,
    LibraryItem,
    LibrarySection,
    PlexServerAuthenticationError,
    PlexServerClient,
    PlexServerError,
    WebhookEvent,
)
from .plextv import Server
from .tracker import PlexLinkServerTracker

POLL_INTERVAL = timedelta(minutes=30)
REFRESH_COOLDOWN = 1.0
NEWEST_FIRST = "addedAt:desc"
LIBRARY_NEW = "library.new"

# What each kind of library counts: its main count first, then attributes.
COUNTS: dict[str, tuple[tuple[str, int], ...]] = {
    "movie": (("items", ITEM_TYPES["movie"]),),
    "show": (("items", ITEM_TYPES["show"]), ("episodes", ITEM_TYPES["episode"])),
    "artist": (
        ("items", ITEM_TYPES["artist"]),
        ("albums", ITEM_TYPES["album"]),
        ("tracks", ITEM_TYPES["track"]),
    ),
    "photo": (("items", ITEM_TYPES["photo"]),),
}
# The kind of item a library shows as its newest (its image entity's poster).
NEWEST = {
    "movie": ITEM_TYPES["movie"],
    "show": ITEM_TYPES["episode"],
    "artist": ITEM_TYPES["album"],
    "photo": ITEM_TYPES["photo"],
}
# Libraries whose newest items are in "recently added": films and episodes.
RECENTLY_ADDED = frozenset({"movie", "show"})


def libraries_signal(entry: PlexLinkConfigEntry) -> str:
    """Return the signal that hands a server's coordinator to the platforms once read."""
    return f"{DOMAIN}_{entry.entry_id}_libraries"


def libraries_retired_signal(
    entry: PlexLinkConfigEntry, machine_identifier: str
) -> str:
    """Return the signal that tells a server's library entities to go away."""
    return f"{DOMAIN}_{entry.entry_id}_{machine_identifier}_libraries_retired"


def recently_added_count(entry: PlexLinkConfigEntry) -> int:
    """Return how many recently added items the person wants (10 unless set)."""
    count: int = int(entry.options.get(CONF_RECENTLY_ADDED, DEFAULT_RECENTLY_ADDED))
    return count


@dataclass(frozen=True, kw_only=True)
class Library:
    """One library of a server, as last read.

    counts holds the library's main count under "items" and, where they
    apply, "episodes", "albums" and "tracks". newest is the library's most
    recently added item of its main kind (films, episodes, albums, photos);
    recent the newest films or episodes, newest first, for recently added.
    """

    section: LibrarySection
    counts: dict[str, int]
    newest: LibraryItem | None = None
    recent: tuple[LibraryItem, ...] = ()

    @property
    def count(self) -> int:
        """Return the number of items of the library's main kind."""
        return self.counts["items"]

    @property
    def unique_key(self) -> str:
        """Return what tells this library apart on its server for good: its uuid, else its key."""
        return unique_key(self.section)


def unique_key(section: LibrarySection) -> str:
    """Return what tells a library apart on its server for good: its uuid, else its key.

    A key may be taken by a new library after one is deleted; a uuid is not.
    """
    return section.uuid or section.key


@dataclass(frozen=True, kw_only=True)
class RecentItem:
    """A film or an episode among the newest of a server, and its library."""

    item: LibraryItem
    library: str


@dataclass(frozen=True, kw_only=True)
class LibrariesData:
    """A server's libraries, by uuid (else key), and its newest films and episodes, newest first."""

    libraries: dict[str, Library]
    recently_added: tuple[RecentItem, ...]
    size: int

    def find(self, rating_key: str) -> LibraryItem | None:
        """Return an item this data knows by its rating key, or None."""
        for recent in self.recently_added:
            if recent.item.rating_key == rating_key:
                return recent.item
        for library in self.libraries.values():
            if library.newest is not None and library.newest.rating_key == rating_key:
                return library.newest
            for item in library.recent:
                if item.rating_key == rating_key:
                    return item
        return None


EMPTY = LibrariesData(libraries={}, recently_added=(), size=0)


class PlexLinkLibraryCoordinator(DataUpdateCoordinator[LibrariesData]):
    """Follows the libraries of one server the account can read.

    A server that refuses its token (401/403) is logged once at info level;
    its library entities are then unavailable, it is not polled, and it is
    asked again each time plex.tv lists it (every five minutes).
    """

    config_entry: PlexLinkConfigEntry
    request_timeout: float = 10.0
    connect_timeout: float = 5.0

    def __init__(
        self, hass: HomeAssistant, entry: PlexLinkConfigEntry, server: Server
    ) -> None:
        """Prepare to read server's libraries with its own access token."""
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name=f"{DOMAIN} {server.name} libraries",
            update_interval=POLL_INTERVAL,
            request_refresh_debouncer=Debouncer(
                hass, LOGGER, cooldown=REFRESH_COOLDOWN, immediate=True
            ),
        )
        self.machine_identifier = server.machine_identifier
        self.server_name = server.name
        self.refused = False
        self.size = recently_added_count(entry)
        self.images: PlexLinkImageCache = PlexLinkImageCache()
        self._stopped = False
        self._unsubscribe: Callable[[], None] = lambda: None
        self._access_token = server.access_token
        self._changed: set[str] = set()
        self._changed_titles: set[str] = set()
        self._all_changed = False
        self.client = self._create_client(server)

    def _create_client(self, server: Server) -> PlexServerClient:
        """Return a client for the server on Home Assistant's shared session."""
        return create_server_client(
            self.hass,
            self.config_entry.runtime_data.coordinator.client,
            server,
            request_timeout=self.request_timeout,
            connect_timeout=self.connect_timeout,
        )

    @property
    def answering(self) -> bool:
        """Tell whether the last read succeeded and the server lets Plex Link read."""
        return self.last_update_success and not self.refused and self.data is not None

    async def async_start(self) -> None:
        """Read the libraries, and again whenever the server's notifications say they changed."""
        self._unsubscribe = async_dispatcher_connect(
            self.hass,
            library_signal(self.config_entry, self.machine_identifier),
            self._async_notified,
        )
        await self.async_refresh()

    async def async_stop(self) -> None:
        """Stop polling and following notifications, for good."""
        self._stopped = True
        self._unsubscribe()
        await self.async_shutdown()

    @callback
    def _async_notified(self, change: LibraryChange) -> None:
        """Read the libraries a notification named again (all of them when it named none)."""
        self.async_library_changed(keys=change.section_ids)

    async def async_update_server(self, server: Server) -> None:
        """Take plex.tv's latest view of the server: its name, connections and token.

        A new token gets a new client and a read; a server that refused is
        asked again.
        """
        self.server_name = server.name
        if server.access_token != self._access_token:
            self._access_token = server.access_token
            self.client = self._create_client(server)
            self.images.clear()
            await self.async_refresh()
            return
        self.client.update_connections(
            [connection.uri for connection in server.connections]
        )
        if self.refused:
            await self.async_refresh()

    @callback
    def async_library_changed(
        self, keys: Iterable[str] = (), titles: Iterable[str] = ()
    ) -> None:
        """Read the named libraries again soon, whatever their change mark says.

        Without a key or a title, every library is read again.
        """
        if self._stopped or self.refused:
            return
        keys, titles = set(keys), set(titles)
        if not keys and not titles:
            self._all_changed = True
        self._changed |= keys
        self._changed_titles |= titles
        self.config_entry.async_create_background_task(
            self.hass, self.async_request_refresh(), f"{self.name} refresh"
        )

    async def _async_update_data(self) -> LibrariesData:
        """Read the sections, then what changed; a refusal is a state of its own."""
        changed, titles, everything = (
            self._changed,
            self._changed_titles,
            self._all_changed,
        )
        self._changed, self._changed_titles, self._all_changed = set(), set(), False
        try:
            data = await self._async_read(changed, titles, everything)
        except PlexServerAuthenticationError as err:
            if not self.refused:
                self.refused = True
                self.update_interval = None
                LOGGER.info(
                    "%s does not let Plex Link read its libraries (%s); its library "
                    "entities stay off until it does",
                    self.server_name,
                    err,
                )
            return self.data or EMPTY
        except PlexServerError as err:
            self._changed |= changed
            self._changed_titles |= titles
            self._all_changed |= everything
            # Without the chained aiohttp error: that names the server's address,
            # and the coordinator logs the traceback at debug level.
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="libraries_unavailable",
                translation_placeholders={
                    "server": self.server_name,
                    "error": str(err),
                },
            ) from None
        if self.refused:
            self.refused = False
            self.update_interval = POLL_INTERVAL
            LOGGER.info("%s lets Plex Link read its libraries again", self.server_name)
        return data

    @callback
    def _async_refresh_finished(self) -> None:
        """Read again soon what a post or a notification named while the last read ran.

        Home Assistant drops a read asked for while another runs, as if the
        one running answered it; this one may have begun before the news.
        """
        if (
            self.last_update_success
            and not self._stopped
            and not self.refused
            and (self._changed or self._changed_titles or self._all_changed)
        ):
            self.config_entry.async_create_background_task(
                self.hass, self.async_request_refresh(), f"{self.name} refresh"
            )

    async def _async_read(
        self, changed: set[str], titles: set[str], everything: bool
    ) -> LibrariesData:
        """Read the sections, and each library that changed since the last read.

        A library a post or a notification named is read at the same time as
        the sections, not after them: the new item shows one round trip sooner.
        If that early read fails, the library is read again after the sections.
        """
        known = (
            self.data.libraries if self.data is not None and not self.refused else {}
        )
        fresh = self.data is None or self.data.size != self.size
        named = [
            library.section
            for library in known.values()
            if library.section.key in changed or library.section.title in titles
        ]
        early = asyncio.gather(
            *(self._async_read_library(s) for s in named), return_exceptions=True
        )
        try:
            sections = [
                section
                for section in await self.client.get_sections()
                if section.section_type in COUNTS
            ]
        except BaseException:
            early.cancel()
            await asyncio.gather(early, return_exceptions=True)
            raise
        early_read = {
            library.unique_key: library
            for library in await early
            if isinstance(library, Library)
        }

        def stale(section: LibrarySection) -> bool:
            """Tell whether a library has to be read again."""
            old = known.get(unique_key(section))
            return unique_key(section) not in early_read and (
                fresh
                or everything
                or old is None
                or section.changed_at is None
                or section.changed_at != old.section.changed_at
                or section.key in changed
                or section.title in titles
            )

        read = await asyncio.gather(
            *(self._async_read_library(s) for s in sections if stale(s))
        )
        libraries = {library.unique_key: library for library in read}
        for section in sections:
            key = unique_key(section)
            if key in early_read:
                libraries[key] = replace(early_read[key], section=section)
            elif key not in libraries:
                libraries[key] = replace(known[key], section=section)
        libraries = {key: libraries[key] for key in map(unique_key, sections)}
        recent = sorted(
            (
                RecentItem(item=item, library=library.section.title)
                for library in libraries.values()
                for item in library.recent
            ),
            key=added_key,
            reverse=True,
        )
        return LibrariesData(
            libraries=libraries,
            recently_added=tuple(recent[: self.size]),
            size=self.size,
        )

    async def _async_read_library(self, section: LibrarySection) -> Library:
        """Read one library's counts and newest items: two to four requests."""
        kind = section.section_type
        newest_size = self.size if kind in RECENTLY_ADDED else 1
        totals, page = await asyncio.gather(
            asyncio.gather(
                *(
                    self.client.count_items(section.key, item_type)
                    for _, item_type in COUNTS[kind]
                )
            ),
            self.client.get_items(
                section.key,
                item_type=NEWEST[kind],
                sort=NEWEST_FIRST,
                size=newest_size,
            ),
        )
        counts = {
            name: total for (name, _), total in zip(COUNTS[kind], totals, strict=True)
        }
        items = sorted(page.items, key=_item_added, reverse=True)
        return Library(
            section=section,
            counts=counts,
            newest=items[0] if items else None,
            recent=tuple(items) if kind in RECENTLY_ADDED else (),
        )

    async def async_recently_added(self, count: int) -> list[RecentItem]:
        """Return the server's newest films and episodes, reading more than known if asked.

        Up to the number the sensor keeps, nothing is read.
        """
        data = self.data or EMPTY
        if count <= data.size:
            return list(data.recently_added[:count])
        libraries = [
            library
            for library in data.libraries.values()
            if library.section.section_type in RECENTLY_ADDED
        ]
        pages = await asyncio.gather(
            *(
                self.client.get_items(
                    library.section.key,
                    item_type=NEWEST[library.section.section_type],
                    sort=NEWEST_FIRST,
                    size=count,
                )
                for library in libraries
            )
        )
        recent = sorted(
            (
                RecentItem(item=item, library=library.section.title)
                for library, page in zip(libraries, pages, strict=True)
                for item in page.items
            ),
            key=added_key,
            reverse=True,
        )
        return recent[:count]


def _item_added(item: LibraryItem) -> float:
    """Return when an item was added, for sorting; unknown ones last."""
    return item.added_at.timestamp() if item.added_at is not None else float("-inf")


def added_key(recent: RecentItem) -> float:
    """Return when a recent item was added, for sorting."""
    return _item_added(recent.item)


class PlexLinkLibraryTracker(PlexLinkServerTracker[PlexLinkLibraryCoordinator]):
    """Keeps one library coordinator per server of an entry with a token, as plex.tv lists them."""

    def __init__(self, hass: HomeAssistant, entry: PlexLinkConfigEntry) -> None:
        """Track the entry's servers; the coordinators live in its runtime data."""
        super().__init__(hass, entry, entry.runtime_data.libraries, name="libraries")

    def follows(self, server: Server) -> bool:
        """Follow every server the account reaches with an access token, owned or shared."""
        return bool(server.access_token)

    def create(self, server: Server) -> PlexLinkLibraryCoordinator:
        """Return a coordinator of the server's libraries."""
        return PlexLinkLibraryCoordinator(self._hass, self._entry, server)

    def announce_signal(self) -> str:
        """Hand coordinators to the library sensors and images."""
        return libraries_signal(self._entry)

    def retired_signal(self, machine_identifier: str) -> str:
        """Tell a server's library entities to go away."""
        return libraries_retired_signal(self._entry, machine_identifier)

    def handle_event(
        self, coordinator: PlexLinkLibraryCoordinator, event: WebhookEvent
    ) -> None:
        """Read a server's libraries again when it posts that something was added."""
        if event.event == LIBRARY_NEW:
            titles = (
                [event.library_section_title] if event.library_section_title else []
            )
            coordinator.async_library_changed(titles=titles)


@callback
def async_add_library_entities(
    hass: HomeAssistant,
    entry: PlexLinkConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
    *,
    server: Callable[[PlexLinkLibraryCoordinator], Iterable[Entity]] | None = None,
    library: Callable[[PlexLinkLibraryCoordinator, str], Iterable[Entity]],
) -> None:
    """Add a server's library entities once its libraries are read, and each new library's.

    An entity of a library that goes away removes itself (LibraryEntity).
    """

    @callback
    def add(coordinator: PlexLinkLibraryCoordinator) -> None:
        """Add the entities of a server whose libraries were just read."""
        known: set[str] = set()

        @callback
        def add_new_libraries() -> None:
            """Add the entities of libraries not seen before."""
            if not coordinator.answering:
                return
            current = set(coordinator.data.libraries)
            known.intersection_update(current)
            new = sorted(current - known)
            known.update(new)
            async_add_entities(
                entity for key in new for entity in library(coordinator, key)
            )

        if server is not None:
            async_add_entities(server(coordinator))
        add_new_libraries()
        unsubscribe = coordinator.async_add_listener(add_new_libraries)
        listening = True

        @callback
        def remove() -> None:
            """Stop adding the server's libraries, once."""
            nonlocal listening
            if listening:
                listening = False
                unsubscribe()

        entry.async_on_unload(remove)
        entry.async_on_unload(
            async_dispatcher_connect(
                hass,
                libraries_retired_signal(entry, coordinator.machine_identifier),
                remove,
            )
        )

    entry.async_on_unload(async_dispatcher_connect(hass, libraries_signal(entry), add))


class PlexLinkLibraryEntity(PlexLinkServerFeedEntity[PlexLinkLibraryCoordinator]):
    """An entity of one library of a server, on the server's device, named after the library.

    It goes away with its library, and with the server.
    """

    def __init__(
        self,
        coordinator: PlexLinkLibraryCoordinator,
        description: EntityDescription,
        key: str,
    ) -> None:
        """Attach the entity to the server's device; key is the library's uuid (else its key)."""
        library = coordinator.data.libraries[key]
        super().__init__(
            coordinator,
            description,
            retired_signal=libraries_retired_signal(
                coordinator.config_entry, coordinator.machine_identifier
            ),
            key=library.unique_key,
        )
        self.library_key = key
        self._attr_translation_placeholders = {"library": library.section.title}

    @property
    def library(self) -> Library | None:
        """Return the library as last read, or None once it is gone."""
        return self.coordinator.data.libraries.get(self.library_key)

    @property
    def available(self) -> bool:
        """Tell whether the server lets Plex Link read, and the library is there."""
        return super().available and self.library is not None

    @callback
    def _handle_coordinator_update(self) -> None:
        """Go away when the server no longer has the library; else write the state."""
        if self.coordinator.answering and self.library is None:
            self.async_retire()
            return
        super()._handle_coordinator_update()
