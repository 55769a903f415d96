"""Media players of Plex Link: every player that plays from a server the account owns.

A player is idle while it plays nothing and unavailable only while its server
cannot be read. Controls go through the server, offered only where the player
takes them; a player that takes none can still be stopped by ending its session.
Artwork is fetched by Home Assistant with the server's token in a header and
served through the media player proxy, so no Plex token is in any URL. A player
that takes commands also browses the libraries of every server the account can
read and plays from them (browse.py).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
import hashlib
import re
from typing import Any
import unicodedata

from homeassistant.components.media_player import (
    ATTR_MEDIA_EXTRA,
    BrowseError,
    BrowseMedia,
    MediaPlayerEntity,
    MediaPlayerEntityFeature,
    MediaPlayerState,
    MediaType,
)
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.helpers.translation import async_get_translations
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .activity import PlexLinkActivityCoordinator, activity_signal, retired_signal
from .browse import USER_ERRORS, PlayTarget, PlexLinkLibraryBrowser
from .const import DOMAIN, LOGGER, MANUFACTURER
from .coordinator import PlexLinkConfigEntry, server_device_identifier
from .players import (
    KnownPlayer,
    PlexLinkKnownPlayers,
    PlexLinkPlayersCoordinator,
    player_device_identifier,
)
from .plexserver import PlaySession, PlexServerAuthenticationError, PlexServerError

PARALLEL_UPDATES = 0
ARTWORK_SIZE = 640
STALE_CHECK_INTERVAL = timedelta(hours=12)
POSITION_TOLERANCE = 5.0
STOP_REASON_KEY = "stopped_from_home_assistant"
MAX_NAME_LENGTH = 64
_BLANKS = re.compile(r"\s+")

STATES = {
    "playing": MediaPlayerState.PLAYING,
    "paused": MediaPlayerState.PAUSED,
    "buffering": MediaPlayerState.BUFFERING,
}
MEDIA_TYPES = {
    "movie": MediaType.MOVIE,
    "episode": MediaType.TVSHOW,
    "track": MediaType.MUSIC,
    "clip": MediaType.VIDEO,
    "trailer": MediaType.VIDEO,
    "photo": MediaType.IMAGE,
}
COMMAND_TYPES = {"track": "music", "photo": "photo"}
CONTROLS = (
    MediaPlayerEntityFeature.PAUSE
    | MediaPlayerEntityFeature.PLAY
    | MediaPlayerEntityFeature.STOP
    | MediaPlayerEntityFeature.SEEK
    | MediaPlayerEntityFeature.NEXT_TRACK
    | MediaPlayerEntityFeature.PREVIOUS_TRACK
    | MediaPlayerEntityFeature.VOLUME_SET
    | MediaPlayerEntityFeature.BROWSE_MEDIA
    | MediaPlayerEntityFeature.PLAY_MEDIA
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: PlexLinkConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add a media player for each player the account's own servers name."""
    browser = PlexLinkLibraryBrowser(hass, entry)
    PlexLinkPlayerTracker(hass, entry, async_add_entities, browser).async_start()


def display_name(*candidates: str | None) -> str:
    """Return the first usable name: control characters gone, blanks folded, length capped."""
    for candidate in candidates:
        if candidate is None:
            continue
        printable = "".join(
            " " if unicodedata.category(char).startswith("C") else char
            for char in candidate
        )
        if name := _BLANKS.sub(" ", printable).strip()[:MAX_NAME_LENGTH].strip():
            return name
    return "Plex player"


@dataclass(frozen=True, kw_only=True)
class Position:
    """Where playback of a session was, and when."""

    session_key: str
    state: str | None
    seconds: float
    at: datetime


class PlexLinkPlayerTracker:
    """Keeps a media player for every known player of the entry's followed servers."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: PlexLinkConfigEntry,
        async_add_entities: AddConfigEntryEntitiesCallback,
        browser: PlexLinkLibraryBrowser,
    ) -> None:
        """Add entities through async_add_entities; players are known through the entry."""
        self._hass = hass
        self._entry = entry
        self._add_entities = async_add_entities
        self._browser = browser
        self._known: PlexLinkKnownPlayers = entry.runtime_data.players
        self._entities: set[tuple[str, str]] = set()
        self._asked: set[tuple[str, str]] = set()
        self._unsubscribe: dict[str, list[CALLBACK_TYPE]] = {}

    @callback
    def async_start(self) -> None:
        """Follow servers as their activity is shared; look for stale players twice a day."""
        entry = self._entry
        entry.async_on_unload(
            async_dispatcher_connect(
                self._hass, activity_signal(entry), self._async_follow
            )
        )
        entry.async_on_unload(
            async_track_time_interval(
                self._hass,
                self._async_remove_stale,
                STALE_CHECK_INTERVAL,
                name=f"{DOMAIN} stale players",
            )
        )
        entry.async_on_unload(self._async_unfollow_all)

    @callback
    def _async_follow(self, activity: PlexLinkActivityCoordinator) -> None:
        """Add the players of a server that shares its activity, and those it names later."""
        server = activity.machine_identifier
        self._async_unfollow(server)
        coordinator = PlexLinkPlayersCoordinator(self._hass, self._entry, activity)
        self._async_remove_stale()

        @callback
        def add_new_players() -> None:
            """Add a media player for each player the server names for the first time."""
            self._async_add_players(coordinator)

        self._unsubscribe[server] = [
            activity.async_add_listener(add_new_players),
            coordinator.async_add_listener(add_new_players),
            async_dispatcher_connect(
                self._hass,
                retired_signal(self._entry, server),
                partial(self._async_retire, server),
            ),
        ]
        self._entry.async_create_background_task(
            self._hass, coordinator.async_refresh(), f"{coordinator.name} first read"
        )
        self._async_add_players(coordinator)

    @callback
    def _async_unfollow(self, server: str) -> None:
        """Stop following a server's players: its list is read no more."""
        for unsubscribe in self._unsubscribe.pop(server, []):
            unsubscribe()

    @callback
    def _async_unfollow_all(self) -> None:
        """Stop following every server, when the entry unloads."""
        for server in list(self._unsubscribe):
            self._async_unfollow(server)

    @callback
    def _async_add_players(self, coordinator: PlexLinkPlayersCoordinator) -> None:
        """Note the players the server names now, and add those without an entity."""
        activity = coordinator.activity
        server = activity.machine_identifier
        listed = coordinator.data or {}
        sessions = {
            session.player_id: session
            for session in activity.data or []
            if session.player_id
        }
        for player_id in sessions.keys() | listed.keys():
            self._known.async_seen(
                server, player_id, listed.get(player_id), sessions.get(player_id)
            )
            if (
                player_id not in listed
                and not coordinator.refused
                and (server, player_id) not in self._asked
            ):
                self._asked.add((server, player_id))
                self._entry.async_create_background_task(
                    self._hass,
                    coordinator.async_request_refresh(),
                    f"{coordinator.name} refresh",
                )
        new = [
            PlexLinkMediaPlayer(coordinator, known, self._browser)
            for known in self._known.of_server(server)
            if known.key not in self._entities
        ]
        for player in new:
            self._entities.add(player.key)
            player.async_on_remove(partial(self._entities.discard, player.key))
        self._add_entities(new)

    @callback
    def _async_retire(self, server: str) -> None:
        """Remove the players of a server whose activity Plex Link no longer follows."""
        self._async_unfollow(server)
        for known in self._known.of_server(server):
            self._async_remove(known)

    @callback
    def _async_remove_stale(self, _now: datetime | None = None) -> None:
        """Remove the players no server has named for STALE_AFTER, with their devices."""
        for known in self._known.async_stale():
            self._async_remove(known)

    @callback
    def _async_remove(self, known: KnownPlayer) -> None:
        """Forget a player and take its device (and so its media player) away."""
        self._known.async_forget(known.server, known.player_id)
        self._asked.discard(known.key)
        account_uuid = self._entry.runtime_data.coordinator.data.account.uuid
        registry = dr.async_get(self._hass)
        if device := registry.async_get_device_by_identifier(
            player_device_identifier(account_uuid, *known.key), self._entry.entry_id
        ):
            registry.async_update_device(
                device.id, remove_config_entry_id=self._entry.entry_id
            )


class PlexLinkMediaPlayer(
    CoordinatorEntity[PlexLinkActivityCoordinator], MediaPlayerEntity
):
    """One Plex player as one owned server sees it."""

    _attr_has_entity_name = True
    _attr_name = None
    _attr_media_image_remotely_accessible = False
    _unrecorded_attributes = frozenset({"user", "transcoding", "location"})

    def __init__(
        self,
        players: PlexLinkPlayersCoordinator,
        known: KnownPlayer,
        browser: PlexLinkLibraryBrowser,
    ) -> None:
        """Attach the media player to the player's device, under the server's."""
        super().__init__(players.activity)
        self._players = players
        self._browser = browser
        self.key = known.key
        self.player_id = known.player_id
        entry = players.config_entry
        account_uuid = entry.runtime_data.coordinator.data.account.uuid
        server_device = dr.async_get(players.hass).async_get_device_by_identifier(
            server_device_identifier(account_uuid, known.server), entry.entry_id
        )
        identifier = player_device_identifier(account_uuid, *known.key)
        self.player_name = display_name(known.name, known.product)
        self._attr_unique_id = identifier[1]
        self._attr_device_info = DeviceInfo(
            identifiers={identifier},
            name=self.player_name,
            manufacturer=known.platform or MANUFACTURER,
            model=known.product,
            sw_version=known.version,
            via_device_id=server_device.id
            if server_device
            else entry.runtime_data.account_device_id,
        )
        self._position = self._next_position(None)
        self._image: tuple[str, bytes, str] | None = None
        self._image_lock = asyncio.Lock()

    async def async_added_to_hass(self) -> None:
        """Follow the server's list of players too (it says which controls the player takes)."""
        await super().async_added_to_hass()
        self.async_on_remove(
            self._players.async_add_listener(self._handle_coordinator_update)
        )

    @callback
    def _handle_coordinator_update(self) -> None:
        """Take the server's news; a position that runs as expected is not news."""
        self._position = self._next_position(self._position)
        super()._handle_coordinator_update()

    def _next_position(self, current: Position | None) -> Position | None:
        """Return where playback is, keeping current while the server's reports agree with it.

        A report within POSITION_TOLERANCE of where the clock puts playback
        changes nothing, so a player reporting every second writes no state.
        """
        if (session := self.session) is None or session.view_offset_ms is None:
            return None
        reported = Position(
            session_key=session.session_key,
            state=session.state,
            seconds=session.view_offset_ms / 1000,
            at=session.position_at,
        )
        if current is None or (current.session_key, current.state) != (
            reported.session_key,
            reported.state,
        ):
            return reported
        expected = current.seconds
        if current.state == "playing":
            expected += (reported.at - current.at).total_seconds()
        if abs(expected - reported.seconds) > POSITION_TOLERANCE:
            return reported
        return current

    @property
    def session(self) -> PlaySession | None:
        """Return what the player plays now, if anything; a playing session first."""
        sessions = [
            session
            for session in self.coordinator.data or []
            if session.player_id == self.player_id
        ]
        sessions.sort(key=lambda session: session.state != "playing")
        return sessions[0] if sessions else None

    @property
    def available(self) -> bool:
        """Tell whether the server's sessions can be read: playing or not, the player is there."""
        return super().available and not self.coordinator.refused

    @property
    def state(self) -> MediaPlayerState:
        """Return playing, paused or buffering while a session runs, else idle."""
        if (session := self.session) is None:
            return MediaPlayerState.IDLE
        return STATES.get(session.state or "", MediaPlayerState.PLAYING)

    @property
    def controllable(self) -> bool:
        """Tell whether the player takes playback commands, as the server lists it."""
        player = (self._players.data or {}).get(self.player_id)
        return player is not None and player.controllable

    @property
    def supported_features(self) -> MediaPlayerEntityFeature:
        """Return the controls, browsing and playing where the player takes commands; else stop alone where a session can be ended."""
        if self.controllable:
            return CONTROLS
        if self._can_end_session:
            return MediaPlayerEntityFeature.STOP
        return MediaPlayerEntityFeature(0)

    @property
    def _can_end_session(self) -> bool:
        """Tell whether the owner can end the player's session (Plex Pass)."""
        session = self.session
        account = self.coordinator.config_entry.runtime_data.coordinator.data.account
        return (
            session is not None and session.session_id is not None and account.plex_pass
        )

    @property
    def media_content_id(self) -> str | None:
        """Return the playing item's rating key."""
        return session.rating_key if (session := self.session) else None

    @property
    def media_content_type(self) -> MediaType | None:
        """Return the playing item's type in Home Assistant's words."""
        session = self.session
        return MEDIA_TYPES.get(session.media_type or "") if session else None

    @property
    def media_title(self) -> str | None:
        """Return the title of the film, episode or track."""
        return session.title if (session := self.session) else None

    @property
    def media_series_title(self) -> str | None:
        """Return the show of an episode."""
        return session.show if (session := self.session) else None

    @property
    def media_season(self) -> str | None:
        """Return the season of an episode."""
        session = self.session
        return str(session.season) if session and session.season is not None else None

    @property
    def media_episode(self) -> str | None:
        """Return the number of an episode."""
        session = self.session
        return str(session.episode) if session and session.episode is not None else None

    @property
    def media_artist(self) -> str | None:
        """Return the artist of a track (its own, else the album's)."""
        return session.artist if (session := self.session) else None

    @property
    def media_album_name(self) -> str | None:
        """Return the album of a track."""
        return session.album if (session := self.session) else None

    @property
    def media_album_artist(self) -> str | None:
        """Return the artist of a track's album."""
        session = self.session
        if session is None or session.media_type != "track":
            return None
        return session.grandparent_title

    @property
    def media_duration(self) -> int | None:
        """Return the length of the playing item in seconds."""
        session = self.session
        if session is None or session.duration_ms is None:
            return None
        return session.duration_ms // 1000

    @property
    def media_position(self) -> int | None:
        """Return where playback was, in seconds, at media_position_updated_at."""
        return int(self._position.seconds) if self._position else None

    @property
    def media_position_updated_at(self) -> datetime | None:
        """Return when playback was at media_position."""
        return self._position.at if self._position else None

    @property
    def app_name(self) -> str | None:
        """Return the Plex app that plays."""
        return session.product if (session := self.session) else None

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """Return who watches, whether the server transcodes, and from where; never an address."""
        if (session := self.session) is None:
            return None
        attributes = {
            "user": session.user,
            "transcoding": session.transcoding,
            "location": session.location,
        }
        return {key: value for key, value in attributes.items() if value is not None}

    @property
    def _artwork_path(self) -> str | None:
        """Return the server's path of the picture that fits the item best."""
        if (session := self.session) is None:
            return None
        candidates: tuple[str | None, ...]
        if session.media_type == "episode":
            candidates = (session.grandparent_thumb, session.thumb, session.art)
        elif session.media_type == "track":
            candidates = (
                session.parent_thumb,
                session.thumb,
                session.grandparent_thumb,
            )
        else:
            candidates = (session.thumb, session.art)
        return next((path for path in candidates if path), None)

    @property
    def media_image_hash(self) -> str | None:
        """Return a key of the artwork, for the proxy's and the browser's caches."""
        if (path := self._artwork_path) is None:
            return None
        return hashlib.sha256(
            f"{self.coordinator.machine_identifier}{path}".encode()
        ).hexdigest()[:16]

    async def async_get_media_image(self) -> tuple[bytes | None, str | None]:
        """Return the artwork, fetched once per picture with the token in a header."""
        if (path := self._artwork_path) is None:
            return None, None
        async with self._image_lock:
            if self._image is None or self._image[0] != path:
                try:
                    data, content_type = await self.coordinator.client.get_image(
                        path, width=ARTWORK_SIZE, height=ARTWORK_SIZE
                    )
                except PlexServerError as err:
                    LOGGER.debug("No artwork for %s: %s", self.entity_id, err)
                    return None, None
                self._image = (path, data, content_type)
            return self._image[1], self._image[2]

    async def async_media_play(self) -> None:
        """Resume playback."""
        await self._async_command("playback/play")

    async def async_media_pause(self) -> None:
        """Pause playback."""
        await self._async_command("playback/pause")

    async def async_media_stop(self) -> None:
        """Stop playback; a player that takes no commands has its session ended."""
        if self.controllable:
            await self._async_command("playback/stop")
        else:
            await self._async_end_session()

    async def async_media_seek(self, position: float) -> None:
        """Jump to position, in seconds."""
        await self._async_command(
            "playback/seekTo", {"offset": str(round(position * 1000))}
        )

    async def async_media_next_track(self) -> None:
        """Skip to the next item."""
        await self._async_command("playback/skipNext")

    async def async_media_previous_track(self) -> None:
        """Skip to the previous item."""
        await self._async_command("playback/skipPrevious")

    async def async_set_volume_level(self, volume: float) -> None:
        """Set the player's volume; Plex does not report it, so the last one set is shown."""
        await self._async_command(
            "playback/setParameters", {"volume": str(round(volume * 100))}
        )
        self._attr_volume_level = volume
        self.async_write_ha_state()

    async def async_browse_media(
        self,
        media_content_type: MediaType | str | None = None,
        media_content_id: str | None = None,
    ) -> BrowseMedia:
        """Return a node of the libraries of every server the account can read."""
        return await self._browser.async_browse(
            media_content_id,
            self.coordinator.machine_identifier,
            self.get_browse_image_url,
        )

    async def async_get_browse_image(
        self,
        media_content_type: str,
        media_content_id: str,
        media_image_id: str | None = None,
    ) -> tuple[bytes | None, str | None]:
        """Return a browser picture, fetched from the item's server with the token in a header."""
        return await self._browser.async_image(media_content_id, media_image_id)

    async def async_play_media(
        self, media_type: MediaType | str, media_id: str, **kwargs: Any
    ) -> None:
        """Play an item of the browser, or one the JSON form describes, through the server.

        The item's server makes a play queue of it; the player's own server
        passes `playMedia` on to the player. `extra: {"resume": true}` plays
        from where the item was left, as the JSON form's `resume` does.
        """
        if not self.controllable:
            raise self._not_controllable()
        try:
            target = await self._browser.async_find(
                media_id, self.coordinator.machine_identifier
            )
        except BrowseError as err:
            error = (
                ServiceValidationError
                if err.translation_key in USER_ERRORS
                else HomeAssistantError
            )
            raise error(
                translation_domain=err.translation_domain,
                translation_key=err.translation_key,
                translation_placeholders=err.translation_placeholders,
            ) from None
        extra = kwargs.get(ATTR_MEDIA_EXTRA)
        resume = target.resume
        if isinstance(extra, dict) and isinstance(extra.get("resume"), bool):
            resume = extra["resume"]
        await self._async_play(target, resume=resume)

    async def _async_play(self, target: PlayTarget, *, resume: bool) -> None:
        """Make a play queue of the target on its server and have the player play it."""
        item = target.item
        server = target.server.machine_identifier
        try:
            queue = await target.server.client.create_play_queue(item, server)
        except PlexServerError as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="play_queue_failed",
                translation_placeholders={
                    "server": display_name(target.server.server_name),
                    "error": str(err),
                },
            ) from None
        offset = item.view_offset_ms if resume and item.view_offset_ms else 0
        await self._async_command(
            "playback/playMedia",
            {
                "key": f"/library/metadata/{item.rating_key}",
                "offset": str(offset),
                "machineIdentifier": server,
                "containerKey": f"/playQueues/{queue.play_queue_id}?window=100&own=1",
                "type": COMMAND_TYPES.get(item.media_type or "", "video"),
            },
        )

    async def _async_command(
        self, command: str, params: dict[str, str] | None = None
    ) -> None:
        """Send a command to the player through the server; a refusal is an error, never silent."""
        if not self.controllable:
            raise self._not_controllable()
        media_type = session.media_type if (session := self.session) else None
        params = {
            "type": COMMAND_TYPES.get(media_type or "", "video"),
            **(params or {}),
        }
        try:
            await self.coordinator.client.send_player_command(
                self.player_id, command, params
            )
        except PlexServerError as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="player_command_failed",
                translation_placeholders={
                    "player": self.player_name,
                    "error": str(err),
                },
            ) from None
        if not self.coordinator.listening:
            await self.coordinator.async_request_refresh()

    async def _async_end_session(self) -> None:
        """End the player's session on the server, telling the viewer why."""
        session = self.session
        if session is None or session.session_id is None or not self._can_end_session:
            raise self._not_controllable()
        translations = await async_get_translations(
            self.hass, self.hass.config.language, "exceptions", {DOMAIN}
        )
        reason = translations.get(
            f"component.{DOMAIN}.exceptions.{STOP_REASON_KEY}.message"
        )
        try:
            await self.coordinator.client.terminate_session(session.session_id, reason)
        except PlexServerAuthenticationError as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="stop_session_refused",
                translation_placeholders={"server": self.coordinator.server_name},
            ) from err
        except PlexServerError as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="stop_session_failed",
                translation_placeholders={
                    "server": self.coordinator.server_name,
                    "error": str(err),
                },
            ) from None
        await self.coordinator.async_request_refresh()

    def _not_controllable(self) -> HomeAssistantError:
        """Return the error for a command the player cannot take."""
        return HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="player_not_controllable",
            translation_placeholders={"player": self.player_name},
        )
